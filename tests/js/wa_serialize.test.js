"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");

const S = require(path.join(__dirname, "..", "..", "resources", "js", "wa_serialize.js"));
const { Wid, MsgKey, MsgModel, ChatModel, ContactModel, Collection } = require("./helpers/fake_wa.js");

const ME_PN = "5511999990000@c.us";
const ME_LID = "100000000000001@lid";
const ME = [ME_PN, ME_LID];
const PEER_PN = "5511990010001@c.us";
const PEER_LID = "204617782394561@lid";
const GROUP = "120363041122334455@g.us";
// A realistic base64 JPEG thumbnail, as WhatsApp stores it in `body` of media messages.
const THUMB = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/wAALCAAQABABAREA";

function msg(attrs) {
  return new MsgModel(Object.assign({ t: 1764500000, ack: 1, isNewMsg: true }, attrs));
}

function key(fromMe, remote, id, participant, opts) {
  return new MsgKey(
    { fromMe, remote: new Wid(remote), id, participant: participant ? new Wid(participant) : undefined },
    opts,
  );
}

// ---------------------------------------------------------------------------------------------
// ids

test("widToString prefers toString, then _serialized, then user@server", () => {
  assert.equal(S.widToString(new Wid(PEER_PN)), PEER_PN);
  assert.equal(S.widToString(new Wid(PEER_PN, { serialized: true })), PEER_PN);
  // July 2026 shape: no _serialized at all
  const w = new Wid(PEER_LID);
  assert.equal(w._serialized, undefined);
  assert.equal(S.widToString(w), PEER_LID);
  // a plain object with parts only (no own toString)
  assert.equal(S.widToString({ user: "5511990010001", server: "c.us" }), PEER_PN);
  // a stale _serialized is not trusted over toString()
  const stale = new Wid(PEER_PN);
  stale._serialized = "000@c.us";
  assert.equal(S.widToString(stale), PEER_PN);
  // only _serialized
  assert.equal(S.widToString({ _serialized: GROUP }), GROUP);
  assert.equal(S.widToString(null), null);
  assert.equal(S.widToString({}), null);
  assert.equal(S.widToString("not an id"), null);
  // a throwing toString falls back
  assert.equal(S.widToString({ toString() { throw new Error("x"); }, user: "1", server: "lid" }), "1@lid");
});

test("ids built from parts equal the toString form (3 and 4 parts)", () => {
  const k3 = key(true, PEER_PN, "3EB0AAAA");
  assert.equal(S.msgKeyFromParts(true, new Wid(PEER_PN), "3EB0AAAA"), k3.toString());
  assert.equal(S.msgKeyToString(k3), "true_5511990010001@c.us_3EB0AAAA");
  const k4 = key(false, GROUP, "3A1234", PEER_LID);
  assert.equal(S.msgKeyFromParts(false, new Wid(GROUP), "3A1234", new Wid(PEER_LID)), k4.toString());
  assert.equal(S.msgKeyToString(k4), "false_" + GROUP + "_3A1234_" + PEER_LID);
  // plain object with parts only gives the same string
  assert.equal(
    S.msgKeyToString({ fromMe: false, remote: { user: "120363041122334455", server: "g.us" }, id: "3A1234", participant: new Wid(PEER_LID) }),
    k4.toString(),
  );
});

test("MsgKey without _serialized is still serialized", () => {
  const k = key(false, PEER_LID, "ABCDEF0123");
  assert.equal(k._serialized, undefined);
  assert.equal(S.msgKeyToString(k), "false_204617782394561@lid_ABCDEF0123");
  // a key whose toString is the Object default and has no _serialized: built from parts
  const plain = { fromMe: true, remote: new Wid(PEER_PN), id: "3EB0X" };
  assert.equal(S.msgKeyToString(plain), "true_5511990010001@c.us_3EB0X");
  // parts missing, _serialized as last resort
  assert.equal(S.msgKeyToString({ _serialized: "true_" + PEER_PN + "_Z" }), "true_" + PEER_PN + "_Z");
  assert.equal(S.msgKeyToString({}), null);
});

