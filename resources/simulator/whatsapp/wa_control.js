/*
 * WACRM WhatsApp Web simulator: TEST-ONLY control API and the optional control bar.
 *
 * `window.__waSimControl` plays "the rest of the world": the phone (scan, messages typed on the
 * phone, logout from Linked devices) and the contacts (incoming messages, receipts, edits,
 * deletes). It is deliberately separate from the WhatsApp-side modules; a bridge must never use it.
 * Every method returns JSON-able values (Promises for the asynchronous ones).
 *
 * `?controls=1` adds a visible bar at the bottom ("Simulador — controles de teste") so a person
 * watching `wacrm --demo` can make contacts write.
 */
(function (global) {
  "use strict";

  const app = global.__waSimApp;
  try {
    delete global.__waSimApp;
  } catch (_e) {
    global.__waSimApp = undefined;
  }
  const doc = global.document;
  const { Wid, MsgKey, Chat, Msg, Socket, Stream } = app;

  function requireMain() {
    if (!app.me || Socket.state !== "CONNECTED" || !Chat.length) {
      throw new Error("simulator: not logged in (scan the QR first)");
    }
  }

  /** A seed key ("mariana", "plantao") or a wid string ("5511…@c.us", "…@lid"). */
  function chatOf(keyOrWid, create) {
    requireMain();
    const s = app.seedByKey.get(String(keyOrWid));
    if (s) {
      const chat = Chat.get(app.chatWidOfKey(String(keyOrWid)));
      if (!chat) {
        throw new Error("simulator: no chat for " + keyOrWid);
      }
      return chat;
    }
    let wid;
    try {
      wid = new Wid(String(keyOrWid));
    } catch (_e) {
      throw new Error("simulator: unknown contact key " + JSON.stringify(keyOrWid));
    }
    const chat = app.chatByWid(wid, !!create);
    if (!chat) {
      throw new Error("simulator: no chat for " + keyOrWid);
    }
    return chat;
  }

  function authorOf(chat, key) {
    const meta = chat.groupMetadata;
    const members = meta ? meta.participants.getModelsArray().filter((p) => p.contact) : [];
    if (key) {
      const s = app.seedByKey.get(String(key));
      const wid = s ? s.wid : new Wid(String(key));
      if (!members.some((p) => p.id.equals(wid))) {
        throw new Error("simulator: " + key + " is not a member of " + chat.formattedTitle);
      }
      return wid;
    }
    if (!members.length) {
      throw new Error("simulator: group without members");
    }
    return members[0].id;
  }

  function findMsg(serializedId) {
    const msg = Msg.get(String(serializedId));
    if (!msg) {
      throw new Error("simulator: no message " + serializedId);
    }
    return msg;
  }

  const TINY_THUMB =
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/2Q==";

  function vcardFor(name) {
    return "BEGIN:VCARD\nVERSION:3.0\nFN:" + name + "\nTEL;type=CELL;waid=5511990000000:+55 11 99000-0000\nEND:VCARD";
  }

  function applyMedia(attrs, opts) {
    const type = opts.type || "chat";
    if (type === "image") {
      Object.assign(attrs, {
        type: "image",
        body: "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/wAALCAABAAEBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAACf/EABQQAQAAAAAAAAAAAAAAAAAAAAD/2gAIAQEAAD8AKp//2Q==",
        caption: opts.caption === null ? undefined : opts.caption !== undefined ? opts.caption : attrs.body || undefined,
        mimetype: opts.mimetype || "image/jpeg",
        size: opts.size || 98304,
        width: 1280,
        height: 960,
        directPath: "/v/t62.7118-24/sim-" + app.core.randomHex(12),
        mediaKey: app.core.randomHex(32),
      });
    } else if (type === "document") {
      Object.assign(attrs, {
        type: "document",
        body: "",
        caption: opts.caption !== undefined ? opts.caption : attrs.body || undefined,
        mimetype: opts.mimetype || "application/pdf",
        filename: opts.filename || "documento.pdf",
        size: opts.size || 204800,
        directPath: "/v/t62.7119-24/sim-" + app.core.randomHex(12),
        mediaKey: app.core.randomHex(32),
      });
    } else if (type === "location") {
      Object.assign(attrs, {
        type: "location",
        body: TINY_THUMB,
        lat: typeof opts.lat === "number" ? opts.lat : -23.5614,
        lng: typeof opts.lng === "number" ? opts.lng : -46.6559,
        loc: opts.loc !== undefined ? opts.loc : undefined,
      });
    } else if (type === "vcard") {
      Object.assign(attrs, { type: "vcard", body: opts.vcard || vcardFor(attrs.body || "Contato") });
    } else if (type === "multi_vcard") {
      const names = opts.names || ["Contato 1", "Contato 2"];
      Object.assign(attrs, {
        type: "multi_vcard",
        body: "",
        vcardList: names.map((n) => ({ displayName: n, vcard: vcardFor(n) })),
      });
    } else if (type === "poll_creation") {
      Object.assign(attrs, {
        type: "poll_creation",
        body: "",
        pollName: attrs.body,
        pollOptions: (opts.options || ["Sim", "Não"]).map((name, i) => ({ localId: i, name: name })),
        pollSelectableOptionsCount: opts.selectable || 1,
      });
    } else if (type === "gp2" || type === "notification_template" || type === "e2e_notification" || type === "call_log") {
      Object.assign(attrs, { type: type, subtype: opts.subtype || undefined, body: "", isNotification: true });
    } else if (type !== "chat") {
      attrs.type = String(type);
    }
    if (opts.isForwarded) {
      attrs.isForwarded = true;
      attrs.forwardingScore = 1;
    }
    if (opts.quotedId) {
      const q = findMsg(opts.quotedId);
      attrs.quotedStanzaID = q.id.id;
      attrs.quotedRemoteJid = q.id.remote;
      attrs.quotedParticipant = q.id.participant || (q.id.fromMe ? q.from : q.author || q.from);
      attrs.quotedMsg = { type: q.type, body: q.type === "chat" ? q.body : undefined, caption: q.caption };
    }
  }

  const control = {
    /** The phone scans the QR (also works if called before the QR is shown). */
    scanQr() {
      return app.scan();
    },

    /** A contact writes to us. Returns the serialized message id. */
    receive(contactKey, text, opts) {
      opts = opts || {};
      const chat = chatOf(contactKey, true);
      const isGroup = chat.id.isGroup();
      const author = isGroup ? authorOf(chat, opts.author) : undefined;
      const sender = author || chat.id;
      const contact = app.Contact.get(sender);
      const me = app.meFor(chat);
      const now = Date.now();
      const t = typeof opts.t === "number" ? Math.floor(opts.t) : Math.floor(now / 1000);
      const id = new MsgKey({
        fromMe: false,
        remote: chat.id,
        id: opts.rawId || app.rawIdFor(app.platformOf(sender.toString()), null),
        participant: author,
      });
      const attrs = {
        id: id,
        type: "chat",
        body: String(text == null ? "" : text),
        t: t,
        clientReceivedTsMillis: now,
        from: chat.id,
        // opts.toPn: a LID chat whose `to` is our phone-number id (one message mixing our two ids)
        to: opts.toPn ? app.me.pn : me,
        author: author,
        ack: 0,
        notifyName: contact ? contact.pushname : undefined,
        isNewMsg: true,
        self: "in",
      };
      applyMedia(attrs, opts);
      if (opts.offline) {
        // Delivered after a gap (offline sync): WhatsApp adds it without isNewMsg.
        attrs.isNewMsg = false;
        attrs.isMdHistoryMsg = true;
      }
      if (opts.pending) {
        // "Waiting for this message": a ciphertext until decrypt(id) is called.
        app.undecrypted.set(id.toString(), { type: attrs.type, body: attrs.body, caption: attrs.caption });
        Object.assign(attrs, { type: "ciphertext", body: "", caption: undefined });
      }
      app.addMsg(chat, attrs, {});
      return id.toString();
    },

    /** A message received as ciphertext is decrypted: content first, then `type` changes. */
    decrypt(serializedId) {
      const msg = findMsg(serializedId);
      const real = app.undecrypted.get(String(serializedId));
      if (!real || msg.type !== "ciphertext") {
        throw new Error("simulator: " + serializedId + " is not waiting for decryption");
      }
      app.undecrypted.delete(String(serializedId));
      msg.set({ body: real.body, caption: real.caption });
      msg.set("type", real.type);
      return msg.id.toString();
    },

    /** We typed a message on the phone: it arrives here as our own (fromMe) new message. */
    sendFromPhone(contactKey, text, opts) {
      opts = opts || {};
      const chat = chatOf(contactKey, true);
      const me = app.meFor(chat);
      const id = new MsgKey({
        fromMe: true,
        remote: chat.id,
        id: app.rawIdFor("android", null),
        participant: chat.id.isGroup() ? me : undefined,
      });
      const attrs = {
        id: id,
        type: "chat",
        body: String(text == null ? "" : text),
        t: app.nowSec(),
        clientReceivedTsMillis: Date.now(),
        from: me,
        to: chat.id,
        ack: 1,
        isNewMsg: true,
        self: "out",
      };
      applyMedia(attrs, opts);
      const msg = app.addMsg(chat, attrs, {});
      app.scheduleAcks(msg, [[700, 2]]);
      return id.toString();
    },

    openChat(contactKey) {
      return app.openChat(chatOf(contactKey, false));
    },

    closeChat() {
      app.closeChat();
      return true;
    },

    /** Receipt for a loaded message: -1 error … 4 played. */
    setAck(serializedId, ack) {
      const msg = findMsg(serializedId);
      msg.set("ack", Number(ack));
      return msg.ack;
    },

    /** The sender edited a message (body or caption; latestEdit* markers). */
    editMessage(serializedId, newText, opts) {
      opts = opts || {};
      if (!Msg.get(String(serializedId)) && app.unloaded.has(String(serializedId))) {
        // Not in memory: only the `protocol` edit message arrives (processMultipleMessages).
        const key = MsgKey.fromString(String(serializedId));
        const old = app.unloaded.get(String(serializedId));
        const sender = String(old.author || old.from);
        Msg.processMultipleMessages(key.remote, [
          {
            id: new MsgKey({
              fromMe: key.fromMe,
              remote: key.remote,
              id: app.rawIdFor(key.fromMe ? "android" : app.platformOf(sender), null),
              participant: key.participant,
            }),
            type: "protocol",
            subtype: "message_edit",
            protocolMessageKey: key,
            body: String(newText),
            editMsgType: old.type,
            latestEditSenderTimestampMs: Date.now(),
            t: app.nowSec(),
            from: old.from,
            to: old.to,
            author: old.author,
            isNewMsg: true,
          },
        ]);
        return key.toString();
      }
      const msg = findMsg(serializedId);
      const editKey = new MsgKey({
        fromMe: msg.id.fromMe,
        remote: msg.id.remote,
        id: app.rawIdFor(msg.id.fromMe ? "android" : app.platformOf(String(msg.author || msg.from)), null),
        participant: msg.id.participant,
      });
      const changes = {
        latestEditMsgKey: editKey,
        latestEditSenderTimestampMs: Date.now(),
      };
      const text = {};
      if (msg.type === "chat") {
        text.body = String(newText);
      } else {
        text.caption = String(newText);
      }
      if (opts.signal === "key-only") {
        // Some builds fire only the marker for a second edit (wwebjs #2598): the text changes silently.
        msg.set(text, { silent: true });
        msg.set(changes);
      } else {
        msg.set(Object.assign(changes, text));
      }
      return msg.id.toString();
    },

    /** A contact (or we, with senderKey "me") reacts to a message; "" removes the reaction. */
    react(serializedId, senderKey, emoji) {
      const parent = findMsg(serializedId);
      const chat = chatOf(parent.id.remote.toString(), false);
      const fromMe = senderKey === "me";
      let sender;
      if (fromMe) {
        sender = app.meFor(chat);
      } else {
        const s = app.seedByKey.get(String(senderKey));
        sender = s ? s.wid : new Wid(String(senderKey));
      }
      const row = {
        id: new MsgKey({
          fromMe: fromMe,
          remote: chat.id,
          id: app.rawIdFor(fromMe ? "android" : app.platformOf(sender.toString()), null),
          participant: chat.id.isGroup() ? sender : undefined,
        }),
        reactionParentKey: parent.id,
        reactionText: String(emoji == null ? "" : emoji),
        reactionTimestamp: Date.now(),
        author: chat.id.isGroup() || !fromMe ? sender : undefined,
        from: fromMe ? sender : chat.id,
        orphan: 0,
        read: false,
      };
      app.reactionTableMode.bulkUpsert([row]);
      return row.id.toString();
    },

    /** WhatsApp fires `add` for the same message again (seen with reconnects and re-renders). */
    refire(serializedId) {
      const msg = findMsg(serializedId);
      Msg.trigger("add", msg, Msg, {});
      return msg.id.toString();
    },

    /** A chat with `total` messages: `loaded` of them in chat.msgs, the rest behind loadEarlierMsgs. */
    addBigChat(phoneDigits, total, loaded, pageSize) {
      requireMain();
      const wid = new Wid(String(phoneDigits) + "@c.us");
      const contact = app.ensureContact(wid, { pushname: "Cliente Histórico" });
      const chat = app.chatByWid(contact.id, true);
      const me = app.meFor(chat);
      const start = app.nowSec() - total * 60;
      const all = [];
      for (let i = 0; i < total; i++) {
        const fromMe = i % 3 === 0;
        all.push({
          id: new MsgKey({ fromMe: fromMe, remote: chat.id, id: "3A" + app.core.stableHex("big:" + phoneDigits + ":" + i, 18) }),
          type: "chat",
          body: "Mensagem antiga " + i,
          t: start + i * 60,
          from: fromMe ? me : chat.id,
          to: fromMe ? chat.id : me,
          ack: fromMe ? 3 : 0,
          isNewMsg: false,
          isMdHistoryMsg: true,
          self: fromMe ? "out" : "in",
        });
      }
      const pre = all.splice(all.length - loaded);
      app.earlier.set(chat.id.toString(), all);
      app.earlierPageSize.set(chat.id.toString(), pageSize || 50);
      pre.forEach((attrs) => app.addMsg(chat, attrs, { seed: true, silentChat: true }));
      return chat.id.toString();
    },

    /** Delete for everyone: the model keeps its id, becomes `revoked` and loses its text. */
    revokeMessage(serializedId, opts) {
      opts = opts || {};
      const subtype = opts.byAdmin ? "admin_revoke" : "sender_revoke";
      if (!Msg.get(String(serializedId)) && app.unloaded.has(String(serializedId))) {
        // Not in memory: only the `protocol` message arrives, through processMultipleMessages.
        const key = MsgKey.fromString(String(serializedId));
        const old = app.unloaded.get(String(serializedId));
        const sender = String(old.author || old.from);
        Msg.processMultipleMessages(key.remote, [
          {
            id: new MsgKey({
              fromMe: key.fromMe,
              remote: key.remote,
              id: app.rawIdFor(key.fromMe ? "android" : app.platformOf(sender), null),
              participant: key.participant,
            }),
            type: "protocol",
            subtype: subtype,
            protocolMessageKey: key,
            t: app.nowSec(),
            from: old.from,
            to: old.to,
            author: old.author,
            isNewMsg: true,
          },
        ]);
        return key.toString();
      }
      const msg = findMsg(serializedId);
      // The signal is a `protocol` message whose protocolMessageKey names the original...
      const chat = chatOf(msg.id.remote.toString(), false);
      const proto = new app.MsgModel({
        id: new MsgKey({
          fromMe: msg.id.fromMe,
          remote: msg.id.remote,
          id: app.rawIdFor(msg.id.fromMe ? "android" : app.platformOf(String(msg.author || msg.from)), null),
          participant: msg.id.participant,
        }),
        type: "protocol",
        subtype: subtype,
        protocolMessageKey: msg.id,
        t: app.nowSec(),
        from: msg.from,
        to: msg.to,
        author: msg.author,
        isNewMsg: true,
      });
      Msg.add(proto);
      // ...then the original keeps its id, becomes `revoked` and loses its text.
      msg.set({ type: "revoked", subtype: subtype, body: "", caption: undefined });
      if (chat) {
        chat.trigger("change:msgs", chat);
      }
      return msg.id.toString();
    },

    /** WhatsApp drops a message from memory (it stays stored): later signals find it not loaded. */
    evict(serializedId) {
      return app.evictMsg(findMsg(serializedId));
    },

    /**
     * The contact's phone sends a receipt for one of our messages (2 delivered, 3 read, 4 played),
     * handled by WAWebHandleDirectChatReceipt as WhatsApp does, loaded or not.
     */
    receipt(serializedId, ack) {
      const key = MsgKey.fromString(String(serializedId));
      if (!key.fromMe || key.remote.isGroup()) {
        throw new Error("simulator: receipts here are for our messages in a direct chat");
      }
      const mod = global.require("WAWebHandleDirectChatReceipt");
      mod.handleChatSimpleReceipt({
        ack: Number(ack),
        ackString: Number(ack) >= 3 ? "read" : "delivery",
        externalIds: [key.id],
        from: key.remote,
        recipient: null,
        participant: null,
        ts: app.nowSec(),
        offline: null,
      });
      return key.toString();
    },

    /** Delete for me (on the phone): the model leaves chat.msgs and Msg (`remove`). */
    deleteForMe(serializedId) {
      const msg = findMsg(serializedId);
      app.removeMsg(msg);
      return msg.id.toString();
    },

    /** The phone loses / regains its connection (Stream.mode OFFLINE / MAIN). */
    setPhoneOnline(online) {
      requireMain();
      Stream.set("mode", online ? "MAIN" : "OFFLINE");
      return Stream.mode;
    },

    /**
     * WhatsApp moves a contact's 1:1 chat from the phone number to the contact's LID (PN→LID
     * migration). From the next page load on the chat and its messages are keyed by the LID
     * (same raw ids). Returns the LID.
     */
    migrateToLid(contactKey) {
      requireMain();
      return app.migrateToLid(contactKey);
    },

    /** Linked devices → Log out on the phone. */
    logoutFromPhone(spelling) {
      app.logout("phone", spelling);
      return true;
    },

    /** Older messages of a chat as the page would load them on scroll (same as loadEarlierMsgs). */
    loadEarlier(contactKey) {
      const chat = chatOf(contactKey, false);
      return app.loadEarlierMsgs(chat, chat.msgs).then((list) => list.map((m) => m.id.toString()));
    },

    /** Plain copies of a chat's loaded messages, oldest first. */
    messages(contactKey) {
      const chat = chatOf(contactKey, false);
      return chat.msgs.getModelsArray().map((m) => ({
        id: m.id.toString(),
        fromMe: m.id.fromMe,
        type: m.type,
        body: m.type === "chat" ? m.body : undefined,
        caption: m.caption,
        t: m.t,
        ack: m.ack,
        isNewMsg: !!m.isNewMsg,
        author: m.author ? m.author.toString() : undefined,
      }));
    },

    info() {
      const active = Chat.getModelsArray().find((c) => c.active);
      return {
        version: app.VERSION,
        state: Socket.state,
        hasSynced: !!Socket.hasSynced,
        streamMode: Stream.mode === undefined ? null : Stream.mode,
        qrRef: app.Conn.ref || null,
        qrRefs: app.qrRefs,
        me: app.meInfo(),
        activeChat: active ? active.id.toString() : null,
        unreadChats: app.unreadChats(),
        readReceiptsSent: app.readReceiptsSent,
        lookups: app.lookups,
        chats: Chat.getModelsArray().map((c) => ({
          key: app.keyOfChat(c),
          id: c.id.toString(),
          title: c.formattedTitle,
          isGroup: !!c.isGroup,
          unreadCount: c.unreadCount,
          active: !!c.active,
          t: c.t,
          loaded: c.msgs.length,
        })),
      };
    },
  };

  Object.defineProperty(global, "__waSimControl", {
    value: Object.freeze(control),
    enumerable: false,
    configurable: true,
    writable: false,
  });

  // -------------------------------------------------------------------------------------------
  // Visible control bar (?controls=1)

  if (app.params.get("controls") !== "1") {
    return;
  }

  function el(tag, attrs, children) {
    const node = doc.createElement(tag);
    Object.keys(attrs || {}).forEach((k) => {
      if (k === "text") {
        node.textContent = attrs[k];
      } else if (k.startsWith("on")) {
        node.addEventListener(k.slice(2), attrs[k]);
      } else {
        node.setAttribute(k, attrs[k]);
      }
    });
    (children || []).forEach((c) => node.appendChild(typeof c === "string" ? doc.createTextNode(c) : c));
    return node;
  }

  const status = el("span", { class: "sim-status", role: "status", "aria-live": "polite" });
  const select = el("select", { id: "sim-contact", "aria-label": "Contato" });
  const authorSelect = el("select", { id: "sim-author", "aria-label": "Autor (grupo)", hidden: "" });
  const input = el("input", {
    id: "sim-text",
    type: "text",
    "aria-label": "Texto da mensagem",
    placeholder: "Texto da mensagem",
    value: "Olá! Tenho interesse no imóvel.",
  });

  function fillSelects() {
    if (select.options.length || !app.seed) {
      return;
    }
    (app.seed.contacts || []).forEach((c) => {
      const label = (c.name || c.pushname || c.key) + " (" + c.wid + ")";
      select.appendChild(el("option", { value: c.key, text: label }));
    });
    (app.seed.groups || []).forEach((g) => {
      select.appendChild(el("option", { value: g.key, text: "Grupo: " + g.name }));
      (g.members || []).forEach((m) => {
        const c = (app.seed.contacts || []).find((x) => x.key === m);
        authorSelect.appendChild(el("option", { value: m, text: "Autor: " + (c ? c.name || c.pushname : m) }));
      });
    });
  }

  select.addEventListener("change", () => {
    const s = app.seedByKey.get(select.value);
    if (s && s.kind === "group") {
      authorSelect.removeAttribute("hidden");
    } else {
      authorSelect.setAttribute("hidden", "");
    }
  });

  function run(label, fn) {
    try {
      const r = fn();
      status.textContent = label + ": ok";
      return r;
    } catch (e) {
      status.textContent = label + ": " + (e && e.message ? e.message : String(e));
      return null;
    }
  }

  function isGroupSelected() {
    const s = app.seedByKey.get(select.value);
    return !!(s && s.kind === "group");
  }

  const bar = el(
    "div",
    { id: "sim-controls", role: "region", "aria-label": "Simulador — controles de teste" },
    [
      el("strong", { class: "sim-label", text: "Simulador — controles de teste" }),
      select,
      authorSelect,
      input,
      el("button", {
        type: "button",
        text: "Receber mensagem",
        onclick: () =>
          run("Receber mensagem", () =>
            control.receive(select.value, input.value, isGroupSelected() ? { author: authorSelect.value } : {})
          ),
      }),
      el("button", {
        type: "button",
        text: "Enviar do celular",
        onclick: () => run("Enviar do celular", () => control.sendFromPhone(select.value, input.value)),
      }),
      el("button", {
        type: "button",
        text: "Escanear QR",
        onclick: () => run("Escanear QR", () => control.scanQr()),
      }),
      el("button", {
        type: "button",
        text: "Desconectar pelo celular",
        title: "Como em Aparelhos conectados → Desconectar, no celular",
        onclick: () => run("Desconectar", () => control.logoutFromPhone()),
      }),
      status,
    ]
  );

  function mount() {
    doc.body.classList.add("with-sim-controls");
    doc.body.appendChild(bar);
    fillSelects();
  }

  app.on("registered", fillSelects);
  Socket.on("change:state", fillSelects);
  Stream.on("change:mode", fillSelects);
  if (doc.body) {
    mount();
  } else {
    doc.addEventListener("DOMContentLoaded", mount);
  }
})(window);
