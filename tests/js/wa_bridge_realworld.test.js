"use strict";
/*
 * Kinds of faults that users of whatsapp-web.js, WPPConnect wa-js, WAHA and Baileys reported,
 * checked against the capture script. Each test names the report it comes from; the facts are
 * restated in the test, never the projects' code.
 */
const test = require("node:test");
const assert = require("node:assert/strict");

const { createPage } = require("./helpers/page.js");
const { makeWhatsApp, MsgModel, Wid, MsgKey } = require("./helpers/fake_wa.js");
const S = require("../../resources/js/wa_serialize.js");

const T0 = 1764500000000;
const T0S = Math.floor(T0 / 1000);
const PEER = "5511990010001@c.us";
const PEER_LID = "204617782394561@lid";
const GROUP = "120363041122334455@g.us";
const ME = ["5511999990000@c.us", "100000000000001@lid"];

const flush = async (n = 8) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

function boot(t, waOpts = {}, before) {
  t.mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"], now: T0 });
  const page = createPage();
  const wa = makeWhatsApp(waOpts);
  if (before) before(wa);
  page.runBridge();
  t.mock.timers.tick(500);
  wa.installInto(page.window);
  for (let i = 0; i < 12; i++) t.mock.timers.tick(250);
  return { page, wa };
}

async function drain(t) {
  for (let i = 0; i < 3; i++) {
    t.mock.timers.tick(1);
    await flush();
  }
}

function key(remote, id, fromMe = false, participant) {
  return new MsgKey({ fromMe, remote: new Wid(remote), id, participant: participant ? new Wid(participant) : undefined });
}

function msg(attrs) {
  return new MsgModel(Object.assign({ t: T0S, ack: 1, isNewMsg: true, type: "chat" }, attrs));
}

function noWarnings(page) {
  assert.deepEqual(page.junk, []);
  const bad = page.of("log").filter((l) => l.level === "warning" || l.level === "error");
  assert.deepEqual(bad, []);
}

// wwebjs #1921/#924, PR #2292: "waiting for this message" (ciphertext) is decrypted later. A
// ciphertext that was not live (backfill, offline delivery) must be captured when it decrypts.
test("a ciphertext loaded without isNewMsg is captured once it decrypts; a live one still once", async (t) => {
  const { page, wa } = boot(t);
  const chat = wa.addChat(PEER, { formattedTitle: "Mariana" });
  const cipher = msg({ id: key(PEER, "CX1"), type: "ciphertext", body: "", isNewMsg: false, from: new Wid(PEER) });
  chat.msgs.add(cipher);
  wa.Msg.add(cipher);
  chat.set("active", true);
  t.mock.timers.tick(60);
  await drain(t);
  assert.equal(page.of("message").length, 0, "pending ciphertext is never stored");
  cipher.__x_body = "agora dá pra ler";
  cipher.set("type", "chat");
  await drain(t);
  const got = page.of("message");
  assert.equal(got.length, 1);
  assert.equal(got[0].id, "false_" + PEER + "_CX1");
  assert.equal(got[0].body, "agora dá pra ler");
  assert.equal(got[0].is_new, false);

  // live: the model's own once() and the collection's change:type both fire; one message.
  const live = msg({ id: key(PEER, "CX2"), type: "ciphertext", body: "", from: new Wid(PEER) });
  wa.Msg.add(live);
  live.__x_body = "oi";
  live.set("type", "chat");
  await drain(t);
  assert.deepEqual(page.of("message").map((m) => m.id), ["false_" + PEER + "_CX1", "false_" + PEER + "_CX2"]);
  // a build whose change events pass (model, value, options), not the previous value
  const quiet = msg({ id: key(PEER, "CX4"), type: "ciphertext", body: "", isNewMsg: false, from: new Wid(PEER) });
  wa.Msg.add(quiet);
  t.mock.timers.tick(1);
  quiet.__x_body = "sem valor anterior";
  quiet.__x_type = "chat";
  wa.Msg.trigger("change:type", quiet, "chat", {});
  assert.equal(page.of("message").at(-1).id, "false_" + PEER + "_CX4");
  assert.equal(page.of("message").length, 3);
  // a ciphertext that turns into a revoke is not a message
  const gone = msg({ id: key(PEER, "CX3"), type: "ciphertext", body: "", isNewMsg: false });
  wa.Msg.add(gone);
  t.mock.timers.tick(1);
  gone.set("type", "revoked");
  assert.equal(page.of("message").length, 3);
  noWarnings(page);
});