test("parseMsgId splits 3 and 4 part ids", () => {
  assert.deepEqual(S.parseMsgId("false_" + GROUP + "_3A1_" + PEER_LID), {
    fromMe: false, remote: GROUP, id: "3A1", participant: PEER_LID,
  });
  assert.deepEqual(S.parseMsgId("true_" + PEER_PN + "_3EB0"), { fromMe: true, remote: PEER_PN, id: "3EB0", participant: null });
  assert.equal(S.parseMsgId("nope"), null);
});

test("LID ids never yield a phone; only @c.us does", () => {
  assert.equal(S.phoneFromWid(PEER_PN), "5511990010001");
  assert.equal(S.phoneFromWid(new Wid(PEER_PN)), "5511990010001");
  assert.equal(S.phoneFromWid("5511990010001@s.whatsapp.net"), "5511990010001");
  assert.equal(S.phoneFromWid("5511990010001:12@c.us"), "5511990010001");
  assert.equal(S.phoneFromWid(PEER_LID), null);
  assert.equal(S.phoneFromWid(new Wid(PEER_LID)), null);
  assert.equal(S.phoneFromWid(GROUP), null);
  assert.equal(S.phoneFromWid("status@broadcast"), null);
  assert.equal(S.phoneFromWid("1234567890@broadcast"), null);
  assert.equal(S.phoneFromWid("120363000000000001@newsletter"), null);
  assert.equal(S.phoneFromWid("0@c.us"), null);
  assert.equal(S.phoneFromWid(null), null);
});

test("chatKind", () => {
  assert.equal(S.chatKind(PEER_PN), "user");
  assert.equal(S.chatKind(PEER_LID), "lid");
  assert.equal(S.chatKind(GROUP), "group");
  assert.equal(S.chatKind("status@broadcast"), "status");
  assert.equal(S.chatKind("123@broadcast"), "broadcast");
  assert.equal(S.chatKind("120363000000000001@newsletter"), "newsletter");
  assert.equal(S.chatKind("13135550002@bot"), "bot");
  assert.equal(S.chatKind(new Wid(GROUP)), "group");
  assert.equal(S.chatKind(undefined), "unknown");
});

test("isOwnId accepts both own PN and own LID (and device forms)", () => {
  assert.equal(S.isOwnId(ME_PN, ME), true);
  assert.equal(S.isOwnId(ME_LID, ME), true);
  assert.equal(S.isOwnId(new Wid(ME_LID), [new Wid(ME_PN), new Wid(ME_LID)]), true);
  assert.equal(S.isOwnId("100000000000001:3@lid", ME), true);
  assert.equal(S.isOwnId(ME_LID, { pn: ME_PN, lid: ME_LID }), true);
  assert.equal(S.isOwnId(PEER_LID, ME), false);
  assert.equal(S.isOwnId(ME_LID, [ME_PN]), false);
  assert.equal(S.isOwnId(null, ME), false);
});

// ---------------------------------------------------------------------------------------------
// messages

test("1:1 incoming text message: fields, seconds, sender, phone from @c.us id", () => {
  const m = msg({
    id: key(false, PEER_PN, "3A0001"),
    type: "chat",
    body: "Olá, tudo bem?",
    from: new Wid(PEER_PN),
    to: new Wid(ME_PN),
    notifyName: "Mari",
    ack: 0,
  });
  const d = S.serializeMessage(m, { meIds: ME, chatName: "Mariana Souza" });
  assert.deepEqual(d, {
    id: "false_5511990010001@c.us_3A0001",
    chat_id: PEER_PN,
    from_me: false,
    type: "chat",
    t: 1764500000,
    body: "Olá, tudo bem?",
    sender: PEER_PN,
    notify_name: "Mari",
    ack: 0,
    is_new: true,
    chat_name: "Mariana Souza",
    chat_phone: "5511990010001",
    is_group: false,
  });
});

