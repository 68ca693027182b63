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
