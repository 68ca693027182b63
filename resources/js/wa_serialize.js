/*
 * wa_serialize.js: pure helpers that turn WhatsApp Web models into plain payload objects.
 *
 * No DOM access and no global state at load time. The same file is used in two ways:
 *  - in the page: Python concatenates it in front of wa_bridge.js inside one wrapper function
 *    (`const module = undefined` there, so the export guard at the end does nothing);
 *  - in node tests: `require("resources/js/wa_serialize.js")`.
 *
 * Facts relied on (docs/architecture.md, whatsapp-web-bridge.md §3):
 *  - model attributes sit behind getters over `__x_<name>` fields; `serialize()` gives a plain copy;
 *  - Wid and MsgKey objects may lack `_serialized` (July 2026), so ids are built with toString()
 *    or from their parts;
 *  - `@lid` ids are never phone numbers;
 *  - for media, `body` is a base64 thumbnail: the text is `caption`.
 */

const WACRM_ENVELOPE_VERSION = 1;
const WACRM_MAX_ENVELOPE_BYTES = 256 * 1024;
// A little over Python's 64 KiB cap, so that Python still sees the overflow and sets `truncated`.
const WACRM_MAX_TEXT_UNITS = 65536 + 64;
// Limits and patterns of wacrm_desktop/core/bridge_schema.py: a payload breaking them is dropped by
// Python, so the serializer keeps inside them (or leaves the field out).
const WACRM_MAX_NAME_UNITS = 512;
const WACRM_MAX_ID_CHARS = 256;
const WACRM_SCHEMA_WID = /^[0-9A-Za-z._:-]{1,96}@(c\.us|s\.whatsapp\.net|lid|g\.us|broadcast|newsletter)$/;
const WACRM_SCHEMA_MSG_ID = /^(true|false)_[^_\s]+@[a-z.]+_[0-9A-Za-z-]{1,128}(_[^_\s]+@[a-z.]+)?$/;
const WACRM_SCHEMA_TYPE = /^[a-z0-9_]{1,40}$/;

const WACRM_LOGIN_STATES = ["loading", "qr", "connecting", "connected", "phone_offline", "logged_out"];

// Types whose `body` is a thumbnail (or binary-ish data) rather than text.
const WACRM_MEDIA_TYPES = ["image", "video", "audio", "ptt", "ptv", "document", "sticker", "album"];
const WACRM_THUMB_BODY_TYPES = ["location", "ciphertext"];
// System/notice types (whatsapp-web-bridge.md §3.1): stored flagged `is_notification`.
const WACRM_NOTIFICATION_TYPES = [
  "gp2", "notification", "notification_template", "e2e_notification", "call_log", "broadcast_notification",
];
// Never stored as messages: protocol (revoke/edit signals), reactions (add-ons), ciphertext (pending).
const WACRM_NOT_MESSAGES = ["protocol", "reaction", "ciphertext", "debug"];
const WACRM_REVOKE_SUBTYPES = ["revoke", "sender_revoke", "admin_revoke"];
const WACRM_MAX_VCARDS = 10;
const WACRM_MAX_VCARD_UNITS = 16 * 1024;
const WACRM_MAX_POLL_OPTIONS = 32;
const WACRM_MAX_MENTIONS = 256;

// ---------------------------------------------------------------------------------------------
// Strings

const WACRM_LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const WACRM_ANY_SURROGATE = /[\uD800-\uDFFF]/;

/** Replace lone UTF-16 surrogates with U+FFFD so the text survives UTF-8 encoding in Python. */
function sanitizeString(s) {
  if (typeof s !== "string") return s;
  if (!WACRM_ANY_SURROGATE.test(s)) return s;
  return s.replace(WACRM_LONE_SURROGATE, "\uFFFD");
}

/** Sanitize and cut a string to `max` UTF-16 units without leaving half a surrogate pair. */
function clipString(s, max) {
  if (typeof s !== "string") return undefined;
  let out = s;
  if (out.length > max) {
    let cut = max;
    const c = out.charCodeAt(cut - 1);
    if (c >= 0xd800 && c <= 0xdbff) cut -= 1;
    out = out.slice(0, cut);
  }
  return sanitizeString(out);
}

function nonEmptyString(v) {
  return typeof v === "string" && v.length > 0 ? v : undefined;
}

/** Base64 image data (JPEG/PNG/WebP/GIF) as WhatsApp stores thumbnails in `body`. */
function looksLikeThumbnail(s) {
  if (typeof s !== "string" || s.length < 64) return false;
  if (!/^(\/9j\/|iVBORw0KGgo|UklGR|R0lGOD)/.test(s)) return false;
  return /^[A-Za-z0-9+/=\r\n]+$/.test(s.length > 4096 ? s.slice(0, 4096) : s);
}

// ---------------------------------------------------------------------------------------------
// Reading model attributes

/** Read one attribute: the getter first, then the `__x_` backing field. Never throws. */
function readAttr(model, name) {
  if (model === null || model === undefined) return undefined;
  if (typeof model !== "object" && typeof model !== "function") return undefined;
  let v;
  try {
    v = model[name];
  } catch (_e) {
    v = undefined;
  }
  if (v === undefined) {
    try {
      v = model["__x_" + name];
    } catch (_e) {
      v = undefined;
    }
  }
  return v;
}