test("t in milliseconds is converted to seconds; missing t falls back to receive time", () => {
  const a = S.serializeMessage(msg({ id: key(false, PEER_PN, "A"), type: "chat", body: "x", t: 1764500000123 }), {});
  assert.equal(a.t, 1764500000);
  const b = S.serializeMessage(
    msg({ id: key(false, PEER_PN, "B"), type: "chat", body: "x", t: undefined, clientReceivedTsMillis: 1764500001999 }),
    {},
  );
  assert.equal(b.t, 1764500001);
  assert.ok(Number.isInteger(b.t));
});

test("from = peer @lid and to = our PN is incoming, and the LID gives no phone", () => {
  const m = msg({
    id: new MsgKey({ fromMe: false, remote: new Wid(PEER_LID), id: "3A0002" }),
    type: "chat",
    body: "oi",
    from: new Wid(PEER_LID),
    to: new Wid(ME_PN),
  });
  const d = S.serializeMessage(m, { meIds: ME });
  assert.equal(d.from_me, false);
  assert.equal(d.chat_id, PEER_LID);
  assert.equal(d.sender, PEER_LID);
  assert.equal("chat_phone" in d, false);
});

test("@lid chat gets chat_phone only through ctx.lookupPhone", () => {
  const m = msg({ id: key(false, PEER_LID, "3A0003"), type: "chat", body: "oi", from: new Wid(PEER_LID), to: new Wid(ME_LID) });
  const seen = [];
  const withPhone = S.serializeMessage(m, {
    meIds: ME,
    lookupPhone: (lid) => {
      seen.push(lid);
      return new Wid("5511990010005@c.us");
    },
  });
  assert.deepEqual(seen, [PEER_LID]);
  assert.equal(withPhone.chat_phone, "5511990010005");
  // a lookup that returns a LID (or junk) never becomes a phone
  assert.equal("chat_phone" in S.serializeMessage(m, { meIds: ME, lookupPhone: () => PEER_LID }), false);
  assert.equal("chat_phone" in S.serializeMessage(m, { meIds: ME, lookupPhone: () => { throw new Error("x"); } }), false);
  assert.equal(S.serializeMessage(m, { meIds: ME, lookupPhone: () => "5511990010005" }).chat_phone, "5511990010005");
});

test("document whose caption equals the filename: filename in media only, no caption", () => {
  const m = msg({
    id: key(false, PEER_PN, "3A0004"),
    type: "document",
    body: THUMB,
    caption: "proposta.pdf",
    filename: "proposta.pdf",
    mimetype: "application/pdf",
    size: 48213,
    directPath: "/v/t62/abc",
    from: new Wid(PEER_PN),
    to: new Wid(ME_PN),
  });
  const d = S.serializeMessage(m, { meIds: ME });
  assert.equal("caption" in d, false);
  assert.equal("body" in d, false);
  assert.deepEqual(d.media, { mimetype: "application/pdf", filename: "proposta.pdf", size: 48213 });
  // the same with isCaptionByUser keeps the caption
  m.set("isCaptionByUser", true);
  assert.equal(S.serializeMessage(m, { meIds: ME }).caption, "proposta.pdf");
});

test("image with a base64 thumbnail body and no caption carries no base64 text", () => {
  const m = msg({
    id: key(false, PEER_PN, "3A0005"),
    type: "image",
    body: THUMB,
    mimetype: "image/jpeg",
    width: 1280,
    height: 720,
    mediaKey: "k",
    from: new Wid(PEER_PN),
  });
  const d = S.serializeMessage(m, { meIds: ME });
  assert.equal("body" in d, false);
  assert.equal("caption" in d, false);
  assert.equal(JSON.stringify(d).includes("/9j/"), false);
  assert.deepEqual(d.media, { mimetype: "image/jpeg", width: 1280, height: 720 });
});

