"use strict";
/*
 * Contract test: every envelope wa_bridge.js emits in a busy fake session is accepted by Python's
 * validator (wacrm_desktop/core/bridge_schema.py, parse_payload). Skipped when no Python with the
 * package is available (set WACRM_PYTHON to choose the interpreter).
 */
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");

const { createPage } = require("./helpers/page.js");
const { makeWhatsApp, MsgModel, MsgKey, Wid, ContactModel } = require("./helpers/fake_wa.js");

const ROOT = path.join(__dirname, "..", "..");
const T0 = 1764500000000;
const PEER_PN = "5511990010001@c.us";
const PEER_LID = "204617782394561@lid";
const GROUP = "120363041122334455@g.us";
const THUMB = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0";

// Kinds the bridge emits that docs/architecture.md does not list yet (see resources/js/README.md).
const PENDING_KINDS = new Set([]);

const VALIDATOR = `
import json, sys
from wacrm_desktop.core.bridge_schema import parse_payload, PayloadError
token = sys.argv[1]
out = []
for line in sys.stdin:
    payload = json.loads(line)
    try:
        ev = parse_payload(payload, token)
        out.append({"ok": True, "type": type(ev).__name__})
    except PayloadError as exc:
        out.append({"ok": False, "error": str(exc)})
print(json.dumps(out))
`;

function findPython() {
  const candidates = [process.env.WACRM_PYTHON, path.join(ROOT, ".venv", "bin", "python"), path.join(ROOT, ".venv", "Scripts", "python.exe"), "python3"];
  for (const c of candidates) {
    if (!c) continue;
    if (c.includes(path.sep) && !fs.existsSync(c)) continue;
    const r = spawnSync(c, ["-c", "import wacrm_desktop.core.bridge_schema"], { cwd: ROOT, encoding: "utf8" });
    if (r.status === 0) return c;
  }
  return null;
}

const flush = async (n = 10) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

function m(attrs) {
  return new MsgModel(Object.assign({ t: Math.floor(T0 / 1000), ack: 1, isNewMsg: true, type: "chat" }, attrs));
}

async function busySession(t) {
  t.mock.timers.enable({ apis: ["setTimeout", "setInterval", "Date"], now: T0 });
  const page = createPage();
  const wa = makeWhatsApp({ socketState: "UNPAIRED", streamMode: "QR" });
  page.runBridge();
  t.mock.timers.tick(500);
  wa.installInto(page.window);
  for (let i = 0; i < 16; i++) t.mock.timers.tick(250);
  wa.Socket.set("state", "CONNECTED");
  wa.Stream.set("mode", "MAIN");

  const pn = wa.addChat(PEER_PN, { formattedTitle: "Mariana Souza" });
  const lid = wa.addChat(PEER_LID, { contact: new ContactModel({ id: new Wid(PEER_LID), pushname: "Renata" }) });
  const group = wa.addChat(GROUP, { formattedTitle: "Plantão Vendas Centro", groupMetadata: { isLidAddressingMode: true } });
  wa.serverLidToPn.set(PEER_LID, "5511990010005@c.us");

  const key = (fromMe, remote, id, participant) =>
    new MsgKey({ fromMe, remote: new Wid(remote), id, participant: participant ? new Wid(participant) : undefined });
  const incoming = [
    m({ id: key(false, PEER_PN, "A1"), body: "Olá 👋🏽 שלום", from: new Wid(PEER_PN), notifyName: "Mari" }),
    m({ id: key(false, PEER_PN, "A2"), type: "image", body: THUMB, caption: "fachada", mimetype: "image/jpeg", width: 1280, height: 720, mediaKey: "k" }),
    m({ id: key(false, PEER_PN, "A3"), type: "document", body: THUMB, caption: "a.pdf", filename: "a.pdf", size: 1234.5, mimetype: "application/pdf", directPath: "/x" }),
    m({ id: key(false, PEER_PN, "A4"), type: "ptt", body: THUMB, duration: "7", mimetype: "audio/ogg; codecs=opus", directPath: "/y" }),
    m({ id: key(false, PEER_PN, "A5"), type: "location", body: THUMB, lat: -23.5, lng: -46.6, loc: "Paulista" }),
    m({ id: key(false, PEER_PN, "A6"), type: "poll_creation", pollName: "Horário?" }),
    m({ id: key(false, PEER_PN, "A7"), body: "quebrado \uD83D", quotedStanzaID: "3EB0Q", quotedParticipant: new Wid(wa.me.lid) }),
    m({ id: key(false, PEER_LID, "B1"), body: "oi", from: new Wid(PEER_LID), to: new Wid(wa.me.pn) }),
    m({ id: key(false, GROUP, "C1", PEER_LID), body: "bom dia", from: new Wid(GROUP), author: new Wid(PEER_LID), quotedStanzaID: "Q2", quotedParticipant: new Wid(wa.me.pn) }),
    m({ id: key(true, GROUP, "C2"), body: "meu", to: new Wid(GROUP) }),
    m({ id: key(false, PEER_PN, "A8"), body: "x".repeat(70000) }),
  ];
  for (const msg of incoming) wa.Msg.add(msg);
  incoming[0].set("ack", 3);
  const cipher = m({ id: key(false, PEER_PN, "CI"), type: "ciphertext" });
  wa.Msg.add(cipher);
  cipher.__x_body = "decifrada";
  cipher.set("type", "chat");

  group.msgs.add(m({ id: key(false, GROUP, "H1", PEER_LID), body: "histórico", author: new Wid(PEER_LID), isNewMsg: false }));
  group.set("active", true);
  t.mock.timers.tick(60);
  group.set("active", false);
  lid.set("active", true);
  t.mock.timers.tick(60);
  await flush();
  lid.set("active", false);
  pn.set("active", true);
  t.mock.timers.tick(60);

  page.command({ token: page.token, command: "send_text", args: { chat_id: GROUP, text: "enviado", request_id: "r1" } });
  page.command({ token: page.token, command: "fill_composer", args: { text: "x" } });
  await flush();
  wa.Cmd.trigger("logout_from_bridge");
  return page;
}

test("every envelope the bridge emits passes core/bridge_schema.parse_payload", async (t) => {
  const python = findPython();
  if (!python) {
    t.skip("no Python with wacrm_desktop available (set WACRM_PYTHON)");
    return;
  }
  const page = await busySession(t);
  const kinds = new Set(page.events.map((e) => e.kind));
  for (const k of ["state", "health", "log", "message", "ack", "active_chat", "command_result"]) assert.ok(kinds.has(k), "scenario lacks " + k);

  const r = spawnSync(python, ["-c", VALIDATOR, page.token], {
    cwd: ROOT,
    input: page.raw.map((s) => JSON.stringify(s)).join("\n") + "\n",
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  const results = JSON.parse(r.stdout);
  assert.equal(results.length, page.raw.length);
  const rejected = [];
  results.forEach((res, i) => {
    const kind = page.events[i].kind;
    if (!res.ok && !PENDING_KINDS.has(kind)) rejected.push(kind + ": " + res.error);
  });
  assert.deepEqual(rejected, []);
  // the 70 000-char body reaches Python over its cap, so Python flags it as truncated
  assert.ok(page.of("message").some((d) => d.body && d.body.length > 65536));
});
