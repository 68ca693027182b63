"use strict";
/*
 * reset_storage.js wrapped as wacrm_desktop/web/reset.py wraps it, in a node:vm context with fake
 * storage APIs. The real page run is in tests/e2e/test_bridge_page_state.py.
 */
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");

const SOURCE = fs.readFileSync(
  path.join(__dirname, "..", "..", "resources", "js", "reset_storage.js"),
  "utf8",
);

function fakeStorage(n) {
  return {
    length: n,
    clear() {
      this.length = 0;
    },
  };
}

/** behaviours: {name: "ok" | "blocked" | "blocked-then-ok"} */
function fakeIndexedDB(behaviours, setTimeout) {
  const names = new Set(Object.keys(behaviours));
  return {
    names,
    databases: async () => [...names].map((name) => ({ name, version: 1 })),
    deleteDatabase(name) {
      const req = {};
      setTimeout(() => {
        const b = behaviours[name];
        if (b === "ok") {
          names.delete(name);
          req.onsuccess();
          return;
        }
        req.onblocked();
        if (b === "blocked-then-ok") {
          setTimeout(() => {
            names.delete(name);
            req.onsuccess();
          }, 1000);
        }
      }, 0);
      return req;
    },
  };
}

function makePage(t, step, dbs, origin = "https://web.whatsapp.com") {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const idb = fakeIndexedDB(dbs, setTimeout);
  const cacheNames = new Set(["wa-static"]);
  const unregistered = [];
  const window = {
    location: { origin },
    indexedDB: idb,
    localStorage: fakeStorage(3),
    sessionStorage: fakeStorage(1),
    caches: {
      keys: async () => [...cacheNames],
      delete: async (k) => cacheNames.delete(k),
    },
    navigator: {
      serviceWorker: {
        getRegistrations: async () => [{ unregister: async () => unregistered.push(1) > 0 }],
      },
    },
  };
  const context = vm.createContext({ window, setTimeout, clearTimeout, Promise });
  const wrapped =
    `(function () {\nconst WACRM_RESET_STEP = ${JSON.stringify(step)};\n` +
    `const WACRM_RESET_ORIGIN = "https://web.whatsapp.com";\n${SOURCE}\n})();`;
  vm.runInContext(wrapped, context);
  return { window, idb, cacheNames, unregistered };
}

/** The outcome as Python reads it (JSON), in this realm. */
function result(page) {
  return JSON.parse(JSON.stringify(page.window.__wacrmReset));
}

async function settle(t, ms) {
  for (let elapsed = 0; elapsed <= ms; elapsed += 50) {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    t.mock.timers.tick(50);
  }
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

test("wipe deletes every database and both storages and the caches, and says nothing is left", async (t) => {
  const page = makePage(t, "wipe", { wawc: "ok", "model-storage": "ok" });
  await settle(t, 100);
  const r = result(page);
  assert.equal(r.done, true);
  assert.deepEqual(r.deleted.sort(), ["model-storage", "wawc"]);
  assert.deepEqual(r.blocked, []);
  assert.deepEqual(r.left, { databases: [], localStorage: 0 });
  assert.equal(page.window.sessionStorage.length, 0);
  assert.equal(page.cacheNames.size, 0);
  assert.deepEqual(page.unregistered, [], "service workers are the leave step's job");
});

test("a delete blocked for a while waits; one blocked for good is reported at the cap", async (t) => {
  const page = makePage(t, "wipe", { wawc: "blocked-then-ok", held: "blocked", ok: "ok" });
  await settle(t, 7000);
  assert.equal(page.window.__wacrmReset.done, false, "still waiting for the blocked delete");
  await settle(t, 1500);
  const r = result(page);
  assert.equal(r.done, true);
  assert.deepEqual(r.deleted.sort(), ["ok", "wawc"]);
  assert.deepEqual(r.blocked, ["held"]);
  assert.deepEqual(r.left, { databases: ["held"], localStorage: 0 });
});

test("a document of another origin is left alone and nothing is reported as empty", async (t) => {
  const page = makePage(t, "wipe", { wawc: "ok" }, "null");
  await settle(t, 100);
  const r = result(page);
  assert.equal(r.done, true);
  assert.equal(r.left, null);
  assert.match(r.errors[0], /origin/);
  assert.equal(page.window.localStorage.length, 3);
  assert.deepEqual([...page.idb.names], ["wawc"]);
});

test("leave only unregisters the service workers", async (t) => {
  const page = makePage(t, "leave", { wawc: "ok" });
  await settle(t, 100);
  const r = result(page);
  assert.equal(r.step, "leave");
  assert.equal(r.done, true);
  assert.equal(r.unregistered, 1);
  assert.equal(page.window.localStorage.length, 3);
  assert.deepEqual([...page.idb.names], ["wawc"]);
  assert.equal(page.cacheNames.size, 1);
});