test("image with a caption takes the caption, never the body", () => {
  const d = S.serializeMessage(
    msg({ id: key(false, PEER_PN, "3A0006"), type: "image", body: THUMB, caption: "fachada do prédio 🏢", from: new Wid(PEER_PN) }),
    { meIds: ME },
  );
  assert.equal(d.caption, "fachada do prédio 🏢");
  assert.equal("body" in d, false);
});

test("unknown type with a thumbnail-looking body drops it", () => {
  const d = S.serializeMessage(msg({ id: key(false, PEER_PN, "3A0007"), type: "future_type", body: THUMB }), {});
  assert.equal("body" in d, false);
});

test("location never sends its thumbnail body (coordinates have no schema field yet)", () => {
  const d = S.serializeMessage(
    msg({ id: key(false, PEER_PN, "L1"), type: "location", body: THUMB, lat: -23.55, lng: -46.63, loc: "Av. Paulista" }),
    {},
  );
  assert.equal("body" in d, false);
  assert.equal("media" in d, false);
});

test("media holds only the schema keys, with integer numbers", () => {
  const d = S.serializeMessage(
    msg({
      id: key(false, PEER_PN, "V1"), type: "ptt", body: THUMB, mimetype: "audio/ogg; codecs=opus", duration: "12.6",
      size: 20480.4, width: -1, isViewOnce: false, directPath: "/v/x", mediaKey: "k", filehash: "h",
    }),
    {},
  );
  assert.deepEqual(d.media, { mimetype: "audio/ogg; codecs=opus", size: 20480, duration: 13, is_view_once: false });
  const schemaKeys = ["mimetype", "filename", "size", "duration", "width", "height", "is_view_once", "is_gif"];
  for (const k of Object.keys(d.media)) assert.ok(schemaKeys.includes(k), k);
});

test("payloads stay inside core/bridge_schema.py limits", () => {
  // chats Python does not accept are skipped, not sent to be rejected
  assert.equal(S.serializeMessage(msg({ id: key(false, "13135550002@bot", "B1"), type: "chat", body: "hi" }), {}), null);
  assert.deepEqual(S.serializeActiveChat(new ChatModel({ id: new Wid("13135550002@bot"), formattedTitle: "Meta AI" }), {}), {
    chat_id: null, name: null, phone: null, is_group: false,
  });
  // raw ids outside [0-9A-Za-z-] are skipped
  assert.equal(S.serializeMessage(msg({ id: key(false, PEER_PN, "ab.cd"), type: "chat", body: "x" }), {}), null);
  // an author Python cannot accept is left out, the message is kept
  const g = S.serializeMessage(
    msg({ id: key(false, GROUP, "G1"), type: "chat", body: "x", from: new Wid(GROUP), author: new Wid("13135550002@bot") }),
    {},
  );
  assert.equal("author" in g, false);
  assert.equal("sender" in g, false); // the sender is the bot: unknown to the schema, so left out
  // unexpected type spelling becomes "unknown"
  assert.equal(S.serializeMessage(msg({ id: key(false, PEER_PN, "T1"), type: "New-Type", body: "x" }), {}).type, "unknown");
  // names clipped to 512
  const long = S.serializeMessage(msg({ id: key(false, PEER_PN, "N1"), type: "chat", body: "x", notifyName: "n".repeat(2000) }), {
    chatName: "c".repeat(2000),
  });
  assert.equal(long.notify_name.length, 512);
  assert.equal(long.chat_name.length, 512);
  // phones are 8..15 digits
  assert.equal(S.phoneFromWid("1234567@c.us"), null);
  assert.equal(S.phoneFromWid("12345678@c.us"), "12345678");
  assert.equal(S.phoneFromWid("1234567890123456@c.us"), null);
  assert.equal(S.isSchemaWid("status@broadcast"), true);
  assert.equal(S.isSchemaWid("1@hosted.lid"), false);
  assert.equal(S.isSchemaMsgId("false_" + GROUP + "_3A1_" + PEER_LID), true);
});

