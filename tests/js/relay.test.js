"use strict";
/*
 * relay.js wrapped as Python wraps it, with a fake QWebChannel / qt.webChannelTransport, and an
 * end-to-end run of wa_bridge.js + relay.js sharing one document (as the two worlds share the DOM).
 */
const test = require("node:test");
const assert = require("node:assert/strict");

const { createPage } = require("./helpers/page.js");
const { makeWhatsApp, MsgModel, MsgKey, Wid } = require("./helpers/fake_wa.js");

const T0 = 1764500000000;
const PEER_PN = "5511990010001@c.us";

const flush = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

/** Python's side of the channel: a `wacrmBridge` object with receive(str) and a command(str) signal. */
function fakePython() {
  const received = [];
  const commandSlots = [];
  const wacrmBridge = {
    receive(s) {
      received.push(s);
    },
    command: {
      connect(fn) {
        commandSlots.push(fn);
      },
    },
  };
  return {
    received,
    wacrmBridge,
    emitCommand(obj) {
      const s = typeof obj === "string" ? obj : JSON.stringify(obj);
      for (const fn of commandSlots) fn(s);
    },
    slots: commandSlots,
  };
}

/** Adds QWebChannel + qt.webChannelTransport to the page; the channel opens after `delayMs`. */
function installChannel(page, py, delayMs = 20, { transport = true } = {}) {
  const channels = [];
  page.window.QWebChannel = function QWebChannel(tr, cb) {
    channels.push(tr);
    page.window.setTimeout(() => cb({ objects: { wacrmBridge: py.wacrmBridge } }), delayMs);
  };
  if (transport) page.window.qt = { webChannelTransport: { send() {} } };
  return channels;
}

function envelope(token, kind, data) {
  return JSON.stringify({ v: 1, token, kind, data });
}

function dispatchEvent(page, detail) {
  page.document.dispatchEvent(new CustomEvent("wacrm:event", { detail }));
}

test("relay: queues until the channel is ready, forwards in order, filters token and non-strings", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: T0 });
  const page = createPage({ relay: "none" });
  const py = fakePython();
  installChannel(page, py, 20);
  const commands = [];
  page.document.addEventListener("wacrm:command", (ev) => commands.push(ev.detail));
  page.run(["wa_common.js", "relay.js"], "relay.wrapped.js");

  // handshake announced at start
  assert.deepEqual(commands.map((c) => JSON.parse(c)), [{ token: page.token, command: "relay_ready", args: {} }]);

  const good1 = envelope(page.token, "state", { state: "loading" });
  const good2 = envelope(page.token, "log", { level: "info", message: "x" });
  dispatchEvent(page, good1);
  dispatchEvent(page, envelope("not-the-token", "state", { state: "connected" }));
  dispatchEvent(page, { token: page.token, kind: "state" }); // not a string
  dispatchEvent(page, "{broken json");
  dispatchEvent(page, JSON.stringify([page.token]));
  page.document.dispatchEvent(new CustomEvent("wacrm:event"));
  dispatchEvent(page, good2);
  assert.deepEqual(py.received, []);
  t.mock.timers.tick(25);
  assert.deepEqual(py.received, [good1, good2]);
  // after the channel is ready: forwarded at once
  const good3 = envelope(page.token, "ack", { id: "true_" + PEER_PN + "_X", ack: 2 });
  dispatchEvent(page, good3);
  assert.deepEqual(py.received, [good1, good2, good3]);
});

test("relay: Python's command signal is re-dispatched as a wacrm:command string", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: T0 });
  const page = createPage({ relay: "none" });
  const py = fakePython();
  installChannel(page, py, 0);
  const commands = [];
  page.document.addEventListener("wacrm:command", (ev) => commands.push(ev.detail));
  page.run(["wa_common.js", "relay.js"]);
  t.mock.timers.tick(1);
  assert.equal(py.slots.length, 1);
  const cmd = JSON.stringify({ token: page.token, command: "fill_composer", args: { text: "oi" } });
  py.emitCommand(cmd);
  for (const fn of py.slots) {
    fn(42); // non-strings are dropped
    fn({ token: page.token, command: "send_text" });
  }
  assert.deepEqual(commands.slice(1), [cmd]);
  // a ping from the bridge is answered with the handshake
  page.document.dispatchEvent(new CustomEvent("wacrm:ping"));
  assert.equal(JSON.parse(commands.at(-1)).command, "relay_ready");
});

