/*
 * reset_storage.js: "Redefinir este perfil". Python (wacrm_desktop/web/reset.py) runs it with
 * runJavaScript in the isolated ApplicationWorld, wrapped as
 * `(function(){ const WACRM_RESET_STEP = "leave" | "wipe"; const WACRM_RESET_ORIGIN = "<origin>";
 * <file> })();`, in two documents:
 *
 * - "leave", in WhatsApp's own document when the tab shows one: unregisters the origin's service
 *   workers (the API refuses the blank document below). They go once no page uses them.
 * - "wipe", in a blank document *of the WhatsApp origin* (setHtml with the WhatsApp URL as base):
 *   WhatsApp's document is gone, so its IndexedDB connections are closed, and none of its scripts
 *   run there to open them again. Deletes the origin's IndexedDB databases, Local/Session Storage
 *   and Cache Storage, then re-reads what is left. It touches nothing unless the document's
 *   origin is WACRM_RESET_ORIGIN (then `left` stays null, which Python reports).
 *
 * The outcome goes to `window.__wacrmReset` (this isolated world only), which Python polls:
 *   {step, done, unregistered: n, deleted: [db], blocked: [db], failed: [db], errors: [str],
 *    left: {databases: [db], localStorage: n} | null}
 * A delete still blocked at the cap (a connection elsewhere ignoring `versionchange`) stays
 * queued in the browser, ahead of any later open of that database.
 * Cookies and the HTTP cache are cleared by Python. The MongoDB history is not touched.
 */
(function resetStorage() {
  "use strict";
  const STEP_CAP_MS = 8000;
  const g = typeof window === "object" ? window : globalThis;
  /* global WACRM_RESET_STEP, WACRM_RESET_ORIGIN */
  const step = typeof WACRM_RESET_STEP === "string" ? WACRM_RESET_STEP : "wipe";
  const origin = typeof WACRM_RESET_ORIGIN === "string" ? WACRM_RESET_ORIGIN : null;
  const result = {
    step,
    done: false,
    unregistered: 0,
    deleted: [],
    blocked: [],
    failed: [],
    errors: [],
    left: null,
  };
  g.__wacrmReset = result;

  function errText(e) {
    return String((e && (e.name || e.message)) || e).slice(0, 200);
  }

  /** `promise`, or `fallback` once STEP_CAP_MS has passed; never rejects. */
  function capped(what, promise, fallback) {
    let timer;
    return Promise.race([
      Promise.resolve(promise).catch((e) => {
        result.errors.push(what + ": " + errText(e));
        return fallback;
      }),
      new Promise((resolve) => {
        timer = setTimeout(() => resolve(fallback), STEP_CAP_MS);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /** Resolves "deleted", "failed", or "blocked" when still blocked at the cap. */
  function deleteDb(name) {
    return new Promise((resolve) => {
      let req;
      let blocked = false;
      const timer = setTimeout(() => resolve(blocked ? "blocked" : "failed"), STEP_CAP_MS);
      const done = (outcome) => {
        clearTimeout(timer);
        resolve(outcome);
      };
      try {
        req = g.indexedDB.deleteDatabase(name);
      } catch (e) {
        result.errors.push("deleteDatabase: " + errText(e));
        done("failed");
        return;
      }
      req.onsuccess = () => done("deleted");
      req.onerror = () => done("failed");
      // Another connection did not close on `versionchange`: keep waiting until the cap.
      req.onblocked = () => {
        blocked = true;
      };
    });
  }

  function databaseNames() {
    if (!g.indexedDB || typeof g.indexedDB.databases !== "function") return Promise.resolve([]);
    return capped(
      "databases",
      g.indexedDB.databases().then((dbs) => (dbs || []).map((d) => d && d.name).filter(Boolean)),
      [],
    );
  }

  function clearWebStorage() {
    for (const name of ["localStorage", "sessionStorage"]) {
      try {
        g[name].clear();
      } catch (e) {
        result.errors.push(name + ": " + errText(e));
      }
    }
  }

  async function unregisterServiceWorkers() {
    const sw = g.navigator && g.navigator.serviceWorker;
    if (!sw || typeof sw.getRegistrations !== "function") return;
    const regs = await capped("getRegistrations", sw.getRegistrations(), []);
    const done = await capped("unregister", Promise.all(regs.map((r) => r.unregister())), []);
    result.unregistered = (done || []).filter(Boolean).length;
  }

  async function wipe() {
    const here = g.location ? String(g.location.origin) : "";
    if (origin !== null && here !== origin) {
      result.errors.push("document origin " + here + " is not " + origin);
      return;
    }
    clearWebStorage();
    const names = await databaseNames();
    const outcomes = await Promise.all(names.map(deleteDb));
    names.forEach((name, i) => result[outcomes[i]].push(name));
    if (typeof g.caches === "object" && g.caches) {
      const keys = await capped("caches", g.caches.keys(), []);
      await capped("caches", Promise.all(keys.map((k) => g.caches.delete(k))), null);
    }
    let lsLeft = -1;
    try {
      lsLeft = g.localStorage.length;
    } catch (_e) {
      // storage unavailable: reported as -1
    }
    result.left = { databases: await databaseNames(), localStorage: lsLeft };
  }

  (step === "leave" ? unregisterServiceWorkers() : wipe())
    .catch((e) => result.errors.push(errText(e)))
    .finally(() => {
      result.done = true;
    });
  return true;
})();