/**
 * A reader over a model. If the model's `id` cannot be read through a getter or `__x_id`
 * (a build that stores attributes differently), fall back to one `serialize()` snapshot.
 */
function makeReader(model) {
  let source = model;
  if (readAttr(model, "id") === undefined) {
    try {
      if (model && typeof model.serialize === "function") {
        const snap = model.serialize();
        if (snap && typeof snap === "object") source = snap;
      }
    } catch (_e) {
      source = model;
    }
  }
  return function read(name) {
    const v = readAttr(source, name);
    return v === undefined && source !== model ? readAttr(model, name) : v;
  };
}

// ---------------------------------------------------------------------------------------------
// Ids

function isWidString(s) {
  return typeof s === "string" && s.indexOf("@") > 0 && s.indexOf("[object") !== 0 && !/\s/.test(s);
}

/** Wid → "user@server". toString() first, then `_serialized`, then user + "@" + server. */
function widToString(wid) {
  if (wid === null || wid === undefined) return null;
  if (typeof wid === "string") return isWidString(wid) ? wid : null;
  if (typeof wid !== "object" && typeof wid !== "function") return null;
  try {
    if (typeof wid.toString === "function" && wid.toString !== Object.prototype.toString) {
      const s = wid.toString();
      if (isWidString(s)) return s;
    }
  } catch (_e) {
    // fall through
  }
  try {
    const s = wid._serialized;
    if (isWidString(s)) return s;
  } catch (_e) {
    // fall through
  }
  const user = readAttr(wid, "user");
  const server = readAttr(wid, "server");
  if ((typeof user === "string" || typeof user === "number") && String(user) && nonEmptyString(server)) {
    const s = String(user) + "@" + server;
    return isWidString(s) ? s : null;
  }
  return null;
}

/**
 * A user/chat Wid string normalised for identity fields: `s.whatsapp.net` → `c.us`, and the
 * `:device` / `_agent` suffixes of phone and LID users dropped. Returns null for non-ids.
 */
function normalizeWid(wid) {
  const s = typeof wid === "string" ? wid : widToString(wid);
  if (!isWidString(s)) return null;
  const at = s.lastIndexOf("@");
  if (at <= 0 || at === s.length - 1) return null;
  let user = s.slice(0, at);
  let server = s.slice(at + 1).toLowerCase();
  if (server === "s.whatsapp.net") server = "c.us";
  if (server === "c.us" || server === "lid") {
    const m = /^(\d+)(?:_\d+)?(?::\d+)?$/.exec(user);
    if (m) user = m[1];
  }
  return user + "@" + server;
}

/** A Wid string Python's schema accepts (chat_id, author, sender). */
function isSchemaWid(s) {
  return typeof s === "string" && s.length <= 128 && WACRM_SCHEMA_WID.test(s);
}

/** A serialized message id Python's schema accepts (message.id, ack.id). */
function isSchemaMsgId(s) {
  return typeof s === "string" && s.length <= WACRM_MAX_ID_CHARS && WACRM_SCHEMA_MSG_ID.test(s);
}

function isMsgIdString(s) {
  return typeof s === "string" && s.length <= 1024 && /^(true|false)_[^_\s@]+@[^_\s]+_\S+$/.test(s);
}

/** `<fromMe>_<remote>_<id>[_<participant>]`, or null when a part is missing. */
function msgKeyFromParts(fromMe, remote, id, participant) {
  if (typeof fromMe !== "boolean") return null;
  const r = widToString(remote);
  if (!r || typeof id !== "string" || !id) return null;
  let s = (fromMe ? "true" : "false") + "_" + r + "_" + id;
  const p = widToString(participant);
  if (p) s += "_" + p;
  return isMsgIdString(s) ? s : null;
}

/**
 * A serialized id in WhatsApp Web's own spelling: the remote and participant parts written as
 * `@c.us` (not the protocol's `@s.whatsapp.net`) and without a `:device` suffix. Ids WhatsApp
 * Web produces are already in that form and come back unchanged.
 */
function canonicalMsgId(s) {
  if (!isMsgIdString(s)) return null;
  if (s.indexOf("s.whatsapp.net") === -1 && s.indexOf(":") === -1) return s;
  const p = parseMsgId(s);
  if (!p) return s;
  const remote = normalizeWid(p.remote) || p.remote;
  const participant = p.participant ? normalizeWid(p.participant) || p.participant : null;
  const out = (p.fromMe ? "true" : "false") + "_" + remote + "_" + p.id + (participant ? "_" + participant : "");
  return isMsgIdString(out) ? out : s;
}

