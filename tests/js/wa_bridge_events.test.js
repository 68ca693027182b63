"use strict";
/*
 * Issue 3 capture: edits, revokes, reactions, rich message kinds, LID phones, backfill pages,
 * catch-up and reconnect. wa_bridge.js runs wrapped as Python wraps it, in node:vm.
 */
const test = require("node:test");
const assert = require("node:assert/strict");

const { createPage } = require("./helpers/page.js");
const { makeWhatsApp, MsgModel, Wid, MsgKey, Collection } = require("./helpers/fake_wa.js");
const ser = require("../../resources/js/wa_serialize.js");

const T0 = 1764500000000;
const PEER = "5511990010001@c.us";
const PEER_LID = "204617782394561@lid";
const GROUP = "120363041122334455@g.us";
const OTHER_LID = "207788990011223@lid";

const flush = async (n = 8) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

function boot(t, waOpts = {}) {
  t.mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"], now: T0 });
  const page = createPage();
  const wa = makeWhatsApp(waOpts);
  page.runBridge();
  t.mock.timers.tick(500);
  wa.installInto(page.window);
  for (let i = 0; i < 12; i++) t.mock.timers.tick(250);
  return { page, wa };
}

function key(remote, id, fromMe = false, participant) {
  return new MsgKey({ fromMe, remote: new Wid(remote), id, participant: participant ? new Wid(participant) : undefined });
}

function msg(attrs) {
  return new MsgModel(Object.assign({ t: Math.floor(T0 / 1000), ack: 1, isNewMsg: true, type: "chat" }, attrs));
}

async function drain(t, page) {
  t.mock.timers.tick(1);
  await flush();
  t.mock.timers.tick(1);
  await flush();
  return page;
}

test("an edit signalled by body then only by latestEditMsgKey: two edit events, deduped", async (t) => {
  const { page, wa } = boot(t);
  const m = msg({ id: key(PEER, "E1"), body: "original", from: new Wid(PEER) });
  wa.Msg.add(m);
  assert.equal(page.of("message").at(-1).body, "original");

  // first edit: WhatsApp sets body and the markers together (three change events)
  m.__x_latestEditSenderTimestampMs = T0 + 1000;
  m.set("body", "primeira edição");
  m.set("latestEditMsgKey", key(PEER, "EDIT1"));
  // second edit: only the marker signal fires (wwebjs #2598)
  m.__x_body = "segunda edição";
  m.__x_latestEditSenderTimestampMs = T0 + 2000;
  m.set("latestEditMsgKey", key(PEER, "EDIT2"));
  // a repeated signal for the same edit
  m.set("latestEditMsgKey", key(PEER, "EDIT2"));

  assert.deepEqual(page.of("edit"), [
    { id: "false_" + PEER + "_E1", body: "primeira edição", edited_at_ms: T0 + 1000 },
    { id: "false_" + PEER + "_E1", body: "segunda edição", edited_at_ms: T0 + 2000 },
  ]);
});

test("a body change without an edit marker (decryption) is not an edit; revoked messages are never edits", (t) => {
  const { page, wa } = boot(t);
  const m = msg({ id: key(PEER, "D1"), body: "x", from: new Wid(PEER) });
  wa.Msg.add(m);
  m.set("body", "y");
  m.__x_latestEditSenderTimestampMs = T0;
  m.__x_type = "revoked";
  m.set("body", "");
  assert.deepEqual(page.of("edit"), []);
});

test("revokes: protocol message names the original; the original turning `revoked` too; one event", (t) => {
  const { page, wa } = boot(t);
  const original = msg({ id: key(PEER, "R1"), body: "vou apagar", from: new Wid(PEER) });
  wa.Msg.add(original);
  const proto = msg({
    id: key(PEER, "P1"),
    type: "protocol",
    subtype: "sender_revoke",
    protocolMessageKey: key(PEER, "R1"),
    t: Math.floor(T0 / 1000) + 5,
    from: new Wid(PEER),
  });
  wa.Msg.add(proto);
  original.set("type", "revoked");
  // group admin revoke
  const g = msg({ id: key(GROUP, "R2", false, OTHER_LID), body: "spam", author: new Wid(OTHER_LID), from: new Wid(GROUP) });
  wa.Msg.add(g);
  wa.Msg.add(msg({ id: key(GROUP, "P2", true), type: "protocol", subtype: "admin_revoke", protocolMessageKey: key(GROUP, "R2", false, OTHER_LID) }));

  assert.deepEqual(page.of("revoke"), [
    { id: "false_" + PEER + "_R1", by_admin: false, revoked_at: Math.floor(T0 / 1000) + 5 },
    { id: "false_" + GROUP + "_R2_" + OTHER_LID, by_admin: true, revoked_at: Math.floor(T0 / 1000) },
  ]);
  // protocol messages are never stored as messages
  assert.ok(page.of("message").every((d) => d.type !== "protocol"));
});

