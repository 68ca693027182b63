"use strict";
/*
 * Fake WhatsApp Web internals that behave like the real ones as described in
 * /work/shared/whatsapp-web-bridge.md: attributes live in `__x_<name>` fields behind prototype
 * getters, collections re-trigger their models' change events, Wid/MsgKey objects render
 * through toString() and may lack `_serialized` (July 2026 builds).
 */

class Emitter {
  constructor() {
    Object.defineProperty(this, "_handlers", { value: new Map(), enumerable: false });
  }

  on(event, fn) {
    if (!this._handlers.has(event)) this._handlers.set(event, []);
    this._handlers.get(event).push(fn);
    return this;
  }

  off(event, fn) {
    const list = this._handlers.get(event);
    if (!list) return this;
    const i = list.findIndex((h) => h === fn || h._orig === fn);
    if (i !== -1) list.splice(i, 1);
    return this;
  }

  once(event, fn) {
    const wrapper = (...args) => {
      this.off(event, wrapper);
      fn(...args);
    };
    wrapper._orig = fn;
    return this.on(event, wrapper);
  }

  trigger(event, ...args) {
    for (const fn of [...(this._handlers.get(event) || [])]) fn.apply(this, args);
  }

  listenerCount(event) {
    return (this._handlers.get(event) || []).length;
  }
}

/** A Wid. `serialized: true` adds the old `_serialized` field; default is the July 2026 shape. */
class Wid {
  constructor(s, opts = {}) {
    const at = s.lastIndexOf("@");
    this.user = s.slice(0, at);
    this.server = s.slice(at + 1);
    if (opts.serialized) this._serialized = s;
  }

  toString() {
    return this.user + "@" + this.server;
  }

  isLid() {
    return this.server === "lid";
  }

  isGroup() {
    return this.server === "g.us";
  }

  equals(other) {
    return String(other) === this.toString();
  }
}

let idCounter = 0;

/**
 * A MsgKey. Accepts {fromMe, remote, id, participant} or the sending form
 * {from, to, id, participant, selfDir}. The serialized form is cached in a minified field `$1`
 * (no `_serialized`) unless `serialized: true` is passed.
 */
class MsgKey {
  constructor(init, opts = {}) {
    this.fromMe = typeof init.fromMe === "boolean" ? init.fromMe : init.selfDir === "out";
    this.remote = init.remote || init.to;
    this.id = init.id;
    if (init.participant) this.participant = init.participant;
    this.$1 =
      String(this.fromMe) + "_" + String(this.remote) + "_" + this.id + (this.participant ? "_" + String(this.participant) : "");
    if (opts.serialized) this._serialized = this.$1;
  }

  toString() {
    return this.$1;
  }

  static async newId() {
    idCounter += 1;
    return "3EB0" + String(idCounter).padStart(16, "0");
  }
}

function defineAttrs(Cls, names) {
  for (const name of names) {
    Object.defineProperty(Cls.prototype, name, {
      configurable: true,
      get() {
        return this["__x_" + name];
      },
      set(v) {
        this["__x_" + name] = v;
      },
    });
  }
}

class Model extends Emitter {
  constructor(attrs) {
    super();
    Object.defineProperty(this, "_collections", { value: [], enumerable: false });
    for (const k of Object.keys(attrs || {})) this["__x_" + k] = attrs[k];
  }

  set(name, value) {
    const old = this["__x_" + name];
    this["__x_" + name] = value;
    this.trigger("change:" + name, this, value, old);
    this.trigger("change", this);
  }

  trigger(event, ...args) {
    super.trigger(event, ...args);
    if (event.startsWith("change")) for (const c of this._collections) c.trigger(event, ...args);
  }

  serialize() {
    const out = {};
    for (const k of Object.keys(this)) if (k.startsWith("__x_")) out[k.slice(4)] = this[k];
    return out;
  }
}

const MSG_ATTRS = [
  "id", "type", "subtype", "body", "caption", "t", "clientReceivedTsMillis", "from", "to", "author", "ack",
  "notifyName", "quotedStanzaID", "quotedRemoteJid", "quotedParticipant", "quotedMsg", "mimetype", "filename",
  "size", "duration", "directPath", "mediaKey", "isViewOnce", "isGif", "width", "height", "lat", "lng", "loc",
  "isNewMsg", "isNotification", "isCaptionByUser", "pollName", "eventName", "isStatusV3", "local", "self",
];
class MsgModel extends Model {}
defineAttrs(MsgModel, MSG_ATTRS.concat([
  "latestEditMsgKey", "latestEditSenderTimestampMs", "protocolMessageKey", "isForwarded", "vcardList",
  "pollOptions", "pollSelectableOptionsCount", "mentionedJidList", "isMdHistoryMsg", "editMsgType",
]));

