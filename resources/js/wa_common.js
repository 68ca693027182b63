/*
 * Shared by both injected halves (capture script in the main world, relay in the isolated
 * world). web/scripts.py concatenates this file first into each wrapped script, so these
 * functions live inside each script's closure, never on `window`.
 */

/** The configuration Python wrapped around this script (`const WACRM_CONFIG = {...}`). */
function wacrmConfig() {
  try {
    if (typeof WACRM_CONFIG === "object" && WACRM_CONFIG) return WACRM_CONFIG;
  } catch (_e) {
    // not wrapped (node tests that load a file alone)
  }
  return {};
}

/** config.allowedOrigins (from Python) limits where the script acts; absent means no limit. */
function originAllowed(cfg, loc) {
  const list = cfg.allowedOrigins;
  if (!Array.isArray(list) || list.length === 0) return true;
  let origin = null;
  try {
    origin = loc && typeof loc.origin === "string" && loc.origin !== "null" ? loc.origin : null;
    if (!origin) {
      const m = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]+)/i.exec(String((loc && loc.href) || ""));
      origin = m ? m[1] : null;
    }
  } catch (_e) {
    origin = null;
  }
  if (!origin) return false;
  const lower = origin.toLowerCase();
  return list.some((o) => typeof o === "string" && o.toLowerCase() === lower);
}

if (typeof module === "object" && module && module.exports) {
  module.exports = { wacrmConfig, originAllowed };
}
