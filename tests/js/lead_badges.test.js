"use strict";
/* Pure helpers of lead_badges.js (the DOM part runs in a real page: tests/e2e/test_lead_panel.py). */
const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");

const badges = require(path.join(__dirname, "..", "..", "resources", "js", "lead_badges.js"));

test("text colour contrasts with the badge colour", () => {
  assert.equal(badges.textColor("#ffffff"), "#000000");
  assert.equal(badges.textColor("#0275d8"), "#ffffff");
  assert.equal(badges.textColor("nonsense"), "#000000");
});

test("only #rrggbb colours reach the style", () => {
  assert.equal(badges.safeColor("#16a085"), "#16a085");
  assert.equal(badges.safeColor("red;background:url(x)"), "#adb5bd");
  assert.equal(badges.safeColor(undefined), "#adb5bd");
});

test("chat ids are read from data-id values", () => {
  assert.equal(badges.chatIdFromDataIds([null, "false_5511990010001@c.us_3EB0"]), "5511990010001@c.us");
  assert.equal(badges.chatIdFromDataIds(["5511990010001@s.whatsapp.net"]), "5511990010001@c.us");
  assert.equal(badges.chatIdFromDataIds(["row-12", ""]), null);
});

test("badges match by chat id first, then by exact title", () => {
  const state = {
    ids: { "5511990010001@c.us": { label: "Em Atendimento" } },
    titles: { Carlos: { label: "Em Negociação" }, toString: undefined },
  };
  assert.equal(badges.badgeFor(state, "Outro", "5511990010001@c.us").label, "Em Atendimento");
  assert.equal(badges.badgeFor(state, "Carlos", null).label, "Em Negociação");
  assert.equal(badges.badgeFor(state, "carlos", null), null);
  assert.equal(badges.badgeFor(state, "constructor", null), null);
});

test("the badge never takes room from the contact's name", () => {
  // next to the last message's preview (which gives way): fixed, at most half the line
  const line = badges.badgeStyle("#0275d8", "preview");
  assert.match(line, /flex:0 0 auto;/);
  assert.match(line, /max-width:50%;/);
  // no preview found, after the name: shrinks first (40 × the name's 1), down to a pill
  const title = badges.badgeStyle("#0275d8", "title");
  assert.match(title, /flex:0 40 auto;/);
  assert.match(title, /min-width:12px;/);
  for (const style of [line, title]) {
    assert.match(style, /text-overflow:ellipsis;/);
    assert.match(style, /pointer-events:none;/);
    assert.match(style, /background:#0275d8;color:#ffffff;/);
  }
  assert.doesNotMatch(badges.badgeStyle("red;background:url(x)", "title"), /url/);
});