/** MsgKey → serialized id: toString() first, then its parts, then (last) `_serialized`. */
function msgKeyToString(key) {
  if (key === null || key === undefined) return null;
  if (typeof key === "string") return canonicalMsgId(key);
  if (typeof key !== "object") return null;
  try {
    if (typeof key.toString === "function" && key.toString !== Object.prototype.toString) {
      const s = key.toString();
      if (isMsgIdString(s)) return canonicalMsgId(s);
    }
  } catch (_e) {
    // fall through
  }
  const built = msgKeyFromParts(
    readAttr(key, "fromMe"),
    readAttr(key, "remote"),
    readAttr(key, "id"),
    readAttr(key, "participant"),
  );
  if (built) return canonicalMsgId(built);
  try {
    const s = key._serialized;
    if (isMsgIdString(s)) return canonicalMsgId(s);
  } catch (_e) {
    // fall through
  }
  return null;
}

/** Split a serialized message id into its parts (null when it is not one). */
function parseMsgId(s) {
  if (!isMsgIdString(s)) return null;
  const parts = s.split("_");
  const fromMe = parts[0] === "true";
  const remote = parts[1];
  let participant = null;
  let idParts = parts.slice(2);
  if (idParts.length >= 2 && idParts[idParts.length - 1].indexOf("@") > 0) {
    participant = idParts[idParts.length - 1];
    idParts = idParts.slice(0, -1);
  }
  return { fromMe, remote, id: idParts.join("_"), participant };
}

function ownIdList(meIds) {
  let list;
  if (Array.isArray(meIds)) list = meIds;
  else if (meIds && typeof meIds === "object" && ("pn" in meIds || "lid" in meIds)) list = [meIds.pn, meIds.lid];
  else list = [meIds];
  const out = [];
  for (const x of list) {
    const n = normalizeWid(x);
    if (n && out.indexOf(n) === -1) out.push(n);
  }
  return out;
}

/** True when `wid` is one of our own ids (phone-number id or LID; both must be accepted). */
function isOwnId(wid, meIds) {
  const w = normalizeWid(wid);
  if (!w) return false;
  return ownIdList(meIds).indexOf(w) !== -1;
}

/** Digits of a `@c.us` id; null for `@lid`, groups, broadcast, newsletter and anything else. */
function phoneFromWid(wid) {
  const w = normalizeWid(wid);
  if (!w) return null;
  const at = w.lastIndexOf("@");
  if (w.slice(at + 1) !== "c.us") return null;
  const user = w.slice(0, at);
  return /^[1-9]\d{7,14}$/.test(user) ? user : null;
}

/** user | lid | group | status | broadcast | newsletter | bot | hosted | other | unknown */
function chatKind(chatId) {
  const w = normalizeWid(chatId);
  if (!w) return "unknown";
  const at = w.lastIndexOf("@");
  const user = w.slice(0, at);
  const server = w.slice(at + 1);
  switch (server) {
    case "c.us":
      return "user";
    case "lid":
      return "lid";
    case "g.us":
      return "group";
    case "broadcast":
      return user === "status" ? "status" : "broadcast";
    case "newsletter":
      return "newsletter";
    case "bot":
      return "bot";
    case "hosted":
    case "hosted.lid":
      return "hosted";
    default:
      return "other";
  }
}

/** Status and channels are not captured unless the config says so (both default to ignored). */
function shouldIgnoreChat(chatId, config) {
  const cfg = config || {};
  const kind = chatKind(chatId);
  if (kind === "status") return cfg.ignoreStatus !== false;
  if (kind === "newsletter") return cfg.ignoreNewsletters !== false;
  return false;
}

/** Accept what a phone lookup returns (Wid, "digits@c.us" or bare digits) and keep only a PN. */
function phoneFromLookup(result) {
  if (result === null || result === undefined) return null;
  if (typeof result === "string" && /^[1-9]\d{7,14}$/.test(result)) return result;
  return phoneFromWid(result);
}

/** The phone of a chat when WhatsApp knows it: from the id for @c.us, via ctx.lookupPhone for @lid. */
function chatPhone(chatId, ctx) {
  const kind = chatKind(chatId);
  if (kind === "user") return phoneFromWid(chatId);
  if (kind === "lid" && ctx && typeof ctx.lookupPhone === "function") {
    let r = null;
    try {
      r = ctx.lookupPhone(chatId);
    } catch (_e) {
      r = null;
    }
    return phoneFromLookup(r);
  }
  return null;
}

function preferredOwnId(meIds) {
  const list = ownIdList(meIds);
  return list.length ? list[0] : null;
}

// ---------------------------------------------------------------------------------------------
// Messages and chats

function toSeconds(v) {
  const n = typeof v === "string" && v !== "" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n) || n <= 0) return null;
  return Math.floor(n > 1e11 ? n / 1000 : n);
}

/** A time in milliseconds; values that look like seconds (before 1973 as ms) are scaled. */
function toMillis(v) {
  const n = nonNegativeInt(v);
  if (n === undefined || n <= 0) return undefined;
  return n < 1e11 ? n * 1000 : n;
}

/**
 * WhatsApp's ack (wa-js ACK enum: -7…-2 are failure kinds, -1 FAILED, 0 CLOCK … 4 PLAYED,
 * 5 PEER) → the schema's -1…4: every failure is -1; PEER (a copy to our own device) and
 * anything else give undefined.
 */
function ackValue(v) {
  if (!Number.isInteger(v)) return undefined;
  if (v < -1 && v >= -16) return -1;
  return v >= -1 && v <= 4 ? v : undefined;
}