test("reactions: bulkUpsert is observed, the original still runs and its result is returned", async (t) => {
  const { page, wa } = boot(t);
  const table = wa.modules.WAWebAddonReactionTableMode.reactionTableMode;
  const rows = [
    { id: key(PEER, "RX1"), reactionParentKey: key(PEER, "M1", true), reactionText: "👍", reactionTimestamp: T0 + 10, author: new Wid(PEER) },
    { id: key(PEER, "RX2", true), reactionParentKey: key(PEER, "M2"), reactionText: "", reactionTimestamp: T0 + 20 },
  ];
  const ret = await table.bulkUpsert(rows);
  assert.equal(ret, 2);
  assert.equal(table.rows.length, 2);
  await drain(t, page);
  assert.deepEqual(page.of("reaction"), [
    { id: "true_" + PEER + "_M1", sender: PEER, emoji: "👍", t_ms: T0 + 10 },
    { id: "false_" + PEER + "_M2", sender: wa.me.pn, emoji: "", t_ms: T0 + 20 },
  ]);
  // installed once even after a module re-check
  assert.equal(typeof table.bulkUpsert, "function");
});

test("a throwing reaction row never breaks WhatsApp's bulkUpsert", async (t) => {
  const { page, wa } = boot(t);
  const table = wa.modules.WAWebAddonReactionTableMode.reactionTableMode;
  const evil = {};
  Object.defineProperty(evil, "reactionParentKey", { get() { throw new Error("boom"); } });
  assert.equal(await table.bulkUpsert([evil]), 1);
  await drain(t, page);
  assert.deepEqual(page.of("reaction"), []);
});

test("serializer: location, vcard, multi_vcard, poll, mentions, forwarded, system message", () => {
  const me = ["5511999990000@c.us", "100000000000001@lid"];
  const loc = ser.serializeMessage(
    msg({ id: key(PEER, "L1"), type: "location", body: "/9j/AAAA", lat: -23.5614, lng: -46.6559, loc: "Stand de vendas\nAv. Paulista, 1000" }),
    { meIds: me },
  );
  assert.deepEqual(loc.location, { lat: -23.5614, lng: -46.6559, name: "Stand de vendas", address: "Av. Paulista, 1000" });
  assert.equal(loc.body, undefined);

  const card = "BEGIN:VCARD\nVERSION:3.0\nFN:Corretor\nTEL;type=CELL:+55 11 90000-0000\nEND:VCARD";
  const vc = ser.serializeMessage(msg({ id: key(PEER, "V1"), type: "vcard", body: card }), { meIds: me });
  assert.deepEqual(vc.vcards, [card]);
  assert.equal(vc.body, undefined);
  const multi = ser.serializeMessage(
    msg({ id: key(PEER, "V2"), type: "multi_vcard", vcardList: [{ displayName: "a", vcard: card }, { displayName: "b", vcard: card }] }),
    { meIds: me },
  );
  assert.equal(multi.vcards.length, 2);

  const poll = ser.serializeMessage(
    msg({ id: key(PEER, "P1"), type: "poll_creation", pollName: "Melhor dia?", pollOptions: [{ localId: 0, name: "Sábado" }, { localId: 1, name: "Domingo" }], pollSelectableOptionsCount: 1 }),
    { meIds: me },
  );
  assert.deepEqual(poll.poll, { name: "Melhor dia?", options: ["Sábado", "Domingo"], selectable_count: 1 });
  assert.equal(poll.body, "Melhor dia?");

  const fw = ser.serializeMessage(
    msg({ id: key(GROUP, "F1", false, OTHER_LID), author: new Wid(OTHER_LID), isForwarded: true, mentionedJidList: [new Wid(PEER), "junk"], body: "@fulano" }),
    { meIds: me },
  );
  assert.equal(fw.is_forwarded, true);
  assert.deepEqual(fw.mentioned, [PEER]);

  const sys = ser.serializeMessage(msg({ id: key(GROUP, "S1"), type: "gp2", subtype: "add", isNotification: true, body: "" }), { meIds: me });
  assert.equal(sys.is_notification, true);
  assert.equal(sys.subtype, "add");
  const call = ser.serializeMessage(msg({ id: key(PEER, "C1"), type: "call_log" }), { meIds: me });
  assert.equal(call.is_notification, true);
});

