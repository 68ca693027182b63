/*
 * WACRM WhatsApp Web simulator: the "WhatsApp side" (state, session, modules).
 *
 * What an injected bridge can see is only what whatsapp-web-bridge.md §1–§4 describes: globals
 * `require`/`__d`/`Debug`, modules registered progressively under their WA names, Backbone-like
 * collections and models, Wid/MsgKey ids, Socket/Stream/Conn/Cmd state, and the login flow with the
 * session kept in IndexedDB + localStorage. Nothing here is a shortcut for bridges.
 *
 * The UI (wa_ui.js) and the test-only control API (wa_control.js) get the internals through a
 * short-lived global that wa_control.js deletes.
 *
 * Test equipment only. Written from the notes; no WhatsApp, whatsapp-web.js or wa-js code.
 */
(function (global) {
  "use strict";

  const core = global.__waSimCore;
  try {
    delete global.__waSimCore;
  } catch (_e) {
    global.__waSimCore = undefined;
  }
  const { Wid, MsgKey, Collection, defineModel, mixinEvents, params } = core;
  const doc = global.document;

  const MODE = params.get("mode") || "";
  const COLD = params.get("cold") === "1";
  const QR_MS = clampInt(params.get("qrms"), 20000, 200, 600000);
  const QR_REFS_BEFORE_IDLE = 6;
  const LANG = (params.get("lang") || global.navigator.language || "en").toLowerCase();
  const PT = LANG.startsWith("pt");

  function clampInt(raw, dflt, min, max) {
    const n = parseInt(raw, 10);
    return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : dflt;
  }

  function sleep(ms) {
    return new Promise((resolve) => global.setTimeout(resolve, ms));
  }

  function nowMs() {
    return Date.now();
  }

  function nowSec() {
    return Math.floor(Date.now() / 1000);
  }

  // -------------------------------------------------------------------------------------------
  // Debug.VERSION (the main bundle announces itself after the loader exists)

  // Builds at or after 2.3000.1042401057 dropped MsgKey._serialized (notes §3.2).
  const VERSION = core.NO_KEY_SERIALIZED ? "2.3000.1043071211" : "2.3000.1030125896";

  function announceVersion() {
    try {
      const existing = global.Debug;
      if (existing && typeof existing === "object") {
        existing.VERSION = VERSION;
      } else {
        global.Debug = { VERSION: VERSION };
      }
    } catch (e) {
      core.reportError("Debug.VERSION", e);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Models

  const MSG_FIELDS = {
    id: undefined,
    type: "chat",
    subtype: undefined,
    body: "",
    caption: undefined,
    t: 0,
    clientReceivedTsMillis: undefined,
    from: undefined,
    to: undefined,
    author: undefined,
    ack: 0,
    notifyName: undefined,
    isNewMsg: false,
    isNotification: false,
    local: undefined,
    self: undefined,
    star: false,
    broadcast: false,
    isForwarded: false,
    forwardingScore: 0,
    isMdHistoryMsg: false,
    isEphemeral: false,
    isViewOnce: false,
    isUnsentMedia: false,
    quotedStanzaID: undefined,
    quotedRemoteJid: undefined,
    quotedParticipant: undefined,
    quotedMsg: undefined,
    mentionedJidList: () => [],
    latestEditMsgKey: undefined,
    latestEditSenderTimestampMs: undefined,
    protocolMessageKey: undefined,
    editMsgType: undefined,
    mimetype: undefined,
    filename: undefined,
    size: undefined,
    duration: undefined,
    directPath: undefined,
    mediaKey: undefined,
    filehash: undefined,
    width: undefined,
    height: undefined,
    isGif: false,
    isCaptionByUser: undefined,
    lat: undefined,
    lng: undefined,
    loc: undefined,
    vcardList: undefined,
    pollName: undefined,
    pollOptions: undefined,
    pollSelectableOptionsCount: undefined,
  };

  const MsgModel = defineModel("MsgModel", MSG_FIELDS, {});

  const ContactModel = defineModel(
    "ContactModel",
    {
      id: undefined,
      name: undefined,
      pushname: undefined,
      shortName: undefined,
      verifiedName: undefined,
      verifiedLevel: undefined,
      isBusiness: false,
      isEnterprise: false,
      isContactSyncCompleted: 1,
      phoneNumber: undefined,
      type: "in",
    },
    {}
  );

  const ParticipantModel = defineModel(
    "ParticipantModel",
    { id: undefined, isAdmin: false, isSuperAdmin: false, contact: undefined },
    {}
  );

  const GroupMetadataModel = defineModel(
    "GroupMetadataModel",
    {
      id: undefined,
      subject: "",
      desc: undefined,
      owner: undefined,
      creation: 0,
      participants: undefined,
      announce: false,
      restrict: false,
      isLidAddressingMode: false,
      size: 0,
    },
    {}
  );

  const ChatModel = defineModel(
    "ChatModel",
    {
      id: undefined,
      active: false,
      formattedTitle: "",
      name: undefined,
      contact: undefined,
      unreadCount: 0,
      t: 0,
      msgs: undefined,
      isGroup: false,
      groupMetadata: undefined,
      newsletterMetadata: undefined,
      archive: false,
      pin: 0,
      mute: () => ({ expiration: 0 }),
      lastReceivedKey: undefined,
      isReadOnly: false,
      ephemeralDuration: 0,
    },
    {}
  );

  const SocketModel = defineModel(
    "SocketModel",
    { id: "socket", state: "UNLAUNCHED", hasSynced: false },
    {
      logout: function () {
        app.logout("local");
      },
      takeover: function () {
        if (this.state === "CONFLICT") {
          this.set("state", "CONNECTED");
          Stream.set("mode", "MAIN");
        }
      },
      poke: function () {},
    }
  );

  const ConnModel = defineModel(
    "ConnModel",
    {
      id: "conn",
      ref: undefined,
      platform: undefined,
      pushname: undefined,
      connected: false,
      isResponse: "",
      battery: undefined,
      plugged: undefined,
    },
    {}
  );

  const StreamModel = defineModel(
    "StreamModel",
    {
      id: "stream",
      mode: undefined,
      info: undefined,
      needsUpdate: false,
      available: false,
      displayInfo: undefined,
    },
    {
      markAvailable: function () {
        this.set("available", true);
      },
      markUnavailable: function () {
        this.set("available", false);
      },
    }
  );

  const Socket = new SocketModel();
  const Conn = new ConnModel();
  const Stream = new StreamModel();

  // Cmd: a plain event bus with commands.
  const Cmd = mixinEvents({ isMainLoaded: false });
  Object.defineProperties(Cmd, {
    openChatBottom: {
      value: function (arg) {
        const chat = arg && arg.chat !== undefined ? arg.chat : arg;
        return Promise.resolve(app.openChat(chat));
      },
    },
    openChatAt: {
      value: function (arg) {
        const chat = arg && arg.chat !== undefined ? arg.chat : arg;
        return Promise.resolve(app.openChat(chat));
      },
    },
    openChatFromUnread: {
      value: function (arg) {
        return this.openChatBottom(arg);
      },
    },
    closeChat: {
      value: function () {
        app.closeChat();
      },
    },
    refreshQR: {
      value: function () {
        app.refreshQr();
      },
    },
    openDrawerMid: { value: function () {} },
    chatSearch: { value: function () {} },
  });

  // -------------------------------------------------------------------------------------------
  // Collections

  const byT = (a, b) => (a.t || 0) - (b.t || 0);

  function makeMsgs() {
    const c = new Collection({ model: MsgModel, comparator: byT });
    Object.defineProperty(c, "msgLoadState", {
      value: { noEarlierMsgs: false, isLoadingEarlierMsgs: false },
      enumerable: false,
    });
    return c;
  }

  const MsgColl = new Collection({ model: MsgModel });
  const ChatColl = new Collection({ model: ChatModel });
  const ContactColl = new Collection({ model: ContactModel });
  const GroupMetadataColl = new Collection({ model: GroupMetadataModel });

  Object.defineProperties(MsgColl, {
    getMessagesById: {
      value: function (ids) {
        const list = (Array.isArray(ids) ? ids : [ids]).map((id) => this.get(id)).filter(Boolean);
        return Promise.resolve({ messages: list });
      },
    },
  });
  Object.defineProperties(ChatColl, {
    find: {
      value: function (wid) {
        const chat = this.get(wid);
        return chat ? Promise.resolve(chat) : Promise.reject(new Error("chat not found"));
      },
    },
    getActive: {
      value: function () {
        return this.getModelsArray().find((c) => c.active) || undefined;
      },
    },
  });
  Object.defineProperties(ContactColl, {
    find: {
      value: function (wid) {
        return Promise.resolve(app.ensureContact(core.asWid(wid)));
      },
    },
  });
  Object.defineProperties(GroupMetadataColl, {
    find: {
      value: function (wid) {
        const g = this.get(wid);
        return g ? Promise.resolve(g) : Promise.reject(new Error("group not found"));
      },
    },
  });

  // -------------------------------------------------------------------------------------------
  // Simulator state

  const app = mixinEvents({
    simSeq: 0, // order messages were added in (persisted, see msgToRecord)
    VERSION: VERSION,
    PT: PT,
    params: params,
    core: core,
    Socket: Socket,
    Conn: Conn,
    Stream: Stream,
    Cmd: Cmd,
    Msg: MsgColl,
    Chat: ChatColl,
    Contact: ContactColl,
    GroupMetadata: GroupMetadataColl,
    seed: null,
    seedByKey: new Map(), // key -> {entry, wid, kind: 'contact'|'group'}
    me: null, // {pn: Wid, lid: Wid, device, createdAt, pushname}
    lidToPn: new Map(), // lid string -> pn Wid (the local cache of WAWebApiContact)
    pnToLid: new Map(),
    pendingLookup: new Map(), // seed contacts whose phone only becomes known after queryWidExists
    earlier: new Map(), // chat id -> older message attrs not loaded yet (newest last)
    earlierPageSize: new Map(), // chat id -> loadEarlierMsgs page size (default EARLIER_BATCH)
    reactions: new Map(), // "<parent msg id>|<sender>" -> reaction row (the add-on table)
    unloaded: new Map(), // serialized id -> attrs of messages stored but not in memory (evicted)
    undecrypted: new Map(), // serialized id -> content of a message shown as "waiting for this message"
    readReceiptsSent: 0,
    lookups: 0,
    qrRefs: 0,
    booted: false,
    scanWanted: false,
    loggingOut: false,
  });

  // -------------------------------------------------------------------------------------------
  // Storage: IndexedDB "wawc" (key material) + "model-storage" (messages), localStorage flags.

  const IDB_KEYS = { name: "wawc", version: 1, store: "user" };
  const IDB_MSGS = { name: "model-storage", version: 1, store: "message" };
  const LS_LAST_WID = "last-wid-md";
  const LS_KEYS = [LS_LAST_WID, "WAWebLastLidMd", "WALangPref", "mutex"];
  const dbHandles = new Map();

  function openDb(spec) {
    if (dbHandles.has(spec.name)) {
      return dbHandles.get(spec.name);
    }
    const p = new Promise((resolve, reject) => {
      let req;
      try {
        req = global.indexedDB.open(spec.name, spec.version);
      } catch (e) {
        reject(e);
        return;
      }
      req.onupgradeneeded = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains(spec.store)) {
          db.createObjectStore(spec.store);
        }
      };
      req.onsuccess = () => {
        const db = req.result;
        db.onversionchange = () => {
          db.close();
          dbHandles.delete(spec.name);
        };
        resolve(db);
      };
      req.onerror = () => reject(req.error);
      req.onblocked = () => reject(new Error("indexedDB open blocked"));
    });
    dbHandles.set(spec.name, p);
    p.catch(() => dbHandles.delete(spec.name));
    return p;
  }

  function idbRequest(spec, mode, fn) {
    return openDb(spec).then(
      (db) =>
        new Promise((resolve, reject) => {
          const tx = db.transaction(spec.store, mode);
          const store = tx.objectStore(spec.store);
          const req = fn(store);
          let result;
          if (req) {
            req.onsuccess = () => {
              result = req.result;
            };
          }
          tx.oncomplete = () => resolve(result);
          tx.onerror = () => reject(tx.error);
          tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
        })
    );
  }

  function idbGet(spec, key) {
    return idbRequest(spec, "readonly", (s) => s.get(key));
  }

  function idbPut(spec, key, value) {
    return idbRequest(spec, "readwrite", (s) => s.put(value, key));
  }

  function idbGetAll(spec) {
    return idbRequest(spec, "readonly", (s) => s.getAll());
  }

  async function closeDbs() {
    const handles = Array.from(dbHandles.values());
    dbHandles.clear();
    for (const p of handles) {
      try {
        (await p).close();
      } catch (_e) {
        // already closed or never opened
      }
    }
  }

  function deleteDb(name) {
    return new Promise((resolve) => {
      let req;
      try {
        req = global.indexedDB.deleteDatabase(name);
      } catch (_e) {
        resolve(false);
        return;
      }
      req.onsuccess = () => resolve(true);
      req.onerror = () => resolve(false);
      req.onblocked = () => global.setTimeout(() => resolve(false), 500);
    });
  }

  function lsGet(key) {
    try {
      return global.localStorage.getItem(key);
    } catch (_e) {
      return null;
    }
  }

  function lsSet(key, value) {
    try {
      global.localStorage.setItem(key, value);
    } catch (e) {
      core.reportError("localStorage", e);
    }
  }

  async function wipeSession() {
    await closeDbs();
    await deleteDb(IDB_KEYS.name);
    await deleteDb(IDB_MSGS.name);
    try {
      LS_KEYS.forEach((k) => global.localStorage.removeItem(k));
      global.localStorage.clear();
    } catch (_e) {
      // storage unavailable: nothing to wipe
    }
  }

  function randomB64(bytes) {
    const a = new Uint8Array(bytes);
    global.crypto.getRandomValues(a);
    let s = "";
    a.forEach((b) => {
      s += String.fromCharCode(b);
    });
    return global.btoa(s);
  }

  /** Writes a fresh linked-device identity; IndexedDB first, then the localStorage flags. */
  async function createSession() {
    const pnUser = "55119" + core.randomDigits(8);
    const lidUser = core.randomDigits(15, true);
    const device = 1 + (core.hash32(lidUser) % 20);
    const me = {
      pn: pnUser,
      lid: lidUser,
      device: device,
      pushname: "Corretor Demo",
      createdAt: nowMs(),
    };
    await idbPut(IDB_KEYS, "me", me);
    await idbPut(IDB_KEYS, "noise-info", {
      staticKeyPair: { pubKey: randomB64(32), privKey: randomB64(32) },
    });
    await idbPut(IDB_KEYS, "signal-identity", {
      registrationId: 1 + (core.hash32(pnUser) % 16380),
      identityKeyPair: { pubKey: randomB64(33), privKey: randomB64(32) },
    });
    await idbPut(IDB_KEYS, "adv-secret-key", randomB64(32));
    lsSet(LS_LAST_WID, JSON.stringify(pnUser + ":" + device + "@c.us"));
    lsSet("WAWebLastLidMd", JSON.stringify(lidUser + ":" + device + "@lid"));
    return me;
  }

  /** The stored session, or null. Both stores must agree (a half-wiped profile shows the QR). */
  async function readSession() {
    const last = lsGet(LS_LAST_WID);
    if (!last) {
      return null;
    }
    let me;
    try {
      me = await idbGet(IDB_KEYS, "me");
    } catch (e) {
      core.reportError("read session", e);
      return null;
    }
    if (!me || typeof me.pn !== "string" || typeof me.lid !== "string") {
      return null;
    }
    let lastUser = "";
    try {
      lastUser = String(JSON.parse(last)).split(/[:@]/)[0];
    } catch (_e) {
      return null;
    }
    return lastUser === me.pn ? me : null;
  }

  // -------------------------------------------------------------------------------------------
  // Persisted messages (what happened during the session survives a reload)

  const WID_FIELDS = ["from", "to", "author", "quotedRemoteJid", "quotedParticipant"];
  const KEY_FIELDS = ["id", "latestEditMsgKey", "protocolMessageKey"];
  const SKIP_FIELDS = { quotedMsg: true };

  function msgToRecord(msg) {
    const rec = {};
    Object.keys(MSG_FIELDS).forEach((k) => {
      const v = msg["__x_" + k];
      if (v === undefined || SKIP_FIELDS[k]) {
        return;
      }
      rec[k] = WID_FIELDS.includes(k) || KEY_FIELDS.includes(k) ? v.toString() : v;
    });
    rec.isNewMsg = false;
    // Simulator-only: the order the message was added in, so a reload keeps the order of one
    // second's messages as WhatsApp does (its store is ordered; `t` has whole seconds only).
    // Stripped again by recordToAttrs: the page's models never carry it.
    if (!msg.__simSeq) {
      msg.__simSeq = ++app.simSeq;
    }
    rec.__simSeq = msg.__simSeq;
    return rec;
  }

  function recordToAttrs(rec) {
    const attrs = Object.assign({}, rec);
    delete attrs.__simSeq;
    WID_FIELDS.forEach((k) => {
      if (typeof attrs[k] === "string") {
        attrs[k] = new Wid(attrs[k]);
      }
    });
    KEY_FIELDS.forEach((k) => {
      if (typeof attrs[k] === "string") {
        attrs[k] = MsgKey.fromString(attrs[k]);
      }
    });
    return attrs;
  }

  const persistQueue = new Map();
  let persistTimer = 0;

  function persistMsg(msg) {
    if (!app.me || app.loggingOut || msg.__simSeed) {
      return;
    }
    persistQueue.set(msg.id.toString(), msgToRecord(msg));
    if (!persistTimer) {
      persistTimer = global.setTimeout(flushPersist, 50);
    }
  }

  function flushPersist() {
    persistTimer = 0;
    if (!app.me || app.loggingOut) {
      persistQueue.clear();
      return;
    }
    const batch = Array.from(persistQueue.entries());
    persistQueue.clear();
    idbRequest(IDB_MSGS, "readwrite", (s) => {
      batch.forEach(([k, v]) => s.put(v, k));
      return null;
    }).catch((e) => core.reportError("persist messages", e));
  }

  // -------------------------------------------------------------------------------------------
  // Seed data

  const HISTORY = {
    mariana: [
      [false, "Oi, boa tarde! Vi o anúncio do Residencial Jardim das Flores."],
      [true, "Boa tarde, Mariana! Que bom. Posso te mandar a planta?"],
      [false, "Pode sim, por favor."],
      [true, "Segue a planta do apartamento de 2 dormitórios.", "image"],
      [false, "Gostei! Qual o valor da entrada?"],
      [true, "A entrada fica em torno de 10%, parcelada em até 36 vezes."],
      [true, "Tabela de preços atualizada", "document"],
      [false, "Obrigada! Vou conversar com meu marido."],
      [false, "Podemos visitar o decorado no sábado?"],
    ],
    carlos: [
      [false, "Olá, sou o Carlos. Falei com a Beatriz sobre a Torre Atlântica."],
      [true, "Olá, Carlos! A Beatriz me passou seu contato."],
      [false, "Tem unidade com vista para o mar ainda?"],
      [true, "Temos duas no 14º andar."],
      [false, "Ótimo. Aceitam FGTS?"],
      [true, "Aceitamos, sim."],
      [false, "Vou separar a documentação."],
    ],
    joana: [
      [false, "Oi! Vi no Instagram o Vila Serena."],
      [true, "Oi, Joana! Tudo bem? Quer receber o material?"],
      [false, "Quero sim."],
      [true, "Enviado por e-mail também."],
      [false, "Recebi, obrigada!"],
      [false, "Vocês têm opção com 3 quartos?"],
    ],
    lucas: [
      [false, "E aí, tudo certo?"],
      [true, "Tudo ótimo, Lucas. E você?"],
      [false, "Tranquilo. Depois te ligo."],
    ],
    lid_known: [
      [false, "Olá, aqui é a Renata."],
      [true, "Olá, Renata! Como posso ajudar?"],
      [false, "Queria saber do Vila Serena."],
      [true, "Claro! Te mando as informações."],
    ],
    lid_unknown: [
      [false, "Boa noite, esse número é da imobiliária?"],
      [true, "Boa noite! Sim, em que posso ajudar?"],
    ],
    plantao: [
      ["mariana", "Bom dia, pessoal! Plantão de hoje confirmado."],
      [true, "Bom dia! Estarei lá às 9h."],
      ["carlos", "Levo os folders novos."],
      ["mariana", "Perfeito, obrigado."],
      [true, "Alguém viu a chave do decorado?"],
      ["carlos", "Está na recepção."],
    ],
  };
  const PRELOADED = 3; // messages per chat already in chat.msgs at login
  const EARLIER_BATCH = 3;
  const INITIAL_UNREAD = { joana: 2 };
  const TINY_JPEG_B64 =
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/wAALCAABAAEBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAACf/EABQQAQAAAAAAAAAAAAAAAAAAAAD/2gAIAQEAAD8AKp//2Q==";

  function digitsOf(user) {
    return String(user || "").replace(/\D/g, "");
  }

  /** "+55 11 99001-0001" for Brazilian numbers, "+<digits>" otherwise. */
  function formatPhone(digits) {
    const d = digitsOf(digits);
    if (d.startsWith("55") && (d.length === 12 || d.length === 13)) {
      const ddd = d.slice(2, 4);
      const rest = d.slice(4);
      const cut = rest.length - 4;
      return "+55 " + ddd + " " + rest.slice(0, cut) + "-" + rest.slice(cut);
    }
    return "+" + d;
  }
  app.formatPhone = formatPhone;

  function displayTitle(contact) {
    if (contact.name) {
      return contact.name;
    }
    if (contact.verifiedName) {
      return contact.verifiedName;
    }
    if (contact.id && contact.id.server === "c.us") {
      return formatPhone(contact.id.user);
    }
    return contact.pushname || (contact.id ? contact.id.user : "");
  }
  app.displayTitle = displayTitle;

  function stableLidFor(pnUser) {
    return "2" + String(core.hash32("lid:" + pnUser)).padStart(10, "0") + "0" + String(core.hash32(pnUser) % 1000).padStart(3, "0");
  }

  function rememberLidPn(lidWid, pnWid) {
    app.lidToPn.set(lidWid.toString(), pnWid);
    app.pnToLid.set(pnWid.toString(), lidWid);
  }

  // PN→LID migration of a 1:1 chat (notes §3.2): once WhatsApp moved a contact's chat to the
  // contact's LID, the chat and its messages are keyed by the LID — same raw ids, the LID as
  // remote and sender, our own LID as our id in it. It takes effect at the next page load (the
  // migration happened between sessions); the list of moved contacts is kept in localStorage.
  const LS_LID_CHATS = "wacrm-sim-lid-chats";

  function migratedKeys() {
    try {
      const list = JSON.parse(lsGet(LS_LID_CHATS) || "[]");
      return new Set(Array.isArray(list) ? list : []);
    } catch (_e) {
      return new Set();
    }
  }

  /** The chat wid of a seed key: its LID once its chat was migrated, else its own wid. */
  function chatWidOfKey(key) {
    const s = app.seedByKey.get(key);
    if (!s) {
      return null;
    }
    if (s.kind === "contact" && s.wid.server === "c.us" && migratedKeys().has(key)) {
      return app.pnToLid.get(s.wid.toString()) || s.wid;
    }
    return s.wid;
  }
  app.chatWidOfKey = chatWidOfKey;

  /** The LID a phone-number chat was migrated to (null when it was not). */
  function migratedLidOf(wid) {
    for (const key of migratedKeys()) {
      const s = app.seedByKey.get(key);
      if (s && s.wid.equals(wid)) {
        return app.pnToLid.get(s.wid.toString()) || null;
      }
    }
    return null;
  }

  app.migrateToLid = function (key) {
    const s = app.seedByKey.get(String(key));
    if (!s || s.kind !== "contact" || s.wid.server !== "c.us") {
      throw new Error("simulator: " + key + " is not a phone-number contact");
    }
    const lid = app.pnToLid.get(s.wid.toString());
    if (!lid) {
      throw new Error("simulator: no LID known for " + key);
    }
    const keys = migratedKeys();
    keys.add(String(key));
    lsSet(LS_LID_CHATS, JSON.stringify(Array.from(keys)));
    return lid.toString();
  };

  /** A stored message of a migrated phone-number chat, as the LID chat holds it. */
  function rekeyedToLid(attrs, lid) {
    const pn = attrs.id.remote;
    const swap = (w) => {
      if (!w) {
        return w;
      }
      if (w.equals(pn)) {
        return lid;
      }
      return app.me && w.equals(app.me.pn) ? app.me.lid : w;
    };
    return Object.assign({}, attrs, {
      id: new MsgKey({ fromMe: attrs.id.fromMe, remote: lid, id: attrs.id.id, participant: attrs.id.participant }),
      from: swap(attrs.from),
      to: swap(attrs.to),
    });
  }

  async function loadSeed() {
    if (app.seed) {
      return app.seed;
    }
    const resp = await global.fetch("/seed.json", { cache: "no-store" });
    if (!resp.ok) {
      throw new Error("seed.json: HTTP " + resp.status);
    }
    const seed = await resp.json();
    app.seed = seed;
    (seed.contacts || []).forEach((c) => {
      app.seedByKey.set(c.key, { entry: c, wid: new Wid(c.wid), kind: "contact" });
    });
    (seed.groups || []).forEach((g) => {
      app.seedByKey.set(g.key, { entry: g, wid: new Wid(g.wid), kind: "group" });
    });
    return seed;
  }

  function ensureContact(wid, attrs) {
    let contact = ContactColl.get(wid);
    if (!contact) {
      contact = new ContactModel(Object.assign({ id: wid }, attrs || {}));
      if (contact.name && !contact.shortName) {
        contact.set("shortName", contact.name.split(" ")[0], { silent: true });
      }
      ContactColl.add(contact);
    }
    return contact;
  }
  app.ensureContact = ensureContact;

  function chatForContact(contact) {
    let chat = ChatColl.get(contact.id);
    if (chat) {
      return chat;
    }
    chat = new ChatModel({
      id: contact.id,
      contact: contact,
      name: contact.name || undefined,
      formattedTitle: displayTitle(contact),
      t: 0,
      msgs: makeMsgs(),
      isGroup: false,
    });
    ChatColl.add(chat);
    return chat;
  }

  function populateSeed() {
    const seed = app.seed;
    (seed.contacts || []).forEach((c) => {
      const wid = new Wid(c.wid);
      if (wid.isLid()) {
        if (c.phone && c.phone_known_after_lookup) {
          app.pendingLookup.set(wid.toString(), new Wid(digitsOf(c.phone) + "@c.us"));
        } else if (c.phone) {
          rememberLidPn(wid, new Wid(digitsOf(c.phone) + "@c.us"));
        }
      } else if (wid.server === "c.us") {
        rememberLidPn(new Wid(stableLidFor(wid.user) + "@lid"), wid);
      }
      const known = wid.isLid() ? app.lidToPn.get(wid.toString()) : undefined;
      ensureContact(wid, {
        name: c.name || undefined,
        pushname: c.pushname || undefined,
        verifiedName: c.verifiedName || undefined,
        isBusiness: !!c.isBusiness,
        phoneNumber: known,
        type: c.name ? "in" : "out",
      });
    });
    (seed.groups || []).forEach((g) => {
      const gid = new Wid(g.wid);
      const participants = new Collection({ model: ParticipantModel });
      const meWid = app.me ? app.me.pn : undefined;
      (g.members || []).forEach((key) => {
        const s = app.seedByKey.get(key);
        if (s) {
          participants.add(new ParticipantModel({ id: s.wid, contact: ContactColl.get(s.wid) }));
        }
      });
      if (meWid) {
        participants.add(new ParticipantModel({ id: meWid, isAdmin: true, isSuperAdmin: true }));
      }
      const meta = new GroupMetadataModel({
        id: gid,
        subject: g.name,
        owner: meWid,
        creation: Math.floor(app.me.createdAt / 1000) - 86400 * 90,
        participants: participants,
        size: participants.length,
        isLidAddressingMode: !!g.lidAddressing,
      });
      GroupMetadataColl.add(meta);
      const chat = new ChatModel({
        id: gid,
        name: g.name,
        formattedTitle: g.name,
        msgs: makeMsgs(),
        isGroup: true,
        groupMetadata: meta,
      });
      ChatColl.add(chat);
    });
    (seed.contacts || []).forEach((c) => {
      const wid = chatWidOfKey(c.key) || new Wid(c.wid);
      let contact = ContactColl.get(wid);
      if (!contact) {
        // A migrated chat: the contact under its LID, whose phone WhatsApp knows.
        const pnContact = ContactColl.get(new Wid(c.wid));
        contact = ensureContact(wid, {
          name: pnContact.name,
          pushname: pnContact.pushname,
          phoneNumber: pnContact.id,
          type: pnContact.type,
        });
      }
      chatForContact(contact);
    });
  }

  function meFor(chat) {
    if (!app.me) {
      return undefined;
    }
    const id = chat.id;
    let lid = id.isLid();
    if (id.isGroup() && chat.groupMetadata) {
      lid = chat.groupMetadata.isLidAddressingMode === true;
    }
    return lid ? app.me.lid : app.me.pn;
  }
  app.meFor = meFor;

  function rawIdFor(platform, seedText) {
    if (platform === "web") {
      return seedText ? "3EB0" + core.stableHex(seedText, 16) : null;
    }
    if (platform === "ios") {
      return "3A" + (seedText ? core.stableHex(seedText, 18) : core.randomHex(18));
    }
    return seedText ? core.stableHex(seedText, 32) : core.randomHex(32);
  }

  function platformOf(key) {
    return core.hash32(String(key)) % 2 ? "ios" : "android";
  }

  /** Attributes of one historical message (stable ids, times tied to the session's creation). */
  function historyAttrs(key, chat, index, total, item) {
    // Each chat's last message a little older than the previous chat's, all before the login.
    const order = Math.max(0, Array.from(app.seedByKey.keys()).indexOf(key));
    const base = Math.floor(app.me.createdAt / 1000) - 600 - order * 2400;
    const t = base - (total - index) * 5400;
    const fromMe = item[0] === true;
    const isGroup = chat.id.isGroup();
    const me = meFor(chat);
    let author;
    let notifyName;
    if (!fromMe) {
      if (isGroup) {
        const s = app.seedByKey.get(item[0]);
        author = s.wid;
        notifyName = s.entry.pushname;
      } else {
        notifyName = chat.contact ? chat.contact.pushname : undefined;
      }
    }
    const rawId = rawIdFor(fromMe ? "android" : platformOf(key), "hist:" + key + ":" + index);
    const id = new MsgKey({
      fromMe: fromMe,
      remote: chat.id,
      id: rawId,
      participant: isGroup ? (fromMe ? me : author) : undefined,
    });
    const attrs = {
      id: id,
      type: "chat",
      body: item[1],
      t: t,
      clientReceivedTsMillis: t * 1000 + 800,
      from: fromMe ? me : isGroup ? chat.id : chat.id,
      to: fromMe ? chat.id : me,
      author: author,
      ack: fromMe ? 3 : 0,
      notifyName: notifyName,
      isNewMsg: false,
      isMdHistoryMsg: true,
      self: fromMe ? "out" : "in",
    };
    if (item[2] === "image") {
      Object.assign(attrs, {
        type: "image",
        body: TINY_JPEG_B64,
        caption: item[1],
        mimetype: "image/jpeg",
        size: 184213,
        width: 1280,
        height: 960,
        directPath: "/v/t62.7118-24/sim-" + core.stableHex("img" + key + index, 12),
        mediaKey: core.stableHex("mk" + key + index, 32),
      });
    } else if (item[2] === "document") {
      Object.assign(attrs, {
        type: "document",
        body: TINY_JPEG_B64,
        caption: item[1],
        mimetype: "application/pdf",
        filename: "tabela-precos.pdf",
        size: 532117,
        directPath: "/v/t62.7119-24/sim-" + core.stableHex("doc" + key + index, 12),
        mediaKey: core.stableHex("mk" + key + index, 32),
      });
    }
    return attrs;
  }

  function keyOfChat(chat) {
    for (const key of app.seedByKey.keys()) {
      const wid = chatWidOfKey(key);
      if (wid && wid.equals(chat.id)) {
        return key;
      }
    }
    return null;
  }
  app.keyOfChat = keyOfChat;

  /** Builds the history of every seed chat: a few in chat.msgs, the rest for loadEarlierMsgs. */
  function populateHistory() {
    ChatColl.getModelsArray().forEach((chat) => {
      const key = keyOfChat(chat);
      const items = key ? HISTORY[key] || [] : [];
      const all = items.map((item, i) => historyAttrs(key, chat, i, items.length, item));
      const pre = all.slice(Math.max(0, all.length - PRELOADED));
      app.earlier.set(chat.id.toString(), all.slice(0, all.length - pre.length));
      pre.forEach((attrs) => addMsg(chat, attrs, { seed: true, silentChat: true }));
      if (INITIAL_UNREAD[key]) {
        chat.set("unreadCount", INITIAL_UNREAD[key], { silent: true });
      }
    });
  }

  async function restorePersisted() {
    let records = [];
    try {
      records = (await idbGetAll(IDB_MSGS)) || [];
    } catch (e) {
      core.reportError("restore messages", e);
    }
    records.sort((a, b) => (a.t || 0) - (b.t || 0) || (a.__simSeq || 0) - (b.__simSeq || 0));
    app.simSeq = records.reduce((m, r) => Math.max(m, r.__simSeq || 0), app.simSeq || 0);
    records.forEach((rec) => {
      let attrs;
      try {
        attrs = recordToAttrs(rec);
      } catch (e) {
        core.reportError("restore message", e);
        return;
      }
      const lid = migratedLidOf(attrs.id.remote);
      if (lid) {
        attrs = rekeyedToLid(attrs, lid);
      }
      const chat = chatByWid(attrs.id.remote, true);
      if (chat && !MsgColl.get(attrs.id)) {
        const msg = addMsg(chat, attrs, { restored: true, silentChat: true });
        if (msg && rec.__simSeq) {
          msg.__simSeq = rec.__simSeq;
        }
      }
    });
  }

  // -------------------------------------------------------------------------------------------
  // Messages

  function chatByWid(wid, create) {
    let chat = ChatColl.get(wid);
    if (!chat && create && wid.isUser()) {
      chat = chatForContact(ensureContact(wid, {}));
    }
    return chat;
  }

  /**
   * Puts a message into its chat and the global store: chat.msgs first, then Msg (`add`), then the
   * chat's own bookkeeping (t, unreadCount, lastReceivedKey).
   */
  function addMsg(chat, attrs, opts) {
    opts = opts || {};
    const existing = MsgColl.get(attrs.id);
    if (existing) {
      return existing;
    }
    const msg = new MsgModel(attrs);
    if (opts.seed) {
      Object.defineProperty(msg, "__simSeed", { value: true });
    }
    chat.msgs.add(msg);
    MsgColl.add(msg);
    const changes = {};
    if ((attrs.t || 0) >= (chat.t || 0)) {
      changes.t = attrs.t;
    }
    if (!attrs.id.fromMe) {
      changes.lastReceivedKey = attrs.id;
    }
    if (attrs.isNewMsg && !attrs.id.fromMe && !chat.active) {
      changes.unreadCount = Math.max(0, chat.unreadCount || 0) + 1;
    }
    chat.set(changes, { silent: !!opts.silentChat });
    if (!opts.seed && !opts.restored) {
      persistMsg(msg);
    }
    return msg;
  }
  app.addMsg = addMsg;

  /**
   * WhatsApp keeps only some messages in memory. An evicted message leaves chat.msgs and Msg
   * (`remove`) but stays in the local DB; signals about it (revoke, edit, receipts) still arrive.
   */
  function evictMsg(msg) {
    const key = msg.id.toString();
    app.unloaded.set(key, recordToAttrs(msgToRecord(msg)));
    const chat = ChatColl.get(msg.id.remote);
    if (chat) {
      chat.msgs.remove(msg);
    }
    MsgColl.remove(msg);
    return key;
  }
  app.evictMsg = evictMsg;

  const REVOKE_SUBTYPES = ["revoke", "sender_revoke", "admin_revoke"];
  const MEDIA_TYPES = ["image", "video", "audio", "ptt", "document", "sticker"];

  /** A revoke or edit applied to the stored copy of a message that is not in memory. */
  function applyToUnloaded(raw) {
    const key = raw.protocolMessageKey ? raw.protocolMessageKey.toString() : "";
    const attrs = app.unloaded.get(key);
    if (!attrs) {
      return;
    }
    if (REVOKE_SUBTYPES.includes(raw.subtype)) {
      Object.assign(attrs, { type: "revoked", subtype: raw.subtype, body: "", caption: undefined });
    } else if (raw.subtype === "message_edit") {
      attrs.latestEditMsgKey = raw.id;
      attrs.latestEditSenderTimestampMs = raw.latestEditSenderTimestampMs;
      attrs[MEDIA_TYPES.includes(attrs.type) ? "caption" : "body"] = raw.body;
    }
  }

  /**
   * The message collection's entry for incoming raw messages (MsgCollection.processMultipleMessages
   * in WhatsApp Web). Protocol messages are signals: a revoke or edit changes its target (in memory
   * or only in the DB) and is never added to Msg. Other messages become models of their chat.
   */
  MsgColl.processMultipleMessages = function processMultipleMessages(chatId, raws) {
    const out = [];
    (Array.isArray(raws) ? raws : []).forEach((raw) => {
      if (!raw || typeof raw !== "object") {
        return;
      }
      if (raw.type === "protocol") {
        const target = raw.protocolMessageKey ? MsgColl.get(raw.protocolMessageKey) : undefined;
        if (!target) {
          applyToUnloaded(raw);
        } else if (REVOKE_SUBTYPES.includes(raw.subtype)) {
          target.set({ type: "revoked", subtype: raw.subtype, body: "", caption: undefined });
        } else if (raw.subtype === "message_edit") {
          const text = {};
          text[target.type === "chat" ? "body" : "caption"] = raw.body;
          target.set(
            Object.assign(
              { latestEditMsgKey: raw.id, latestEditSenderTimestampMs: raw.latestEditSenderTimestampMs },
              text
            )
          );
        }
        return;
      }
      const chat = chatByWid(raw.id && raw.id.remote ? raw.id.remote : core.asWid(chatId), true);
      if (chat) {
        out.push(addMsg(chat, raw, {}));
      }
    });
    return Promise.resolve(out);
  };

  /**
   * WAWebHandleDirectChatReceipt.handleChatSimpleReceipt: a peer's receipt for our messages
   * ({ack, ackString, externalIds, from, recipient, ts}). Loaded messages get change:ack; the
   * stored copy of the others is updated silently.
   */
  function handleChatSimpleReceipt(data) {
    const ids = data && Array.isArray(data.externalIds) ? data.externalIds : [];
    const from = data && data.from ? core.asWid(data.from) : null;
    if (!from) {
      return Promise.resolve();
    }
    ids.forEach((raw) => {
      const key = "true_" + from.toString() + "_" + raw;
      const msg = MsgColl.get(key);
      if (msg) {
        if ((msg.ack || 0) < data.ack) {
          msg.set("ack", data.ack);
        }
      } else if (app.unloaded.has(key)) {
        const attrs = app.unloaded.get(key);
        attrs.ack = Math.max(attrs.ack || 0, data.ack);
      }
    });
    return Promise.resolve();
  }
  app.handleChatSimpleReceipt = handleChatSimpleReceipt;

  /** Delete for me: out of the chat and the store (`remove`), and out of the local DB. */
  function removeMsg(msg) {
    const chat = ChatColl.get(msg.id.remote);
    if (chat) {
      chat.msgs.remove(msg);
    }
    MsgColl.remove(msg);
    const key = msg.id.toString();
    persistQueue.delete(key);
    if (app.me && !msg.__simSeed) {
      idbRequest(IDB_MSGS, "readwrite", (s) => s.delete(key)).catch((e) =>
        core.reportError("delete message", e)
      );
    }
  }
  app.removeMsg = removeMsg;

  MsgColl.on("change", (msg) => {
    if (MsgColl.get(msg.id) === msg) {
      persistMsg(msg);
    }
  });

  function scheduleAcks(msg, steps) {
    steps.forEach(([delay, ack]) => {
      global.setTimeout(() => {
        if (MsgColl.get(msg.id) === msg && (msg.ack || 0) < ack && msg.ack !== -1) {
          msg.set("ack", ack);
        }
      }, delay);
    });
  }

  /** The internal send path shared by WAWebSendMsgChatAction and the composer. */
  function addAndSendMsgToChat(chat, attrs) {
    const fail = (why) => {
      const e = Promise.reject(new Error(why));
      e.catch(() => {});
      const r = Promise.reject(new Error(why));
      r.catch(() => {});
      return [e, r];
    };
    if (!(chat instanceof ChatModel) || ChatColl.get(chat.id) !== chat) {
      return fail("addAndSendMsgToChat: unknown chat");
    }
    if (!app.me || Socket.state !== "CONNECTED") {
      return fail("addAndSendMsgToChat: not connected");
    }
    if (!attrs || !(attrs.id instanceof MsgKey)) {
      return fail("addAndSendMsgToChat: attrs.id must be a MsgKey");
    }
    if (!attrs.id.fromMe || !attrs.id.remote.equals(chat.id)) {
      return fail("addAndSendMsgToChat: key does not belong to this chat");
    }
    if (MsgColl.get(attrs.id)) {
      return fail("addAndSendMsgToChat: duplicate id");
    }
    const clean = {};
    Object.keys(attrs).forEach((k) => {
      if (Object.prototype.hasOwnProperty.call(MSG_FIELDS, k)) {
        clean[k] = attrs[k];
      }
    });
    clean.ack = 0;
    clean.isNewMsg = true;
    clean.t = typeof clean.t === "number" ? clean.t : nowSec();
    clean.from = clean.from || meFor(chat);
    clean.to = clean.to || chat.id;
    clean.self = "out";
    clean.local = true;
    if (!clean.type) {
      clean.type = "chat";
    }
    const msg = addMsg(chat, clean, {});
    const added = Promise.resolve(msg);
    const result = new Promise((resolve) => {
      global.setTimeout(() => {
        if ((msg.ack || 0) < 1) {
          msg.set("ack", 1);
        }
        resolve({ messageSendResult: "OK", t: msg.t });
      }, 200);
    });
    scheduleAcks(msg, [[900, 2]]);
    return [added, result];
  }
  app.addAndSendMsgToChat = addAndSendMsgToChat;

  /** What WA's composer does: build the key and attributes, then the same internal path. */
  async function sendTextFromComposer(chat, text) {
    const me = meFor(chat);
    const key = new MsgKey({
      from: me,
      to: chat.id,
      id: await MsgKey.newId(),
      participant: chat.id.isGroup() ? me : undefined,
      selfDir: "out",
    });
    const r = addAndSendMsgToChat(chat, {
      id: key,
      type: "chat",
      body: text,
      t: nowSec(),
      from: me,
      to: chat.id,
      ack: 0,
      local: true,
      self: "out",
      isNewMsg: true,
    });
    return r[0];
  }
  app.sendTextFromComposer = sendTextFromComposer;

  // -------------------------------------------------------------------------------------------
  // Chat opening

  function openChat(chat) {
    if (!(chat instanceof ChatModel) || ChatColl.get(chat.id) !== chat) {
      return false;
    }
    ChatColl.getModelsArray().forEach((c) => {
      if (c !== chat && c.active) {
        c.set("active", false);
      }
    });
    if (!chat.active) {
      chat.set("active", true);
    }
    if (chat.unreadCount !== 0) {
      chat.set("unreadCount", 0);
    }
    return true;
  }
  app.openChat = openChat;

  function closeChat() {
    ChatColl.getModelsArray().forEach((c) => {
      if (c.active) {
        c.set("active", false);
      }
    });
  }
  app.closeChat = closeChat;

  function unreadChats() {
    return ChatColl.getModelsArray().filter((c) => c.unreadCount !== 0).length;
  }

  function updateTitle() {
    const n = Socket.state === "CONNECTED" ? unreadChats() : 0;
    const title = n > 0 ? "(" + n + ") WhatsApp" : "WhatsApp";
    if (doc.title !== title) {
      doc.title = title;
    }
  }
  ChatColl.on("change:unreadCount add remove", updateTitle);
  Socket.on("change:state", updateTitle);

  // -------------------------------------------------------------------------------------------
  // LID <-> PN cache and server lookups

  function getPhoneNumber(wid) {
    if (!wid) {
      return undefined;
    }
    return app.lidToPn.get(wid.toString());
  }

  function getCurrentLid(wid) {
    if (!wid) {
      return undefined;
    }
    return app.pnToLid.get(wid.toString());
  }

  function learnLookup(lidStr) {
    const pn = app.pendingLookup.get(lidStr);
    if (!pn) {
      return;
    }
    app.pendingLookup.delete(lidStr);
    const lid = new Wid(lidStr);
    rememberLidPn(lid, pn);
    const contact = ContactColl.get(lid);
    if (contact) {
      contact.set("phoneNumber", pn);
    }
  }

  async function queryWidExists(wid) {
    app.lookups += 1;
    await sleep(300);
    if (!app.me) {
      throw new Error("queryWidExists: not logged in");
    }
    const w = core.asWid(wid);
    const s = w.toString();
    if (w.isLid()) {
      learnLookup(s);
      if (!ContactColl.get(w)) {
        return null;
      }
      return { wid: w, lid: w, biz: false };
    }
    if (w.server !== "c.us") {
      return null;
    }
    for (const [lidStr, pn] of app.pendingLookup) {
      if (pn.equals(w)) {
        learnLookup(lidStr);
        break;
      }
    }
    if (!app.pnToLid.has(s)) {
      const digits = w.user;
      // Fictitious world: any plausible number exists and gets a LID on first lookup.
      if (!/^\d{10,15}$/.test(digits)) {
        return null;
      }
      rememberLidPn(new Wid(stableLidFor(digits) + "@lid"), w);
    }
    return { wid: w, lid: app.pnToLid.get(s), biz: false };
  }

  async function findOrCreateLatestChat(wid) {
    await sleep(30);
    const w = core.asWid(wid);
    let chat = ChatColl.get(w);
    if (chat) {
      return { chat: chat, created: false };
    }
    if (w.server === "c.us") {
      const lid = app.pnToLid.get(w.toString());
      if (!lid) {
        throw new Error("No LID for user");
      }
      chat = ChatColl.get(lid) || ChatColl.get(w);
      if (chat) {
        return { chat: chat, created: false };
      }
      chat = chatForContact(ensureContact(w, {}));
      return { chat: chat, created: true };
    }
    if (w.isLid()) {
      chat = chatForContact(ensureContact(w, {}));
      return { chat: chat, created: true };
    }
    throw new Error("findOrCreateLatestChat: cannot create chat for " + w.toString());
  }

  async function loadEarlierMsgs(chat, msgs) {
    await sleep(120);
    if (!(chat instanceof ChatModel)) {
      return [];
    }
    const target = msgs && msgs.msgLoadState ? msgs : chat.msgs;
    const rest = app.earlier.get(chat.id.toString()) || [];
    if (!rest.length) {
      target.msgLoadState.noEarlierMsgs = true;
      return [];
    }
    const size = app.earlierPageSize.get(chat.id.toString()) || EARLIER_BATCH;
    const batch = rest.splice(Math.max(0, rest.length - size));
    const loaded = batch.map((attrs) => addMsg(chat, attrs, { seed: true, silentChat: true }));
    if (!rest.length) {
      target.msgLoadState.noEarlierMsgs = true;
    }
    return loaded;
  }

  // -------------------------------------------------------------------------------------------
  // Reactions: a message add-on table (one row per sender and parent message)

  const reactionTableMode = {
    bulkUpsert: function (rows) {
      (Array.isArray(rows) ? rows : []).forEach((row) => {
        const sender = row.author || row.from;
        app.reactions.set(String(row.reactionParentKey) + "|" + String(sender), row);
      });
      app.trigger("reactions");
      return Promise.resolve();
    },
    get: function (parentKey) {
      const prefix = String(parentKey) + "|";
      return Array.from(app.reactions.entries())
        .filter(([k]) => k.startsWith(prefix))
        .map(([, v]) => v);
    },
  };
  app.reactionTableMode = reactionTableMode;

  // -------------------------------------------------------------------------------------------
  // Login flow

  function setSocket(state) {
    Socket.set("state", state);
  }

  function newRef() {
    return "2@" + randomB64(48).replace(/=+$/, "") + "," + randomB64(32) + "==";
  }

  let qrTimer = 0;

  function showQr() {
    clearQrTimer();
    app.qrRefs = 0;
    Conn.set({ ref: newRef(), connected: false });
    app.qrRefs = 1;
    setSocket("UNPAIRED");
    Stream.set("mode", "QR");
    qrTimer = global.setInterval(() => {
      if (Socket.state !== "UNPAIRED") {
        clearQrTimer();
        return;
      }
      if (app.qrRefs >= QR_REFS_BEFORE_IDLE) {
        clearQrTimer();
        Conn.set("ref", undefined);
        setSocket("UNPAIRED_IDLE");
        return;
      }
      app.qrRefs += 1;
      Conn.set("ref", newRef());
    }, QR_MS);
    if (app.scanWanted) {
      app.scanWanted = false;
      global.setTimeout(() => app.scan(), 50);
    }
  }

  function clearQrTimer() {
    if (qrTimer) {
      global.clearInterval(qrTimer);
      qrTimer = 0;
    }
  }

  app.refreshQr = function () {
    if (Socket.state === "UNPAIRED_IDLE" || Socket.state === "UNPAIRED") {
      showQr();
    }
  };

  let scanPromise = null;

  /** The phone scanned the QR: pair, store the keys, connect, sync. */
  app.scan = function () {
    if (scanPromise) {
      return scanPromise;
    }
    if (Socket.state === "UNPAIRED_IDLE") {
      showQr();
    }
    if (Socket.state !== "UNPAIRED") {
      if (app.me) {
        return Promise.resolve(app.meInfo());
      }
      app.scanWanted = true;
      return new Promise((resolve) => {
        Cmd.once("main_loaded", () => resolve(app.meInfo()));
      });
    }
    clearQrTimer();
    setSocket("PAIRING");
    scanPromise = (async () => {
      try {
        const started = nowMs();
        const me = await createSession();
        const wait = 300 - (nowMs() - started);
        if (wait > 0) {
          await sleep(wait);
        }
        await connect(me);
        return app.meInfo();
      } finally {
        scanPromise = null;
      }
    })();
    return scanPromise;
  };

  function meInfo() {
    return app.me ? { pn: app.me.pn.toString(), lid: app.me.lid.toString() } : null;
  }
  app.meInfo = meInfo;

  async function connect(stored) {
    app.me = {
      pn: new Wid(stored.pn + "@c.us"),
      lid: new Wid(stored.lid + "@lid"),
      device: stored.device,
      createdAt: stored.createdAt,
      pushname: stored.pushname,
    };
    Conn.set({ ref: undefined, platform: "android", pushname: stored.pushname, connected: true });
    setSocket("CONNECTED");
    Stream.set("mode", "SYNCING");
    app.trigger("syncing");
    await loadSeed();
    populateSeed();
    populateHistory();
    await restorePersisted();
    await sleep(250);
    Stream.set({ available: true, info: "NORMAL" });
    Socket.set("hasSynced", true);
    Stream.set("mode", "MAIN");
    Cmd.isMainLoaded = true;
    Cmd.trigger("main_loaded");
    updateTitle();
  }

  async function boot() {
    if (app.booted) {
      return;
    }
    app.booted = true;
    setSocket("OPENING");
    let stored = null;
    try {
      stored = await readSession();
    } catch (e) {
      core.reportError("boot", e);
    }
    if (stored) {
      await sleep(150);
      await connect(stored);
      return;
    }
    // A half-present session (one store wiped) is worthless: clear what is left.
    if (lsGet(LS_LAST_WID)) {
      await wipeSession();
    }
    try {
      await loadSeed();
    } catch (e) {
      core.reportError("seed", e);
    }
    showQr();
  }
  app.boot = boot;

  /** Logout: from the phone (Linked devices → Log out) or locally (Socket.logout()). */
  app.logout = function (origin, spelling) {
    if (app.loggingOut) {
      return;
    }
    app.loggingOut = true;
    app.logoutOrigin = origin;
    // Builds before early 2026 fire `logout`, newer ones `logout_from_bridge` (notes §2.3).
    if (spelling !== "logout_from_bridge") {
      Cmd.trigger("logout");
    }
    if (spelling !== "logout") {
      Cmd.trigger("logout_from_bridge");
    }
    Cmd.isMainLoaded = false;
    Socket.set({ hasSynced: false });
    setSocket("UNPAIRED");
    app.me = null;
    wipeSession().then(() => {
      const q = new URLSearchParams(global.location.search);
      q.set("post_logout", "1");
      global.location.replace("/?" + q.toString());
    });
  };

  // -------------------------------------------------------------------------------------------
  // Module registration (progressive, like a cold load)

  const define = (name, factory) => {
    try {
      global.__d(name, [], factory, 0);
    } catch (e) {
      core.reportError("__d " + name, e);
    }
  };
  const exportsOf = (value) =>
    function (g, r, iD, iN, rL, module) {
      module.exports = typeof value === "function" && !value.prototype ? value() : value;
    };
  const plain = (obj) => exportsOf(() => obj);

  function userWid(wid) {
    const w = core.asWid(wid);
    if (!w || !w.isUser()) {
      throw new Error("asUserWidOrThrow: not a user wid: " + String(wid));
    }
    return new Wid(w.user + "@" + w.server);
  }

  const contactGetters = {
    getName: (c) => c.name,
    getPushname: (c) => c.pushname,
    getShortName: (c) => c.shortName,
    getVerifiedName: (c) => c.verifiedName,
    getVerifiedLevel: (c) => c.verifiedLevel,
    getUserid: (c) => (c.id ? c.id.user : undefined),
    getIsMe: (c) => !!(app.me && c.id && (c.id.equals(app.me.pn) || c.id.equals(app.me.lid))),
    getIsUser: (c) => !!(c.id && c.id.isUser()),
    getIsGroup: (c) => !!(c.id && c.id.isGroup()),
    getIsWAContact: (c) => !!(c.id && c.id.isUser()),
    getIsEnterprise: (c) => !!c.isEnterprise,
    getIsBusiness: (c) => !!c.isBusiness,
    getIsMyContact: (c) => !!c.name,
    getPhoneNumber: (c) => c.phoneNumber,
    getFormattedName: (c) => displayTitle(c),
  };

  const STEPS = [
    [
      ["WAWebBuildConstants", plain({ VERSION_STR: VERSION, VERSION_BASE: VERSION, WEB_BUILD: VERSION.split(".")[2] })],
      ["WABase64", plain({ encodeB64: (s) => global.btoa(s), decodeB64: (s) => global.atob(s) })],
      ["WAPhoneUtils", plain({ formatPhone: formatPhone })],
      ["WAWap", plain({ wap: () => null })],
      ["WALinkify", plain({ findLinks: (text) => String(text || "").match(/https?:\/\/\S+/g) || [] })],
      ["WAWebWid", exportsOf(() => Wid)],
      [
        "WAWebWidFactory",
        plain({
          createWid: (s) => new Wid(String(s)),
          createWidFromWidLike: (w) => new Wid(typeof w === "string" ? w : w.toString()),
          createUserWid: (user, server) => new Wid(user + "@" + (server || "c.us")),
          asUserWidOrThrow: userWid,
          toUserWid: userWid,
          isWidlike: (w) => w instanceof Wid || (typeof w === "string" && w.indexOf("@") > 0),
        }),
      ],
      ["WAWebMsgKey", exportsOf(() => MsgKey)],
      ["React", plain({ version: "19.1.0" })],
      ["ReactDOM", plain({ version: "19.1.0" })],
      ["Bootloader", plain({ __debug: { componentMap: {} }, loadModules: () => undefined })],
      ["WAWebL10N", plain({ getLocale: () => (PT ? "pt_BR" : "en") })],
    ],
    [
      [
        "WAWebCollections",
        exportsOf(() => {
          const all = {
            Msg: MsgColl,
            Chat: ChatColl,
            Contact: ContactColl,
            GroupMetadata: GroupMetadataColl,
          };
          if (MODE === "modules-missing") {
            delete all.Msg;
            delete all.Chat;
          }
          if (MODE === "renamed") {
            // Newer builds: renamed collection key, exports under `.default` (notes §1.1, §8).
            delete all.GroupMetadata;
            all.WAWebGroupMetadataCollection = GroupMetadataColl;
            return { default: all };
          }
          return all;
        }),
      ],
      ["WAWebMsgModel", plain({ Msg: MsgModel })],
      ["WAWebChatModel", plain({ Chat: ChatModel })],
      ["WAWebContactModel", plain({ Contact: ContactModel })],
      ["WAWebGroupMetadataModel", plain({ GroupMetadata: GroupMetadataModel })],
      [
        "WAWebChatGetters",
        plain({
          getIsNewsletter: (chat) => !!(chat && chat.id && chat.id.isNewsletter()),
          getIsBroadcast: (chat) => !!(chat && chat.id && chat.id.isBroadcast()),
          getIsGroup: (chat) => !!(chat && chat.id && chat.id.isGroup()),
          getIsUser: (chat) => !!(chat && chat.id && chat.id.isUser()),
          getFormattedTitle: (chat) => chat && chat.formattedTitle,
        }),
      ],
      ["WAWebContactGetters", plain(contactGetters)],
      ["WAWebFrontendContactGetters", plain(contactGetters)],
      ["useWAWebSetModelValue", plain({ useSetModelValue: () => undefined })],
      ["WAWebEmojiUtils", plain({ isEmoji: () => false })],
    ],
    [
      ["WAWebSocketModel", plain({ Socket: Socket })],
      ["WAWebConnModel", plain({ Conn: Conn })],
      ["WAWebStreamModel", plain({ Stream: Stream })],
      ["WAWebCmd", plain({ Cmd: Cmd })],
      ["WAWebApiContact", plain({ getPhoneNumber: getPhoneNumber, getCurrentLid: getCurrentLid })],
      ["WAWebQueryExistsJob", plain({ queryWidExists: queryWidExists })],
      [
        "WAWebHandleDirectChatReceipt",
        // Looked up at call time, like WhatsApp's own callers do (so a wrapper is seen).
        plain({ handleChatSimpleReceipt: (data) => app.handleChatSimpleReceipt(data) }),
      ],
      [
        "WAWebMiscBrowserUtils",
        plain({ info: () => ({ os: "Linux", name: "Chrome", version: "142.0.0.0" }) }),
      ],
    ],
    [
      ["WAWebSendMsgChatAction", plain({ addAndSendMsgToChat: addAndSendMsgToChat })],
      ["WAWebFindChatAction", plain({ findOrCreateLatestChat: findOrCreateLatestChat })],
      ["WAWebChatLoadMessages", plain({ loadEarlierMsgs: loadEarlierMsgs })],
      ["WAWebAddonReactionTableMode", plain({ reactionTableMode: reactionTableMode })],
      ["WAWebGetEphemeralFieldsMsgActionsUtils", plain({ getEphemeralFields: () => ({}) })],
      [
        "WAWebMsgReply",
        plain({ canReplyMsg: (m) => !!m && m.type !== "revoked" && !m.isNotification }),
      ],
      [
        "WAWebQuotedMsgModelUtils",
        plain({ getQuotedMsgObj: (m) => (m && m.quotedStanzaID ? m.quotedMsg || null : null) }),
      ],
      [
        "WAWebUpdateUnreadChatAction",
        plain({
          // Sends read receipts in the real app: counted so tests can check nobody calls it.
          sendSeen: (arg) => {
            const chat = arg && arg.chat ? arg.chat : arg;
            app.readReceiptsSent += 1;
            if (chat instanceof ChatModel) {
              chat.set("unreadCount", 0);
            }
            return Promise.resolve();
          },
          markSeen: (arg) => {
            const chat = arg && arg.chat ? arg.chat : arg;
            app.readReceiptsSent += 1;
            if (chat instanceof ChatModel) {
              chat.set("unreadCount", 0);
            }
            return Promise.resolve();
          },
        }),
      ],
      [
        "WAWebUserPrefsMeUser",
        plain({
          getMaybeMePnUser: () => (app.me ? app.me.pn : undefined),
          getMaybeMeLidUser: () => (app.me ? app.me.lid : undefined),
          getMePnUserOrThrow: () => {
            if (!app.me) {
              throw new Error("user not logged in");
            }
            return app.me.pn;
          },
          getMeLidUserOrThrow: () => {
            if (!app.me) {
              throw new Error("user not logged in");
            }
            return app.me.lid;
          },
          isMeAccount: (w) =>
            !!(app.me && w && (app.me.pn.equals(w) || app.me.lid.equals(w))),
        }),
      ],
    ],
  ];
  const STATE_MODULES = ["WAWebSocketModel", "WAWebStreamModel"];
  // Cold load (?cold=1): the same steps spread over ~4 s instead of ~1 s.
  const STEP_DELAYS = COLD ? [0, 1200, 2500, 3800] : [0, 300, 650, 1000];

  function register() {
    announceVersion();
    STEPS.forEach((mods, i) => {
      global.setTimeout(() => {
        mods.forEach(([name, factory]) => {
          // ?mode=state-renamed: a build whose login-state modules got other names (the module
          // finders for Conn/isAuthenticated broke like this, wa-js #3481); WhatsApp still runs.
          if (MODE === "state-renamed" && STATE_MODULES.indexOf(name) !== -1) {
            define(name + "Renamed", factory);
            return;
          }
          define(name, factory);
        });
        if (i === STEPS.length - 1) {
          app.trigger("registered");
          global.setTimeout(boot, 100);
        }
      }, STEP_DELAYS[i]);
    });
  }

  // Models, ids and helpers for the UI and the control API.
  Object.assign(app, {
    Wid: Wid,
    MsgKey: MsgKey,
    ChatModel: ChatModel,
    MsgModel: MsgModel,
    chatByWid: chatByWid,
    rawIdFor: rawIdFor,
    platformOf: platformOf,
    scheduleAcks: scheduleAcks,
    queryWidExists: queryWidExists,
    loadEarlierMsgs: loadEarlierMsgs,
    unreadChats: unreadChats,
    nowSec: nowSec,
  });

  global.__waSimApp = app;
  // The main bundle announces its version a moment after the loader (notes §1.4 step 2).
  global.setTimeout(register, 30);
})(window);
