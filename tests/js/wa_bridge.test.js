"use strict";
/*
 * wa_bridge.js wrapped as Python wraps it, run in a node:vm context with a fake document/window,
 * a fake WhatsApp module system and mocked timers.
 */
const test = require("node:test");
const assert = require("node:assert/strict");

const { createPage } = require("./helpers/page.js");
const { makeWhatsApp, MsgModel, Wid, MsgKey, ContactModel } = require("./helpers/fake_wa.js");

const T0 = 1764500000000;
const PEER_PN = "5511990010001@c.us";
const PEER_LID = "204617782394561@lid";
const UNKNOWN_LID = "190233445566778@lid";
const GROUP = "120363041122334455@g.us";
const THUMB = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0";

const flush = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

function enableTimers(t) {
  t.mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"], now: T0 });
}

function tickSeconds(t, seconds) {
  for (let i = 0; i < seconds * 4; i++) t.mock.timers.tick(250);
}

function newMsg(attrs) {
  return new MsgModel(Object.assign({ t: Math.floor(T0 / 1000), ack: 1, isNewMsg: true, type: "chat" }, attrs));
}

/** Page with the bridge injected at "document creation", WhatsApp's loader appearing afterwards. */
function boot(t, opts = {}) {
  enableTimers(t);
  const page = createPage(opts.page || {});
  const wa = makeWhatsApp(opts.wa || {});
  page.runBridge();
  if (opts.beforeLoader) opts.beforeLoader(page, wa);
  t.mock.timers.tick(500);
  wa.installInto(page.window);
  tickSeconds(t, opts.settleSeconds || 3);
  return { page, wa };
}

function noWarnings(page) {
  assert.deepEqual(page.junk, []);
  const bad = page.of("log").filter((l) => l.level === "warning" || l.level === "error");
  assert.deepEqual(bad, []);
}

test("Msg and Chat missing: one health ok:false naming them, no throw, no busy loop", (t) => {
  enableTimers(t);
  const page = createPage();
  const wa = makeWhatsApp({ drop: ["WAWebCollections.Msg", "WAWebCollections.Chat"] });
  page.runBridge();
  t.mock.timers.tick(1000); // loader not there yet
  page.window.require = wa.waRequire;
  page.window.__d = wa.__d;
  t.mock.timers.tick(1000); // loader there, Debug.VERSION not yet
  page.window.Debug = { VERSION: "2.3000.1042999999" };
  // modules keep registering for a few seconds (cold load)
  for (let i = 0; i < 12; i++) {
    wa.modulesMap["WAWebLate" + i] = {};
    t.mock.timers.tick(250);
  }
  const periodSeconds = 600;
  tickSeconds(t, periodSeconds);

  const health = page.of("health");
  assert.equal(health.length, 1, JSON.stringify(health));
  assert.equal(health[0].ok, false);
  assert.equal(health[0].version, "2.3000.1042999999");
  assert.ok(health[0].missing.includes("WAWebCollections.Msg"));
  assert.ok(health[0].missing.includes("WAWebCollections.Chat"));
  assert.equal(health[0].missing.includes("WAWebSocketModel.Socket"), false);
  // nothing subscribed on the (absent) collections, nothing captured
  assert.equal(page.of("message").length, 0);
  assert.equal(wa.Msg.listenerCount("add"), 0);
  // polling only: ≤ 4/s during the ladder, one per 2 s afterwards (a busy loop would be thousands)
  assert.ok(page.timers.calls <= periodSeconds / 2 + 60, "timer calls: " + page.timers.calls);
  // state still works without the collections
  assert.deepEqual(page.of("state").map((s) => s.state), ["loading", "connected"]);
  // names that are not registered are never passed to require()
  assert.equal(wa.requireCalls.filter((n) => n === "WAWebNoSuchModule").length, 0);
  noWarnings(page);
});