/** A non-negative integer (the schema's media numbers), or undefined. */
function nonNegativeInt(v) {
  const n = typeof v === "string" && v !== "" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0) return undefined;
  const r = Math.round(n);
  return r <= Number.MAX_SAFE_INTEGER ? r : undefined;
}

/** media: {mimetype, filename, size, duration, width, height, is_view_once, is_gif} (schema keys only). */
function mediaInfo(read) {
  const m = {};
  const put = (k, v) => {
    if (v !== undefined && v !== null) m[k] = v;
  };
  put("mimetype", clipString(nonEmptyString(read("mimetype")), WACRM_MAX_NAME_UNITS));
  put("filename", clipString(nonEmptyString(read("filename")), WACRM_MAX_NAME_UNITS));
  put("size", nonNegativeInt(read("size")));
  put("duration", nonNegativeInt(read("duration")));
  put("width", nonNegativeInt(read("width")));
  put("height", nonNegativeInt(read("height")));
  if (typeof read("isViewOnce") === "boolean") m.is_view_once = read("isViewOnce");
  if (typeof read("isGif") === "boolean") m.is_gif = read("isGif");
  return Object.keys(m).length ? m : undefined;
}

/** A finite number within [lo, hi], or undefined. */
function numberIn(v, lo, hi) {
  const n = typeof v === "string" && v !== "" ? Number(v) : v;
  return typeof n === "number" && Number.isFinite(n) && n >= lo && n <= hi ? n : undefined;
}

/** location: {lat, lng, name?, address?}; `loc` holds "name\naddress" when the sender named the place. */
function locationInfo(read) {
  const lat = numberIn(read("lat"), -90, 90);
  const lng = numberIn(read("lng"), -180, 180);
  if (lat === undefined || lng === undefined) return undefined;
  const out = { lat, lng };
  const loc = nonEmptyString(read("loc"));
  if (loc) {
    const lines = loc.split("\n");
    const name = nonEmptyString(lines[0].trim());
    const address = nonEmptyString(lines.slice(1).join(", ").trim());
    if (name) out.name = clipString(name, WACRM_MAX_NAME_UNITS);
    if (address) out.address = clipString(address, WACRM_MAX_NAME_UNITS);
  }
  return out;
}

function isVcardText(s) {
  return typeof s === "string" && /^\s*BEGIN:VCARD/i.test(s) && s.length <= WACRM_MAX_VCARD_UNITS;
}

/** Contact cards: `vcard` keeps one in `body`; `multi_vcard` keeps `vcardList` [{displayName, vcard}]. */
function vcardsOf(read, type) {
  const out = [];
  if (type === "vcard") {
    const b = read("body");
    if (isVcardText(b)) out.push(sanitizeString(b));
  }
  const list = read("vcardList");
  if (Array.isArray(list)) {
    for (const item of list) {
      if (out.length >= WACRM_MAX_VCARDS) break;
      const v = item && typeof item === "object" ? readAttr(item, "vcard") : item;
      if (isVcardText(v)) out.push(sanitizeString(v));
    }
  }
  return out.length ? out : undefined;
}

/** poll_creation: {name, options: [names], selectable_count?}. */
function pollInfo(read) {
  const name = nonEmptyString(read("pollName"));
  if (!name) return undefined;
  const options = [];
  const raw = read("pollOptions");
  if (Array.isArray(raw)) {
    for (const o of raw) {
      if (options.length >= WACRM_MAX_POLL_OPTIONS) break;
      const n = typeof o === "string" ? o : o && typeof o === "object" ? readAttr(o, "name") : undefined;
      if (typeof n === "string") options.push(clipString(n, WACRM_MAX_NAME_UNITS));
    }
  }
  const out = { name: clipString(name, WACRM_MAX_TEXT_UNITS), options };
  const count = nonNegativeInt(read("pollSelectableOptionsCount"));
  if (count !== undefined && count <= WACRM_MAX_POLL_OPTIONS) out.selectable_count = count;
  return out;
}

function mentionsOf(read) {
  const list = read("mentionedJidList");
  if (!Array.isArray(list) || !list.length) return undefined;
  const out = [];
  for (const w of list) {
    if (out.length >= WACRM_MAX_MENTIONS) break;
    const n = normalizeWid(w);
    if (n && isSchemaWid(n) && out.indexOf(n) === -1) out.push(n);
  }
  return out.length ? out : undefined;
}

/** True for types that are never stored as a `message` (protocol signals, reactions, pending). */
function isNonMessageType(type) {
  return WACRM_NOT_MESSAGES.indexOf(type) !== -1;
}

/**
 * A delete-for-everyone signal → `revoke` data {id, revoked_at?, by_admin}, or null.
 * Either a `protocol` message (subtype revoke/sender_revoke/admin_revoke) whose
 * `protocolMessageKey` names the original, or the original model itself once its type is `revoked`.
 */