// wwebjs "Didn't read pending messages while offline" (#6937 and copies): messages delivered
// after a gap can enter the store without isNewMsg (offline sync, isMdHistoryMsg). They are
// stored, as not new, and only once.
test("messages added without isNewMsg (offline sync, history) are captured as not new, once", async (t) => {
  const { page, wa } = boot(t);
  wa.addChat(PEER, { formattedTitle: "Mariana" });
  const m = msg({ id: key(PEER, "OFF9"), body: "mandei quando você estava offline", isNewMsg: false, isMdHistoryMsg: true, from: new Wid(PEER) });
  wa.Msg.add(m);
  wa.Msg.trigger("add", m, wa.Msg, {});
  assert.equal(page.of("message").length, 0, "not read inside WhatsApp's add");
  t.mock.timers.tick(1);
  const got = page.of("message");
  assert.equal(got.length, 1);
  assert.equal(got[0].id, "false_" + PEER + "_OFF9");
  assert.equal(got[0].is_new, false);
  assert.equal(got[0].body, "mandei quando você estava offline");
  noWarnings(page);
});

test("a burst of history adds is read in chunks, after WhatsApp's call returns", async (t) => {
  const { page, wa } = boot(t);
  const before = page.timers.calls;
  for (let i = 0; i < 120; i++) {
    wa.Msg.add(msg({ id: key(PEER, "HB" + i), body: "h" + i, isNewMsg: false, from: new Wid(PEER), t: T0S - 1000 + i }));
  }
  assert.equal(page.of("message").length, 0);
  t.mock.timers.tick(1);
  assert.equal(page.of("message").length, 120);
  assert.ok(page.timers.calls - before >= 3, "chunks of 50 on separate timer turns");
  assert.equal(new Set(page.of("message").map((m) => m.id)).size, 120);
  noWarnings(page);
});

// wwebjs PR #3715, #201694/#201696, issue #1178: the revoked model may carry a new id; the
// original is named by its `protocolMessageKey`.
test("a revoked model names the original through protocolMessageKey when it has one", async (t) => {
  const orig = key(PEER, "ORIG1", true);
  const revokedModel = msg({ id: key(PEER, "NEWID1", true), type: "revoked", protocolMessageKey: orig, subtype: "sender_revoke" });
  assert.equal(S.revokeData(revokedModel).id, "true_" + PEER + "_ORIG1");
  // without it, the model's own id
  assert.equal(S.revokeData(msg({ id: orig, type: "revoked" })).id, "true_" + PEER + "_ORIG1");

  const { page, wa } = boot(t);
  const m = msg({ id: key(PEER, "NEWID2"), body: "texto", from: new Wid(PEER) });
  wa.Msg.add(m);
  m.__x_protocolMessageKey = key(PEER, "ORIG2");
  m.set("type", "revoked");
  assert.deepEqual(page.of("revoke").map((r) => r.id), ["false_" + PEER + "_ORIG2"]);
  noWarnings(page);
});

