/*
 * wa_bridge.js: MainWorld, InjectionPoint.DocumentCreation (runs before WhatsApp's own scripts,
 * again on every navigation and reload).
 *
 * Python wraps it as
 *   (function(){ "use strict"; const module = undefined, exports = undefined;
 *                const WACRM_CONFIG = <json>; <wa_serialize.js> <wa_bridge.js> })();
 * so the wa_serialize.js helpers are in scope and nothing here becomes a page global.
 *
 * It reads WhatsApp's internal modules (feature-detected, every `require` in try/catch), turns
 * models into plain JSON envelopes and dispatches them as `wacrm:event` CustomEvents on `document`.
 * The relay (relay.js, isolated world) forwards them to Python. Commands come back as
 * `wacrm:command` CustomEvents carrying the per-page token. See resources/js/README.md.
 *
 * Rules kept here: no exception escapes into the page, no busy loops, nothing is sent unless
 * Python asks (never sendSeen). Events are subscribed; the only WhatsApp functions replaced are
 * observers that copy their arguments, always call the original and return its result
 * (reactions' bulkUpsert, Msg.processMultipleMessages, the direct-chat receipt handler).
 */
(function waBridgeMain() {
  let doc;
  try {
    doc = typeof document === "object" && document ? document : null;
  } catch (_e) {
    doc = null;
  }
  if (!doc || typeof doc.addEventListener !== "function") return;

  // Run-once guard per document: a non-enumerable symbol-keyed property, not a window global.
  const ONCE = Symbol.for("wcb.once");
  try {
    if (doc[ONCE]) return;
    Object.defineProperty(doc, ONCE, { value: true, enumerable: false, configurable: false, writable: false });
  } catch (_e) {
    return;
  }

  const win = typeof window === "object" && window ? window : globalThis;
  // Captured before WhatsApp's scripts run, so later wrappers of the page do not affect us.
  const setTimer = setTimeout;
  const clearTimer = clearTimeout;
  const DateNow = () => Date.now();

  function intConfig(v, dflt, lo, hi) {
    return typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi ? v : dflt;
  }

  const CFG = wacrmConfig();
  if (!originAllowed(CFG, win.location)) return;
  const TOKEN = typeof CFG.token === "string" ? CFG.token : "";
  const CAPTURE_CFG = { ignoreStatus: CFG.ignoreStatus !== false, ignoreNewsletters: CFG.ignoreNewsletters !== false };

  const FAST_MS = 250;
  const SLOW_MS = 2000;
  const LOADER_CAP_MS = 60000;
  const VERSION_CAP_MS = 30000;
  const SETTLE_QUIET_MS = 750;
  const SETTLE_CAP_MS = 20000;
  const MEUSER_CAP_MS = 5000;
  const ACTIVE_DEBOUNCE_MS = 50;
  const BACKFILL_CHUNK = 50;
  // Earlier pages (loadEarlierMsgs) fetched per chat open / reconnect, and the message cap per chat.
  const BACKFILL_PAGES = intConfig(CFG.backfillPages, 5, 0, 50);
  const BACKFILL_MAX_EARLIER = intConfig(CFG.backfillMaxEarlier, 500, 0, 20000);
  const CATCHUP_PAGES = 2;
  const OUTBOX_MAX = 2000;
  const SENT_IDS_MAX = 20000;
  const SEND_RESULT_WAIT_MS = 20000;

  // ---------------------------------------------------------------------------------------------
  // Emitting

  const outbox = [];
  let relayReady = false;
  let outboxDropped = 0;

  function dispatchDetail(detail) {
    try {
      doc.dispatchEvent(new CustomEvent("wacrm:event", { detail }));
    } catch (_e) {
      // nothing useful to do
    }
  }

  function emit(kind, data) {
    let s = null;
    try {
      s = makeEnvelope(kind, data, TOKEN);
    } catch (_e) {
      s = null;
    }
    if (!s) return false;
    if (!relayReady) {
      if (outbox.length >= OUTBOX_MAX) {
        outbox.shift();
        outboxDropped += 1;
      }
      outbox.push(s);
      return true;
    }
    dispatchDetail(s);
    return true;
  }

  function flushOutbox() {
    while (outbox.length) dispatchDetail(outbox.shift());
    if (outboxDropped) {
      const n = outboxDropped;
      outboxDropped = 0;
      log("warning", "outbox overflow before the relay was ready; dropped " + n + " envelopes");
    }
  }

  function pingRelay() {
    try {
      doc.dispatchEvent(new CustomEvent("wacrm:ping"));
    } catch (_e) {
      // ignore
    }
  }

  // Logs are rate limited: at most 3 of one text and 20 per minute.
  const logSeen = new Map();
  let logWindowStart = 0;
  let logWindowCount = 0;
  function log(level, message) {
    try {
      const text = String(message).slice(0, 500);
      const seen = logSeen.get(text) || 0;
      if (seen >= 3) return;
      const now = DateNow();
      if (now - logWindowStart > 60000) {
        logWindowStart = now;
        logWindowCount = 0;
      }
      if (logWindowCount >= 20) return;
      logWindowCount += 1;
      if (logSeen.size > 200) logSeen.clear();
      logSeen.set(text, seen + 1);
      emit("log", { level, message: text });
    } catch (_e) {
      // ignore
    }
  }

  function errText(e) {
    try {
      if (e && typeof e === "object") return String(e.name || "Error") + ": " + String(e.message || "");
      return String(e);
    } catch (_e) {
      return "error";
    }
  }

  /** Wrap a handler so that no exception reaches WhatsApp's event loop. */
  function safe(name, fn) {
    return function wrapped() {
      try {
        return fn.apply(this, arguments);
      } catch (e) {
        log("warning", name + " failed: " + errText(e));
        return undefined;
      }
    };
  }

  function later(ms, name, fn) {
    return setTimer(safe(name, fn), ms);
  }

  // ---------------------------------------------------------------------------------------------
  // WhatsApp's module system (feature-detected)

  function loaderPresent() {
    try {
      return typeof win.require === "function" && typeof win.__d === "function";
    } catch (_e) {
      return false;
    }
  }

  function readVersion() {
    try {
      const dbg = win.Debug;
      const v = dbg && dbg.VERSION;
      return typeof v === "string" && v ? v : null;
    } catch (_e) {
      return null;
    }
  }

  function modulesMap() {
    try {
      const d = win.require("__debug");
      const m = d && d.modulesMap;
      return m && typeof m === "object" ? m : null;
    } catch (_e) {
      return null;
    }
  }

  function moduleCount() {
    const m = modulesMap();
    if (!m) return -1;
    try {
      return typeof m.size === "number" && typeof m.has === "function" ? m.size : Object.keys(m).length;
    } catch (_e) {
      return -1;
    }
  }

  function requireSafe(name) {
    if (!loaderPresent()) return null;
    // Skip names that are not registered: asking the loader for them can throw or be reported.
    const map = modulesMap();
    if (map) {
      try {
        const known = typeof map.has === "function" ? map.has(name) : Object.prototype.hasOwnProperty.call(map, name);
        if (!known) return null;
      } catch (_e) {
        // could not check: try require anyway
      }
    }
    try {
      const mod = win.require(name);
      return mod === undefined || mod === null ? null : mod;
    } catch (_e) {
      return null;
    }
  }

  function pick(mod, key) {
    if (!mod) return null;
    try {
      const v = mod[key];
      if (v !== undefined && v !== null) return v;
    } catch (_e) {
      // try default
    }
    try {
      const d = mod.default;
      const v = d ? d[key] : undefined;
      if (v !== undefined && v !== null) return v;
    } catch (_e) {
      // missing
    }
    return null;
  }

  function pickFn(mod, key) {
    if (!mod) return null;
    for (const holder of [mod, (() => {
      try {
        return mod.default;
      } catch (_e) {
        return null;
      }
    })()]) {
      if (!holder) continue;
      try {
        const f = holder[key];
        if (typeof f === "function") return f.bind(holder);
      } catch (_e) {
        // next
      }
    }
    return null;
  }

  function classOf(mod, name) {
    if (typeof mod === "function") return mod;
    const d = pick(mod, "default");
    if (typeof d === "function") return d;
    const n = pick(mod, name);
    return typeof n === "function" ? n : null;
  }

  function resolveModules() {
    const coll = requireSafe("WAWebCollections");
    const meUser = requireSafe("WAWebUserPrefsMeUser");
    const widFactory = requireSafe("WAWebWidFactory");
    const apiContact = requireSafe("WAWebApiContact");
    return {
      Msg: pick(coll, "Msg"),
      Chat: pick(coll, "Chat"),
      Contact: pick(coll, "Contact"),
      // Renamed collections (whatsapp-web-bridge.md §8): old and new keys.
      GroupMetadata: pick(coll, "GroupMetadata") || pick(coll, "WAWebGroupMetadataCollection"),
      Newsletter: pick(coll, "WAWebNewsletterCollection") || pick(coll, "NewsletterCollection"),
      Socket: pick(requireSafe("WAWebSocketModel"), "Socket"),
      Stream: pick(requireSafe("WAWebStreamModel"), "Stream"),
      Cmd: pick(requireSafe("WAWebCmd"), "Cmd"),
      getMePn: pickFn(meUser, "getMaybeMePnUser"),
      getMeLid: pickFn(meUser, "getMaybeMeLidUser"),
      getMeLegacy: pickFn(meUser, "getMaybeMeUser"),
      createWid: pickFn(widFactory, "createWid"),
      asUserWid: pickFn(widFactory, "asUserWidOrThrow"),
      MsgKey: classOf(requireSafe("WAWebMsgKey"), "MsgKey"),
      addAndSendMsgToChat: pickFn(requireSafe("WAWebSendMsgChatAction"), "addAndSendMsgToChat"),
      findOrCreateLatestChat: pickFn(requireSafe("WAWebFindChatAction"), "findOrCreateLatestChat"),
      getPhoneNumber: pickFn(apiContact, "getPhoneNumber"),
      getCurrentLid: pickFn(apiContact, "getCurrentLid"),
      queryWidExists: pickFn(requireSafe("WAWebQueryExistsJob"), "queryWidExists"),
      getEphemeralFields: pickFn(requireSafe("WAWebGetEphemeralFieldsMsgActionsUtils"), "getEphemeralFields"),
      loadEarlierMsgs: pickFn(requireSafe("WAWebChatLoadMessages"), "loadEarlierMsgs"),
      reactionTable: pick(requireSafe("WAWebAddonReactionTableMode"), "reactionTableMode"),
      // Receipts for messages that are not loaded (wa-js registerAckMessageEvent).
      directReceipts: requireSafe("WAWebHandleDirectChatReceipt"),
    };
  }

  /** The object that holds `name` as a function: the module itself or its `default`. */
  function holderOf(mod, name) {
    if (!mod) return null;
    for (const h of [mod, pick(mod, "default")]) {
      try {
        if (h && typeof h[name] === "function") return h;
      } catch (_e) {
        // next
      }
    }
    return null;
  }

  function isEmitter(x) {
    return !!x && typeof x.on === "function";
  }

  function missingList(M, version) {
    const checks = [
      ["WAWebCollections.Msg", isEmitter(M.Msg)],
      ["WAWebCollections.Chat", isEmitter(M.Chat)],
      ["WAWebCollections.Contact", !!M.Contact],
      ["WAWebSocketModel.Socket", !!M.Socket],
      ["WAWebStreamModel.Stream", !!M.Stream],
      ["WAWebCmd.Cmd", isEmitter(M.Cmd)],
      ["WAWebUserPrefsMeUser.getMaybeMePnUser", !!(M.getMePn || M.getMeLegacy)],
      ["WAWebUserPrefsMeUser.getMaybeMeLidUser", !!M.getMeLid],
      ["WAWebWidFactory.createWid", !!M.createWid],
      ["WAWebMsgKey", !!M.MsgKey],
      ["WAWebMsgKey.newId", !!(M.MsgKey && typeof M.MsgKey.newId === "function")],
      ["WAWebSendMsgChatAction.addAndSendMsgToChat", !!M.addAndSendMsgToChat],
      ["WAWebFindChatAction.findOrCreateLatestChat", !!M.findOrCreateLatestChat],
      ["WAWebApiContact.getPhoneNumber", !!M.getPhoneNumber],
      ["WAWebQueryExistsJob.queryWidExists", !!M.queryWidExists],
      ["WAWebGetEphemeralFieldsMsgActionsUtils.getEphemeralFields", !!M.getEphemeralFields],
      ["WAWebChatLoadMessages.loadEarlierMsgs", !!M.loadEarlierMsgs],
      [
        "WAWebAddonReactionTableMode.reactionTableMode.bulkUpsert",
        !!(M.reactionTable && typeof M.reactionTable.bulkUpsert === "function"),
      ],
      [
        "WAWebCollections.Msg.processMultipleMessages",
        !!(M.Msg && typeof M.Msg.processMultipleMessages === "function"),
      ],
      ["WAWebHandleDirectChatReceipt.handleChatSimpleReceipt", !!holderOf(M.directReceipts, "handleChatSimpleReceipt")],
      ["Debug.VERSION", !!version],
    ];
    return checks.filter((c) => !c[1]).map((c) => c[0]);
  }

  let M = {};
  let lastHealthKey = null;
  let healthHasMissing = true;

  // Without these the bridge cannot capture anything: the tab shows "integração degradada".
  // Anything else missing (sending, LID lookup, ephemeral fields) is reported but capture works.
  const CAPTURE_CRITICAL = ["require", "__d", "WAWebCollections.Msg", "WAWebCollections.Chat"];

  function reportHealth(missing, version) {
    const ok = !missing.some((m) => CAPTURE_CRITICAL.indexOf(m) >= 0);
    const data = { ok: ok, missing: missing.slice(0, 100) };
    if (version) data.version = String(version).slice(0, 64);
    const key = JSON.stringify(data);
    healthHasMissing = missing.length > 0;
    if (key === lastHealthKey) return;
    lastHealthKey = key;
    emit("health", data);
  }

  // ---------------------------------------------------------------------------------------------
  // Own ids and phone lookup

  function domQuery(selector) {
    try {
      return doc.querySelector(selector);
    } catch (_e) {
      return null;
    }
  }

  function meWids() {
    let pn = null;
    let lid = null;
    try {
      pn = M.getMePn ? M.getMePn() : M.getMeLegacy ? M.getMeLegacy() : null;
    } catch (_e) {
      pn = null;
    }
    try {
      lid = M.getMeLid ? M.getMeLid() : null;
    } catch (_e) {
      lid = null;
    }
    return { pn: pn || null, lid: lid || null };
  }

  function meIds() {
    const w = meWids();
    return [widToString(w.pn), widToString(w.lid)].filter(Boolean);
  }

  function toWid(idStr) {
    if (!M.createWid) return null;
    try {
      return M.createWid(idStr) || null;
    } catch (_e) {
      return null;
    }
  }

  function collGet(coll, idStr) {
    if (!coll || typeof coll.get !== "function" || !idStr) return null;
    try {
      const byString = coll.get(idStr);
      if (byString) return byString;
    } catch (_e) {
      // try with a Wid
    }
    const wid = toWid(idStr);
    if (!wid) return null;
    try {
      return coll.get(wid) || null;
    } catch (_e) {
      return null;
    }
  }

  const phoneCache = new Map();
  const phoneQueried = new Set();
  const lidPhoneSent = new Set();

  /** Tell Python once per (LID, phone) that WhatsApp revealed the phone of a LID. */
  function noteLidPhone(lidStr, phone) {
    if (!phone || chatKind(lidStr) !== "lid" || !isSchemaWid(lidStr)) return;
    const key = lidStr + "|" + phone;
    if (lidPhoneSent.has(key)) return;
    if (lidPhoneSent.size > 5000) lidPhoneSent.clear();
    lidPhoneSent.add(key);
    emit("lid_phone", { lid: lidStr, phone });
  }

  /** The LID of a phone-number user, when WhatsApp knows it locally (WAWebApiContact.getCurrentLid). */
  function lookupLid(pnStr) {
    if (!M.getCurrentLid || chatKind(pnStr) !== "user") return null;
    const wid = toWid(pnStr);
    if (!wid) return null;
    try {
      return widToString(M.getCurrentLid(wid));
    } catch (_e) {
      return null;
    }
  }

  /** Local (synchronous) LID → phone: WAWebApiContact.getPhoneNumber, then contact.phoneNumber. */
  function lookupPhone(lidStr) {
    if (typeof lidStr !== "string" || chatKind(lidStr) !== "lid") return null;
    if (phoneCache.has(lidStr)) return phoneCache.get(lidStr);
    let phone = null;
    const wid = toWid(lidStr);
    if (wid && M.getPhoneNumber) {
      try {
        phone = phoneFromLookup(M.getPhoneNumber(wid));
      } catch (_e) {
        phone = null;
      }
    }
    if (!phone && M.Contact) {
      const contact = collGet(M.Contact, lidStr);
      phone = contact ? phoneFromLookup(readAttr(contact, "phoneNumber")) : null;
    }
    if (phone) {
      if (phoneCache.size > 5000) phoneCache.clear();
      phoneCache.set(lidStr, phone);
      noteLidPhone(lidStr, phone);
    }
    return phone;
  }

  /** Server lookup, once per LID; when it reveals a phone for the open chat, re-send active_chat. */
  function resolvePhoneAsync(lidStr) {
    if (phoneQueried.has(lidStr) || !M.queryWidExists) return;
    phoneQueried.add(lidStr);
    const wid = toWid(lidStr);
    if (!wid) return;
    let p;
    try {
      p = Promise.resolve(M.queryWidExists(wid));
    } catch (e) {
      log("debug", "queryWidExists failed: " + errText(e));
      return;
    }
    p.then(
      safe("queryWidExists.then", (res) => {
        let phone = lookupPhone(lidStr);
        if (!phone && res && typeof res === "object") {
          phone = phoneFromLookup(readAttr(res, "wid")) || phoneFromLookup(readAttr(res, "phoneNumber"));
          if (phone) {
            phoneCache.set(lidStr, phone);
            noteLidPhone(lidStr, phone);
          }
        }
        if (phone && lastActiveId === lidStr) refreshActiveChat(false);
      }),
      safe("queryWidExists.catch", (e) => log("debug", "queryWidExists rejected: " + errText(e))),
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Login state

  let cmdLoggedOut = false;
  let lastLoginState = null;
  let lastStateKey = null;
  let everConnected = false;

  function urlSaysLoggedOut() {
    try {
      const href = String((win.location && win.location.href) || "");
      return /[?&#]post_logout=1(?:&|$|#)/.test(href);
    } catch (_e) {
      return false;
    }
  }

  function evaluateState() {
    const socketState = M.Socket ? readAttr(M.Socket, "state") : undefined;
    const streamMode = M.Stream ? readAttr(M.Stream, "mode") : undefined;
    const hasSynced = M.Socket ? readAttr(M.Socket, "hasSynced") : undefined;
    let state = mapLoginState(socketState, streamMode, hasSynced);
    let detail = [socketState, streamMode].filter((x) => typeof x === "string" && x).join("/") || undefined;
    if (!M.Socket && !M.Stream && stage === "ready") {
      // Both state modules unreadable (renamed in a new build): capture must not stop with them.
      state = fallbackLoginState({
        hasMe: meIds().length > 0,
        chatList: !!domQuery("#pane-side"),
        qr: !!domQuery("canvas[aria-label], [data-ref] canvas"),
      });
      detail = "fallback";
    }
    if (cmdLoggedOut) {
      // Sticky until the login screen shows again (WhatsApp navigates to post_logout=1 anyway).
      if (state === "qr") cmdLoggedOut = false;
      else {
        state = "logged_out";
        detail = "cmd:logout";
      }
    } else if (state === "loading" && urlSaysLoggedOut()) {
      state = "logged_out";
      detail = "url:post_logout";
    }
    setState(state, detail);
    const wasState = lastLoginState;
    lastLoginState = state;
    // Logged in (socket CONNECTED) is enough to listen; "connected" (synced) triggers the first backfill.
    if (state === "connected" || (socketState === "CONNECTED" && state !== "logged_out")) {
      onLoggedIn(state === "connected", wasState !== "connected");
    }
  }

  function setState(state, detail) {
    const key = state + "|" + (detail || "");
    if (key === lastStateKey) return;
    lastStateKey = key;
    const data = { state };
    if (detail) data.detail = String(detail).slice(0, 200);
    emit("state", data);
  }

  function onLogoutEvent() {
    cmdLoggedOut = true;
    setState("logged_out", "cmd:logout");
  }

  // ---------------------------------------------------------------------------------------------
  // Subscriptions

  const attached = new Map(); // target → Set of event names

  function listen(target, event, handler) {
    if (!isEmitter(target)) return false;
    let events = attached.get(target);
    if (!events) {
      events = new Set();
      attached.set(target, events);
    }
    if (events.has(event)) return true;
    try {
      target.on(event, safe("on " + event, handler));
      events.add(event);
      return true;
    } catch (e) {
      log("warning", "subscribe " + event + " failed: " + errText(e));
      return false;
    }
  }

  function attachStateListeners() {
    const onChange = () => evaluateState();
    listen(M.Socket, "change:state", onChange);
    listen(M.Socket, "change:hasSynced", onChange);
    listen(M.Stream, "change:mode", onChange);
    listen(M.Cmd, "logout", onLogoutEvent);
    listen(M.Cmd, "logout_from_bridge", onLogoutEvent);
    listen(M.Cmd, "main_loaded", onChange);
  }

  let captureOn = false;

  function attachCapture() {
    if (!isEmitter(M.Msg) || !isEmitter(M.Chat)) return false;
    listen(M.Msg, "add", onMsgAdd);
    listen(M.Msg, "change:ack", onMsgAck);
    // Edits: both projects listen differently, and the body signal may fire only once (wwebjs
    // #2598), so all three are watched and deduped on (id, latestEditSenderTimestampMs, text).
    listen(M.Msg, "change:body", onMsgEdit);
    listen(M.Msg, "change:caption", onMsgEdit);
    listen(M.Msg, "change:latestEditMsgKey", onMsgEdit);
    listen(M.Msg, "change:type", onMsgType);
    hookReactions();
    hookProcessMessages();
    hookReceipts();
    listen(M.Chat, "change:active", onActiveChange);
    if (isEmitter(M.Newsletter)) listen(M.Newsletter, "change:active", onActiveChange);
    captureOn = true;
    return true;
  }

  function onLoggedIn(synced, becameConnected) {
    const wasOn = captureOn;
    if (!attachCapture()) return;
    if (!wasOn) log("info", "capture attached (" + (readVersion() || "unknown version") + ")");
    if (!synced) return;
    if (!everConnected) {
      everConnected = true;
      refreshActiveChat(true);
      if (pendingCatchUp !== null) {
        const since = pendingCatchUp;
        pendingCatchUp = null;
        catchUp(since);
      }
    } else if (becameConnected) {
      // Back after a reconnect: what arrived meanwhile in the open chat.
      log("info", "reconnected: backfilling the open chat");
      refreshActiveChat(true);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Messages

  const sentIds = new Set();
  const waitingDecrypt = new WeakSet();
  // Ciphertexts seen outside the live path (history, backfill): captured when their type changes,
  // whether or not the change event carries the previous value.
  const cipherSeen = new WeakSet();

  function rememberId(id) {
    if (sentIds.size >= SENT_IDS_MAX) sentIds.clear();
    sentIds.add(id);
  }

  // One message can reach the page under two remotes while a conversation moves from phone
  // number to LID (WAHA #1816; whatsapp-web-bridge.md §3.2). Its raw id is the same, and so is
  // its sender, written as phone or LID. The first copy is stored; acks, edits, revokes and
  // reactions addressed to the other copy are sent for the stored id. Only pairs WhatsApp itself
  // links (getPhoneNumber / getCurrentLid) count, so different chats sharing a raw id (a
  // broadcast list and its recipients' chats) stay apart. Within this document only.
  const twinOf = new Map(); // "raw|fromMe|chat alias|sender alias" → stored id
  const storedIdOf = new Map(); // id of a copy → stored id

  function userAliases(w) {
    const out = w ? [w] : [];
    const kind = chatKind(w);
    if (kind === "lid") {
      const phone = lookupPhone(w);
      if (phone) out.push(phone + "@c.us");
    } else if (kind === "user") {
      const lid = normalizeWid(lookupLid(w));
      if (lid && chatKind(lid) === "lid") out.push(lid);
    }
    return out;
  }

  function twinKeys(data) {
    const parsed = parseMsgId(data.id);
    if (!parsed) return [];
    const chats = userAliases(data.chat_id);
    const senders = data.from_me ? ["me"] : userAliases(data.sender || null);
    const keys = [];
    for (const c of chats) for (const snd of senders) keys.push(parsed.id + "|" + data.from_me + "|" + c + "|" + snd);
    return keys;
  }

  /** The stored id of a message copy (itself when it is the stored one). */
  function storedId(id) {
    return storedIdOf.get(id) || id;
  }

  /** True when `data` is a second copy of a message already sent (and remembers the pair). */
  function isTwin(data) {
    const keys = twinKeys(data);
    for (const k of keys) {
      const first = twinOf.get(k);
      if (first && first !== data.id) {
        if (storedIdOf.size >= SENT_IDS_MAX) storedIdOf.clear();
        storedIdOf.set(data.id, first);
        return true;
      }
    }
    if (twinOf.size >= SENT_IDS_MAX) twinOf.clear();
    for (const k of keys) twinOf.set(k, data.id);
    return false;
  }

  function chatNameFor(chatId) {
    const chat = collGet(M.Chat, chatId);
    if (!chat) return undefined;
    return readAttr(chat, "formattedTitle") || readAttr(chat, "name") || undefined;
  }

  /** opts.once: skip ids already sent from this document (a decryption seen twice). */
  function emitMessage(msg, isNew, opts) {
    const read = makeReader(msg);
    const id = msgKeyToString(read("id"));
    const parsed = parseMsgId(id);
    if (!parsed) return;
    if (shouldIgnoreChat(parsed.remote, CAPTURE_CFG)) return;
    const type = read("type");
    if (type === "protocol") {
      onProtocolMsg(msg);
      return;
    }
    if (isNonMessageType(type)) return;
    if (type === "revoked") {
      // Loaded already revoked: the text is gone. Mark it; never overwrite what was stored.
      emitRevoke(msg);
      return;
    }
    if ((!isNew || (opts && opts.once)) && sentIds.has(id)) return; // already sent in this document
    if (storedIdOf.has(id)) return; // a PN/LID copy of a stored message
    const data = serializeMessage(msg, {
      meIds: meIds(),
      isNew,
      lookupPhone,
      lookupLid,
      chatName: chatNameFor(normalizeWid(parsed.remote)),
    });
    if (!data) {
      log("debug", "message skipped: id or chat id outside the payload schema");
      return;
    }
    if (isTwin(data)) return;
    rememberId(data.id);
    emit("message", data);
    // A server lookup for live messages only: history seen at start must not fire one per LID chat.
    if (isNew && !data.chat_phone && chatKind(data.chat_id) === "lid") resolvePhoneAsync(data.chat_id);
  }

  function waitForDecrypt(msg) {
    if (waitingDecrypt.has(msg)) return;
    const subscribe = typeof msg.once === "function" ? "once" : typeof msg.on === "function" ? "on" : null;
    if (!subscribe) return;
    waitingDecrypt.add(msg);
    const handler = safe("change:type", function onType() {
      if (subscribe === "on" && typeof msg.off === "function") {
        try {
          msg.off("change:type", handler);
        } catch (_e) {
          // ignore
        }
      }
      waitingDecrypt.delete(msg);
      if (readAttr(msg, "type") === "ciphertext") waitForDecrypt(msg);
      else emitMessage(msg, true, { once: true });
    });
    try {
      msg[subscribe]("change:type", handler);
    } catch (e) {
      waitingDecrypt.delete(msg);
      log("warning", "waiting for decryption failed: " + errText(e));
    }
  }

  const revokedSent = new Set();
  const editsSent = new Set();

  function emitRevoke(msg) {
    emitRevokeData(revokeData(msg));
  }

  function emitRevokeData(data) {
    if (!data) return;
    data.id = storedId(data.id);
    const parsed = parseMsgId(data.id);
    if (parsed && shouldIgnoreChat(parsed.remote, CAPTURE_CFG)) return;
    if (revokedSent.has(data.id)) return;
    if (revokedSent.size > SENT_IDS_MAX) revokedSent.clear();
    revokedSent.add(data.id);
    emit("revoke", data);
  }

  /** Protocol messages are signals, never history rows: a revoke or an edit names the original. */
  function onProtocolMsg(msg) {
    emitRevoke(msg);
    emitProtocolEdit(protocolEditData(msg));
  }

  /**
   * An edit signal for `data.id`. When the original is loaded its own change events carry the
   * edit (with its type known); the signal only stands in for originals that are not loaded.
   */
  function emitProtocolEdit(data) {
    if (!data) return;
    if (collGet(M.Msg, data.id) || collGet(M.Msg, storedId(data.id))) return;
    emitEditData(data);
  }

  function onMsgType(msg, type, previous) {
    if (!msg || typeof msg !== "object") return;
    const now = readAttr(msg, "type");
    if (now === "revoked") {
      emitRevoke(msg);
      return;
    }
    // Decrypted ("waiting for this message" → text). Live messages are also awaited with once();
    // this catches the ones that were not live (backfill, offline delivery).
    const wasCipher = previous === "ciphertext" || cipherSeen.has(msg);
    if (wasCipher && now !== "ciphertext" && !waitingDecrypt.has(msg)) {
      cipherSeen.delete(msg);
      emitMessage(msg, readAttr(msg, "isNewMsg") === true, { once: true });
    }
  }

  function onMsgEdit(msg) {
    if (!msg || typeof msg !== "object") return;
    emitEditData(editData(msg));
  }

  function emitEditData(data) {
    if (!data) return;
    data.id = storedId(data.id);
    const parsed = parseMsgId(data.id);
    if (parsed && shouldIgnoreChat(parsed.remote, CAPTURE_CFG)) return;
    const key = data.id + "|" + data.edited_at_ms + "|" + (data.body || "") + "|" + (data.caption || "");
    if (editsSent.has(key)) return;
    if (editsSent.size > SENT_IDS_MAX) editsSent.clear();
    editsSent.add(key);
    emit("edit", data);
  }

  // Reactions are message add-ons kept in WAWebAddonReactionTableMode; its bulkUpsert is the one
  // place they all pass. The wrapper only copies the rows and always calls the original.
  const REACTION_HOOK = Symbol.for("wcb.reactions");

  function onReactionRows(rows) {
    const me = meIds();
    for (const row of rows) {
      const data = reactionData(row, me);
      if (!data) continue;
      data.id = storedId(data.id);
      const parsed = parseMsgId(data.id);
      if (parsed && shouldIgnoreChat(parsed.remote, CAPTURE_CFG)) continue;
      emit("reaction", data);
    }
  }

  function hookReactions() {
    const table = M.reactionTable;
    if (!table || typeof table.bulkUpsert !== "function") return false;
    try {
      if (table[REACTION_HOOK]) return true;
    } catch (_e) {
      return false;
    }
    const original = table.bulkUpsert;
    const observe = safe("reactions", onReactionRows);
    const wrapper = function bulkUpsert() {
      try {
        const rows = arguments[0];
        if (Array.isArray(rows) && rows.length) {
          const copy = rows.slice(0, 500);
          setTimer(() => observe(copy), 0);
        }
      } catch (_e) {
        // observing must never change what WhatsApp does
      }
      return original.apply(this, arguments);
    };
    try {
      table.bulkUpsert = wrapper;
      Object.defineProperty(table, REACTION_HOOK, { value: true, enumerable: false });
      return true;
    } catch (e) {
      log("warning", "reaction hook failed: " + errText(e));
      return false;
    }
  }

  /**
   * Replace holder[name] with an observer: `inspect(args)` runs first inside a try (it must only
   * read), whatever it returns is handled on a later timer turn by `handle`, and the original is
   * always called with the same `this` and arguments and its result returned.
   */
  function observeFunction(holder, name, mark, inspect, handle) {
    if (!holder || typeof holder[name] !== "function") return false;
    try {
      if (holder[mark]) return true;
    } catch (_e) {
      return false;
    }
    const original = holder[name];
    const done = safe(name, handle);
    const wrapper = function observed() {
      try {
        const found = inspect(arguments);
        if (found && found.length) setTimer(() => done(found), 0);
      } catch (_e) {
        // observing must never change what WhatsApp does
      }
      return original.apply(this, arguments);
    };
    try {
      holder[name] = wrapper;
      Object.defineProperty(holder, mark, { value: true, enumerable: false });
      return true;
    } catch (e) {
      log("warning", "hook " + name + " failed: " + errText(e));
      return false;
    }
  }

  /** Revoke and edit signals among raw incoming messages (read only; junk is skipped). */
  function protocolSignals(args) {
    const list = args[1];
    const out = [];
    if (!Array.isArray(list)) return out;
    for (const raw of list.slice(0, 1000)) {
      try {
        if (!raw || typeof raw !== "object" || raw.type !== "protocol") continue;
        const revoke = revokeData(raw);
        if (revoke) out.push(["revoke", revoke]);
        else {
          const edit = protocolEditData(raw);
          if (edit) out.push(["edit", edit]);
        }
      } catch (_e) {
        // skip this one
      }
    }
    return out;
  }

  function onProtocolSignals(found) {
    for (const [kind, data] of found) {
      const parsed = parseMsgId(data.id);
      if (!parsed || shouldIgnoreChat(parsed.remote, CAPTURE_CFG)) continue;
      if (kind === "revoke") emitRevokeData(data);
      else emitProtocolEdit(data);
    }
  }

  // Revokes and edits of messages that are not loaded reach MsgCollection.processMultipleMessages
  // and never Msg `add` (wa-js registerRevokeMessageEvent).
  function hookProcessMessages() {
    return observeFunction(M.Msg, "processMultipleMessages", Symbol.for("wcb.pmm"), protocolSignals, onProtocolSignals);
  }

  function onReceiptAcks(acks) {
    for (const a of acks) {
      if (collGet(M.Msg, a.id)) continue; // loaded: change:ack reports it
      const parsed = parseMsgId(a.id);
      if (!parsed || shouldIgnoreChat(parsed.remote, CAPTURE_CFG)) continue;
      emit("ack", { id: storedId(a.id), ack: a.ack });
    }
  }

  // Receipts for messages that are not loaded never fire change:ack (wa-js registerAckMessageEvent).
  function hookReceipts() {
    const holder = holderOf(M.directReceipts, "handleChatSimpleReceipt");
    return observeFunction(
      holder,
      "handleChatSimpleReceipt",
      Symbol.for("wcb.receipts"),
      (args) => receiptAcks(args[0], meIds()),
      onReceiptAcks,
    );
  }

  function onMsgAdd(msg) {
    if (!msg || typeof msg !== "object") return;
    if (readAttr(msg, "type") === "protocol") {
      onProtocolMsg(msg); // a revoke may come with a history load too
      return;
    }
    const isNew = readAttr(msg, "isNewMsg") === true;
    if (readAttr(msg, "type") === "ciphertext") {
      // Pending: a live one is awaited; others are caught by change:type when they decrypt.
      if (isNew) waitForDecrypt(msg);
      else cipherSeen.add(msg);
      return;
    }
    // History loads and scrolling also add, with isNewMsg false; so do messages delivered after
    // an offline gap. All are kept (the history keys on the id), the old ones as not new, read
    // on later timer turns in chunks: a history load adds thousands at once inside WhatsApp's call.
    if (isNew) emitMessage(msg, true);
    else queueHistory(msg);
  }

  const historyQueue = [];
  let historyTimer = null;
  let historyDropped = 0;

  function queueHistory(msg) {
    if (historyQueue.length >= SENT_IDS_MAX) {
      historyQueue.shift();
      historyDropped += 1;
    }
    historyQueue.push(msg);
    if (historyTimer === null) historyTimer = setTimer(drainHistory, 0);
  }

  function drainHistory() {
    historyTimer = null;
    const batch = historyQueue.splice(0, BACKFILL_CHUNK);
    for (const m of batch) {
      try {
        if (readAttr(m, "type") === "ciphertext") cipherSeen.add(m); // pending: caught on decrypt
        else emitMessage(m, false);
      } catch (e) {
        log("warning", "history message failed: " + errText(e));
      }
    }
    if (historyDropped) {
      log("warning", "history queue overflow; " + historyDropped + " loaded messages left to backfill");
      historyDropped = 0;
    }
    if (historyQueue.length) historyTimer = setTimer(drainHistory, 0);
  }

  function onMsgAck(msg, ack) {
    if (!msg || typeof msg !== "object") return;
    const id = msgKeyToString(readAttr(msg, "id"));
    if (!isSchemaMsgId(id)) return;
    const parsed = parseMsgId(id);
    if (parsed && shouldIgnoreChat(parsed.remote, CAPTURE_CFG)) return;
    const value = ackValue(typeof ack === "number" ? ack : readAttr(msg, "ack"));
    if (value === undefined) return;
    emit("ack", { id: storedId(id), ack: value });
  }

  function modelsOf(coll) {
    if (!coll) return [];
    try {
      if (typeof coll.getModelsArray === "function") {
        const a = coll.getModelsArray();
        if (Array.isArray(a)) return a;
      }
    } catch (_e) {
      // fall through
    }
    try {
      if (Array.isArray(coll.models)) return coll.models;
    } catch (_e) {
      // ignore
    }
    return [];
  }

  // Backfill jobs run one after the other (a chat open, the start catch-up, a reconnect), in
  // chunks of BACKFILL_CHUNK per timer turn so the page stays responsive.
  let backfillChain = Promise.resolve();

  function pause() {
    return new Promise((resolve) => setTimer(resolve, 0));
  }

  async function emitBatch(list, sinceT) {
    for (let i = 0; i < list.length; i++) {
      const m = list[i];
      try {
        if (!m) continue;
        const type = readAttr(m, "type");
        if (type === "ciphertext") {
          cipherSeen.add(m); // pending: never stored as final; captured when it decrypts
          continue;
        }
        if (sinceT && type !== "protocol" && (toSeconds(readAttr(m, "t")) || 0) < sinceT) continue;
        emitMessage(m, false);
      } catch (e) {
        log("warning", "backfill item failed: " + errText(e));
      }
      if ((i + 1) % BACKFILL_CHUNK === 0) await pause();
    }
  }

  function noEarlier(msgs) {
    try {
      const st = msgs && msgs.msgLoadState;
      return !!(st && st.noEarlierMsgs === true);
    } catch (_e) {
      return false;
    }
  }

  function oldestT(list) {
    let min = Infinity;
    for (const m of list) {
      const t = toSeconds(readAttr(m, "t"));
      if (t && t < min) min = t;
    }
    return min;
  }

  /**
   * The chat's loaded messages, then up to `pages` pages of loadEarlierMsgs (at most
   * BACKFILL_MAX_EARLIER messages), stopping early at the start of the chat or before `sinceT`.
   */
  async function backfillChat(chat, pages, sinceT) {
    if (!captureOn || !chat) return;
    const msgs = readAttr(chat, "msgs");
    const loaded = modelsOf(msgs).slice();
    await emitBatch(loaded, sinceT);
    let earlier = 0;
    let oldest = oldestT(loaded);
    for (let page = 0; page < pages && earlier < BACKFILL_MAX_EARLIER; page++) {
      if (!M.loadEarlierMsgs || noEarlier(msgs)) break;
      if (sinceT && oldest < sinceT) break;
      let got;
      try {
        got = await M.loadEarlierMsgs(chat, msgs);
      } catch (e) {
        log("debug", "loadEarlierMsgs failed: " + errText(e));
        break;
      }
      if (!Array.isArray(got) || !got.length) break;
      const batch = got.slice(0, BACKFILL_MAX_EARLIER - earlier);
      earlier += batch.length;
      oldest = Math.min(oldest, oldestT(batch));
      await emitBatch(batch, sinceT);
    }
  }

  function queueBackfill(chat, pages, sinceT) {
    backfillChain = backfillChain
      .then(() => backfillChat(chat, pages, sinceT))
      .catch((e) => log("warning", "backfill failed: " + errText(e)));
  }

  function backfill(chat) {
    queueBackfill(chat, BACKFILL_PAGES, 0);
  }

  let pendingCatchUp = null;

  /** On start: every chat with activity since `sinceT` (the last message the history holds). */
  function catchUp(sinceT) {
    if (!captureOn || !everConnected) {
      pendingCatchUp = sinceT;
      return;
    }
    const chats = modelsOf(M.Chat).filter((c) => {
      const id = normalizeWid(readAttr(c, "id"));
      if (!id || shouldIgnoreChat(id, CAPTURE_CFG)) return false;
      return !sinceT || (toSeconds(readAttr(c, "t")) || 0) >= sinceT;
    });
    log("info", "catch-up of " + chats.length + " chats");
    for (const chat of chats) queueBackfill(chat, sinceT ? CATCHUP_PAGES : 0, sinceT);
  }

  // ---------------------------------------------------------------------------------------------
  // Active chat

  let activeTimer = null;
  let lastActiveKey = null;
  let lastActiveId = null;

  function onActiveChange() {
    if (activeTimer !== null) clearTimer(activeTimer);
    activeTimer = later(ACTIVE_DEBOUNCE_MS, "active_chat", () => {
      activeTimer = null;
      refreshActiveChat(false);
    });
  }

  function findActiveChat() {
    for (const coll of [M.Chat, M.Newsletter]) {
      if (!coll) continue; // the newsletter collection may be missing
      const found = modelsOf(coll).find((c) => c && readAttr(c, "active") === true);
      if (found) return found;
    }
    return null;
  }

  function refreshActiveChat(forceBackfill) {
    if (!M.Chat) return;
    const chat = findActiveChat();
    const data = serializeActiveChat(chat, { lookupPhone });
    const key = JSON.stringify(data);
    if (key !== lastActiveKey) {
      lastActiveKey = key;
      emit("active_chat", data);
    }
    const id = data.chat_id;
    const changed = id !== lastActiveId;
    lastActiveId = id;
    if (id && (changed || forceBackfill)) backfill(chat);
    if (id && !data.phone && chatKind(id) === "lid") resolvePhoneAsync(id);
  }

  // ---------------------------------------------------------------------------------------------
  // Commands (from Python through the relay)

  function commandResult(requestId, result) {
    const data = { request_id: requestId, ok: !!result.ok };
    if (result.error) data.error = String(result.error).slice(0, 300);
    if (result.id) data.id = result.id;
    emit("command_result", data);
  }

  function requestIdOf(args) {
    const r = args.request_id;
    if (typeof r === "string" && r) return r.slice(0, 128);
    if (typeof r === "number" && Number.isFinite(r)) return String(r);
    return null;
  }

  function fillComposer(text) {
    if (typeof text !== "string" || !text) return { ok: false, error: "bad_args" };
    let el = null;
    try {
      el = doc.querySelector('#main footer [contenteditable="true"]');
    } catch (_e) {
      el = null;
    }
    if (!el) return { ok: false, error: "no_composer" };
    try {
      el.focus();
    } catch (_e) {
      // keep going
    }
    try {
      const sel = win.getSelection ? win.getSelection() : null;
      if (sel && typeof doc.createRange === "function") {
        const range = doc.createRange();
        range.selectNodeContents(el);
        range.collapse(false);
        sel.removeAllRanges();
        sel.addRange(range);
      }
    } catch (_e) {
      // caret placement is best effort
    }
    const clean = sanitizeString(text);
    let ok = false;
    try {
      ok = typeof doc.execCommand === "function" && doc.execCommand("insertText", false, clean) === true;
    } catch (_e) {
      ok = false;
    }
    if (!ok && typeof InputEvent === "function") {
      try {
        el.dispatchEvent(
          new InputEvent("beforeinput", { inputType: "insertText", data: clean, bubbles: true, cancelable: true }),
        );
        ok = true;
      } catch (_e) {
        ok = false;
      }
    }
    return ok ? { ok: true } : { ok: false, error: "insert_failed" };
  }

  function withTimeout(promise, ms) {
    return new Promise((resolve, reject) => {
      const t = setTimer(() => resolve({ timedOut: true }), ms);
      Promise.resolve(promise).then(
        (v) => {
          clearTimer(t);
          resolve({ value: v });
        },
        (e) => {
          clearTimer(t);
          reject(e);
        },
      );
    });
  }

  async function findChatForSend(chatIdStr) {
    const kind = chatKind(chatIdStr);
    let chat = collGet(M.Chat, chatIdStr);
    if (chat) return chat;
    let wid = toWid(chatIdStr);
    if (!wid) throw new Error("bad_chat_id");
    if (kind === "user") {
      // During the PN→LID migration the conversation may live under the LID.
      if (M.getCurrentLid) {
        try {
          const lid = widToString(M.getCurrentLid(wid));
          if (lid) chat = collGet(M.Chat, lid);
        } catch (_e) {
          chat = null;
        }
        if (chat) return chat;
      }
      // A number never chatted with must be resolved by the server first (WA wants a LID).
      if (M.queryWidExists) {
        const res = await M.queryWidExists(wid);
        if (!res) throw new Error("not_on_whatsapp");
        const resolved = readAttr(res, "wid");
        if (resolved && widToString(resolved)) {
          wid = resolved;
          chat = collGet(M.Chat, widToString(resolved));
          if (chat) return chat;
        }
      }
    }
    if (!M.findOrCreateLatestChat) throw new Error("missing:WAWebFindChatAction.findOrCreateLatestChat");
    const r = await M.findOrCreateLatestChat(wid);
    chat = r && typeof r === "object" ? readAttr(r, "chat") || r : null;
    if (!chat || !readAttr(chat, "id")) throw new Error("chat_not_found");
    return chat;
  }

  async function sendText(args) {
    const chatIdStr = normalizeWid(typeof args.chat_id === "string" ? args.chat_id : null);
    const text = typeof args.text === "string" ? sanitizeString(args.text) : "";
    if (!chatIdStr || !text.trim() || text.length > 65536) throw new Error("bad_args");
    const kind = chatKind(chatIdStr);
    if (kind !== "user" && kind !== "lid" && kind !== "group") throw new Error("unsupported_chat");
    if (!M.Chat) throw new Error("missing:WAWebCollections.Chat");
    if (!M.MsgKey || typeof M.MsgKey.newId !== "function") throw new Error("missing:WAWebMsgKey");
    if (!M.addAndSendMsgToChat) throw new Error("missing:WAWebSendMsgChatAction.addAndSendMsgToChat");

    const chat = await findChatForSend(chatIdStr);
    const chatWid = readAttr(chat, "id");
    const chatStr = normalizeWid(chatWid);
    const chatKindNow = chatKind(chatStr);
    const meW = meWids();
    let lidAddressing = chatKindNow === "lid";
    if (chatKindNow === "group") {
      const meta = readAttr(chat, "groupMetadata");
      lidAddressing = !!(meta && readAttr(meta, "isLidAddressingMode") === true);
    }
    const from = lidAddressing ? meW.lid || meW.pn : meW.pn || meW.lid;
    if (!from) throw new Error("not_logged_in");
    let participant;
    if (chatKindNow === "group") {
      participant = from;
      if (M.asUserWid) {
        try {
          participant = M.asUserWid(from);
        } catch (_e) {
          participant = from;
        }
      }
    }
    const newId = await M.MsgKey.newId();
    const keyInit = { from, to: chatWid, id: newId, selfDir: "out" };
    if (participant) keyInit.participant = participant;
    const key = new M.MsgKey(keyInit);
    let ephemeral = {};
    if (M.getEphemeralFields) {
      try {
        const e = M.getEphemeralFields(chat);
        if (e && typeof e === "object") ephemeral = e;
      } catch (_e) {
        ephemeral = {};
      }
    }
    const attrs = Object.assign(
      {
        id: key,
        ack: 0,
        body: text,
        from,
        to: chatWid,
        local: true,
        self: "out",
        t: Math.floor(DateNow() / 1000),
        isNewMsg: true,
        type: "chat",
      },
      ephemeral,
    );
    const r = M.addAndSendMsgToChat(chat, attrs);
    const pair = Array.isArray(r) ? r : [r];
    await pair[0];
    if (pair.length > 1 && pair[1]) await withTimeout(pair[1], SEND_RESULT_WAIT_MS);
    return { ok: true, id: msgKeyToString(key) || undefined };
  }

  const handledRequests = new Set();
  let sendChain = Promise.resolve();

  function onSendText(args) {
    const requestId = requestIdOf(args);
    if (requestId !== null) {
      if (handledRequests.has(requestId)) {
        commandResult(requestId, { ok: false, error: "duplicate_request" });
        return;
      }
      if (handledRequests.size > 1000) handledRequests.clear();
      handledRequests.add(requestId);
    }
    // One send at a time, in the order Python asked.
    sendChain = sendChain
      .then(() => sendText(args))
      .then(
        (res) => commandResult(requestId, res),
        (e) => commandResult(requestId, { ok: false, error: (e && e.message) || errText(e) }),
      )
      .catch(() => undefined);
  }

  function onCommandEvent(ev) {
    const cmd = parseCommand(ev ? ev.detail : null, TOKEN);
    if (!cmd) return;
    const args = cmd.args;
    switch (cmd.command) {
      case "relay_ready":
        relayReady = true;
        flushOutbox();
        return;
      case "fill_composer": {
        const res = fillComposer(args.text);
        const requestId = requestIdOf(args);
        if (requestId !== null || !res.ok) commandResult(requestId, res);
        return;
      }
      case "send_text":
        onSendText(args);
        return;
      case "catch_up": {
        const since = args.since_t;
        catchUp(typeof since === "number" && Number.isFinite(since) && since > 0 ? Math.floor(since) : 0);
        return;
      }
      default:
        commandResult(requestIdOf(args), { ok: false, error: "unknown_command" });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Readiness ladder (whatsapp-web-bridge.md §1.4), polled; no busy loop.

  let stage = "loader";
  let stageStart = DateNow();
  let lastCount = -2;
  let lastCountChange = 0;
  let loaderReported = false;
  let watchedCount = -2;
  let countDirty = false;
  let timer = null;

  function enter(next) {
    stage = next;
    stageStart = DateNow();
  }

  function schedule(ms) {
    if (timer !== null) return;
    timer = setTimer(() => {
      timer = null;
      let next = SLOW_MS;
      try {
        next = tick();
      } catch (e) {
        log("warning", "tick failed: " + errText(e));
        next = SLOW_MS;
      }
      schedule(next);
    }, ms);
  }

  function install() {
    M = resolveModules();
    watchedCount = moduleCount();
    attachStateListeners();
    reportHealth(missingList(M, readVersion()), readVersion());
    evaluateState();
  }

  function recheckModules() {
    M = resolveModules();
    attachStateListeners();
    reportHealth(missingList(M, readVersion()), readVersion());
    evaluateState();
  }

  /** One step of the ladder; returns the delay until the next step. */
  function tick() {
    if (!relayReady) pingRelay();
    const elapsed = DateNow() - stageStart;
    switch (stage) {
      case "loader":
        if (loaderPresent()) {
          enter("version");
          return FAST_MS;
        }
        if (elapsed >= LOADER_CAP_MS) {
          if (!loaderReported) {
            loaderReported = true;
            reportHealth(["require", "__d"], readVersion());
          }
          return SLOW_MS;
        }
        return FAST_MS;
      case "version":
        if (readVersion() || elapsed >= VERSION_CAP_MS) {
          enter("settle");
          lastCount = -2;
        }
        return FAST_MS;
      case "settle": {
        const c = moduleCount();
        const now = DateNow();
        if (c !== lastCount) {
          lastCount = c;
          lastCountChange = now;
        }
        if (now - lastCountChange >= SETTLE_QUIET_MS || elapsed >= SETTLE_CAP_MS) enter("meuser");
        return FAST_MS;
      }
      case "meuser":
        if (requireSafe("WAWebUserPrefsMeUser") || elapsed >= MEUSER_CAP_MS) {
          enter("ready");
          install();
          return SLOW_MS;
        }
        return FAST_MS;
      default: {
        // ready: read current values (events may have been missed) and watch the module graph
        // while something is missing; re-check only once a change has settled.
        evaluateState();
        // The open chat too: a change:active that never reached us must not leave the panel stale.
        if (captureOn && everConnected && activeTimer === null) refreshActiveChat(false);
        if (healthHasMissing) {
          const c = moduleCount();
          if (c !== watchedCount) {
            watchedCount = c;
            countDirty = true;
          } else if (countDirty) {
            countDirty = false;
            recheckModules();
          }
        }
        return SLOW_MS;
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Start

  try {
    doc.addEventListener("wacrm:command", safe("wacrm:command", onCommandEvent));
    if (urlSaysLoggedOut()) setState("logged_out", "url:post_logout");
    else setState("loading", undefined);
    pingRelay();
    schedule(FAST_MS);
  } catch (_e) {
    // never let an exception reach the page
  }
})();