test("poll uses pollName as text", () => {
  const d = S.serializeMessage(msg({ id: key(false, PEER_PN, "P1"), type: "poll_creation", body: "", pollName: "Melhor horário?" }), {});
  assert.equal(d.body, "Melhor horário?");
});

test("group incoming message: author from the model, sender = author, participant in id", () => {
  const m = msg({
    id: key(false, GROUP, "3A0008", PEER_LID),
    type: "chat",
    body: "bom dia",
    from: new Wid(GROUP),
    to: new Wid(ME_LID),
    author: new Wid(PEER_LID),
  });
  const d = S.serializeMessage(m, { meIds: ME, chatName: "Plantão Vendas Centro" });
  assert.equal(d.id, "false_" + GROUP + "_3A0008_" + PEER_LID);
  assert.equal(d.chat_id, GROUP);
  assert.equal(d.is_group, true);
  assert.equal(d.author, PEER_LID);
  assert.equal(d.sender, PEER_LID);
  assert.equal("chat_phone" in d, false);
  // author missing: taken from the key participant
  m.set("author", undefined);
  assert.equal(S.serializeMessage(m, { meIds: ME }).author, PEER_LID);
  // device suffix is dropped in identity fields
  m.set("author", new Wid("204617782394561:7@lid"));
  assert.equal(S.serializeMessage(m, { meIds: ME }).author, PEER_LID);
});

test("own group message without author gets our id", () => {
  const noFrom = msg({ id: key(true, GROUP, "3EB0SELF"), type: "chat", body: "enviado", to: new Wid(GROUP) });
  const d = S.serializeMessage(noFrom, { meIds: ME });
  assert.equal(d.from_me, true);
  assert.equal(d.author, ME_PN);
  assert.equal(d.sender, ME_PN);
  // with `from` = our LID (LID-addressed group), that id is used
  const withFrom = msg({ id: key(true, GROUP, "3EB0SELF2"), type: "chat", body: "x", from: new Wid(ME_LID), to: new Wid(GROUP) });
  assert.equal(S.serializeMessage(withFrom, { meIds: ME }).author, ME_LID);
});

test("quoted message by our LID is recognised as ours", () => {
  const m = msg({
    id: key(false, GROUP, "3A0009", PEER_LID),
    type: "chat",
    body: "respondendo",
    from: new Wid(GROUP),
    author: new Wid(PEER_LID),
    quotedStanzaID: "3EB0QUOTED",
    quotedParticipant: new Wid(ME_LID),
  });
  const d = S.serializeMessage(m, { meIds: [new Wid(ME_PN), new Wid(ME_LID)] });
  assert.equal(d.quoted_id, "true_" + GROUP + "_3EB0QUOTED_" + ME_LID);
  // by our PN too
  m.set("quotedParticipant", new Wid(ME_PN));
  assert.equal(S.serializeMessage(m, { meIds: ME }).quoted_id, "true_" + GROUP + "_3EB0QUOTED_" + ME_PN);
  // someone else's
  m.set("quotedParticipant", new Wid(PEER_LID));
  assert.equal(S.serializeMessage(m, { meIds: ME }).quoted_id, "false_" + GROUP + "_3EB0QUOTED_" + PEER_LID);
});

test("quoted message in a 1:1 chat: no participant part, remote defaults to this chat", () => {
  const m = msg({
    id: key(false, PEER_LID, "3A0010"),
    type: "chat",
    body: "sim",
    from: new Wid(PEER_LID),
    quotedStanzaID: "3EB0Q2",
    quotedParticipant: new Wid(ME_LID),
  });
  assert.equal(S.serializeMessage(m, { meIds: ME }).quoted_id, "true_" + PEER_LID + "_3EB0Q2");
  m.set("quotedRemoteJid", new Wid(PEER_PN));
  m.set("quotedParticipant", new Wid(PEER_LID));
  assert.equal(S.serializeMessage(m, { meIds: ME }).quoted_id, "false_" + PEER_PN + "_3EB0Q2");
});