// wa-js registerRevokeMessageEvent: revokes (and edits) of messages that are not in the store
// only pass through MsgCollection.processMultipleMessages; nothing reaches Msg `add`.
test("revoke and edit of messages not loaded are captured from processMultipleMessages", async (t) => {
  const { page, wa } = boot(t);
  const revoke = {
    id: key(PEER, "P1"), type: "protocol", subtype: "sender_revoke", protocolMessageKey: key(PEER, "GONE1"),
    t: T0S + 5, from: new Wid(PEER), isNewMsg: true,
  };
  const edit = {
    id: key(PEER, "P2"), type: "protocol", subtype: "message_edit", protocolMessageKey: key(PEER, "OLDTXT"),
    body: "texto corrigido", latestEditSenderTimestampMs: T0 + 7000, t: T0S + 7, from: new Wid(PEER), isNewMsg: true,
  };
  const captionEdit = {
    id: key(PEER, "P3"), type: "protocol", subtype: "message_edit", protocolMessageKey: key(PEER, "FOTO1"),
    body: "legenda nova", caption: "legenda nova", editMsgType: "image", latestEditSenderTimestampMs: T0 + 8000,
    from: new Wid(PEER), isNewMsg: true,
  };
  const result = wa.Msg.processMultipleMessages(new Wid(PEER), [revoke, edit, captionEdit]);
  assert.equal(typeof result.then, "function", "the original's promise is returned");
  assert.deepEqual(await result, []);
  assert.equal(wa.calls.processMultipleMessages, 1);
  await drain(t);
  assert.deepEqual(page.of("revoke"), [{ id: "false_" + PEER + "_GONE1", revoked_at: T0S + 5, by_admin: false }]);
  assert.deepEqual(page.of("edit"), [
    { id: "false_" + PEER + "_OLDTXT", body: "texto corrigido", edited_at_ms: T0 + 7000 },
    { id: "false_" + PEER + "_FOTO1", caption: "legenda nova", edited_at_ms: T0 + 8000 },
  ]);
  assert.equal(page.of("message").length, 0, "protocol messages are never history rows");

  // the same protocol message also seen through Msg `add`: no second event
  wa.Msg.add(new MsgModel(Object.assign({}, revoke)));
  wa.Msg.add(new MsgModel(Object.assign({}, edit)));
  await drain(t);
  assert.equal(page.of("revoke").length, 1);
  assert.equal(page.of("edit").length, 2);

  noWarnings(page);
});

test("the processMultipleMessages observer never throws into WhatsApp, whatever it is given", async (t) => {
  const { page, wa } = boot(t);
  const junk = [7, "x", { type: "protocol", subtype: "sender_revoke" }, { type: "protocol", protocolMessageKey: {} }];
  assert.deepEqual(await wa.Msg.processMultipleMessages(new Wid(PEER), junk.filter((x) => typeof x === "object")), []);
  // a getter that throws when the observer reads it: WhatsApp's own processing still happens
  let reads = 0;
  const tricky = { id: key(PEER, "N2"), body: "ok", t: T0S, isNewMsg: true, from: new Wid(PEER) };
  Object.defineProperty(tricky, "type", {
    enumerable: true,
    get() {
      reads += 1;
      if (reads === 1) throw new Error("boom");
      return "chat";
    },
  });
  const out = await wa.Msg.processMultipleMessages(new Wid(PEER), [tricky]);
  assert.equal(out.length, 1);
  assert.ok(reads >= 2, "the observer read the field first");
  await drain(t);
  assert.deepEqual(page.of("message").map((m) => m.id), ["false_" + PEER + "_N2"]);
  assert.equal(page.of("revoke").length, 0);
  assert.deepEqual(page.junk, []);
});

