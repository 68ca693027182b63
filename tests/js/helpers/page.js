"use strict";
/*
 * A fake page for the injected scripts: a `node:vm` context with a fake `document`/`window`,
 * the scripts wrapped exactly as Python wraps them, and helpers to read the envelopes.
 * Create the page after enabling mock timers so the context sees the mocked Date/setTimeout.
 */
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");

const JS_DIR = path.join(__dirname, "..", "..", "..", "resources", "js");

function readJs(name) {
  return fs.readFileSync(path.join(JS_DIR, name), "utf8");
}

/** The wrapper Python builds around the injected sources. */
function wrapForPage(config, sources) {
  return (
    '(function(){ "use strict"; const module = undefined, exports = undefined; const WACRM_CONFIG = ' +
    JSON.stringify(config) +
    ";\n" +
    sources.join("\n") +
    "\n})();"
  );
}

class FakeElement extends EventTarget {
  constructor(doc) {
    super();
    this.doc = doc;
    this.text = "";
    this.innerHTMLWrites = 0;
  }

  focus() {
    this.doc.activeElement = this;
  }

  get textContent() {
    return this.text;
  }

  set innerHTML(_v) {
    this.innerHTMLWrites += 1;
  }
}

class FakeDocument extends EventTarget {
  constructor() {
    super();
    this.activeElement = null;
    this.composer = null;
    this.execCalls = [];
    this.queries = [];
  }

  addComposer() {
    this.composer = new FakeElement(this);
    return this.composer;
  }

  querySelector(sel) {
    this.queries.push(sel);
    if (sel === '#main footer [contenteditable="true"]') return this.composer;
    return null;
  }

  execCommand(name, _ui, value) {
    this.execCalls.push([name, value]);
    if (name === "insertText" && this.composer && this.activeElement === this.composer) {
      this.composer.text += value;
      return true;
    }
    return false;
  }
}

/**
 * opts: {href, token, config, relay: "fake" | "none"}
 * relay "fake" answers the bridge's `wacrm:ping` with the relay_ready handshake, like relay.js.
 */
function createPage(opts = {}) {
  const token = opts.token === undefined ? "c0ffee0123456789" : opts.token;
  const config = Object.assign({ token, version: 1, ignoreStatus: true, ignoreNewsletters: true }, opts.config || {});
  const document = new FakeDocument();
  const timers = { calls: 0, clears: 0 };
  const sandbox = {
    document,
    CustomEvent,
    EventTarget,
    console,
    setTimeout: (fn, ms, ...rest) => {
      timers.calls += 1;
      if (timers.calls > 100000) throw new Error("runaway timers");
      return setTimeout(fn, ms, ...rest);
    },
    clearTimeout: (t) => {
      timers.clears += 1;
      return clearTimeout(t);
    },
    Date,
    location: { href: opts.href || "https://web.whatsapp.com/" },
  };
  sandbox.window = sandbox;
  vm.createContext(sandbox);

  const raw = [];
  const events = [];
  const junk = [];
  document.addEventListener("wacrm:event", (ev) => {
    let parsed = null;
    try {
      parsed = typeof ev.detail === "string" ? JSON.parse(ev.detail) : null;
    } catch (_e) {
      parsed = null;
    }
    if (!parsed || typeof parsed !== "object" || !parsed.kind) {
      junk.push(ev.detail); // only tests dispatch these; the bridge never does
      return;
    }
    raw.push(ev.detail);
    events.push(parsed);
  });
  if ((opts.relay || "fake") === "fake") {
    document.addEventListener("wacrm:ping", () => {
      document.dispatchEvent(
        new CustomEvent("wacrm:command", { detail: JSON.stringify({ token, command: "relay_ready", args: {} }) }),
      );
    });
  }

  function run(files, filename) {
    const code = wrapForPage(config, files.map(readJs));
    vm.runInContext(code, sandbox, { filename: filename || files.join("+") });
  }

  return {
    token,
    config,
    sandbox,
    window: sandbox,
    document,
    events,
    raw,
    junk,
    timers,
    runBridge: () => run(["wa_common.js", "wa_serialize.js", "wa_bridge.js"], "wa_bridge.wrapped.js"),
    run,
    command(obj) {
      document.dispatchEvent(new CustomEvent("wacrm:command", { detail: typeof obj === "string" ? obj : JSON.stringify(obj) }));
    },
    of(kind) {
      return events.filter((e) => e.kind === kind).map((e) => e.data);
    },
  };
}

module.exports = { readJs, wrapForPage, createPage, FakeDocument, FakeElement, JS_DIR };