test("emoji, RTL and combining text are preserved exactly", () => {
  const text = "שלום עולם 👋🏽 مرحبا 👨‍👩‍👧 é café ✓";
  const d = S.serializeMessage(msg({ id: key(false, PEER_PN, "E1"), type: "chat", body: text }), {});
  assert.equal(d.body, text);
  const env = JSON.parse(S.makeEnvelope("message", d, "t"));
  assert.equal(env.data.body, text);
});

test("lone surrogates are replaced with U+FFFD, pairs are kept", () => {
  assert.equal(S.sanitizeString("ok \uD83D end"), "ok \uFFFD end");
  assert.equal(S.sanitizeString("\uDE00 start"), "\uFFFD start");
  assert.equal(S.sanitizeString("tail \uD83D"), "tail \uFFFD");
  assert.equal(S.sanitizeString("😀"), "😀");
  assert.equal(S.sanitizeString("\uDE00\uD83D"), "\uFFFD\uFFFD");
  assert.equal(S.sanitizeString(5), 5);
  const d = S.serializeMessage(msg({ id: key(false, PEER_PN, "S1"), type: "chat", body: "corte \uD83D" }), {});
  assert.equal(d.body, "corte \uFFFD");
  const env = S.makeEnvelope("message", { body: "x\uDC00y" }, "tok");
  assert.equal(JSON.parse(env).data.body, "x\uFFFDy");
  assert.equal(env.includes("\\udc00"), false);
});

test("ciphertext has no body and no media", () => {
  const d = S.serializeMessage(msg({ id: key(false, PEER_PN, "C1"), type: "ciphertext", body: "" }), {});
  assert.equal(d.type, "ciphertext");
  assert.equal("body" in d, false);
  assert.equal("media" in d, false);
});

test("attributes are read through getters, the __x_ field, or serialize()", () => {
  // __x_ only (no prototype getter)
  const bare = { __x_id: key(false, PEER_PN, "X1"), __x_type: "chat", __x_body: "via __x_", __x_t: 1764500000 };
  assert.equal(S.serializeMessage(bare, {}).body, "via __x_");
  // only serialize()
  const opaque = {
    serialize: () => ({ id: key(false, PEER_PN, "X2"), type: "chat", body: "via serialize", t: 1764500000 }),
  };
  assert.equal(S.serializeMessage(opaque, {}).body, "via serialize");
  // a throwing getter is treated as missing
  const throwing = new MsgModel({ id: key(false, PEER_PN, "X3"), type: "chat", t: 1764500000 });
  Object.defineProperty(throwing, "body", { get() { throw new Error("boom"); } });
  throwing.__x_body = "fallback";
  assert.equal(S.serializeMessage(throwing, {}).body, "fallback");
  assert.equal(S.serializeMessage({}, {}), null);
  assert.equal(S.serializeMessage(null, {}), null);
});

test("is_new comes from ctx when given, else from isNewMsg", () => {
  const m = msg({ id: key(false, PEER_PN, "N1"), type: "chat", body: "x", isNewMsg: true });
  assert.equal(S.serializeMessage(m, {}).is_new, true);
  assert.equal(S.serializeMessage(m, { isNew: false }).is_new, false);
});

test("message payload uses only the fields of docs/architecture.md", () => {
  const allowed = new Set([
    "id", "chat_id", "from_me", "type", "t", "body", "caption", "author", "sender", "notify_name", "ack",
    "is_new", "chat_name", "chat_phone", "quoted_id", "is_group", "media",
  ]);
  const d = S.serializeMessage(
    msg({
      id: key(false, GROUP, "F1", PEER_LID), type: "image", body: THUMB, caption: "c", from: new Wid(GROUP),
      author: new Wid(PEER_LID), notifyName: "n", quotedStanzaID: "Q", quotedParticipant: new Wid(PEER_LID), mediaKey: "k",
    }),
    { meIds: ME, chatName: "g" },
  );
  for (const k of Object.keys(d)) assert.ok(allowed.has(k), "unexpected field " + k);
});