test("relay: waits for qt.webChannelTransport when injected at DocumentCreation", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: T0 });
  const page = createPage({ relay: "none" });
  const py = fakePython();
  const channels = installChannel(page, py, 0, { transport: false });
  page.run(["wa_common.js", "relay.js"]);
  t.mock.timers.tick(300);
  assert.equal(channels.length, 0);
  page.window.qt = { webChannelTransport: { id: "transport" } };
  t.mock.timers.tick(150);
  assert.equal(channels.length, 1);
  assert.deepEqual(channels[0], { id: "transport" });
  // gives up after about a minute when there is no transport at all
  const page2 = createPage({ relay: "none" });
  installChannel(page2, fakePython(), 0, { transport: false });
  page2.run(["wa_common.js", "relay.js"]);
  const before = page2.timers.calls;
  for (let i = 0; i < 1200; i++) t.mock.timers.tick(100);
  assert.ok(page2.timers.calls - before <= 600, "relay retries: " + (page2.timers.calls - before));
});

test("relay: runs once per document", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: T0 });
  const page = createPage({ relay: "none" });
  const py = fakePython();
  installChannel(page, py, 0);
  page.run(["wa_common.js", "relay.js"]);
  page.run(["wa_common.js", "relay.js"]);
  t.mock.timers.tick(5);
  dispatchEvent(page, envelope(page.token, "state", { state: "loading" }));
  assert.equal(py.received.length, 1);
  assert.equal(py.slots.length, 1);
});

for (const order of ["bridge first (DocumentCreation) then relay (DocumentReady)", "relay first then bridge"]) {
  test("end to end, " + order + ": nothing lost, commands round-trip", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"], now: T0 });
    const page = createPage({ relay: "none" });
    const py = fakePython();
    installChannel(page, py, 30);
    const wa = makeWhatsApp();
    const bridgeFirst = order.startsWith("bridge");
    if (bridgeFirst) page.runBridge();
    else page.run(["wa_common.js", "relay.js"]);
    t.mock.timers.tick(100);
    wa.installInto(page.window);
    for (let i = 0; i < 12; i++) t.mock.timers.tick(250);
    if (bridgeFirst) page.run(["wa_common.js", "relay.js"]);
    else page.runBridge();
    for (let i = 0; i < 16; i++) t.mock.timers.tick(250);

    const kinds = py.received.map((s) => JSON.parse(s).kind);
    assert.equal(kinds[0], "state");
    assert.ok(kinds.includes("health"));
    assert.ok(py.received.every((s) => JSON.parse(s).token === page.token));
    assert.equal(new Set(py.received).size, py.received.length, "no duplicates");

    // live message → Python
    wa.addChat(PEER_PN, { formattedTitle: "Mariana" });
    wa.Msg.add(
      new MsgModel({ id: new MsgKey({ fromMe: false, remote: new Wid(PEER_PN), id: "E2E1" }), type: "chat", body: "oi", t: 1764500000, isNewMsg: true, from: new Wid(PEER_PN) }),
    );
    const last = JSON.parse(py.received.at(-1));
    assert.equal(last.kind, "message");
    assert.equal(last.data.id, "false_5511990010001@c.us_E2E1");

    // Python → send_text → command_result back to Python
    py.emitCommand({ token: page.token, command: "send_text", args: { chat_id: PEER_PN, text: "Olá", request_id: "e2e" } });
    await flush(10);
    const results = py.received.map((s) => JSON.parse(s)).filter((e) => e.kind === "command_result");
    assert.equal(results.length, 1);
    assert.equal(results[0].data.ok, true);
    assert.equal(results[0].data.request_id, "e2e");
    assert.equal(wa.calls.sendSeen, 0);
  });
}

