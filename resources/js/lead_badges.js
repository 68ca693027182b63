/*
 * Lead situação badges in WhatsApp Web's chat list. ApplicationWorld (isolated): WhatsApp's
 * own scripts never see this code; the DOM is shared, so the badges still show up.
 *
 * Read-only: it adds small <span>s next to chat titles and never touches WhatsApp's state.
 * Python drives it with page.runJavaScript(…, ApplicationWorld):
 *   window.__wacrmLeadBadges.set({ids: {chatId: badge}, titles: {title: badge}})
 *   window.__wacrmLeadBadges.visible() -> [{title, id}] of the rows currently on screen
 * where badge = {label, color}. Rows are matched by `data-id` (when WhatsApp puts a chat id on
 * a row) or by the title text. WhatsApp's DOM drifts: every lookup is guarded and a miss only
 * means no badge.
 */
(function () {
  "use strict";

  const ROW_SELECTORS = [
    '#pane-side [role="row"]',
    '#pane-side [role="listitem"]',
    '[aria-label="Lista de conversas"] [role="row"]',
    '[aria-label="Chat list"] [role="row"]',
  ];
  const BADGE_ATTR = "data-wacrm-badge";
  const ID_RE = /([0-9]{6,20}@(c\.us|s\.whatsapp\.net|lid|g\.us))/;

  /** Black or white text for a "#rrggbb" background. */
  function textColor(hex) {
    const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(String(hex || ""));
    if (!m) return "#000000";
    const [r, g, b] = [m[1], m[2], m[3]].map((x) => parseInt(x, 16));
    return 0.299 * r + 0.587 * g + 0.114 * b > 160 ? "#000000" : "#ffffff";
  }

  /** A safe colour value (only #rrggbb goes into the style). */
  function safeColor(hex) {
    return /^#[0-9a-f]{6}$/i.test(String(hex || "")) ? String(hex) : "#adb5bd";
  }

  /** The chat id found on a row or its descendants' data-id attributes, if any. */
  function chatIdFromDataIds(values) {
    for (const v of values) {
      const m = ID_RE.exec(String(v || ""));
      if (m) return m[1].replace("@s.whatsapp.net", "@c.us");
    }
    return null;
  }

  /**
   * The badge's inline style. WhatsApp's chat rows have a fixed height (a virtualised list),
   * so the badge cannot take a line of its own; it never takes room from the contact's name:
   *  - "preview": at the start of the row's second line, before the last message's preview
   *    (which gives way, with its own ellipsis); the badge keeps at most half the line;
   *  - "title" (no preview found): after the name, compact, and the first thing to give way
   *    (it shrinks with an ellipsis far faster than the name, down to a coloured pill).
   */
  function badgeStyle(color, placement) {
    const background = safeColor(color);
    const flex =
      placement === "preview"
        ? "flex:0 0 auto;max-width:50%;margin:0 4px 0 0;"
        : "flex:0 40 auto;min-width:12px;max-width:45%;margin:0 0 0 4px;";
    return (
      "display:inline-block;" + flex +
      "overflow:hidden;text-overflow:ellipsis;white-space:nowrap;vertical-align:middle;" +
      "box-sizing:border-box;padding:0 5px;border-radius:8px;" +
      "font-size:10.5px;line-height:15px;pointer-events:none;" +
      "background:" + background + ";color:" + textColor(background) + ";"
    );
  }

  /** The badge for a row: by chat id first, then by exact title. */
  function badgeFor(state, title, id) {
    if (id && state.ids && Object.prototype.hasOwnProperty.call(state.ids, id)) {
      return state.ids[id];
    }
    if (title && state.titles && Object.prototype.hasOwnProperty.call(state.titles, title)) {
      return state.titles[title];
    }
    return null;
  }

  const helpers = { textColor, safeColor, badgeStyle, chatIdFromDataIds, badgeFor };
  if (typeof module !== "undefined" && module && module.exports) {
    module.exports = helpers; // node tests; `module` is shadowed to undefined in the page
    return;
  }
  if (typeof window === "undefined" || window.__wacrmLeadBadges) return; // run once

  const state = { ids: {}, titles: {} };
  let scheduled = false;

  function rows() {
    for (const sel of ROW_SELECTORS) {
      try {
        const found = document.querySelectorAll(sel);
        if (found.length) return Array.from(found);
      } catch (_e) {
        /* selector unsupported: try the next */
      }
    }
    return [];
  }

  const NOT_OURS = ":not([" + BADGE_ATTR + "])";

  function titleEl(row) {
    return (
      row.querySelector('span[dir="auto"][title]' + NOT_OURS) ||
      row.querySelector("span[title]" + NOT_OURS) ||
      row.querySelector("[title]" + NOT_OURS)
    );
  }

  /** The last message's preview: another titled span of the row, outside the name. */
  function previewEl(row, nameEl) {
    const spans = row.querySelectorAll("span[title]" + NOT_OURS);
    for (const span of spans) {
      if (span !== nameEl && !span.contains(nameEl) && !nameEl.contains(span)) return span;
    }
    return null;
  }

  function describe(row) {
    const el = titleEl(row);
    const title = el ? (el.getAttribute("title") || el.textContent || "").trim() : "";
    const dataIds = [row.getAttribute("data-id")];
    row.querySelectorAll("[data-id]").forEach((n) => dataIds.push(n.getAttribute("data-id")));
    return { el, title, id: chatIdFromDataIds(dataIds) };
  }

  function paint(row) {
    const { el, title, id } = describe(row);
    const existing = row.querySelector("[" + BADGE_ATTR + "]");
    const badge = el ? badgeFor(state, title, id) : null;
    if (!badge || !badge.label) {
      if (existing) existing.remove();
      return;
    }
    const label = String(badge.label).slice(0, 40);
    const color = safeColor(badge.color);
    const preview = previewEl(row, el);
    const placement = preview ? "preview" : "title";
    const key = label + "|" + color + "|" + placement;
    const placed = existing
      ? preview
        ? existing.nextElementSibling === preview
        : el.nextElementSibling === existing
      : false;
    if (placed && existing.getAttribute(BADGE_ATTR) === key) return;
    const span = existing || document.createElement("span");
    span.setAttribute(BADGE_ATTR, key);
    span.className = "wacrm-lead-badge";
    span.textContent = label;
    span.style.cssText = badgeStyle(color, placement);
    if (!placed) {
      if (preview) preview.insertAdjacentElement("beforebegin", span);
      else el.insertAdjacentElement("afterend", span);
    }
  }

  function apply() {
    scheduled = false;
    try {
      rows().forEach((row) => {
        try {
          paint(row);
        } catch (_e) {
          /* one odd row must not stop the others */
        }
      });
    } catch (_e) {
      /* degrade silently */
    }
  }

  function schedule() {
    if (scheduled) return;
    scheduled = true;
    setTimeout(apply, 120);
  }

  function isOurs(node) {
    return node && node.nodeType === 1 && node.hasAttribute && node.hasAttribute(BADGE_ATTR);
  }

  function observe() {
    try {
      const obs = new MutationObserver((records) => {
        for (const r of records) {
          const nodes = Array.from(r.addedNodes).concat(Array.from(r.removedNodes));
          if (nodes.length === 0 || !nodes.every(isOurs)) {
            schedule();
            return;
          }
        }
      });
      obs.observe(document.documentElement || document, { childList: true, subtree: true });
    } catch (_e) {
      /* no observer: badges still follow set() calls */
    }
  }

  window.__wacrmLeadBadges = {
    set(data) {
      try {
        state.ids = (data && data.ids) || {};
        state.titles = (data && data.titles) || {};
        apply();
      } catch (_e) {
        /* degrade silently */
      }
      return 1; // a number: PySide6 mishandles booleans coming back from runJavaScript
    },
    visible() {
      const out = [];
      try {
        const height = window.innerHeight || 0;
        rows().forEach((row) => {
          const rect = row.getBoundingClientRect ? row.getBoundingClientRect() : null;
          // Rows scrolled out of view are skipped; without a viewport, all rows count.
          if (height > 0 && rect && (rect.bottom < 0 || rect.top > height)) return;
          const { title, id } = describe(row);
          if (title || id) out.push({ title, id });
        });
      } catch (_e) {
        /* degrade silently */
      }
      return out.slice(0, 80);
    },
    count() {
      return document.querySelectorAll("[" + BADGE_ATTR + "]").length;
    },
  };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", observe, { once: true });
  } else {
    observe();
  }
})();