test("degraded health is reported again only after the module graph changes", async (t) => {
  const { page, wa } = boot(t, { wa: { drop: ["WAWebCollections.Msg", "WAWebCollections.Chat"] } });
  tickSeconds(t, 60);
  assert.equal(page.of("health").length, 1);
  // a later bundle brings the collections
  wa.modules.WAWebCollections.Msg = wa.Msg;
  wa.modules.WAWebCollections.Chat = wa.Chat;
  wa.modulesMap.WAWebLazyBundle = {};
  tickSeconds(t, 6);
  const health = page.of("health");
  assert.equal(health.length, 2);
  assert.deepEqual(health[1], { ok: true, missing: [], version: "2.3000.1042999999" });
  // and capture now works
  wa.Msg.add(newMsg({ id: new MsgKey({ fromMe: false, remote: new Wid(PEER_PN), id: "LATE1" }), body: "oi", from: new Wid(PEER_PN) }));
  assert.equal(page.of("message").length, 1);
  tickSeconds(t, 60);
  assert.equal(page.of("health").length, 2);
});

test("loader never appears: one health naming the loader, slow polling afterwards", (t) => {
  enableTimers(t);
  const page = createPage();
  page.runBridge();
  tickSeconds(t, 300);
  const health = page.of("health");
  assert.equal(health.length, 1);
  assert.deepEqual(health[0], { ok: false, missing: ["require", "__d"] });
  assert.ok(page.timers.calls <= 60 * 4 + 240 / 2 + 5, "timer calls: " + page.timers.calls);
});

test("happy path: health, state, new messages, ack, ignore rules, ciphertext", async (t) => {
  const { page, wa } = boot(t);
  assert.deepEqual(page.of("health"), [{ ok: true, missing: [], version: "2.3000.1042999999" }]);
  assert.deepEqual(page.of("state").map((s) => s.state), ["loading", "connected"]);
  assert.equal(page.of("state")[1].detail, "CONNECTED/MAIN");
  // first connected: active chat reported (none open)
  assert.deepEqual(page.of("active_chat"), [{ chat_id: null, name: null, phone: null, is_group: false }]);

  wa.addChat(PEER_PN, { formattedTitle: "Mariana Souza" });
  const incoming = newMsg({
    id: new MsgKey({ fromMe: false, remote: new Wid(PEER_PN), id: "3A000001" }),
    body: "Quero visitar o decorado 🏠",
    from: new Wid(PEER_PN),
    to: new Wid(wa.me.pn),
    notifyName: "Mari",
  });
  wa.Msg.add(incoming);
  // history/scroll loads (and offline delivery) are kept, as not new
  wa.Msg.add(newMsg({ id: new MsgKey({ fromMe: false, remote: new Wid(PEER_PN), id: "OLD" }), body: "old", isNewMsg: false }));
  // status and channels ignored by default
  wa.Msg.add(newMsg({ id: new MsgKey({ fromMe: false, remote: new Wid("status@broadcast"), id: "ST1", participant: new Wid(PEER_LID) }), body: "story" }));
  wa.Msg.add(newMsg({ id: new MsgKey({ fromMe: false, remote: new Wid("120363000000000009@newsletter"), id: "NL1" }), body: "news" }));
  t.mock.timers.tick(1); // history messages are read on a later timer turn

  const messages = page.of("message");
  assert.equal(messages.length, 2);
  assert.equal(messages[1].id, "false_5511990010001@c.us_OLD");
  assert.equal(messages[1].is_new, false);
  assert.deepEqual(messages[0], {
    id: "false_5511990010001@c.us_3A000001",
    chat_id: PEER_PN,
    from_me: false,
    type: "chat",
    t: Math.floor(T0 / 1000),
    body: "Quero visitar o decorado 🏠",
    sender: PEER_PN,
    notify_name: "Mari",
    ack: 1,
    is_new: true,
    chat_name: "Mariana Souza",
    chat_phone: "5511990010001",
    is_group: false,
  });

  // ack change
  incoming.set("ack", 3);
  assert.deepEqual(page.of("ack"), [{ id: "false_5511990010001@c.us_3A000001", ack: 3 }]);

  // ciphertext: nothing until decrypted, then exactly one message
  const cipher = newMsg({ id: new MsgKey({ fromMe: false, remote: new Wid(PEER_PN), id: "CIPH" }), type: "ciphertext", body: "" });
  wa.Msg.add(cipher);
  assert.equal(page.of("message").length, 2);
  cipher.__x_body = "agora legível";
  cipher.set("type", "chat");
  cipher.set("type", "chat");
  const after = page.of("message");
  assert.equal(after.length, 3);
  assert.equal(after[2].body, "agora legível");
  assert.equal(after[2].id, "false_5511990010001@c.us_CIPH");

  // media: caption only, thumbnail never sent
  wa.Msg.add(newMsg({ id: new MsgKey({ fromMe: false, remote: new Wid(PEER_PN), id: "IMG" }), type: "image", body: THUMB, mediaKey: "k" }));
  const img = page.of("message")[3];
  assert.equal(img.type, "image");
  assert.equal("body" in img, false);
  assert.equal(page.raw.some((r) => r.includes("/9j/")), false);

  // every envelope carries the token
  for (const e of page.events) {
    assert.equal(e.v, 1);
    assert.equal(e.token, page.token);
  }
  noWarnings(page);
});