test("serializer: chat_lid for a phone chat comes from lookupLid, never invented", () => {
  const d = ser.serializeMessage(msg({ id: key(PEER, "X1"), body: "oi" }), { meIds: [], lookupLid: () => new Wid(PEER_LID) });
  assert.equal(d.chat_lid, PEER_LID);
  const none = ser.serializeMessage(msg({ id: key(PEER, "X2"), body: "oi" }), { meIds: [], lookupLid: () => undefined });
  assert.equal(none.chat_lid, undefined);
  const lidChat = ser.serializeMessage(msg({ id: key(PEER_LID, "X3"), body: "oi" }), { meIds: [], lookupLid: () => new Wid(PEER_LID) });
  assert.equal(lidChat.chat_lid, undefined);
});

test("backfill on open: loaded messages, then bounded loadEarlierMsgs pages, chunked, no duplicates", async (t) => {
  const { page, wa } = boot(t, { earlierPage: 50 });
  const chat = wa.addChat(PEER, { formattedTitle: "Mariana" });
  chat.msgs.msgLoadState = { noEarlierMsgs: false };
  const all = [];
  for (let i = 0; i < 2000; i++) {
    all.push(msg({ id: key(PEER, "B" + i, i % 2 === 0), body: "m" + i, t: 1700000000 + i, isNewMsg: false, from: new Wid(PEER) }));
  }
  for (const m of all.slice(-30)) chat.msgs.add(m);
  chat.__earlier = all.slice(0, -30);

  chat.set("active", true);
  t.mock.timers.tick(60);
  for (let i = 0; i < 200; i++) await drain(t, page);
  const ids = page.of("message").map((m) => m.id);
  assert.equal(new Set(ids).size, ids.length);
  // 30 loaded + 5 pages of 50 (BACKFILL_PAGES default), far below the 2,000 of the chat
  assert.equal(ids.length, 30 + 5 * 50);
  assert.equal(wa.calls.loadEarlierMsgs, 5);
  assert.ok(page.of("message").every((m) => m.is_new === false));
});

test("catch_up: only chats with activity since since_t, only newer messages", async (t) => {
  const { page, wa } = boot(t);
  const old = wa.addChat("5511990010004@c.us", { t: 1700000000 });
  old.msgs.add(msg({ id: key("5511990010004@c.us", "O1"), body: "velho", t: 1700000000, isNewMsg: false }));
  const busy = wa.addChat(PEER, { t: 1700000500 });
  busy.msgs.add(msg({ id: key(PEER, "N0"), body: "antes", t: 1700000100, isNewMsg: false }));
  busy.msgs.add(msg({ id: key(PEER, "N1"), body: "depois", t: 1700000400, isNewMsg: false }));
  page.command({ token: page.token, command: "catch_up", args: { since_t: 1700000300 } });
  for (let i = 0; i < 5; i++) await drain(t, page);
  assert.deepEqual(page.of("message").map((m) => m.id), ["false_" + PEER + "_N1"]);
});

test("reconnect (phone offline → connected) backfills the open chat again", async (t) => {
  const { page, wa } = boot(t);
  const chat = wa.addChat(PEER, { formattedTitle: "Mariana" });
  chat.set("active", true);
  t.mock.timers.tick(60);
  await drain(t, page);
  wa.Stream.set("mode", "OFFLINE");
  // while offline, WhatsApp loads a message without isNewMsg (e.g. offline delivery)
  chat.msgs.add(msg({ id: key(PEER, "OFF1"), body: "chegou offline", isNewMsg: false }));
  wa.Stream.set("mode", "MAIN");
  await drain(t, page);
  assert.ok(page.of("state").some((s) => s.state === "phone_offline"));
  assert.deepEqual(page.of("message").map((m) => m.id), ["false_" + PEER + "_OFF1"]);
});

test("renamed collections: WAWebGroupMetadataCollection accepted, newsletter collection absent is fine", (t) => {
  const { page, wa } = boot(t);
  wa.modules.WAWebCollections.WAWebGroupMetadataCollection = new Collection();
  assert.equal(page.of("health").at(-1).ok, true);
  assert.deepEqual(page.junk, []);
});