// wa-js registerAckMessageEvent: receipts for messages that are not loaded never fire
// change:ack; WhatsApp handles them in WAWebHandleDirectChatReceipt.handleChatSimpleReceipt.
test("read receipts of direct chats for messages not loaded become acks", async (t) => {
  const { page, wa } = boot(t);
  const handle = wa.modules.WAWebHandleDirectChatReceipt.handleChatSimpleReceipt;
  const r = handle({ ack: 3, ackString: "read", externalIds: ["A1", "A2"], from: new Wid("5511990010001:7@c.us"), recipient: null, ts: T0S });
  assert.equal(typeof r.then, "function");
  await drain(t);
  assert.deepEqual(page.of("ack"), [
    { id: "true_" + PEER + "_A1", ack: 3 },
    { id: "true_" + PEER + "_A2", ack: 3 },
  ]);
  assert.equal(wa.calls.receipts.length, 1, "WhatsApp's handler still ran");
  // our own devices' receipts, sender receipts, server acks, groups and PEER acks: nothing
  handle({ ack: 3, ackString: "read-self", externalIds: ["B1"], from: new Wid(ME[1]), recipient: new Wid(PEER), ts: T0S });
  handle({ ack: 3, ackString: "sender", externalIds: ["B2"], from: new Wid(PEER), recipient: new Wid(PEER), ts: T0S });
  handle({ ack: 1, externalIds: ["B3"], from: new Wid(PEER), ts: T0S });
  handle({ ack: 5, externalIds: ["B4"], from: new Wid(PEER), ts: T0S });
  handle({ ack: 3, externalIds: ["bad id!"], from: new Wid(PEER), ts: T0S });
  wa.modules.WAWebHandleGroupChatReceipt.handleGroupSimpleReceipt({ ack: 3, externalIds: ["G1"], from: new Wid(GROUP), participant: new Wid(PEER_LID), ts: T0S });
  await drain(t);
  assert.equal(page.of("ack").length, 2);
  // a loaded message: change:ack reports it, the receipt path does not repeat it
  const mine = msg({ id: key(PEER, "L1", true), body: "proposta", from: new Wid(ME[0]), ack: 2 });
  wa.Msg.add(mine);
  handle({ ack: 3, ackString: "read", externalIds: ["L1"], from: new Wid(PEER), ts: T0S });
  await drain(t);
  assert.deepEqual(page.of("ack").slice(2), [{ id: "true_" + PEER + "_L1", ack: 3 }]);
  noWarnings(page);
});

// WAHA #1816 (same message id under @lid and @c.us); whatsapp-web-bridge.md §3.2: one message may
// reach us under a phone and a LID remote. Dedupe on (raw id, sender), and point later events at
// the copy that was stored.
test("PN and LID copies of one message are stored once; events on the copy go to the stored id", async (t) => {
  const { page, wa } = boot(t);
  wa.lidToPn.set(PEER_LID, PEER);
  const pnCopy = msg({ id: key(PEER, "3A77AA"), body: "mesma mensagem", from: new Wid(PEER) });
  const lidCopy = msg({ id: key(PEER_LID, "3A77AA"), body: "mesma mensagem", from: new Wid(PEER_LID) });
  wa.Msg.add(pnCopy);
  wa.Msg.add(lidCopy);
  assert.deepEqual(page.of("message").map((m) => m.id), ["false_" + PEER + "_3A77AA"]);
  lidCopy.set("ack", 3);
  assert.deepEqual(page.of("ack").at(-1), { id: "false_" + PEER + "_3A77AA", ack: 3 });
  lidCopy.__x_latestEditSenderTimestampMs = T0 + 1000;
  lidCopy.__x_latestEditMsgKey = key(PEER_LID, "3A77AB");
  lidCopy.set("body", "mesma mensagem, editada");
  assert.equal(page.of("edit").at(-1).id, "false_" + PEER + "_3A77AA");

  // groups: the sender as LID in one copy and as phone in the other
  const g1 = msg({ id: key(GROUP, "3A88", false, PEER), body: "no grupo", author: new Wid(PEER) });
  const g2 = msg({ id: key(GROUP, "3A88", false, PEER_LID), body: "no grupo", author: new Wid(PEER_LID) });
  wa.Msg.add(g2);
  wa.Msg.add(g1);
  assert.deepEqual(page.of("message").map((m) => m.id).slice(1), ["false_" + GROUP + "_3A88_" + PEER_LID]);

  // the same raw id from someone else is another message
  const other = msg({ id: key("5511990010009@c.us", "3A77AA"), body: "outra", from: new Wid("5511990010009@c.us") });
  wa.Msg.add(other);
  assert.equal(page.of("message").length, 3);
  // our own message under both of our ids' chats
  const out1 = msg({ id: key(PEER, "3EB0DD", true), body: "nossa", from: new Wid(ME[0]) });
  const out2 = msg({ id: key(PEER_LID, "3EB0DD", true), body: "nossa", from: new Wid(ME[1]) });
  wa.Msg.add(out1);
  wa.Msg.add(out2);
  assert.equal(page.of("message").length, 4);
  noWarnings(page);
});

