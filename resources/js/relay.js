/*
 * relay.js: ApplicationWorld (isolated world), injected after Qt's qwebchannel.js, at
 * DocumentReady (DocumentCreation also works: it waits for qt.webChannelTransport).
 *
 * Python wraps it as
 *   (function(){ "use strict"; const module = undefined, exports = undefined;
 *                const WACRM_CONFIG = <json>; <qwebchannel.js is inserted before> <relay.js> })();
 *
 * It owns the QWebChannel object `wacrmBridge`, so page scripts never see `qt`. Worlds share the
 * DOM but not JS objects, hence CustomEvents on `document` whose `detail` is a JSON string:
 *   main world → `wacrm:event`  (envelope) → here → wacrmBridge.receiveBatch(JSON array of envelopes)
 *   (envelopes arriving within one task of the page are sent together, at most BATCH_MAX of them
 *   and about BATCH_CHARS characters per call: a burst of thousands of messages — WhatsApp's
 *   offline sync, a backfill — costs Python one validation pass and one journal transaction
 *   per batch instead of one per message. Python journals a batch before its slot returns.)
 *   Python     → wacrmBridge.command(str) signal → here → `wacrm:command` → main world
 *   main world → `wacrm:ping` → here → `wacrm:command` {command: "relay_ready"} (handshake, so the
 *   bridge can hold envelopes produced before this script ran and flush them afterwards).
 */
(function waRelayMain() {
  let doc;
  try {
    doc = typeof document === "object" && document ? document : null;
  } catch (_e) {
    doc = null;
  }
  if (!doc || typeof doc.addEventListener !== "function") return;

  const ONCE = Symbol.for("wcr.once");
  try {
    if (doc[ONCE]) return;
    Object.defineProperty(doc, ONCE, { value: true, enumerable: false, configurable: false, writable: false });
  } catch (_e) {
    return;
  }

  const setTimer = setTimeout;

  const CFG = wacrmConfig();
  let loc = null;
  try {
    loc = typeof location === "object" ? location : null;
  } catch (_e) {
    loc = null;
  }
  if (!originAllowed(CFG, loc)) return;
  const TOKEN = typeof CFG.token === "string" ? CFG.token : "";
  const MAX_DETAIL = 256 * 1024 + 1024; // envelopes are ≤ 256 KiB (UTF-8); this is a cheap upper bound
  const QUEUE_MAX = 5000;
  const CONNECT_RETRY_MS = 100;
  const CONNECT_MAX_TRIES = 600; // about a minute

  const BATCH_MAX = 200;
  const BATCH_CHARS = 2 * 1024 * 1024; // Python refuses batches above 4 Mi characters

  let bridge = null;
  const queue = [];
  let batch = [];
  let batchChars = 0;
  let batchTimer = false;

  function tokenOf(detail) {
    try {
      const o = JSON.parse(detail);
      return o && typeof o === "object" ? o.token : undefined;
    } catch (_e) {
      return undefined;
    }
  }

  function sendBatch() {
    batchTimer = false;
    if (!batch.length) return;
    const details = batch;
    batch = [];
    batchChars = 0;
    try {
      bridge.receiveBatch(JSON.stringify(details));
    } catch (_e) {
      // Python side gone or not ready; nothing to do in the page
    }
  }

  function forward(detail) {
    if (typeof bridge.receiveBatch !== "function") {
      try {
        bridge.receive(detail);
      } catch (_e) {
        // Python side gone or not ready; nothing to do in the page
      }
      return;
    }
    if (batch.length && batchChars + detail.length > BATCH_CHARS) sendBatch();
    batch.push(detail);
    batchChars += detail.length;
    if (batch.length >= BATCH_MAX) sendBatch();
    else if (!batchTimer) {
      batchTimer = true;
      setTimer(sendBatch, 0); // the rest of this task's envelopes join the batch
    }
  }

  // Events dropped here never reach Python's validator, so Python is told how many and why
  // (at most one report per reason a second), to log them and count them in the health view.
  const dropCounts = {};
  const dropTimers = {};

  function reportDrop(reason) {
    dropCounts[reason] = (dropCounts[reason] || 0) + 1;
    if (dropTimers[reason]) return;
    dropTimers[reason] = true;
    setTimer(() => {
      const n = dropCounts[reason];
      dropCounts[reason] = 0;
      dropTimers[reason] = false;
      try {
        if (bridge && typeof bridge.dropped === "function") bridge.dropped(reason, n);
      } catch (_e) {
        // Python side gone; nothing to do in the page
      }
    }, 1000);
  }

  function onEvent(ev) {
    try {
      const detail = ev ? ev.detail : undefined;
      if (typeof detail !== "string") return reportDrop("detail is not a string");
      if (detail.length > MAX_DETAIL) return reportDrop("payload larger than 256 KiB");
      const token = tokenOf(detail);
      if (token === undefined) return reportDrop("payload is not JSON with a token");
      if (!TOKEN || token !== TOKEN) return reportDrop("token missing or wrong");
      if (bridge) forward(detail);
      else {
        if (queue.length >= QUEUE_MAX) queue.shift();
        queue.push(detail);
      }
    } catch (_e) {
      // never throw into the page
    }
  }

  function dispatchCommand(detail) {
    try {
      doc.dispatchEvent(new CustomEvent("wacrm:command", { detail }));
    } catch (_e) {
      // ignore
    }
  }

  function announce() {
    if (!TOKEN) return;
    dispatchCommand(JSON.stringify({ token: TOKEN, command: "relay_ready", args: {} }));
  }

  function onCommandSignal(str) {
    try {
      if (typeof str === "string" && str.length <= 1024 * 1024) dispatchCommand(str);
    } catch (_e) {
      // ignore
    }
  }

  function onChannel(channel) {
    try {
      const b = channel && channel.objects ? channel.objects.wacrmBridge : null;
      if (!b || typeof b.receive !== "function") return;
      if (b.command && typeof b.command.connect === "function") b.command.connect(onCommandSignal);
      bridge = b;
      while (queue.length) forward(queue.shift());
    } catch (_e) {
      // ignore
    }
  }

  let tries = 0;
  function connect() {
    try {
      const transport = typeof qt === "object" && qt ? qt.webChannelTransport : undefined;
      if (typeof QWebChannel !== "function" || !transport) {
        tries += 1;
        if (tries < CONNECT_MAX_TRIES) setTimer(connect, CONNECT_RETRY_MS);
        return;
      }
      // eslint-disable-next-line no-new
      new QWebChannel(transport, onChannel);
    } catch (_e) {
      // ignore
    }
  }

  try {
    doc.addEventListener("wacrm:event", onEvent);
    doc.addEventListener("wacrm:ping", announce);
    announce();
    connect();
  } catch (_e) {
    // ignore
  }
})();