function revokeData(msg) {
  if (!msg || typeof msg !== "object") return null;
  const read = makeReader(msg);
  const type = read("type");
  const subtype = nonEmptyString(read("subtype")) || "";
  let id = null;
  if (type === "protocol") {
    if (WACRM_REVOKE_SUBTYPES.indexOf(subtype) === -1) return null;
    id = msgKeyToString(read("protocolMessageKey"));
  } else if (type === "revoked") {
    // The revoked model may carry a new id; `protocolMessageKey` names the original (wwebjs
    // PR #3715, #201696). Without it, the model's own id is the original's.
    id = msgKeyToString(read("protocolMessageKey"));
    if (!id || !isSchemaMsgId(id)) id = msgKeyToString(read("id"));
  }
  if (!id || !isSchemaMsgId(id)) return null;
  const out = { id, by_admin: subtype === "admin_revoke" };
  const t = toSeconds(read("t"));
  if (type === "protocol" && t) out.revoked_at = t;
  return out;
}

/**
 * An edited message model → `edit` data {id, body?, caption?, edited_at_ms}, or null when the
 * model carries no edit marker (a body set while decrypting is not an edit).
 */
function editData(msg) {
  if (!msg || typeof msg !== "object") return null;
  const read = makeReader(msg);
  const type = read("type");
  if (type === "revoked" || isNonMessageType(type)) return null;
  const at = toMillis(read("latestEditSenderTimestampMs"));
  if (at === undefined) return null;
  const id = msgKeyToString(read("id"));
  if (!id || !isSchemaMsgId(id)) return null;
  const out = { id, edited_at_ms: at };
  const mediaLike = WACRM_MEDIA_TYPES.indexOf(type) !== -1 || Boolean(read("directPath"));
  if (!mediaLike && type !== "location") {
    const b = nonEmptyString(read("body"));
    if (b && !looksLikeThumbnail(b)) out.body = clipString(b, WACRM_MAX_TEXT_UNITS);
  }
  const c = nonEmptyString(read("caption"));
  if (c && !looksLikeThumbnail(c)) out.caption = clipString(c, WACRM_MAX_TEXT_UNITS);
  if (out.body === undefined && out.caption === undefined) return null;
  return out;
}

/**
 * An edit signal: a `protocol` message with subtype `message_edit` whose `protocolMessageKey`
 * names the original and whose body/caption is the new text (wa-js editMessage: both are set,
 * `editMsgType` is the original's type) → `edit` data, or null. This is how an edit of a message
 * that is not loaded reaches the page.
 */
function protocolEditData(msg) {
  if (!msg || typeof msg !== "object") return null;
  const read = makeReader(msg);
  if (read("type") !== "protocol" || read("subtype") !== "message_edit") return null;
  const id = msgKeyToString(read("protocolMessageKey"));
  if (!id || !isSchemaMsgId(id)) return null;
  const at = toMillis(read("latestEditSenderTimestampMs")) || toMillis(read("t"));
  if (at === undefined) return null;
  const text = (v) => {
    const s = nonEmptyString(v);
    return s && !looksLikeThumbnail(s) ? clipString(s, WACRM_MAX_TEXT_UNITS) : undefined;
  };
  const body = text(read("body"));
  const caption = text(read("caption"));
  const originalType = nonEmptyString(read("editMsgType"));
  const out = { id, edited_at_ms: at };
  if (originalType && WACRM_MEDIA_TYPES.indexOf(originalType) !== -1) {
    if (caption || body) out.caption = caption || body;
  } else if (originalType) {
    if (body || caption) out.body = body || caption;
  } else if (body) {
    out.body = body;
  } else if (caption) {
    out.caption = caption;
  }
  return out.body === undefined && out.caption === undefined ? null : out;
}

/**
 * Read receipts handled by WhatsApp's receipt handler (`WAWebHandleDirectChatReceipt.
 * handleChatSimpleReceipt({ack, ackString, externalIds, from, recipient, …})`), which reach
 * messages that are not loaded and so never fire `change:ack` → [{id, ack}] for our messages in
 * a direct chat. Receipts from our own devices, `sender` receipts, server acks (< 2), PEER acks
 * and group receipts (one reader is not the group's state) give [].
 */
function receiptAcks(rec, meIds) {
  if (!rec || typeof rec !== "object") return [];
  const read = (k) => readAttr(rec, k);
  const ack = ackValue(read("ack"));
  if (ack === undefined || ack < 2) return [];
  if (read("ackString") === "sender") return [];
  const from = normalizeWid(read("from"));
  const kind = chatKind(from);
  if (!from || (kind !== "user" && kind !== "lid") || isOwnId(from, meIds)) return [];
  const ids = read("externalIds");
  if (!Array.isArray(ids)) return [];
  const out = [];
  for (const raw of ids.slice(0, 500)) {
    if (typeof raw !== "string" || !/^[0-9A-Za-z-]{1,128}$/.test(raw)) continue;
    const id = msgKeyFromParts(true, from, raw, null);
    if (id && isSchemaMsgId(id)) out.push({ id, ack });
  }
  return out;
}

/**
 * One reaction record (WAWebAddonReactionTableMode rows: `reactionParentKey`, `reactionText`,
 * `reactionTimestamp` in ms, `author` or `from`, `id` = the reaction's own key) → `reaction` data
 * {id, sender, emoji, t_ms}, or null. An empty emoji means the sender removed the reaction.
 */