test("status is captured when ignoreStatus is false", (t) => {
  const { page, wa } = boot(t, { page: { config: { ignoreStatus: false } } });
  wa.Msg.add(newMsg({ id: new MsgKey({ fromMe: false, remote: new Wid("status@broadcast"), id: "ST1", participant: new Wid(PEER_LID) }), body: "story", author: new Wid(PEER_LID) }));
  const m = page.of("message");
  assert.equal(m.length, 1);
  assert.equal(m[0].chat_id, "status@broadcast");
  assert.equal(m[0].author, PEER_LID);
});

test("opening a chat: debounced active_chat and backfill of loaded messages (is_new false)", async (t) => {
  const { page, wa } = boot(t);
  const group = wa.addChat(GROUP, { formattedTitle: "Plantão Vendas Centro" });
  const loaded = [
    newMsg({ id: new MsgKey({ fromMe: false, remote: new Wid(GROUP), id: "G1", participant: new Wid(PEER_LID) }), body: "um", author: new Wid(PEER_LID), isNewMsg: false }),
    newMsg({ id: new MsgKey({ fromMe: true, remote: new Wid(GROUP), id: "G2" }), body: "dois", from: new Wid(wa.me.pn), isNewMsg: false }),
    newMsg({ id: new MsgKey({ fromMe: false, remote: new Wid(GROUP), id: "G3" }), type: "gp2", isNotification: true, isNewMsg: false }),
    newMsg({ id: new MsgKey({ fromMe: false, remote: new Wid(GROUP), id: "G4", participant: new Wid(PEER_LID) }), type: "ciphertext", isNewMsg: false }),
  ];
  for (const m of loaded) group.msgs.add(m);
  const before = page.of("active_chat").length;

  group.set("active", true);
  group.set("active", true); // bursts are debounced
  t.mock.timers.tick(49);
  assert.equal(page.of("active_chat").length, before);
  t.mock.timers.tick(2);
  const active = page.of("active_chat");
  assert.equal(active.length, before + 1);
  assert.deepEqual(active[active.length - 1], { chat_id: GROUP, name: "Plantão Vendas Centro", phone: null, is_group: true });
  await flush();

  // the notice is kept, flagged; the pending (ciphertext) one is not sent
  const msgs = page.of("message");
  assert.deepEqual(msgs.map((m) => m.id), [
    "false_" + GROUP + "_G1_" + PEER_LID,
    "true_" + GROUP + "_G2",
    "false_" + GROUP + "_G3",
  ]);
  assert.equal(msgs[2].is_notification, true);
  assert.equal(msgs[2].type, "gp2");
  assert.ok(msgs.every((m) => m.is_new === false && m.is_group === true && m.chat_name === "Plantão Vendas Centro"));
  assert.ok(!("is_notification" in msgs[0]));
  assert.equal(msgs[0].author, PEER_LID);
  assert.equal(msgs[1].author, wa.me.pn);

  // closing (Esc) reports null; reopening does not resend what was already backfilled
  group.set("active", false);
  t.mock.timers.tick(60);
  assert.equal(page.of("active_chat").at(-1).chat_id, null);
  group.set("active", true);
  t.mock.timers.tick(60);
  await flush();
  assert.equal(page.of("message").length, 3);
  noWarnings(page);
});

