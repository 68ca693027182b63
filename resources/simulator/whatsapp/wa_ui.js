/*
 * WACRM WhatsApp Web simulator: the page's DOM (login, loading, chat list, open chat).
 *
 * Mirrors what whatsapp-web-bridge.md §4.2 and §7 say a DOM-watching bridge relies on: a login
 * panel with a QR <canvas> (aria-label "Scan this QR code to link a device!" / pt-BR), `#pane-side`
 * once logged in, `#main` only while a chat is open (title in `#main header`), message rows with
 * `data-id` + `message-in`/`message-out`, text in `span.selectable-text`, and the composer
 * `#main footer [contenteditable="true"]` with the `span[data-icon="send"]` button.
 * Visible strings are pt-BR. The UI listens to the same models a bridge sees.
 */
(function (global) {
  "use strict";

  const app = global.__waSimApp;
  const doc = global.document;
  const { Socket, Conn, Stream, Chat, Msg } = app;

  const QR_LABEL = app.PT
    ? "Escaneie o QR code para conectar um aparelho"
    : "Scan this QR code to link a device!";

  // -------------------------------------------------------------------------------------------
  // Small DOM helpers (no innerHTML with data: text always goes through textContent)

  function el(tag, attrs, children) {
    const node = doc.createElement(tag);
    Object.keys(attrs || {}).forEach((k) => {
      const v = attrs[k];
      if (v === undefined || v === null || v === false) {
        return;
      }
      if (k === "text") {
        node.textContent = String(v);
      } else if (k === "class") {
        node.className = v;
      } else if (k.startsWith("on") && typeof v === "function") {
        node.addEventListener(k.slice(2), v);
      } else {
        node.setAttribute(k, v === true ? "" : String(v));
      }
    });
    (children || []).forEach((c) => {
      if (c !== null && c !== undefined && c !== false) {
        node.appendChild(typeof c === "string" ? doc.createTextNode(c) : c);
      }
    });
    return node;
  }

  function clear(node) {
    while (node.firstChild) {
      node.removeChild(node.firstChild);
    }
  }

  function pad2(n) {
    return String(n).padStart(2, "0");
  }

  function timeText(t) {
    const d = new Date((t || 0) * 1000);
    return pad2(d.getHours()) + ":" + pad2(d.getMinutes());
  }

  function dateText(t) {
    const d = new Date((t || 0) * 1000);
    return pad2(d.getDate()) + "/" + pad2(d.getMonth() + 1) + "/" + d.getFullYear();
  }

  function listTime(t) {
    if (!t) {
      return "";
    }
    const d = new Date(t * 1000);
    const now = new Date();
    if (d.toDateString() === now.toDateString()) {
      return timeText(t);
    }
    const y = new Date(now);
    y.setDate(now.getDate() - 1);
    if (d.toDateString() === y.toDateString()) {
      return "Ontem";
    }
    return dateText(t);
  }

  function initials(name) {
    const parts = String(name || "?")
      .replace(/[^\p{L}\p{N} ]/gu, "")
      .trim()
      .split(/\s+/)
      .filter(Boolean);
    return ((parts[0] || "?")[0] + (parts.length > 1 ? parts[parts.length - 1][0] : "")).toUpperCase();
  }

  function avatar(title, isGroup) {
    const hue = app.core.hash32(String(title)) % 360;
    const node = el("div", { class: "avatar" + (isGroup ? " group" : ""), "aria-hidden": "true" }, [
      initials(title),
    ]);
    node.style.backgroundColor = "hsl(" + hue + ", 35%, 55%)";
    return node;
  }

  // -------------------------------------------------------------------------------------------
  // Screens

  const root = doc.getElementById("app");
  let screen = "";

  function setScreen(name, build) {
    if (screen === name) {
      return false;
    }
    screen = name;
    clear(root);
    root.appendChild(build());
    return true;
  }

  function renderScreen() {
    const state = Socket.state;
    if (app.loggingOut) {
      setScreen("logout", () =>
        el("div", { id: "initial_startup", class: "startup" }, [
          el("div", { class: "startup-logo", "aria-hidden": "true" }),
          el("div", { class: "startup-text", text: "Saindo…" }),
        ])
      );
      return;
    }
    if (state === "UNPAIRED" || state === "UNPAIRED_IDLE" || state === "PAIRING") {
      setScreen("login", buildLogin);
      updateQr();
      return;
    }
    if (state === "CONNECTED" && Stream.mode === "MAIN") {
      if (setScreen("main", buildMain)) {
        renderChatList();
        renderConversation();
      }
      return;
    }
    if (state === "CONNECTED") {
      setScreen("syncing", () =>
        el("div", { id: "loading-chats", class: "startup" }, [
          el("div", { class: "startup-logo", "aria-hidden": "true" }),
          el("div", { class: "progress", role: "progressbar", "aria-label": "Carregando" }, [
            el("div", { class: "progress-bar" }),
          ]),
          el("div", { class: "startup-text", text: "Carregando suas conversas" }),
          el("div", { class: "startup-sub", text: "Suas mensagens pessoais são protegidas com a criptografia de ponta a ponta" }),
        ])
      );
      return;
    }
    setScreen("startup", () =>
      el("div", { id: "initial_startup", class: "startup" }, [
        el("div", { class: "startup-logo", "aria-hidden": "true" }),
        el("div", { class: "progress", role: "progressbar", "aria-label": "Carregando" }, [
          el("div", { class: "progress-bar" }),
        ]),
        el("div", { class: "startup-text", text: "WhatsApp" }),
        el("div", { class: "startup-sub", text: "Protegido com a criptografia de ponta a ponta" }),
      ])
    );
  }

  // -------------------------------------------------------------------------------------------
  // Login (QR)

  function buildLogin() {
    const canvas = el("canvas", {
      width: 264,
      height: 264,
      role: "img",
      "aria-label": QR_LABEL,
      onclick: () => app.scan(),
    });
    const reload = el(
      "button",
      { class: "qr-reload", type: "button", hidden: true, onclick: () => app.Cmd.refreshQR() },
      [el("span", { "data-icon": "refresh-large", "aria-hidden": "true", text: "⟳" }), "Clique para recarregar o QR code"]
    );
    const pairing = el("div", { class: "qr-pairing", hidden: true, text: "Conectando…" });
    return el("div", { class: "landing-wrapper", id: "login" }, [
      el("div", { class: "landing-header" }, [
        el("span", { class: "landing-logo", "aria-hidden": "true" }),
        el("span", { text: "WhatsApp" }),
      ]),
      el("div", { class: "landing-window" }, [
        el("div", { class: "landing-main" }, [
          el("div", { class: "landing-text" }, [
            el("h1", { text: "Use o WhatsApp no seu computador" }),
            el("ol", {}, [
              el("li", { text: "Abra o WhatsApp no seu celular." }),
              el("li", { text: "Toque em Mais opções ⋮ no Android ou em Configurações ⚙ no iPhone." }),
              el("li", { text: "Toque em Dispositivos conectados e, depois, em Conectar dispositivo." }),
              el("li", { text: "Aponte seu celular para esta tela para escanear o QR code." }),
            ]),
            el("p", {
              class: "sim-hint",
              text: "Simulador: clique no QR code para simular a leitura pelo celular.",
            }),
          ]),
          el("div", { class: "qr-box", "data-ref": Conn.ref || "" }, [canvas, reload, pairing]),
        ]),
      ]),
    ]);
  }

  /** A QR-looking pattern derived from Conn.ref (not a decodable QR code). */
  function drawQr(canvas, ref) {
    const ctx = canvas.getContext("2d");
    const n = 33;
    const cell = Math.floor(canvas.width / (n + 2));
    const off = Math.floor((canvas.width - cell * n) / 2);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = "#122e31";
    let h = app.core.hash32(ref || "");
    const finder = (x, y) =>
      (x >= 0 && x < 7 && y >= 0 && y < 7) ||
      (x >= n - 7 && y >= 0 && y < 7) ||
      (x >= 0 && x < 7 && y >= n - 7);
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        h = Math.imul(h ^ (x * 31 + y), 0x5bd1e995) >>> 0;
        h ^= h >>> 13;
        if (!finder(x, y) && (h & 1)) {
          ctx.fillRect(off + x * cell, off + y * cell, cell, cell);
        }
      }
    }
    [
      [0, 0],
      [n - 7, 0],
      [0, n - 7],
    ].forEach(([fx, fy]) => {
      ctx.fillRect(off + fx * cell, off + fy * cell, 7 * cell, 7 * cell);
      ctx.fillStyle = "#ffffff";
      ctx.fillRect(off + (fx + 1) * cell, off + (fy + 1) * cell, 5 * cell, 5 * cell);
      ctx.fillStyle = "#122e31";
      ctx.fillRect(off + (fx + 2) * cell, off + (fy + 2) * cell, 3 * cell, 3 * cell);
    });
  }

  function updateQr() {
    const box = root.querySelector(".qr-box");
    if (!box) {
      return;
    }
    const canvas = box.querySelector("canvas");
    const reload = box.querySelector(".qr-reload");
    const pairing = box.querySelector(".qr-pairing");
    const idle = Socket.state === "UNPAIRED_IDLE";
    box.setAttribute("data-ref", Conn.ref || "");
    canvas.hidden = idle;
    reload.hidden = !idle;
    pairing.hidden = Socket.state !== "PAIRING";
    if (!idle && Conn.ref) {
      drawQr(canvas, Conn.ref);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Main screen: chat list + conversation

  let side;
  let paneSide;
  let right;

  function buildMain() {
    paneSide = el("div", { id: "pane-side", role: "grid", "aria-label": "Lista de conversas" });
    side = el("div", { id: "side", class: "side" }, [
      el("header", { class: "side-header" }, [
        el("h1", { text: "Conversas" }),
        el("span", { "data-icon": "new-chat-outline", "aria-label": "Nova conversa", title: "Nova conversa" }, ["✎"]),
      ]),
      el("div", { class: "search" }, [
        el("span", { "data-icon": "search", "aria-hidden": "true" }, ["⌕"]),
        el("div", {
          class: "search-input",
          contenteditable: "false",
          role: "textbox",
          "aria-label": "Pesquisar ou começar uma nova conversa",
          text: "Pesquisar ou começar uma nova conversa",
        }),
      ]),
      paneSide,
    ]);
    right = el("div", { class: "right" });
    return el("div", { class: "two", id: "app-main" }, [side, right]);
  }

  let listQueued = false;

  function queueChatList() {
    if (listQueued) {
      return;
    }
    listQueued = true;
    global.setTimeout(() => {
      listQueued = false;
      renderChatList();
    }, 0);
  }

  function lastMsgOf(chat) {
    const arr = chat.msgs ? chat.msgs.getModelsArray() : [];
    return arr[arr.length - 1];
  }

  function previewOf(msg) {
    if (!msg) {
      return "";
    }
    if (msg.type === "revoked") {
      return "⊘ Esta mensagem foi apagada";
    }
    if (msg.type === "image") {
      return "Foto: " + (msg.caption || "");
    }
    if (msg.type === "document") {
      return "Documento: " + (msg.filename || msg.caption || "");
    }
    return msg.body || "";
  }

  function renderChatList() {
    if (screen !== "main" || !paneSide) {
      return;
    }
    const chats = Chat.getModelsArray().sort((a, b) => (b.t || 0) - (a.t || 0));
    const scroll = paneSide.scrollTop;
    clear(paneSide);
    chats.forEach((chat, i) => {
      const last = lastMsgOf(chat);
      const unread = chat.unreadCount || 0;
      const title = chat.formattedTitle || chat.id.user;
      const row = el(
        "div",
        {
          role: "row",
          class: "chat-row" + (chat.active ? " selected" : "") + (unread ? " unread" : ""),
          "aria-selected": chat.active ? "true" : "false",
          "aria-rowindex": String(i + 1),
          tabindex: "-1",
          onclick: () => app.Cmd.openChatBottom({ chat: chat }),
        },
        [
          avatar(title, chat.isGroup),
          el("div", { class: "chat-cell" }, [
            el("div", { class: "chat-top" }, [
              el("span", { dir: "auto", title: title, class: "chat-title", text: title }),
              el("span", { class: "chat-time", text: listTime(chat.t) }),
            ]),
            el("div", { class: "chat-bottom" }, [
              el("span", { class: "chat-preview", title: previewOf(last), text: previewOf(last) }),
              unread
                ? el("span", {
                    class: "unread-badge",
                    "aria-label": unread + (unread === 1 ? " mensagem não lida" : " mensagens não lidas"),
                    text: unread > 0 ? String(unread) : "",
                  })
                : null,
            ]),
          ]),
        ]
      );
      paneSide.appendChild(row);
    });
    paneSide.scrollTop = scroll;
  }

  // -- conversation

  let openChatModel = null;
  let mainEl = null;
  let listEl = null;
  let composer = null;
  let sendBtn = null;
  let earlierBtn = null;

  function activeChat() {
    return Chat.getModelsArray().find((c) => c.active) || null;
  }

  function renderConversation() {
    if (screen !== "main" || !right) {
      return;
    }
    const chat = activeChat();
    if (chat === openChatModel && (chat ? mainEl : right.firstChild)) {
      return;
    }
    openChatModel = chat;
    clear(right);
    mainEl = listEl = composer = sendBtn = earlierBtn = null;
    if (!chat) {
      right.appendChild(
        el("div", { class: "intro" }, [
          el("div", { class: "intro-logo", "aria-hidden": "true" }),
          el("h1", { text: "WhatsApp Web" }),
          el("p", {
            text: "Envie e receba mensagens sem precisar manter seu celular conectado. Use o WhatsApp em até 4 aparelhos conectados e 1 celular ao mesmo tempo.",
          }),
          el("p", { class: "intro-lock", text: "Protegido com a criptografia de ponta a ponta" }),
        ])
      );
      return;
    }
    const title = chat.formattedTitle || chat.id.user;
    const subtitle = chat.isGroup && chat.groupMetadata
      ? chat.groupMetadata.participants
          .getModelsArray()
          .map((p) => (p.contact ? app.displayTitle(p.contact) : "Você"))
          .join(", ")
      : "clique aqui para dados do contato";
    earlierBtn = el("button", {
      class: "load-earlier",
      type: "button",
      text: "Carregar mensagens anteriores",
      hidden: chat.msgs.msgLoadState.noEarlierMsgs,
      onclick: () => loadEarlier(chat),
    });
    listEl = el("div", { class: "message-list", role: "application", tabindex: "-1" });
    listEl.addEventListener("scroll", () => {
      if (listEl.scrollTop === 0 && !chat.msgs.msgLoadState.noEarlierMsgs) {
        loadEarlier(chat);
      }
    });
    composer = el("div", {
      contenteditable: "true",
      role: "textbox",
      spellcheck: "true",
      "aria-label": "Digite uma mensagem",
      "aria-placeholder": "Digite uma mensagem",
      "data-tab": "10",
      "data-lexical-editor": "true",
      class: "composer",
      title: "Digite uma mensagem",
    });
    composer.addEventListener("input", updateSendButton);
    composer.addEventListener("keyup", updateSendButton);
    composer.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        sendComposer(chat);
      }
    });
    sendBtn = el("button", {
      class: "send-btn",
      type: "button",
      "aria-label": "Enviar",
      onclick: () => {
        if (composerText()) {
          sendComposer(chat);
        }
      },
    });
    mainEl = el("div", { id: "main", class: "main" }, [
      el("header", { class: "main-header" }, [
        avatar(title, chat.isGroup),
        el("div", { class: "main-header-info", role: "button", tabindex: "0" }, [
          el("div", { class: "main-title" }, [el("span", { dir: "auto", class: "title-text", title: title, text: title })]),
          el("div", { class: "main-subtitle" }, [el("span", { title: subtitle, text: subtitle })]),
        ]),
        el("button", { class: "close-chat", type: "button", "aria-label": "Fechar conversa", title: "Fechar conversa (Esc)", onclick: () => app.closeChat(), text: "✕" }),
      ]),
      el("div", { class: "conversation-panel" }, [earlierBtn, listEl]),
      el("footer", { class: "main-footer" }, [
        el("span", { "data-icon": "plus-rounded", class: "attach", "aria-label": "Anexar", text: "+" }),
        el("div", { class: "composer-box" }, [composer]),
        sendBtn,
      ]),
    ]);
    right.appendChild(mainEl);
    updateSendButton();
    renderMessages(true);
    global.setTimeout(() => {
      if (composer && doc.activeElement !== composer) {
        composer.focus();
      }
    }, 0);
  }

  function composerText() {
    return composer ? (composer.innerText || composer.textContent || "").replace(/\u00a0/g, " ") : "";
  }

  function updateSendButton() {
    if (!sendBtn) {
      return;
    }
    const hasText = composerText().trim().length > 0;
    const want = hasText ? "send" : "ptt";
    const current = sendBtn.firstChild;
    if (current && current.getAttribute("data-icon") === want) {
      return;
    }
    clear(sendBtn);
    sendBtn.setAttribute("aria-label", hasText ? "Enviar" : "Mensagem de voz");
    sendBtn.appendChild(el("span", { "data-icon": want, "aria-hidden": "true", text: hasText ? "➤" : "●" }));
  }

  function sendComposer(chat) {
    const text = composerText().replace(/\s+$/, "");
    if (!text.trim()) {
      return;
    }
    clear(composer);
    updateSendButton();
    app.sendTextFromComposer(chat, text).catch((e) => app.core.reportError("send", e));
  }

  let loadingEarlier = false;

  function loadEarlier(chat) {
    if (loadingEarlier) {
      return;
    }
    loadingEarlier = true;
    app.loadEarlierMsgs(chat, chat.msgs).finally(() => {
      loadingEarlier = false;
      if (earlierBtn && chat === openChatModel) {
        earlierBtn.hidden = chat.msgs.msgLoadState.noEarlierMsgs;
      }
    });
  }

  function senderName(msg, chat) {
    if (msg.id.fromMe) {
      return (app.me && app.me.pushname) || "Você";
    }
    const who = msg.author || msg.from;
    const contact = who ? app.Contact.get(who) : null;
    if (contact) {
      return app.displayTitle(contact);
    }
    return msg.notifyName || (chat ? chat.formattedTitle : "");
  }

  const ACK_ICON = { "-1": "msg-error", 0: "msg-time", 1: "msg-check", 2: "msg-dblcheck", 3: "msg-dblcheck", 4: "msg-dblcheck" };
  const ACK_LABEL = { "-1": " Erro ", 0: " Pendente ", 1: " Enviada ", 2: " Entregue ", 3: " Lida ", 4: " Reproduzida " };

  function messageRow(msg, chat, prev) {
    const out = msg.id.fromMe;
    const name = senderName(msg, chat);
    const showAuthor = chat.isGroup && !out && (!prev || String(prev.author) !== String(msg.author) || prev.id.fromMe);
    const children = [];
    if (showAuthor) {
      children.push(el("div", { class: "author", dir: "auto" }, [el("span", { text: name })]));
    }
    if (msg.quotedStanzaID) {
      const q = msg.quotedMsg;
      children.push(
        el("div", { class: "quoted" }, [
          el("span", { class: "quoted-text", text: q ? q.body || q.caption || "" : "Mensagem" }),
        ])
      );
    }
    let text = msg.body || "";
    if (msg.type === "image") {
      children.push(el("div", { class: "media image", "aria-label": "Imagem" }, [el("span", { "data-icon": "media-image", text: "Foto" })]));
      text = msg.caption || "";
    } else if (msg.type === "document") {
      children.push(
        el("div", { class: "media document" }, [
          el("span", { "data-icon": "document-PDF-icon", class: "doc-icon", text: "PDF" }),
          el("span", { class: "filename", title: msg.filename || "", text: msg.filename || "Documento" }),
        ])
      );
      text = msg.caption && msg.caption !== msg.filename ? msg.caption : "";
    } else if (msg.type === "ciphertext") {
      text = "Aguardando mensagem. Isso pode levar alguns instantes.";
    } else if (msg.type === "revoked") {
      text = "";
      children.push(el("div", { class: "revoked" }, [el("span", { "data-icon": "recalled", text: "⊘ " }), el("span", { text: msg.id.fromMe ? "Você apagou esta mensagem" : "Esta mensagem foi apagada" })]));
    }
    if (text) {
      children.push(
        el(
          "div",
          {
            class: "copyable-text",
            "data-pre-plain-text": "[" + timeText(msg.t) + ", " + dateText(msg.t) + "] " + name + ": ",
          },
          [el("span", { dir: "ltr", class: "selectable-text copyable-text" }, [el("span", { text: text })])]
        )
      );
    }
    const meta = [];
    if (msg.latestEditMsgKey) {
      meta.push(el("span", { class: "edited", text: "Editada" }));
    }
    meta.push(el("span", { class: "msg-time", text: timeText(msg.t) }));
    if (out) {
      const ack = String(msg.ack == null ? 0 : msg.ack);
      meta.push(el("span", { "data-icon": ACK_ICON[ack] || "msg-check", class: "ack ack-" + ack.replace("-", "m"), "aria-label": ACK_LABEL[ack] || "", text: Number(ack) >= 2 ? "✓✓" : Number(ack) === 1 ? "✓" : Number(ack) < 0 ? "!" : "◷" }));
    }
    children.push(el("div", { class: "meta" }, meta));
    return el(
      "div",
      {
        role: "row",
        tabindex: "-1",
        "data-id": msg.id.toString(),
        class: (out ? "message-out" : "message-in") + " focusable-list-item",
      },
      [el("div", { class: "bubble" }, children)]
    );
  }

  let msgsQueued = false;
  let stickBottom = true;

  function queueMessages() {
    if (msgsQueued) {
      return;
    }
    msgsQueued = true;
    global.setTimeout(() => {
      msgsQueued = false;
      renderMessages(false);
    }, 0);
  }

  function renderMessages(first) {
    if (!listEl || !openChatModel) {
      return;
    }
    const chat = openChatModel;
    const atBottom = first || listEl.scrollHeight - listEl.scrollTop - listEl.clientHeight < 40;
    const fromBottom = listEl.scrollHeight - listEl.scrollTop;
    clear(listEl);
    let prev = null;
    let lastDay = "";
    chat.msgs.getModelsArray().forEach((msg) => {
      const day = dateText(msg.t);
      if (day !== lastDay) {
        lastDay = day;
        listEl.appendChild(el("div", { class: "day-divider" }, [el("span", { text: day })]));
      }
      listEl.appendChild(messageRow(msg, chat, prev));
      prev = msg;
    });
    if (atBottom || stickBottom) {
      listEl.scrollTop = listEl.scrollHeight;
    } else {
      listEl.scrollTop = listEl.scrollHeight - fromBottom;
    }
    stickBottom = false;
  }

  // -------------------------------------------------------------------------------------------
  // Wiring

  Socket.on("change:state change:hasSynced", renderScreen);
  Stream.on("change:mode", renderScreen);
  Conn.on("change:ref", updateQr);
  app.on("syncing", renderScreen);
  app.Cmd.on("logout logout_from_bridge", () => global.setTimeout(renderScreen, 0));

  Chat.on("add remove change:t change:unreadCount change:formattedTitle change:active", queueChatList);
  Chat.on("change:active", () => global.setTimeout(renderConversation, 0));
  Msg.on("add", (msg) => {
    queueChatList();
    if (openChatModel && msg.id.remote.equals(openChatModel.id)) {
      if (msg.isNewMsg) {
        stickBottom = true;
      }
      queueMessages();
    }
  });
  Msg.on("remove change:ack change:body change:caption change:type change:latestEditMsgKey", (msg) => {
    if (openChatModel && msg.id.remote.equals(openChatModel.id)) {
      queueMessages();
    }
    queueChatList();
  });

  doc.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && screen === "main" && activeChat()) {
      ev.preventDefault();
      app.closeChat();
    }
  });

  renderScreen();
})(window);