function reactionData(rec, meIds) {
  if (!rec || typeof rec !== "object") return null;
  const read = makeReader(rec);
  const id = msgKeyToString(read("reactionParentKey") || read("parentMsgKey"));
  if (!id || !isSchemaMsgId(id)) return null;
  const ownKey = read("id");
  let fromMe = false;
  if (ownKey && typeof ownKey === "object") fromMe = readAttr(ownKey, "fromMe") === true;
  else if (typeof ownKey === "string") fromMe = ownKey.indexOf("true_") === 0;
  let sender = normalizeWid(read("author")) || normalizeWid(read("from")) || normalizeWid(read("senderUserJid"));
  if ((!sender || chatKind(sender) === "group") && fromMe) sender = preferredOwnId(meIds);
  if (!sender || !isSchemaWid(sender) || chatKind(sender) === "group") return null;
  let emoji = read("reactionText");
  if (emoji === undefined || emoji === null) emoji = "";
  if (typeof emoji !== "string" || emoji.length > 32) return null;
  let tMs = nonNegativeInt(read("reactionTimestamp"));
  if (tMs === undefined) tMs = nonNegativeInt(read("t"));
  if (tMs === undefined) return null;
  if (tMs < 1e11) tMs *= 1000; // seconds on some builds
  return { id, sender, emoji: sanitizeString(emoji), t_ms: tMs };
}

/**
 * A WhatsApp message model → the `message` data object of the envelope (docs/architecture.md).
 *
 * ctx: {meIds: [pn, lid] (Wids or strings), lookupPhone(lidString) → Wid|string|null,
 *       chatName?: string, isNew?: boolean, now?: () => ms}
 * Returns null when the message has no usable id.
 */
function serializeMessage(msg, ctx) {
  const c = ctx || {};
  if (!msg || typeof msg !== "object") return null;
  const read = makeReader(msg);
  const key = read("id");
  const id = msgKeyToString(key);
  if (!id || !isSchemaMsgId(id)) return null;
  const parsed = parseMsgId(id);
  const keyObj = key && typeof key === "object" ? key : null;

  const fromMe = keyObj && typeof readAttr(keyObj, "fromMe") === "boolean" ? readAttr(keyObj, "fromMe") : parsed.fromMe;
  const from = normalizeWid(read("from"));
  const to = normalizeWid(read("to"));
  const chatId =
    normalizeWid(keyObj ? readAttr(keyObj, "remote") : null) ||
    normalizeWid(parsed.remote) ||
    (fromMe ? to : from);
  if (!chatId || !isSchemaWid(chatId)) return null;
  const kind = chatKind(chatId);
  const isGroup = kind === "group";
  const meIds = c.meIds;

  const rawType = nonEmptyString(read("type"));
  const type = rawType && WACRM_SCHEMA_TYPE.test(rawType) ? rawType : "unknown";
  const t =
    toSeconds(read("t")) ||
    toSeconds(read("clientReceivedTsMillis")) ||
    Math.floor((typeof c.now === "function" ? c.now() : Date.now()) / 1000);

  // Text. Media and location keep a base64 thumbnail in `body`: never use it as text.
  const mediaLike =
    WACRM_MEDIA_TYPES.indexOf(type) !== -1 || Boolean(read("directPath")) || Boolean(read("mediaKey"));
  const thumbBody = mediaLike || WACRM_THUMB_BODY_TYPES.indexOf(type) !== -1;
  let body;
  if (type === "poll_creation") body = nonEmptyString(read("pollName"));
  else if (type === "event_creation" || type === "scheduled_event_creation") body = nonEmptyString(read("eventName"));
  else if (type === "vcard" || type === "multi_vcard") body = undefined; // the card text goes to `vcards`
  else if (!thumbBody) {
    const b = nonEmptyString(read("body"));
    if (b && !looksLikeThumbnail(b)) body = b;
  }
  let caption = nonEmptyString(read("caption"));
  if (caption && looksLikeThumbnail(caption)) caption = undefined;
  const filename = nonEmptyString(read("filename"));
  // A document sent without a caption can show its file name as caption; keep it in media.filename only.
  if (caption && filename && caption === filename && read("isCaptionByUser") !== true) caption = undefined;

  // Sender.
  const participant = normalizeWid(keyObj ? readAttr(keyObj, "participant") : null) || normalizeWid(parsed.participant);
  let author;
  if (isGroup || kind === "status" || kind === "broadcast") {
    author = normalizeWid(read("author")) || participant || undefined;
    if (!author && fromMe) author = (from && isOwnId(from, meIds) ? from : null) || preferredOwnId(meIds) || undefined;
  }
  let sender = author;
  if (!sender) {
    if (fromMe) sender = (from && from !== chatId ? from : null) || preferredOwnId(meIds) || undefined;
    else sender = from && kind !== "group" ? from : chatId;
  }

  // Quoted message key: (quotedStanzaID, quotedRemoteJid || this chat, quotedParticipant in groups/status).
  let quotedId;
  const qStanza = nonEmptyString(read("quotedStanzaID"));
  if (qStanza) {
    const qRemote = normalizeWid(read("quotedRemoteJid")) || chatId;
    const qParticipant = normalizeWid(read("quotedParticipant"));
    const qKind = chatKind(qRemote);
    const withParticipant = qKind === "group" || qKind === "status" || qKind === "broadcast";
    const qFromMe = qParticipant ? isOwnId(qParticipant, meIds) : false;
    quotedId = msgKeyFromParts(qFromMe, qRemote, qStanza, withParticipant ? qParticipant : null) || undefined;
  }

  const ack = read("ack");
  const out = {
    id: sanitizeString(id),
    chat_id: sanitizeString(chatId),
    from_me: fromMe,
    type,
    t,
  };
  if (body !== undefined) out.body = clipString(body, WACRM_MAX_TEXT_UNITS);
  if (caption !== undefined) out.caption = clipString(caption, WACRM_MAX_TEXT_UNITS);
  if (isSchemaWid(author)) out.author = author;
  if (isSchemaWid(sender)) out.sender = sender;
  const notify = nonEmptyString(read("notifyName"));
  if (notify) out.notify_name = clipString(notify, WACRM_MAX_NAME_UNITS);
  const ackNorm = ackValue(ack);
  if (ackNorm !== undefined) out.ack = ackNorm;
  out.is_new = typeof c.isNew === "boolean" ? c.isNew : read("isNewMsg") === true;
  const chatName = nonEmptyString(c.chatName);
  if (chatName) out.chat_name = clipString(chatName, WACRM_MAX_NAME_UNITS);
  const phone = chatPhone(chatId, c);
  if (phone) out.chat_phone = phone;
  if (quotedId && quotedId.length <= WACRM_MAX_ID_CHARS) out.quoted_id = quotedId;
  out.is_group = isGroup;
  if (mediaLike) {
    const media = mediaInfo(read);
    if (media) out.media = media;
  }
  const subtype = nonEmptyString(read("subtype"));
  if (subtype && WACRM_SCHEMA_TYPE.test(subtype)) out.subtype = subtype;
  if (read("isNotification") === true || WACRM_NOTIFICATION_TYPES.indexOf(type) !== -1) out.is_notification = true;
  if (read("isForwarded") === true) out.is_forwarded = true;
  const editedAt = toMillis(read("latestEditSenderTimestampMs"));
  if (editedAt) out.latest_edit_ms = editedAt;
  if (type === "location") {
    const location = locationInfo(read);
    if (location) out.location = location;
  }
  if (type === "vcard" || type === "multi_vcard") {
    const vcards = vcardsOf(read, type);
    if (vcards) out.vcards = vcards;
  }
  if (type === "poll_creation") {
    const poll = pollInfo(read);
    if (poll) out.poll = poll;
  }
  const mentioned = mentionsOf(read);
  if (mentioned) out.mentioned = mentioned;
  if (kind === "user" && c && typeof c.lookupLid === "function") {
    let lid = null;
    try {
      lid = normalizeWid(c.lookupLid(chatId));
    } catch (_e) {
      lid = null;
    }
    if (lid && chatKind(lid) === "lid" && isSchemaWid(lid)) out.chat_lid = lid;
  }
  return out;
}