test("relay: does nothing outside config.allowedOrigins", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: T0 });
  const page = createPage({ relay: "none", href: "http://127.0.0.1:9/", config: { allowedOrigins: ["https://web.whatsapp.com"] } });
  page.sandbox.location = page.window.location; // relay reads the global `location`
  const py = fakePython();
  const channels = installChannel(page, py, 0);
  const commands = [];
  page.document.addEventListener("wacrm:command", (ev) => commands.push(ev.detail));
  page.run(["wa_common.js", "relay.js"]);
  t.mock.timers.tick(50);
  dispatchEvent(page, envelope(page.token, "state", { state: "loading" }));
  assert.equal(channels.length, 0);
  assert.deepEqual(commands, []);
  assert.deepEqual(py.received, []);
});

/** Python's side as the app has it: `receiveBatch(JSON array of envelope strings)`. */
function fakeBatchingPython() {
  const py = fakePython();
  py.batches = [];
  py.wacrmBridge.receiveBatch = (s) => {
    const items = JSON.parse(s);
    py.batches.push(items);
    py.received.push(...items);
    return items.length;
  };
  return py;
}

test("relay: envelopes of one task reach Python as one batch, in order", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: T0 });
  const page = createPage({ relay: "none" });
  const py = fakeBatchingPython();
  installChannel(page, py, 0);
  page.run(["wa_common.js", "relay.js"]);
  t.mock.timers.tick(1);
  const sent = [];
  for (let i = 0; i < 5; i++) {
    const e = envelope(page.token, "ack", { id: "true_" + PEER_PN + "_A" + i, ack: 2 });
    sent.push(e);
    dispatchEvent(page, e);
  }
  dispatchEvent(page, envelope("not-the-token", "state", { state: "connected" }));
  assert.deepEqual(py.batches, [], "held until the task ends");
  t.mock.timers.tick(0);
  assert.deepEqual(py.batches, [sent]);
  // the next task's envelopes form the next batch
  const next = envelope(page.token, "state", { state: "connected" });
  dispatchEvent(page, next);
  t.mock.timers.tick(0);
  assert.deepEqual(py.batches, [sent, [next]]);
});

test("relay: a burst is cut into batches of at most 200 envelopes and about 2 MiB", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: T0 });
  const page = createPage({ relay: "none" });
  const py = fakeBatchingPython();
  installChannel(page, py, 0);
  page.run(["wa_common.js", "relay.js"]);
  t.mock.timers.tick(1);
  const sent = [];
  for (let i = 0; i < 450; i++) {
    const e = envelope(page.token, "ack", { id: "true_" + PEER_PN + "_B" + i, ack: 1 });
    sent.push(e);
    dispatchEvent(page, e);
  }
  // big envelopes (~200 KiB each) close a batch before it passes about 2 MiB
  const big = [];
  for (let i = 0; i < 15; i++) {
    const e = envelope(page.token, "log", { level: "info", message: "x".repeat(200 * 1024) + i });
    big.push(e);
    dispatchEvent(page, e);
  }
  t.mock.timers.tick(0);
  assert.deepEqual(py.received, [...sent, ...big], "nothing lost, order kept");
  assert.deepEqual(py.batches.slice(0, 2).map((b) => b.length), [200, 200]);
  for (const b of py.batches) {
    assert.ok(b.length <= 200);
    const chars = b.reduce((n, s) => n + s.length, 0);
    assert.ok(chars <= 2 * 1024 * 1024, "batch of " + chars + " chars");
  }
});

test("relay: envelopes queued before the channel opened are sent in batches once it does", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: T0 });
  const page = createPage({ relay: "none" });
  const py = fakeBatchingPython();
  installChannel(page, py, 20);
  page.run(["wa_common.js", "relay.js"]);
  const sent = [];
  for (let i = 0; i < 250; i++) {
    const e = envelope(page.token, "ack", { id: "true_" + PEER_PN + "_Q" + i, ack: 3 });
    sent.push(e);
    dispatchEvent(page, e);
  }
  t.mock.timers.tick(25);
  assert.deepEqual(py.received, sent);
  assert.deepEqual(py.batches.map((b) => b.length), [200, 50]);
});