// wa-js enums ACK: MD_DOWNGRADE -7 … EXPIRED -2, FAILED -1, …, PLAYED 4, PEER 5.
test("failed-send acks below -1 are stored as an error; PEER (5) is not a delivery state", async (t) => {
  const m0 = msg({ id: key(PEER, "F0", true), body: "x", ack: -4, from: new Wid(ME[0]) });
  assert.equal(S.serializeMessage(m0, { meIds: ME }).ack, -1);
  assert.equal("ack" in S.serializeMessage(msg({ id: key(PEER, "F1", true), body: "x", ack: 5 }), { meIds: ME }), false);
  const { page, wa } = boot(t);
  const m = msg({ id: key(PEER, "F2", true), body: "arquivo grande", from: new Wid(ME[0]), ack: 0 });
  wa.Msg.add(m);
  m.set("ack", -4);
  m.set("ack", 5);
  assert.deepEqual(page.of("ack"), [{ id: "true_" + PEER + "_F2", ack: -1 }]);
  noWarnings(page);
});

// wa-js editMessage sets latestEditSenderTimestampMs from `t` (seconds); received edits carry ms.
test("edit times given in seconds are stored in milliseconds", () => {
  const m = msg({ id: key(PEER, "E9"), body: "editado", latestEditSenderTimestampMs: T0S + 30, latestEditMsgKey: key(PEER, "E9b") });
  assert.equal(S.editData(m).edited_at_ms, (T0S + 30) * 1000);
  assert.equal(S.serializeMessage(m, { meIds: ME }).latest_edit_ms, (T0S + 30) * 1000);
  const ms = msg({ id: key(PEER, "E8"), body: "editado", latestEditSenderTimestampMs: T0 + 30 });
  assert.equal(S.editData(ms).edited_at_ms, T0 + 30);
});

// wa-js getActiveChat reads `active` off the collection; whatsapp-web-bridge.md §1.4/§9: read
// current values as well as subscribing. A chat opened without any change:active reaching us
// is still reported.
test("the open chat is found from current state when no change:active event arrives", async (t) => {
  const { page, wa } = boot(t);
  const chat = wa.addChat(PEER, { formattedTitle: "Mariana" });
  chat.msgs.add(msg({ id: key(PEER, "H1"), body: "histórico", isNewMsg: false, from: new Wid(PEER) }));
  chat.__x_active = true; // no event
  for (let i = 0; i < 12; i++) t.mock.timers.tick(250);
  await drain(t);
  assert.equal(page.of("active_chat").at(-1).chat_id, PEER);
  assert.deepEqual(page.of("message").map((m) => m.id), ["false_" + PEER + "_H1"]);
  chat.__x_active = false;
  for (let i = 0; i < 12; i++) t.mock.timers.tick(250);
  assert.equal(page.of("active_chat").at(-1).chat_id, null);
  assert.equal(page.of("active_chat").length, 3); // none, Mariana, none: no repeats
  noWarnings(page);
});

// Baileys jid-utils: `@s.whatsapp.net` is the protocol spelling of `@c.us`, and `:N` a device.
test("message keys spelled with @s.whatsapp.net or a device suffix give WhatsApp Web's id", () => {
  const k1 = new MsgKey({ fromMe: false, remote: new Wid("5511990010001@s.whatsapp.net"), id: "3A01" });
  assert.equal(S.msgKeyToString(k1), "false_5511990010001@c.us_3A01");
  const k2 = new MsgKey({ fromMe: false, remote: new Wid(GROUP), id: "3A02", participant: new Wid("204617782394561:12@lid") });
  assert.equal(S.msgKeyToString(k2), "false_" + GROUP + "_3A02_" + PEER_LID);
  assert.equal(S.msgKeyToString("false_5511990010001@s.whatsapp.net_3A03"), "false_5511990010001@c.us_3A03");
  // plain ids are left exactly as WhatsApp wrote them
  assert.equal(S.msgKeyToString("true_" + PEER + "_3EB0ABC"), "true_" + PEER + "_3EB0ABC");
  const m = msg({ id: k1, body: "oi", from: new Wid("5511990010001:3@s.whatsapp.net") });
  const d = S.serializeMessage(m, { meIds: ME });
  assert.equal(d.id, "false_5511990010001@c.us_3A01");
  assert.equal(d.chat_id, PEER);
  assert.equal(d.sender, PEER);
});