test("@lid chat: phone null first, then getPhoneNumber/queryWidExists fills it and active_chat is re-sent", async (t) => {
  const { page, wa } = boot(t);
  const chat = wa.addChat(PEER_LID, { contact: new ContactModel({ id: new Wid(PEER_LID), pushname: "Renata" }) });
  chat.msgs.add(newMsg({ id: new MsgKey({ fromMe: false, remote: new Wid(PEER_LID), id: "L1" }), body: "oi", from: new Wid(PEER_LID), to: new Wid(wa.me.pn), isNewMsg: false }));
  wa.serverLidToPn.set(PEER_LID, "5511990010005@c.us");

  chat.set("active", true);
  t.mock.timers.tick(60);
  const first = page.of("active_chat").at(-1);
  assert.deepEqual(first, { chat_id: PEER_LID, name: "Renata", phone: null, is_group: false });
  await flush(1);
  const backfilled = page.of("message");
  assert.equal(backfilled.length, 1);
  assert.equal(backfilled[0].from_me, false);
  // never derived from the LID's digits (it may already be known from the server by now)
  assert.ok(!backfilled[0].chat_phone || backfilled[0].chat_phone === "5511990010005");

  await flush();
  assert.deepEqual(wa.calls.queryWidExists, [PEER_LID]);
  const second = page.of("active_chat").at(-1);
  assert.deepEqual(second, { chat_id: PEER_LID, name: "Renata", phone: "5511990010005", is_group: false });
  assert.deepEqual(page.of("lid_phone"), [{ lid: PEER_LID, phone: "5511990010005" }]);

  // later messages of that chat carry the phone; the server is not asked again
  wa.Msg.add(newMsg({ id: new MsgKey({ fromMe: false, remote: new Wid(PEER_LID), id: "L2" }), body: "ainda aqui", from: new Wid(PEER_LID) }));
  assert.equal(page.of("message").at(-1).chat_phone, "5511990010005");
  assert.equal(wa.calls.queryWidExists.length, 1);

  // a LID nobody knows: phone stays null, one query only
  const unknown = wa.addChat(UNKNOWN_LID, { formattedTitle: "Desconhecido" });
  chat.set("active", false);
  unknown.set("active", true);
  t.mock.timers.tick(60);
  await flush();
  const last = page.of("active_chat").at(-1);
  assert.deepEqual(last, { chat_id: UNKNOWN_LID, name: "Desconhecido", phone: null, is_group: false });
  unknown.set("active", false);
  unknown.set("active", true);
  t.mock.timers.tick(60);
  await flush();
  assert.equal(wa.calls.queryWidExists.filter((x) => x === UNKNOWN_LID).length, 1);
  noWarnings(page);
});

test("a LID whose phone is in the local cache is reported at once", (t) => {
  const { page, wa } = boot(t);
  wa.lidToPn.set(PEER_LID, "5511990010005@c.us");
  const chat = wa.addChat(PEER_LID, { formattedTitle: "Renata" });
  chat.set("active", true);
  t.mock.timers.tick(60);
  assert.deepEqual(page.of("active_chat").at(-1), { chat_id: PEER_LID, name: "Renata", phone: "5511990010005", is_group: false });
  assert.equal(wa.calls.queryWidExists.length, 0);
});

test("newsletter collection missing does not break active chat", (t) => {
  const { page, wa } = boot(t);
  assert.equal(wa.modules.WAWebCollections.WAWebNewsletterCollection, undefined);
  const chat = wa.addChat(PEER_PN, { formattedTitle: "Mariana" });
  chat.set("active", true);
  t.mock.timers.tick(60);
  assert.equal(page.of("active_chat").at(-1).chat_id, PEER_PN);
  noWarnings(page);
});