function chatDisplayName(read) {
  const direct = nonEmptyString(read("formattedTitle")) || nonEmptyString(read("name"));
  if (direct) return direct;
  const contact = read("contact");
  if (contact && typeof contact === "object") {
    return (
      nonEmptyString(readAttr(contact, "name")) ||
      nonEmptyString(readAttr(contact, "verifiedName")) ||
      nonEmptyString(readAttr(contact, "pushname")) ||
      nonEmptyString(readAttr(contact, "formattedName"))
    );
  }
  return undefined;
}

/** Chat model (or null) → `active_chat` data: {chat_id, name, phone, is_group}. */
function serializeActiveChat(chat, ctx) {
  const none = { chat_id: null, name: null, phone: null, is_group: false };
  if (!chat || typeof chat !== "object") return none;
  const read = makeReader(chat);
  const id = normalizeWid(read("id"));
  // A chat Python cannot accept (e.g. @bot) is reported as "no chat", never as the previous one.
  if (!id || !isSchemaWid(id)) return none;
  const name = chatDisplayName(read);
  return {
    chat_id: sanitizeString(id),
    name: name ? clipString(name, WACRM_MAX_NAME_UNITS) : null,
    phone: chatPhone(id, ctx) || null,
    is_group: chatKind(id) === "group",
  };
}

// ---------------------------------------------------------------------------------------------
// Login state

const WACRM_BLOCKED_STATES = ["CONFLICT", "TIMEOUT", "PROXYBLOCK", "TOS_BLOCK", "SMB_TOS_BLOCK", "DEPRECATED_VERSION"];

/**
 * Socket.state + Stream.mode (+ Socket.hasSynced) → loading|qr|connecting|connected|phone_offline.
 * `logged_out` is never derived from these values: it comes from Cmd logout events or the
 * `post_logout=1` navigation, which the bridge tracks itself.
 */