class ChatModel extends Model {}
defineAttrs(ChatModel, ["id", "active", "formattedTitle", "name", "contact", "msgs", "groupMetadata", "t"]);

class ContactModel extends Model {}
defineAttrs(ContactModel, ["id", "name", "pushname", "verifiedName", "phoneNumber"]);

class SocketModel extends Model {}
defineAttrs(SocketModel, ["state", "hasSynced"]);

class StreamModel extends Model {}
defineAttrs(StreamModel, ["mode", "info", "needsUpdate"]);

class Collection extends Emitter {
  constructor() {
    super();
    Object.defineProperty(this, "_models", { value: [], enumerable: false });
  }

  add(model) {
    this._models.push(model);
    model._collections.push(this);
    this.trigger("add", model, this, {});
    return model;
  }

  get(id) {
    const s = String(id);
    return this._models.find((m) => String(m.id) === s);
  }

  getModelsArray() {
    return this._models.slice();
  }
}

/**
 * A fake WhatsApp page-side module system.
 * opts: {socketState, streamMode, hasSynced, me: {pn, lid}, drop: ["WAWebCollections.Msg", ...]}
 */
function makeWhatsApp(opts = {}) {
  const drop = new Set(opts.drop || []);
  const me = opts.me || { pn: "5511999990000@c.us", lid: "100000000000001@lid" };
  const Msg = new Collection();
  const Chat = new Collection();
  const Contact = new Collection();
  const Socket = new SocketModel({ state: opts.socketState || "CONNECTED", hasSynced: opts.hasSynced !== false });
  const Stream = new StreamModel({ mode: opts.streamMode || "MAIN" });
  const Cmd = new Emitter();

  const lidToPn = new Map(); // known locally (getPhoneNumber)
  const serverLidToPn = new Map(); // learnt after queryWidExists
  const calls = { queryWidExists: [], addAndSendMsgToChat: [], findOrCreateLatestChat: [], sendSeen: 0, getPhoneNumber: 0 };

  // MsgCollection.processMultipleMessages: WhatsApp's entry for incoming raw messages. Protocol
  // messages (revoke, edit) are applied to their target when it is loaded and never added to Msg;
  // the rest become models (wa-js registerRevokeMessageEvent wraps it for that reason).
  calls.processMultipleMessages = 0;
  calls.receipts = [];
  const REVOKE_SUBTYPES = ["revoke", "sender_revoke", "admin_revoke"];
  Msg.processMultipleMessages = function processMultipleMessages(chatId, raws) {
    calls.processMultipleMessages += 1;
    const out = [];
    for (const raw of raws || []) {
      if (raw.type === "protocol") {
        const target = raw.protocolMessageKey ? Msg.get(String(raw.protocolMessageKey)) : null;
        if (target && REVOKE_SUBTYPES.includes(raw.subtype)) {
          target.__x_protocolMessageKey = raw.protocolMessageKey;
          target.set("type", "revoked");
        } else if (target && raw.subtype === "message_edit") {
          target.__x_latestEditMsgKey = raw.id;
          target.__x_latestEditSenderTimestampMs = raw.latestEditSenderTimestampMs;
          target.set(target.type === "chat" ? "body" : "caption", raw.body);
        }
        continue;
      }
      out.push(Msg.add(new MsgModel(Object.assign({}, raw))));
    }
    return Promise.resolve(out);
  };

  const collections = {};
  if (!drop.has("WAWebCollections.Msg")) collections.Msg = Msg;
  if (!drop.has("WAWebCollections.Chat")) collections.Chat = Chat;
  collections.Contact = Contact;

  const modules = {
    WAWebCollections: collections,
    WAWebSocketModel: { Socket },
    WAWebStreamModel: { Stream },
    WAWebCmd: { Cmd },
    WAWebUserPrefsMeUser: {
      getMaybeMePnUser: () => (me.pn ? new Wid(me.pn) : undefined),
      getMaybeMeLidUser: () => (me.lid ? new Wid(me.lid) : undefined),
    },
    WAWebWidFactory: {
      createWid: (s) => new Wid(String(s)),
      asUserWidOrThrow: (w) => w,
    },
    WAWebMsgKey: MsgKey,
    WAWebSendMsgChatAction: {
      addAndSendMsgToChat(chat, attrs) {
        calls.addAndSendMsgToChat.push({ chat, attrs });
        if (calls.sendError) throw calls.sendError;
        const msg = new MsgModel(Object.assign({}, attrs));
        const added = Promise.resolve().then(() => {
          Msg.add(msg);
          chat.msgs.add(msg);
          return msg;
        });
        const result = added.then(() => ({ messageSendResult: "OK" }));
        return [added, result];
      },
    },
    WAWebFindChatAction: {
      async findOrCreateLatestChat(wid) {
        calls.findOrCreateLatestChat.push(String(wid));
        const chat = new ChatModel({ id: wid, formattedTitle: String(wid), msgs: new Collection(), active: false });
        Chat.add(chat);
        return { chat, created: true };
      },
    },
    WAWebApiContact: {
      getPhoneNumber(lidWid) {
        calls.getPhoneNumber += 1;
        const pn = lidToPn.get(String(lidWid));
        return pn ? new Wid(pn) : undefined;
      },
      getCurrentLid: () => undefined,
    },
    WAWebQueryExistsJob: {
      async queryWidExists(wid) {
        const s = String(wid);
        calls.queryWidExists.push(s);
        if (calls.queryExistsResult === null) return null; // "not on WhatsApp"
        if (serverLidToPn.has(s)) lidToPn.set(s, serverLidToPn.get(s));
        return { wid };
      },
    },
    WAWebGetEphemeralFieldsMsgActionsUtils: { getEphemeralFields: () => ({}) },
    WAWebChatLoadMessages: {
      // Pages come from chat.__earlier (oldest first); [] at the start of the chat.
      async loadEarlierMsgs(chat, msgs) {
        calls.loadEarlierMsgs = (calls.loadEarlierMsgs || 0) + 1;
        const rest = chat.__earlier || [];
        const page = rest.splice(Math.max(0, rest.length - (opts.earlierPage || 3)));
        for (const m of page) msgs.add(m);
        if (!rest.length && msgs.msgLoadState) msgs.msgLoadState.noEarlierMsgs = true;
        return page;
      },
    },
    WAWebAddonReactionTableMode: {
      reactionTableMode: {
        rows: [],
        bulkUpsert(rows) {
          this.rows.push(...rows);
          return Promise.resolve(rows.length);
        },
      },
    },
    // Receipts (WAWebHandleDirectChatReceipt in the real bundle): {ack, ackString, externalIds,
    // from, recipient, participant, ts, offline}; only loaded messages see change:ack.
    WAWebHandleDirectChatReceipt: {
      handleChatSimpleReceipt(data) {
        calls.receipts.push(data);
        for (const id of (data && data.externalIds) || []) {
          const m = Msg.get("true_" + String(data.from) + "_" + id);
          if (m && (m.ack || 0) < data.ack) m.set("ack", data.ack);
        }
        return Promise.resolve();
      },
    },
    WAWebHandleGroupChatReceipt: {
      handleGroupSimpleReceipt(data) {
        calls.receipts.push(data);
        return Promise.resolve();
      },
    },
    WAWebUpdateUnreadChatAction: {
      sendSeen() {
        calls.sendSeen += 1;
      },
    },
  };
  for (const name of drop) if (!name.includes(".")) delete modules[name];

  const modulesMap = {};
  for (const name of Object.keys(modules)) modulesMap[name] = { name };
  // Unrelated modules so that the count looks like a real graph.
  for (let i = 0; i < 50; i++) modulesMap["WAWebFiller" + i] = {};

  const requireCalls = [];
  function waRequire(name) {
    requireCalls.push(name);
    if (name === "__debug") return { modulesMap };
    if (!Object.prototype.hasOwnProperty.call(modules, name)) throw new Error('Requiring unknown module "' + name + '"');
    return modules[name];
  }
  function __d() {}

  function installInto(win, version = "2.3000.1042999999") {
    win.require = waRequire;
    win.__d = __d;
    win.Debug = { VERSION: version };
  }

  function registerModule(name, exp) {
    modules[name] = exp;
    modulesMap[name] = { name };
  }

  function addChat(idStr, attrs = {}) {
    const chat = new ChatModel(Object.assign({ id: new Wid(idStr), active: false, msgs: new Collection() }, attrs));
    Chat.add(chat);
    return chat;
  }

  return {
    Msg, Chat, Contact, Socket, Stream, Cmd, MsgKey, Wid, modules, modulesMap, me, calls, requireCalls,
    lidToPn, serverLidToPn, installInto, registerModule, addChat, waRequire, __d,
  };
}

module.exports = { Emitter, Wid, MsgKey, Model, MsgModel, ChatModel, ContactModel, Collection, makeWhatsApp };