test("login state changes: qr → connecting → connected → logout (both Cmd spellings)", (t) => {
  const { page, wa } = boot(t, { wa: { socketState: "UNPAIRED", streamMode: "QR" } });
  assert.deepEqual(page.of("state").map((s) => s.state), ["loading", "qr"]);
  // capture is not attached before login
  assert.equal(wa.Msg.listenerCount("add"), 0);
  wa.Socket.set("state", "PAIRING");
  wa.Socket.set("hasSynced", false);
  wa.Socket.set("state", "CONNECTED");
  wa.Stream.set("mode", "SYNCING");
  wa.Socket.set("hasSynced", true);
  wa.Stream.set("mode", "MAIN");
  const states = page.of("state").map((s) => s.state);
  assert.deepEqual(states.slice(0, 4), ["loading", "qr", "connecting", "connecting"]);
  assert.equal(states.at(-1), "connected");
  assert.equal(wa.Msg.listenerCount("add"), 1);
  wa.Cmd.trigger("logout_from_bridge");
  assert.deepEqual(page.of("state").at(-1), { state: "logged_out", detail: "cmd:logout" });
  // stays logged out while the socket still says CONNECTED; the QR screen clears it
  tickSeconds(t, 5);
  assert.equal(page.of("state").at(-1).state, "logged_out");
  wa.Socket.set("state", "UNPAIRED");
  wa.Stream.set("mode", "QR");
  assert.equal(page.of("state").at(-1).state, "qr");
  wa.Cmd.trigger("logout");
  assert.equal(page.of("state").at(-1).state, "logged_out");
  noWarnings(page);
});

test("state read from current values even if no change event ever fires", (t) => {
  const { page, wa } = boot(t, { wa: { socketState: "OPENING", streamMode: "SYNCING" } });
  assert.equal(page.of("state").at(-1).state, "connecting");
  // values change silently (no events): the slow poll still notices
  wa.Socket.__x_state = "CONNECTED";
  wa.Stream.__x_mode = "MAIN";
  tickSeconds(t, 3);
  assert.equal(page.of("state").at(-1).state, "connected");
  assert.equal(wa.Msg.listenerCount("add"), 1);
});

test("post_logout=1 URL is reported as logged_out first", (t) => {
  const { page } = boot(t, {
    page: { href: "https://web.whatsapp.com/?post_logout=1" },
    wa: { socketState: "UNLAUNCHED", streamMode: undefined },
  });
  const states = page.of("state");
  assert.deepEqual(states[0], { state: "logged_out", detail: "url:post_logout" });
  assert.equal(states.length, 1);
});

test("running the script twice in one document installs once", (t) => {
  enableTimers(t);
  const page = createPage();
  const wa = makeWhatsApp();
  page.runBridge();
  page.runBridge();
  wa.installInto(page.window);
  tickSeconds(t, 5);
  assert.equal(page.of("health").length, 1);
  assert.equal(wa.Msg.listenerCount("add"), 1);
  // no global left on window besides what the fake page set
  assert.deepEqual(
    Object.keys(page.window).sort(),
    ["CustomEvent", "Date", "Debug", "EventTarget", "__d", "clearTimeout", "console", "document", "location", "require", "setTimeout", "window"],
  );
  assert.deepEqual(Object.keys(page.document).filter((k) => !["activeElement", "composer", "execCalls", "queries"].includes(k)), []);
});

test("envelopes produced before the relay is ready are held and flushed in order", (t) => {
  enableTimers(t);
  const page = createPage({ relay: "none" });
  const wa = makeWhatsApp();
  page.runBridge();
  wa.installInto(page.window);
  tickSeconds(t, 5);
  assert.equal(page.events.length, 0);
  page.command({ token: page.token, command: "relay_ready", args: {} });
  assert.deepEqual(page.events.map((e) => e.kind), ["state", "health", "state", "log", "active_chat"]);
  assert.equal(page.of("log")[0].level, "info");
});

test("commands: wrong token, non-string detail and junk are ignored", async (t) => {
  const { page, wa } = boot(t);
  const chat = wa.addChat(PEER_PN);
  const n = page.events.length;
  page.command({ token: "wrong", command: "send_text", args: { chat_id: PEER_PN, text: "x", request_id: "r0" } });
  page.command({ command: "send_text", args: { chat_id: PEER_PN, text: "x", request_id: "r0" } });
  page.command("{garbage");
  page.document.dispatchEvent(new CustomEvent("wacrm:command", { detail: { token: page.token, command: "send_text" } }));
  page.document.dispatchEvent(new CustomEvent("wacrm:command"));
  await flush();
  assert.equal(page.events.length, n);
  assert.equal(wa.calls.addAndSendMsgToChat.length, 0);
  assert.equal(chat.msgs.getModelsArray().length, 0);
  page.command({ token: page.token, command: "explode", args: { request_id: "r9" } });
  assert.deepEqual(page.of("command_result").at(-1), { request_id: "r9", ok: false, error: "unknown_command" });
});

