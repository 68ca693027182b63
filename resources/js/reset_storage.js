/*
 * reset_storage.js: run by Python with runJavaScript in the isolated ApplicationWorld of the
 * WhatsApp tab when the user confirms "Redefinir este perfil". It deletes this origin's web
 * storage (IndexedDB databases, Local/Session Storage, Cache Storage, service workers) and then
 * loads the origin's start page, which shows the QR again. Cookies and the HTTP cache are cleared
 * by Python through the profile. The MongoDB history is not touched.
 *
 * Every step is bounded: a database WhatsApp keeps open (a blocked delete) never stops the reload.
 */
(function resetStorage() {
  "use strict";
  const STEP_CAP_MS = 4000;

  function capped(promise) {
    return Promise.race([
      Promise.resolve(promise).catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, STEP_CAP_MS)),
    ]);
  }

  function deleteDb(name) {
    return new Promise((resolve) => {
      let req;
      try {
        req = indexedDB.deleteDatabase(name);
      } catch (_e) {
        resolve(false);
        return;
      }
      req.onsuccess = () => resolve(true);
      req.onerror = () => resolve(false);
      // Blocked: the page still holds a connection; it is closed by the reload below.
      req.onblocked = () => resolve(false);
    });
  }

  async function wipe() {
    try {
      localStorage.clear();
    } catch (_e) {
      // storage unavailable
    }
    try {
      sessionStorage.clear();
    } catch (_e) {
      // storage unavailable
    }
    if (typeof indexedDB === "object" && indexedDB && typeof indexedDB.databases === "function") {
      const dbs = (await capped(indexedDB.databases())) || [];
      await capped(Promise.all(dbs.filter((d) => d && d.name).map((d) => deleteDb(d.name))));
    }
    if (typeof caches === "object" && caches) {
      const names = (await capped(caches.keys())) || [];
      await capped(Promise.all(names.map((n) => caches.delete(n))));
    }
    if (navigator.serviceWorker && typeof navigator.serviceWorker.getRegistrations === "function") {
      const regs = (await capped(navigator.serviceWorker.getRegistrations())) || [];
      await capped(Promise.all(regs.map((r) => r.unregister())));
    }
  }

  wipe().finally(() => {
    location.replace(location.origin + "/");
  });
  return true;
})();