// ---------------------------------------------------------------------------------------------
// chats

test("serializeActiveChat: @c.us, @lid with and without lookup, group, none", () => {
  const pn = new ChatModel({ id: new Wid(PEER_PN), active: true, formattedTitle: "Mariana Souza", msgs: new Collection() });
  assert.deepEqual(S.serializeActiveChat(pn, {}), { chat_id: PEER_PN, name: "Mariana Souza", phone: "5511990010001", is_group: false });
  const lid = new ChatModel({
    id: new Wid(PEER_LID), active: true, contact: new ContactModel({ id: new Wid(PEER_LID), pushname: "Renata" }),
  });
  assert.deepEqual(S.serializeActiveChat(lid, {}), { chat_id: PEER_LID, name: "Renata", phone: null, is_group: false });
  assert.deepEqual(S.serializeActiveChat(lid, { lookupPhone: () => "5511990010005@c.us" }), {
    chat_id: PEER_LID, name: "Renata", phone: "5511990010005", is_group: false,
  });
  const group = new ChatModel({ id: new Wid(GROUP), formattedTitle: "Plantão" });
  assert.deepEqual(S.serializeActiveChat(group, { lookupPhone: () => "5511990010005" }), {
    chat_id: GROUP, name: "Plantão", phone: null, is_group: true,
  });
  assert.deepEqual(S.serializeActiveChat(null, {}), { chat_id: null, name: null, phone: null, is_group: false });
});

test("status@broadcast and newsletters are ignored by default, kept when configured", () => {
  assert.equal(S.shouldIgnoreChat("status@broadcast", {}), true);
  assert.equal(S.shouldIgnoreChat("status@broadcast", undefined), true);
  assert.equal(S.shouldIgnoreChat("status@broadcast", { ignoreStatus: false }), false);
  assert.equal(S.shouldIgnoreChat("120363000000000001@newsletter", {}), true);
  assert.equal(S.shouldIgnoreChat("120363000000000001@newsletter", { ignoreNewsletters: false }), false);
  assert.equal(S.shouldIgnoreChat("123@broadcast", {}), false);
  assert.equal(S.shouldIgnoreChat(PEER_PN, {}), false);
  assert.equal(S.shouldIgnoreChat(GROUP, {}), false);
});

// ---------------------------------------------------------------------------------------------
// state and envelope

test("login state mapping table", () => {
  const table = [
    [undefined, undefined, undefined, "loading"],
    ["UNLAUNCHED", undefined, undefined, "loading"],
    ["OPENING", undefined, undefined, "connecting"],
    ["PAIRING", undefined, undefined, "connecting"],
    ["UNPAIRED", undefined, undefined, "qr"],
    ["UNPAIRED_IDLE", "QR", undefined, "qr"],
    [undefined, "QR", undefined, "qr"],
    ["OPENING", "QR", undefined, "qr"],
    ["PAIRING", "QR", undefined, "connecting"],
    ["CONNECTED", "QR", false, "connecting"],
    ["CONNECTED", "MAIN", true, "connected"],
    ["CONNECTED", "SYNCING", false, "connecting"],
    ["CONNECTED", undefined, false, "connecting"],
    ["CONNECTED", undefined, true, "connected"],
    ["CONNECTED", undefined, undefined, "connected"],
    ["CONNECTED", "OFFLINE", true, "phone_offline"],
    ["OPENING", "MAIN", true, "connecting"],
    ["TIMEOUT", "MAIN", true, "phone_offline"],
    ["CONFLICT", "CONFLICT", true, "phone_offline"],
    ["PROXYBLOCK", undefined, undefined, "phone_offline"],
    ["TOS_BLOCK", undefined, undefined, "phone_offline"],
    ["SMB_TOS_BLOCK", undefined, undefined, "phone_offline"],
    ["DEPRECATED_VERSION", undefined, undefined, "phone_offline"],
    [undefined, "MAIN", undefined, "connected"],
    [undefined, "SYNCING", undefined, "connecting"],
    ["SOMETHING_NEW", undefined, undefined, "loading"],
  ];
  for (const [socket, stream, synced, expected] of table) {
    const got = S.mapLoginState(socket, stream, synced);
    assert.equal(got, expected, `${socket}/${stream}/${synced}`);
    assert.ok(S.WACRM_LOGIN_STATES.includes(got));
  }
});