function mapLoginState(socketState, streamMode, hasSynced) {
  const s = typeof socketState === "string" ? socketState.toUpperCase() : null;
  const m = typeof streamMode === "string" ? streamMode.toUpperCase() : null;
  if (s === "UNPAIRED" || s === "UNPAIRED_IDLE") return "qr";
  if (s === "PAIRING") return "connecting"; // QR just scanned; Stream.mode may still say QR
  if (s && WACRM_BLOCKED_STATES.indexOf(s) !== -1) return "phone_offline";
  if (m === "QR") return s === "CONNECTED" ? "connecting" : "qr";
  if (m && (m === "OFFLINE" || WACRM_BLOCKED_STATES.indexOf(m) !== -1)) return "phone_offline";
  if (s === "CONNECTED") {
    if (m === "MAIN") return "connected";
    if (m === "SYNCING") return "connecting";
    return hasSynced === false ? "connecting" : "connected";
  }
  if (s === "OPENING" || s === "PAIRING") return "connecting";
  if (!s && m === "MAIN") return "connected";
  if (!s && m === "SYNCING") return "connecting";
  return "loading";
}

/**
 * Login state when neither Socket nor Stream can be read (a build renamed them): own id known →
 * logged in; otherwise the page's own screens (notes §4.2: the chat list `#pane-side`, the QR
 * canvas). `signals` = {hasMe, chatList, qr}, each a boolean read by the caller.
 */
function fallbackLoginState(signals) {
  const s = signals || {};
  if (s.hasMe || s.chatList) return "connected";
  if (s.qr) return "qr";
  return "loading";
}

// ---------------------------------------------------------------------------------------------
// Envelope

function sanitizeDeep(v, depth) {
  if (typeof v === "string") return sanitizeString(v);
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  if (v === null || typeof v === "boolean") return v;
  if (typeof v !== "object" || depth > 8) return undefined;
  if (Array.isArray(v)) return v.map((x) => {
    const y = sanitizeDeep(x, depth + 1);
    return y === undefined ? null : y;
  });
  const out = {};
  for (const k of Object.keys(v)) {
    const y = sanitizeDeep(v[k], depth + 1);
    if (y !== undefined) out[sanitizeString(k)] = y;
  }
  return out;
}

function utf8Length(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4;
      i += 1;
    } else n += 3;
  }
  return n;
}

function fitsEnvelope(s) {
  return s.length * 3 <= WACRM_MAX_ENVELOPE_BYTES || utf8Length(s) <= WACRM_MAX_ENVELOPE_BYTES;
}

/**
 * {"v": 1, "token": ..., "kind": ..., "data": {...}} as a JSON string of at most 256 KiB.
 * Strings are sanitized; a message whose body/caption would not fit is cut down; anything else
 * that does not fit gives null.
 */
function makeEnvelope(kind, data, token) {
  const env = {
    v: WACRM_ENVELOPE_VERSION,
    token: typeof token === "string" ? token : "",
    kind: String(kind),
    data: sanitizeDeep(data === undefined ? {} : data, 0),
  };
  let s = JSON.stringify(env);
  if (fitsEnvelope(s)) return s;
  const d = env.data;
  if (d && typeof d === "object") {
    for (let i = 0; i < 24; i++) {
      let cut = false;
      for (const f of ["body", "caption"]) {
        if (typeof d[f] === "string" && d[f].length > 0) {
          d[f] = clipString(d[f], Math.floor(d[f].length / 2));
          cut = true;
        }
      }
      if (!cut) break;
      s = JSON.stringify(env);
      if (fitsEnvelope(s)) return s;
    }
  }
  return null;
}

/**
 * Parse a `wacrm:command` detail: a JSON string {token, command, args}. Returns {command, args}
 * only when the token matches a non-empty expected token; null otherwise.
 */
function parseCommand(detail, expectedToken) {
  if (typeof detail !== "string" || detail.length > 1024 * 1024) return null;
  if (typeof expectedToken !== "string" || !expectedToken) return null;
  let o;
  try {
    o = JSON.parse(detail);
  } catch (_e) {
    return null;
  }
  if (!o || typeof o !== "object" || Array.isArray(o)) return null;
  if (o.token !== expectedToken) return null;
  if (typeof o.command !== "string" || !o.command) return null;
  const args = o.args && typeof o.args === "object" && !Array.isArray(o.args) ? o.args : {};
  return { command: o.command, args };
}

if (typeof module === "object" && module && module.exports) {
  module.exports = {
    WACRM_LOGIN_STATES,
    WACRM_MAX_ENVELOPE_BYTES,
    WACRM_MAX_TEXT_UNITS,
    sanitizeString,
    clipString,
    looksLikeThumbnail,
    isSchemaWid,
    isSchemaMsgId,
    readAttr,
    makeReader,
    widToString,
    normalizeWid,
    msgKeyFromParts,
    msgKeyToString,
    parseMsgId,
    isOwnId,
    phoneFromWid,
    phoneFromLookup,
    chatKind,
    chatPhone,
    shouldIgnoreChat,
    serializeMessage,
    serializeActiveChat,
    revokeData,
    editData,
    protocolEditData,
    receiptAcks,
    ackValue,
    canonicalMsgId,
    reactionData,
    isNonMessageType,
    locationInfo,
    mapLoginState,
    fallbackLoginState,
    makeEnvelope,
    parseCommand,
    utf8Length,
  };
}