test("send_text goes through addAndSendMsgToChat, answers command_result, never sendSeen", async (t) => {
  const { page, wa } = boot(t);
  const chat = wa.addChat(PEER_PN, { formattedTitle: "Mariana" });
  page.command({ token: page.token, command: "send_text", args: { chat_id: PEER_PN, text: "Olá! Segue a proposta 📄", request_id: "req-1" } });
  await flush(10);
  const results = page.of("command_result");
  assert.equal(results.length, 1);
  assert.equal(results[0].ok, true);
  assert.equal(results[0].request_id, "req-1");
  assert.match(results[0].id, /^true_5511990010001@c\.us_3EB0\d{16}$/);
  assert.equal(wa.calls.addAndSendMsgToChat.length, 1);
  const { attrs } = wa.calls.addAndSendMsgToChat[0];
  assert.equal(attrs.type, "chat");
  assert.equal(attrs.body, "Olá! Segue a proposta 📄");
  assert.equal(attrs.ack, 0);
  assert.equal(attrs.local, true);
  assert.equal(attrs.self, "out");
  assert.equal(attrs.isNewMsg, true);
  assert.equal(String(attrs.from), wa.me.pn);
  assert.equal(String(attrs.to), PEER_PN);
  assert.equal(Number.isInteger(attrs.t), true);
  assert.equal(attrs.id.participant, undefined);
  assert.equal(wa.calls.sendSeen, 0);
  // the sent message comes back through Msg add and is captured as our own
  const mine = page.of("message").at(-1);
  assert.equal(mine.id, results[0].id);
  assert.equal(mine.from_me, true);
  assert.equal(mine.sender, wa.me.pn);
  assert.equal(chat.msgs.getModelsArray().length, 1);

  // the same request id is not sent twice
  page.command({ token: page.token, command: "send_text", args: { chat_id: PEER_PN, text: "again", request_id: "req-1" } });
  await flush(10);
  assert.equal(wa.calls.addAndSendMsgToChat.length, 1);
  assert.deepEqual(page.of("command_result").at(-1), { request_id: "req-1", ok: false, error: "duplicate_request" });
});

test("send_text to a number never chatted with resolves it with queryWidExists first", async (t) => {
  const { page, wa } = boot(t);
  const target = "5521990010003@c.us";
  page.command({ token: page.token, command: "send_text", args: { chat_id: target, text: "Oi Joana", request_id: "r2" } });
  await flush(10);
  assert.deepEqual(wa.calls.queryWidExists, [target]);
  assert.deepEqual(wa.calls.findOrCreateLatestChat, [target]);
  assert.equal(page.of("command_result").at(-1).ok, true);
});

test("send_text in a LID-addressed group uses our LID and a participant", async (t) => {
  const { page, wa } = boot(t);
  wa.addChat(GROUP, { groupMetadata: { isLidAddressingMode: true } });
  page.command({ token: page.token, command: "send_text", args: { chat_id: GROUP, text: "bom dia", request_id: "g1" } });
  await flush(10);
  const { attrs } = wa.calls.addAndSendMsgToChat[0];
  assert.equal(String(attrs.from), wa.me.lid);
  assert.equal(String(attrs.id.participant), wa.me.lid);
  const res = page.of("command_result").at(-1);
  assert.equal(res.ok, true);
  assert.equal(res.id, attrs.id.toString());
  assert.equal(page.of("message").at(-1).author, wa.me.lid);
});