test("envelope JSON shape", () => {
  const s = S.makeEnvelope("ack", { id: "true_" + PEER_PN + "_X", ack: 3 }, "deadbeef");
  assert.equal(typeof s, "string");
  const o = JSON.parse(s);
  assert.deepEqual(Object.keys(o), ["v", "token", "kind", "data"]);
  assert.deepEqual(o, { v: 1, token: "deadbeef", kind: "ack", data: { id: "true_" + PEER_PN + "_X", ack: 3 } });
  // undefined fields vanish, non-finite numbers become null, nothing live leaks through
  const o2 = JSON.parse(S.makeEnvelope("message", { a: undefined, b: NaN, c: () => 1, d: [1, undefined] }, "t"));
  assert.deepEqual(o2.data, { b: null, d: [1, null] });
});

test("oversized envelopes are cut to 256 KiB (message text) or refused", () => {
  const big = "ç".repeat(200000); // 400 KB in UTF-8
  const s = S.makeEnvelope("message", { id: "x", body: big }, "t");
  assert.ok(S.utf8Length(s) <= S.WACRM_MAX_ENVELOPE_BYTES);
  assert.ok(JSON.parse(s).data.body.length > 1000);
  assert.equal(S.makeEnvelope("log", { level: "info", message: big }, "t"), null);
  // the serializer already clips to a little over 64 KiB so Python can flag `truncated`
  const d = S.serializeMessage(msg({ id: key(false, PEER_PN, "BIG"), type: "chat", body: "a".repeat(100000) }), {});
  assert.equal(d.body.length, S.WACRM_MAX_TEXT_UNITS);
  assert.ok(d.body.length > 65536);
});

test("parseCommand checks the token and the shape", () => {
  const ok = JSON.stringify({ token: "tok", command: "fill_composer", args: { text: "oi" } });
  assert.deepEqual(S.parseCommand(ok, "tok"), { command: "fill_composer", args: { text: "oi" } });
  assert.equal(S.parseCommand(ok, "other"), null);
  assert.equal(S.parseCommand(ok, ""), null);
  assert.equal(S.parseCommand({ token: "tok", command: "x" }, "tok"), null);
  assert.equal(S.parseCommand("{not json", "tok"), null);
  assert.equal(S.parseCommand(JSON.stringify({ command: "x" }), "tok"), null);
  assert.deepEqual(S.parseCommand(JSON.stringify({ token: "tok", command: "x", args: [1] }), "tok"), { command: "x", args: {} });
});

test("module loads without touching DOM globals", () => {
  assert.equal(typeof globalThis.document, "undefined");
  assert.equal(typeof S.serializeMessage, "function");
});

test("login state without Socket/Stream falls back to the own id and WhatsApp's screens", () => {
  assert.equal(S.fallbackLoginState({ hasMe: true, chatList: false, qr: false }), "connected");
  assert.equal(S.fallbackLoginState({ hasMe: false, chatList: true, qr: false }), "connected");
  assert.equal(S.fallbackLoginState({ hasMe: false, chatList: false, qr: true }), "qr");
  assert.equal(S.fallbackLoginState({ hasMe: false, chatList: false, qr: false }), "loading");
  assert.equal(S.fallbackLoginState(undefined), "loading");
  // a known own id wins over a QR still in the DOM (the login screen is being replaced)
  assert.equal(S.fallbackLoginState({ hasMe: true, qr: true }), "connected");
});