// wa-js createOrUpdateReactions rows carry string keys (`id`, `reactionParentKey`) and `t`.
test("reaction rows with string keys: our own reaction is ours, removal is an empty emoji", () => {
  const own = S.reactionData({ id: "true_" + PEER + "_R1", reactionParentKey: "false_" + PEER + "_M1", reactionText: "👍", t: T0 }, ME);
  assert.deepEqual(own, { id: "false_" + PEER + "_M1", sender: ME[0], emoji: "👍", t_ms: T0 });
  const removed = S.reactionData({ id: "false_" + PEER + "_R2", reactionParentKey: "true_" + PEER + "_M2", reactionText: "", from: PEER, t: T0S }, ME);
  assert.deepEqual(removed, { id: "true_" + PEER + "_M2", sender: PEER, emoji: "", t_ms: T0S * 1000 });
});

// wwebjs #3747: getMaybeMeUser was replaced by getMaybeMePnUser/getMaybeMeLidUser (Aug 2025);
// older builds only have the first. Both must give our id.
test("a build with only the old getMaybeMeUser still knows who we are", (t) => {
  const { page, wa } = boot(t, {}, (w) => {
    w.modules.WAWebUserPrefsMeUser = { getMaybeMeUser: () => new Wid(w.me.pn) };
  });
  wa.Msg.add(msg({ id: key(GROUP, "OWN1", true), body: "nossa no grupo" }));
  const d = page.of("message").at(-1);
  assert.equal(d.author, "5511999990000@c.us");
  assert.ok(page.of("health").at(-1).ok);
});

// wwebjs PR #201653: listeners stacked up (3-4 sets) after re-injection, so every event came
// several times. Here a module appearing late makes the bridge re-resolve everything.
test("re-resolving modules after a late registration never doubles listeners or observers", async (t) => {
  const { page, wa } = boot(t, { drop: ["WAWebHandleDirectChatReceipt"] });
  assert.ok(page.of("health").at(-1).missing.includes("WAWebHandleDirectChatReceipt.handleChatSimpleReceipt"));
  wa.registerModule("WAWebHandleDirectChatReceipt", {
    handleChatSimpleReceipt: () => Promise.resolve(),
  });
  for (let i = 0; i < 12; i++) t.mock.timers.tick(250);
  assert.deepEqual(page.of("health").at(-1).missing, []);
  for (let i = 0; i < 12; i++) t.mock.timers.tick(250); // more re-checks, nothing new
  wa.Msg.add(msg({ id: key(PEER, "ONCE1"), body: "uma vez", from: new Wid(PEER) }));
  assert.equal(page.of("message").length, 1);
  const m = wa.Msg.get("false_" + PEER + "_ONCE1");
  m.set("ack", 3);
  assert.equal(page.of("ack").length, 1);
  await wa.Msg.processMultipleMessages(new Wid(PEER), [
    { id: key(PEER, "PX"), type: "protocol", subtype: "revoke", protocolMessageKey: key(PEER, "ZZ1"), t: T0S },
  ]);
  wa.modules.WAWebHandleDirectChatReceipt.handleChatSimpleReceipt({ ack: 3, externalIds: ["Q1"], from: new Wid(PEER) });
  await drain(t);
  assert.equal(page.of("revoke").length, 1);
  assert.equal(page.of("ack").length, 2);
  noWarnings(page);
});