test("send_text failures are answered, not thrown", async (t) => {
  const { page, wa } = boot(t);
  wa.addChat(PEER_PN);
  wa.calls.sendError = new Error("No LID for user");
  page.command({ token: page.token, command: "send_text", args: { chat_id: "status@broadcast", text: "x", request_id: "s1" } });
  page.command({ token: page.token, command: "send_text", args: { chat_id: PEER_PN, text: "   ", request_id: "s2" } });
  page.command({ token: page.token, command: "send_text", args: { chat_id: PEER_PN, text: "oi", request_id: "s3" } });
  wa.calls.queryExistsResult = null;
  page.command({ token: page.token, command: "send_text", args: { chat_id: "5599999999999@c.us", text: "oi", request_id: "s4" } });
  await flush(10);
  assert.deepEqual(page.of("command_result"), [
    { request_id: "s1", ok: false, error: "unsupported_chat" },
    { request_id: "s2", ok: false, error: "bad_args" },
    { request_id: "s3", ok: false, error: "No LID for user" },
    { request_id: "s4", ok: false, error: "not_on_whatsapp" },
  ]);
  assert.equal(page.of("message").length, 0);
});

test("fill_composer inserts text with execCommand and never sends", (t) => {
  const { page, wa } = boot(t);
  page.command({ token: page.token, command: "fill_composer", args: { text: "Olá" } });
  assert.deepEqual(page.of("command_result").at(-1), { request_id: null, ok: false, error: "no_composer" });
  const composer = page.document.addComposer();
  page.command({ token: page.token, command: "fill_composer", args: { text: "Olá, Mariana! 😊", request_id: "f1" } });
  assert.equal(composer.text, "Olá, Mariana! 😊");
  assert.equal(composer.innerHTMLWrites, 0);
  assert.deepEqual(page.document.execCalls, [["insertText", "Olá, Mariana! 😊"]]);
  assert.deepEqual(page.of("command_result").at(-1), { request_id: "f1", ok: true });
  assert.equal(wa.calls.addAndSendMsgToChat.length, 0);
});

test("a throwing model never lets an exception escape into WhatsApp's emitter", (t) => {
  const { page, wa } = boot(t);
  const evil = newMsg({ id: new MsgKey({ fromMe: false, remote: new Wid(PEER_PN), id: "EV" }) });
  Object.defineProperty(evil, "isNewMsg", { get() { return true; } });
  Object.defineProperty(evil, "type", { get() { throw new Error("getter boom"); } });
  evil.__x_type = undefined;
  assert.doesNotThrow(() => wa.Msg.add(evil));
  assert.doesNotThrow(() => wa.Msg.trigger("add", null));
  assert.doesNotThrow(() => wa.Msg.trigger("change:ack", { get id() { throw new Error("x"); } }, 2));
  assert.doesNotThrow(() => wa.Chat.trigger("change:active", undefined));
  const brokenMsgKey = { toString() { throw new Error("bad key"); } };
  assert.doesNotThrow(() => wa.Msg.add(newMsg({ id: brokenMsgKey, body: "x" })));
  // a ciphertext message whose event API itself throws
  const hostile = newMsg({ id: new MsgKey({ fromMe: false, remote: new Wid(PEER_PN), id: "HX" }), type: "ciphertext" });
  Object.defineProperty(hostile, "once", { get() { throw new Error("no once"); } });
  assert.doesNotThrow(() => wa.Msg.add(hostile));
  assert.equal(page.of("log").filter((l) => l.level === "warning").length, 1);
  t.mock.timers.tick(100);
  // the handlers survive and keep working
  wa.Msg.add(newMsg({ id: new MsgKey({ fromMe: false, remote: new Wid(PEER_PN), id: "OK1" }), body: "ok", from: new Wid(PEER_PN) }));
  assert.equal(page.of("message").at(-1).id, "false_5511990010001@c.us_OK1");
});

test("does nothing outside config.allowedOrigins", (t) => {
  enableTimers(t);
  const cfg = { allowedOrigins: ["https://web.whatsapp.com"] };
  const other = createPage({ href: "https://example.org/?x=1", config: cfg });
  const wa = makeWhatsApp();
  other.runBridge();
  wa.installInto(other.window);
  tickSeconds(t, 5);
  assert.equal(other.events.length, 0);
  assert.equal(other.timers.calls, 0);
  assert.equal(wa.Msg.listenerCount("add"), 0);

  const same = createPage({ href: "https://web.whatsapp.com/", config: cfg });
  const wa2 = makeWhatsApp();
  same.runBridge();
  wa2.installInto(same.window);
  tickSeconds(t, 5);
  assert.equal(same.of("health").length, 1);
});
