"""The WhatsApp Web simulator page in a real QtWebEngine (offscreen).

Checks that the page looks like WhatsApp Web *to an injected bridge* (whatsapp-web-bridge.md
§1–§4, §7): module system and progressive registration, modules/collections/events, ids, login
flow, session persistence across reloads and profile objects, logout, and the DOM fallback.
A small probe script injected at DocumentCreation (MainWorld) plays the bridge: it traps `__d`
and records what it sees, so the test also proves the page copes with pre-existing globals.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QUrl
from PySide6.QtWebEngineCore import (
    QWebEnginePage,
    QWebEngineProfile,
    QWebEngineProfileBuilder,
    QWebEngineScript,
)
from PySide6.QtWebEngineWidgets import QWebEngineView

from wacrm_desktop.simulators.whatsapp import WhatsAppSimulator

pytestmark = pytest.mark.webengine

QR_LABELS = ("Scan this QR code to link a device!", "Escaneie o QR code para conectar um aparelho")

# What a bridge injected at DocumentCreation might do: trap the loader's setter, poll the graph.
PROBE_JS = r"""
(function () {
  if (window.__probe) return;
  const t0 = performance.now();
  const probe = (window.__probe = {
    defined: [], counts: [], states: [], versionAt: null, loaderAt: null,
  });
  window.Debug = { build: "pre-existing" };
  let realD;
  Object.defineProperty(window, "__d", {
    configurable: true,
    enumerable: true,
    get() { return realD; },
    set(fn) {
      if (probe.loaderAt === null) probe.loaderAt = performance.now() - t0;
      realD = function (name) { probe.defined.push(name); return fn.apply(this, arguments); };
    },
  });
  setInterval(function () {
    try {
      const map = window.require("__debug").modulesMap;
      const n = Object.keys(map).length;
      if (probe.counts[probe.counts.length - 1] !== n) probe.counts.push(n);
      if (probe.versionAt === null && window.Debug && window.Debug.VERSION) {
        probe.versionAt = performance.now() - t0;
      }
      if (map.WAWebSocketModel) {
        const s = window.require("WAWebSocketModel").Socket.state;
        if (probe.states[probe.states.length - 1] !== s) probe.states.push(s);
      }
    } catch (e) { /* not yet */ }
  }, 15);
})();
"""


class _Page(QWebEnginePage):
    """Keeps the page's console output (errors are asserted on)."""

    def __init__(self, profile: QWebEngineProfile) -> None:
        super().__init__(profile)
        self.console: list[tuple[int, str]] = []

    def javaScriptConsoleMessage(
        self,
        level: QWebEnginePage.JavaScriptConsoleMessageLevel,
        message: str,
        line: int,
        source: str,
    ) -> None:
        self.console.append((int(level.value), message))


class Browser:
    """A shown QWebEngineView on a named, disk-backed profile, with the probe script."""

    _ids = itertools.count()

    def __init__(self, qtbot: Any, storage: Path, name: str) -> None:
        self.qtbot = qtbot
        builder = QWebEngineProfileBuilder()
        builder.setPersistentStoragePath(str(storage / "s"))
        builder.setCachePath(str(storage / "c"))
        builder.setPersistentCookiesPolicy(
            QWebEngineProfile.PersistentCookiesPolicy.ForcePersistentCookies
        )
        self.profile = builder.createProfile(name, None)
        script = QWebEngineScript()
        script.setName("probe")
        script.setSourceCode(PROBE_JS)
        script.setInjectionPoint(QWebEngineScript.InjectionPoint.DocumentCreation)
        script.setWorldId(QWebEngineScript.ScriptWorldId.MainWorld)
        script.setRunsOnSubFrames(False)
        self.profile.scripts().insert(script)
        self.page = _Page(self.profile)
        self.view = QWebEngineView()
        self.view.setPage(self.page)
        self.view.resize(1100, 760)
        self.view.show()  # hidden pages get throttled timers

    def close(self) -> None:
        # Page before profile, or WebEngine crashes.
        for obj in (self.view, self.page, self.profile):
            if obj is not None and shiboken6.isValid(obj):
                shiboken6.delete(obj)
        self.view = self.page = self.profile = None  # type: ignore[assignment]

    def load(self, url: str) -> None:
        with self.qtbot.waitSignal(self.page.loadFinished, timeout=15000):
            self.page.load(QUrl(url))

    def js(self, expr: str, timeout: float = 5.0) -> Any:
        """Evaluates a JS expression; returns its JSON value; raises on a JS exception."""
        code = (
            "(function(){try{return JSON.stringify({ok:(" + expr + ")})}"
            "catch(e){return JSON.stringify({error:String(e&&e.stack||e)})}})()"
        )
        box: list[Any] = []
        self.page.runJavaScript(code, 0, box.append)
        self.qtbot.waitUntil(lambda: bool(box), timeout=int(timeout * 1000))
        result = json.loads(box[0]) if isinstance(box[0], str) else {"ok": None}
        if "error" in result:
            raise AssertionError(f"JS error in {expr!r}: {result['error']}")
        return result.get("ok")

    def js_async(self, expr: str, timeout: float = 5.0) -> Any:
        """Awaits a JS expression that yields a Promise (or a value)."""
        n = next(self._ids)
        self.js(
            "(window.__tr = window.__tr || {}, Promise.resolve().then(() => (" + expr + ")).then("
            f"v => {{ window.__tr[{n}] = {{ok: v === undefined ? null : v}}; }},"
            f"e => {{ window.__tr[{n}] = {{error: String(e && e.stack || e)}}; }}), 0)"
        )
        result = self.wait_for(f"window.__tr && window.__tr[{n}]", timeout)
        if "error" in result:
            raise AssertionError(f"JS rejection in {expr!r}: {result['error']}")
        return result["ok"]

    def wait_for(self, expr: str, timeout: float = 8.0) -> Any:
        """Polls a JS expression until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        value: Any = None
        while time.monotonic() < deadline:
            try:
                value = self.js(expr)
            except AssertionError:
                value = None
            if value:
                return value
            self.qtbot.wait(25)
        raise AssertionError(f"timed out waiting for {expr!r} (last value {value!r})")

    def wait_main(self) -> dict[str, Any]:
        return self.wait_for(
            "(() => { const i = __waSimControl.info();"
            " return i.state === 'CONNECTED' && i.streamMode === 'MAIN' ? i : null })()"
        )

    def errors(self) -> list[str]:
        level = QWebEnginePage.JavaScriptConsoleMessageLevel.ErrorMessageLevel.value
        return [m for lvl, m in self.page.console if lvl == level]


@pytest.fixture(scope="module")
def simulator() -> Iterator[WhatsAppSimulator]:
    with WhatsAppSimulator() as sim:
        yield sim


@pytest.fixture
def browsers(qtbot: Any, tmp_path: Path) -> Iterator[Any]:
    made: list[Browser] = []

    def make(name: str = "wa-sim", storage: Path | None = None) -> Browser:
        b = Browser(qtbot, storage or tmp_path, name)
        made.append(b)
        return b

    yield make
    for b in reversed(made):
        b.close()


# Defined in the page as a helper for the test's JS snippets (not part of the simulator).
HELPERS = """(window.T = {
  M: (n) => require(n),
  coll: () => require('WAWebCollections'),
  wid: (s) => require('WAWebWidFactory').createWid(s),
  chat: (s) => require('WAWebCollections').Chat.get(s),
}, true)"""


def test_module_system_registers_progressively_and_shows_qr(
    browsers: Any, simulator: WhatsAppSimulator
) -> None:
    b = browsers()
    b.load(simulator.url + "?controls=1&qrms=250")
    b.wait_for("window.__probe.states.includes('UNPAIRED')")
    probe = b.js("window.__probe")
    # The trap saw the loader's assignment and every WA definition, in several steps.
    assert probe["loaderAt"] is not None and probe["versionAt"] is not None
    assert probe["loaderAt"] <= probe["versionAt"]
    for name in ("WAWebCollections", "WAWebSocketModel", "WAWebUserPrefsMeUser", "WAWebMsgKey"):
        assert name in probe["defined"]
    assert len(probe["counts"]) >= 3 and probe["counts"] == sorted(probe["counts"])
    assert probe["states"][0] in ("UNLAUNCHED", "OPENING") and probe["states"][-1] == "UNPAIRED"

    assert re.fullmatch(r"2\.3000\.10\d{8}", b.js("window.Debug.VERSION"))
    assert b.js("window.Debug.build") == "pre-existing"
    assert b.js(
        "(() => { try { require('WAWebNoSuchModule'); return false } catch (e) { return true } })()"
    )
    names = b.js("Object.keys(require('__debug').modulesMap)")
    for name in (
        "WAWebCollections", "WAWebSocketModel", "WAWebConnModel", "WAWebCmd", "WAWebStreamModel",
        "WAWebUserPrefsMeUser", "WAWebWidFactory", "WAWebWid", "WAWebMsgKey",
        "WAWebSendMsgChatAction", "WAWebFindChatAction", "WAWebChatLoadMessages",
        "WAWebApiContact", "WAWebQueryExistsJob", "WAWebChatGetters",
    ):  # fmt: skip
        assert name in names, name
    assert b.js(HELPERS)
    assert b.js("typeof T.M('WAWebMsgKey') === 'function'")
    assert b.js("Object.keys(T.coll()).sort()") == ["Chat", "Contact", "GroupMetadata", "Msg"]
    assert b.js("T.M('WAWebStreamModel').Stream.mode") == "QR"
    assert b.js("T.M('WAWebSocketModel').Socket.hasSynced") is False
    assert b.js("T.M('WAWebCmd').Cmd.isMainLoaded") is False
    assert b.js("T.M('WAWebUserPrefsMeUser').getMaybeMePnUser() === undefined")
    assert b.js("T.M('WAWebUserPrefsMeUser').getMaybeMeLidUser() === undefined")
    assert re.fullmatch(r"3EB0[0-9A-F]{16}", b.js_async("T.M('WAWebMsgKey').newId()"))

    # Login panel: the QR canvas with its (language-dependent) label; the ref rotates.
    label = b.js("document.querySelector('#app canvas').getAttribute('aria-label')")
    pt = b.js("navigator.language.toLowerCase().startsWith('pt')")
    assert label == QR_LABELS[1 if pt else 0]
    assert b.js("document.querySelector('#pane-side') === null")
    b.js(
        "(window.__refs = [], T.M('WAWebConnModel').Conn.on('change:ref', "
        "(c, ref) => window.__refs.push(ref)), true)"
    )
    b.wait_for("window.__refs.length >= 2", timeout=3)
    refs = b.js("window.__refs")
    assert refs[0] != refs[1] and all(isinstance(r, str) and r for r in refs)
    # After a few refs the QR expires (UNPAIRED_IDLE); "reload QR" (Cmd.refreshQR) brings it back.
    b.wait_for("T.M('WAWebSocketModel').Socket.state === 'UNPAIRED_IDLE'", timeout=4)
    assert b.js("document.querySelector('#app canvas').hidden") is True
    b.js("document.querySelector('#app button.qr-reload').click()")
    assert b.wait_for("T.M('WAWebSocketModel').Socket.state") == "UNPAIRED"
    assert b.js("!document.querySelector('#app canvas').hidden && !!T.M('WAWebConnModel').Conn.ref")

    # Test controls bar (?controls=1): scan, then make a contact write.
    assert (
        b.js("document.querySelector('#sim-controls').getAttribute('aria-label')")
        == "Simulador — controles de teste"
    )
    buttons = b.js("[...document.querySelectorAll('#sim-controls button')].map(x => x.textContent)")
    assert {"Receber mensagem", "Enviar do celular", "Escanear QR"} <= set(buttons)
    b.js(
        "[...document.querySelectorAll('#sim-controls button')]"
        ".find(x => x.textContent === 'Escanear QR').click()"
    )
    b.wait_main()
    b.wait_for("document.querySelector('#sim-contact').options.length > 0")
    b.js("(document.querySelector('#sim-contact').value = 'lucas', true)")
    b.js(
        "[...document.querySelectorAll('#sim-controls button')]"
        ".find(x => x.textContent === 'Receber mensagem').click()"
    )
    assert b.wait_for("T.chat('5511990010004@c.us').unreadCount") == 1
    assert b.errors() == []


def test_login_session_survives_reload_and_new_profile_then_phone_logout(
    browsers: Any, simulator: WhatsAppSimulator, tmp_path: Path
) -> None:
    b = browsers("persist")
    b.load(simulator.url + "?controls=1")
    b.wait_for("window.__probe.states.includes('UNPAIRED')")
    assert b.js(HELPERS)
    b.js(
        "(window.__ev = [],"
        " T.M('WAWebSocketModel').Socket.on('change:state', (s, v) => __ev.push('state:' + v))"
        ".on('change:hasSynced', (s, v) => __ev.push('synced:' + v)),"
        " T.M('WAWebStreamModel').Stream.on('change:mode', (s, v) => __ev.push('mode:' + v)),"
        " T.M('WAWebCmd').Cmd.on('main_loaded', () => __ev.push('main_loaded')), true)"
    )
    b.js("document.querySelector('#app canvas').click()")  # "scan" = click the QR
    info = b.wait_main()
    events = b.js("__ev")
    assert events.index("state:PAIRING") < events.index("state:CONNECTED")
    assert events.index("synced:true") < events.index("mode:MAIN") < events.index("main_loaded")
    me = info["me"]
    assert re.fullmatch(r"55119\d{8}@c\.us", me["pn"])
    assert re.fullmatch(r"\d{15}@lid", me["lid"])
    assert b.js("T.M('WAWebUserPrefsMeUser').getMaybeMePnUser().toString()") == me["pn"]
    assert b.js("T.M('WAWebUserPrefsMeUser').getMaybeMeLidUser().toString()") == me["lid"]
    assert b.js("T.M('WAWebCmd').Cmd.isMainLoaded") is True
    assert b.wait_for("document.querySelector('#pane-side') !== null")
    assert b.js("document.querySelector('#app canvas') === null")
    assert me["pn"].split("@")[0] in b.js("localStorage.getItem('last-wid-md')")
    assert "wawc" in b.js_async("indexedDB.databases().then(l => l.map(d => d.name))")
    kept = b.js("__waSimControl.receive('mariana', 'Guardada no aparelho')")
    gone = b.js("__waSimControl.receive('mariana', 'Apagada para mim')")
    assert b.js(f"(window.__rm = [], T.coll().Msg.on('remove', m => __rm.push(m.id.toString())),"
                f" __waSimControl.deleteForMe('{gone}'), __rm)") == [gone]  # fmt: skip
    # One second's messages (random ids): a reload keeps the order they came in.
    burst = b.js(
        "[0, 1, 2, 3, 4].map(i =>"
        " __waSimControl.receive('mariana', 'rajada ' + i, {t: 1765000000}))"
    )
    b.qtbot.wait(150)  # messages are written to IndexedDB in small batches

    # Reload: OPENING → CONNECTED with no QR in between; the session's messages are still there.
    b.load(simulator.url + "?controls=1")
    info = b.wait_main()
    assert info["me"] == me
    assert b.js(
        f"(() => {{ const m = require('WAWebCollections').Msg.get('{kept}');"
        " return m && [m.body, m.isNewMsg, m.from.toString()] })()"
    ) == ["Guardada no aparelho", False, "5511990010001@c.us"]
    assert b.js(f"require('WAWebCollections').Msg.get('{gone}') === undefined")
    order = b.js(
        "require('WAWebCollections').Chat.get('5511990010001@c.us').msgs.getModelsArray()"
        ".map(m => m.id.toString())"
    )
    assert [i for i in order if i in burst] == burst
    states = b.js("window.__probe.states")
    assert "UNPAIRED" not in states and "OPENING" in states, states
    assert b.wait_for("document.querySelector('#pane-side') !== null")
    first_errors = b.errors()

    # A new profile object on the same storage path: still logged in.
    b.close()
    b2 = browsers("persist", storage=tmp_path)
    b2.load(simulator.url + "?controls=1")
    info = b2.wait_main()
    assert info["me"] == me
    assert "UNPAIRED" not in b2.js("window.__probe.states")

    # Logout from the phone: both Cmd events, storage wiped, post_logout=1 (other params kept).
    b2.js(
        "(require('WAWebCmd').Cmd.on('logout', () => console.log('EVT logout'))"
        ".on('logout_from_bridge', () => console.log('EVT logout_from_bridge')), true)"
    )
    b2.js("__waSimControl.logoutFromPhone()")
    b2.wait_for("location.search.includes('post_logout=1')")
    assert b2.js("new URLSearchParams(location.search).get('controls')") == "1"
    b2.wait_for("window.__probe.states.includes('UNPAIRED')")
    messages = [m for _, m in b2.page.console]
    assert "EVT logout" in messages and "EVT logout_from_bridge" in messages
    assert b2.js("localStorage.getItem('last-wid-md')") is None
    assert "wawc" not in b2.js_async("indexedDB.databases().then(l => l.map(d => d.name))")
    assert b2.js("__waSimControl.info().me") is None
    assert b2.js("document.querySelector('#app canvas') !== null")
    assert first_errors == [] and b2.errors() == []


def test_collections_events_ids_and_dom(browsers: Any, simulator: WhatsAppSimulator) -> None:
    b = browsers()
    b.load(simulator.url)
    b.wait_for("window.__waSimControl && __waSimControl.info().state === 'UNPAIRED'")
    b.js("(__waSimControl.scanQr(), true)")
    info = b.wait_main()
    me = info["me"]
    assert b.js(HELPERS)
    keys = {c["key"] for c in info["chats"]}
    assert {"mariana", "carlos", "joana", "lucas", "lid_known", "lid_unknown", "plantao"} <= keys

    # Models are Backbone-like, not plain JSON; serialize() is a plain copy with id objects.
    assert b.js(
        "(() => { const c = T.chat('5511990010001@c.us');"
        " return Object.getPrototypeOf(c) !== Object.prototype && '__x_formattedTitle' in c"
        " && typeof c.on === 'function' && c.msgs.getModelsArray().length === 3 })()"
    )
    snap = b.js(
        "(() => { const s = T.chat('5511990010001@c.us').serialize();"
        " return {id: s.id.toString(), idIsObj: typeof s.id === 'object',"
        " title: s.formattedTitle, contactName: s.contact.name, unread: s.unreadCount,"
        " active: s.active, isGroup: s.isGroup} })()"
    )
    assert snap == {
        "id": "5511990010001@c.us", "idIsObj": True, "title": "Mariana Souza",
        "contactName": "Mariana Souza", "unread": 0, "active": False, "isGroup": False,
    }  # fmt: skip
    preload = b.js(
        "T.chat('5511990010001@c.us').msgs.getModelsArray()"
        ".map(m => [m.id.toString(), m.isNewMsg, m.t > 0, m.from.toString()])"
    )
    assert all(
        p[0].startswith(("true_5511990010001@c.us_", "false_5511990010001@c.us_")) for p in preload
    )
    assert all(p[1] is False and p[2] for p in preload)
    assert b.js("T.chat('120363041122334455@g.us').groupMetadata.participants.length") == 3

    # Wid and MsgKey.
    wid = b.js(
        "(() => { const w = T.wid('551190010002@c.us');"
        " return [w.user, w.server, w._serialized, w.toString(),"
        " w.isUser(), w.isLid(), w.isGroup(),"
        " T.wid('1@lid').isLid(), T.wid('120363041122334455@g.us').isGroup(),"
        " T.wid('status@broadcast').isStatus(), T.wid('1@newsletter').isNewsletter(),"
        " w.equals(T.wid('551190010002@c.us'))] })()"
    )
    wid_str = "551190010002@c.us"
    assert wid[:7] == ["551190010002", "c.us", wid_str, wid_str, True, False, False]
    assert wid[7:] == [True, True, True, True, True]
    key = "false_120363041122334455@g.us_3A1234_551190010002@c.us"
    parsed = b.js(
        f"(() => {{ const k = T.M('WAWebMsgKey').fromString('{key}');"
        " return [k.fromMe, k.remote.toString(), k.id, k.participant.toString(),"
        " k._serialized, k.toString()] })()"
    )
    assert parsed == [False, "120363041122334455@g.us", "3A1234", "551190010002@c.us", key, key]

    # Incoming 1:1 message: Msg `add` with isNewMsg, unread++, page title.
    b.js(
        "(window.__adds = [], window.__unread = [], window.__active = [], window.__acks = [],"
        " T.coll().Msg.on('add', m => __adds.push({id: m.id.toString(), isNew: m.isNewMsg,"
        "   fromMe: m.id.fromMe, body: m.body, type: m.type})),"
        " T.coll().Msg.on('change:ack', (m, ack, old) => __acks.push([m.id.toString(), ack, old])),"
        " T.coll().Chat.on('change:unreadCount',"
        "   c => __unread.push([c.id.toString(), c.unreadCount])),"
        " T.coll().Chat.on('change:active', c => __active.push([c.id.toString(), c.active])), true)"
    )
    mid = b.js("__waSimControl.receive('lucas', 'Oi, tudo bem?')")
    assert mid.startswith("false_5511990010004@c.us_")
    assert b.js("__adds")[-1] == {
        "id": mid, "isNew": True, "fromMe": False, "body": "Oi, tudo bem?", "type": "chat"
    }  # fmt: skip
    msg = b.js(
        f"(() => {{ const m = T.coll().Msg.get('{mid}');"
        " return [m.from.toString(), m.to.toString(), m.author, m.notifyName, m.ack,"
        " typeof m.t, m.clientReceivedTsMillis > m.t * 1000 - 5000, m.isNotification] })()"
    )
    assert msg == ["5511990010004@c.us", me["pn"], None, "Lucas", 0, "number", True, False]
    assert b.js("__unread") == [["5511990010004@c.us", 1]]
    assert b.wait_for("document.title === '(2) WhatsApp' && document.title")  # joana 2 + lucas

    # Group message: author and 4-part id.
    gid = b.js("__waSimControl.receive('plantao', 'Bom dia!', {author: 'carlos'})")
    assert gid.startswith("false_120363041122334455@g.us_") and gid.endswith("_551190010002@c.us")
    assert b.js(
        f"(() => {{ const m = T.coll().Msg.get('{gid}');"
        " return [m.from.toString(), m.author.toString(), m.id.participant.toString()] })()"
    ) == ["120363041122334455@g.us", "551190010002@c.us", "551190010002@c.us"]

    # Opening the chat from code: change:active, unread reset, #main with the rows.
    b.js_async("T.M('WAWebCmd').Cmd.openChatBottom({chat: T.chat('5511990010004@c.us')})")
    assert ["5511990010004@c.us", True] in b.js("__active")
    assert b.js("T.chat('5511990010004@c.us').unreadCount") == 0
    assert b.wait_for("document.querySelector('#main header span[title]')?.textContent") == (
        "Lucas (sem lead)"
    )
    row = b.wait_for(
        f"(() => {{ const r = document.querySelector('#main [data-id=\"{mid}\"]');"
        " return r && [r.classList.contains('message-in'),"
        " r.querySelector('span.selectable-text').innerText] })()"
    )
    assert row == [True, "Oi, tudo bem?"]

    # Sending the way a bridge does (notes §6): key, attrs, addAndSendMsgToChat → 2 promises.
    sent = b.js_async(
        "(async () => { const chat = T.chat('5511990010004@c.us');"
        " const MsgKey = T.M('WAWebMsgKey');"
        " const from = T.M('WAWebUserPrefsMeUser').getMaybeMePnUser();"
        " const key = new MsgKey({from, to: chat.id, id: await MsgKey.newId(), selfDir: 'out'});"
        " const r = T.M('WAWebSendMsgChatAction').addAndSendMsgToChat(chat, {id: key, ack: 0,"
        "   body: 'Olá do bridge', from, to: chat.id, local: true, self: 'out',"
        "   t: Math.floor(Date.now() / 1000), isNewMsg: true, type: 'chat'});"
        " const added = await r[0]; const res = await r[1];"
        " return [Array.isArray(r) && r.length, key.toString(), added.id.toString(), !!res] })()"
    )
    assert sent[0] == 2 and sent[1] == sent[2] and sent[3] is True
    assert sent[1].startswith("true_5511990010004@c.us_3EB0")
    b.wait_for(f"__acks.some(a => a[0] === '{sent[1]}' && a[1] === 2)", timeout=4)
    acks = [a[1:] for a in b.js("__acks") if a[0] == sent[1]]
    assert acks == [[1, 0], [2, 1]]
    assert {
        "id": sent[1],
        "isNew": True,
        "fromMe": True,
        "body": "Olá do bridge",
        "type": "chat",
    } in b.js("__adds")

    # DOM composer: text inserted with an input event, then the send icon; Enter sends too.
    b.js("(document.querySelector('#main footer [contenteditable=\"true\"]').focus(),"
         " document.execCommand('insertText', false, 'Pelo compositor'))")  # fmt: skip
    b.js("document.querySelector('#main footer span[data-icon=\"send\"]').click()")
    b.wait_for("__adds.some(a => a.body === 'Pelo compositor' && a.fromMe && a.isNew)")
    b.js("(document.querySelector('#main footer [contenteditable=\"true\"]').focus(),"
         " document.execCommand('insertText', false, 'Com Enter'))")  # fmt: skip
    b.js(
        "document.querySelector('#main footer [contenteditable=\"true\"]').dispatchEvent("
        "new KeyboardEvent('keydown', {key: 'Enter', bubbles: true, cancelable: true}))"
    )
    b.wait_for("__adds.some(a => a.body === 'Com Enter' && a.fromMe)")
    b.wait_for(
        "document.querySelectorAll("
        "'#main .message-out[data-id^=\"true_5511990010004@c.us_\"]').length >= 3"
    )
    assert (
        b.js("document.querySelector('#main footer [contenteditable=\"true\"]').textContent") == ""
    )

    # Esc closes the chat.
    b.js("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true}))")
    b.wait_for("document.querySelector('#main') === null")
    assert b.js("__active")[-1] == ["5511990010004@c.us", False]
    assert b.js("__waSimControl.info().activeChat") is None

    # Own message typed on the phone; explicit receipt.
    pid = b.js("__waSimControl.sendFromPhone('mariana', 'Enviado do celular')")
    assert pid.startswith("true_5511990010001@c.us_")
    assert {
        "id": pid,
        "isNew": True,
        "fromMe": True,
        "body": "Enviado do celular",
        "type": "chat",
    } in b.js("__adds")
    assert b.js(f"__waSimControl.setAck('{mid}', 3)") == 3
    assert [mid, 3, 0] in b.js("__acks")

    # History: loadEarlierMsgs gives a few more, then nothing.
    sizes = b.js_async(
        "(async () => { const c = T.chat('5511990010001@c.us');"
        " const L = T.M('WAWebChatLoadMessages'); const out = [];"
        " for (let i = 0; i < 4; i++) { const r = await L.loadEarlierMsgs(c, c.msgs);"
        "   out.push(r.length); if (r.some(m => m.isNewMsg)) out.push('new!'); } return out })()"
    )
    assert sizes == [3, 3, 0, 0]
    assert (
        b.js("__adds.filter(a => a.id.startsWith('false_5511990010001@c.us_') && !a.isNew).length")
        >= 1
    )

    # LID ↔ phone: unknown until the server lookup (seed "phone_known_after_lookup").
    lid = "'204617782394561@lid'"
    assert b.js(f"T.M('WAWebApiContact').getPhoneNumber(T.wid({lid})) === undefined")
    assert b.js(f"T.coll().Contact.get({lid}).phoneNumber === undefined")
    b.js_async(f"T.M('WAWebQueryExistsJob').queryWidExists(T.wid({lid}))")
    assert (
        b.js(f"T.M('WAWebApiContact').getPhoneNumber(T.wid({lid})).toString()")
        == "5511990010005@c.us"
    )
    assert b.js(f"T.coll().Contact.get({lid}).phoneNumber.toString()") == "5511990010005@c.us"
    assert b.js("T.M('WAWebApiContact').getCurrentLid(T.wid('5511990010005@c.us')).toString()") == (
        "204617782394561@lid"
    )
    b.js_async("T.M('WAWebQueryExistsJob').queryWidExists(T.wid('190233445566778@lid'))")
    assert b.js("T.M('WAWebApiContact').getPhoneNumber(T.wid('190233445566778@lid')) === undefined")

    found = b.js_async(
        "T.M('WAWebFindChatAction').findOrCreateLatestChat(T.wid('5511990010001@c.us'))"
        ".then(r => r.chat === T.chat('5511990010001@c.us'))"
    )
    assert found is True
    assert b.js(
        "[T.M('WAWebChatGetters').getIsNewsletter(T.chat('5511990010001@c.us')),"
        " T.M('WAWebChatGetters').getIsBroadcast(T.chat('5511990010001@c.us'))]"
    ) == [False, False]
    assert b.js("__waSimControl.info().readReceiptsSent") == 0
    assert b.errors() == []


def test_nokeyser_and_modules_missing(browsers: Any, simulator: WhatsAppSimulator) -> None:
    b = browsers()
    b.load(simulator.url + "?nokeyser=1&mode=modules-missing&lang=pt-BR")
    b.wait_for("window.__probe.states.includes('UNPAIRED')")
    assert b.js(HELPERS)
    assert b.js("Object.keys(T.coll()).sort()") == ["Contact", "GroupMetadata"]
    version = b.js("Debug.VERSION")
    assert int(version.split(".")[2]) >= 1042401057
    key = b.js(
        "(() => { const MsgKey = T.M('WAWebMsgKey');"
        " const k = new MsgKey({fromMe: true, remote: T.wid('5511990010001@c.us'), id: 'ABC'});"
        " return ['_serialized' in k, '_serialized' in k.remote, k.toString(), k.remote.toString(),"
        " String(T.wid('1@lid'))] })()"
    )
    assert key == [False, False, "true_5511990010001@c.us_ABC", "5511990010001@c.us", "1@lid"]
    label = b.js("document.querySelector('#app canvas').getAttribute('aria-label')")
    assert label == QR_LABELS[1]
    # The page itself keeps working without the modules a bridge would need.
    b.js("(__waSimControl.scanQr(), true)")
    b.wait_main()
    mid = b.js("__waSimControl.receive('mariana', 'sem _serialized')")
    assert mid.startswith("false_5511990010001@c.us_")
    assert b.js(f"require('WAWebMsgKey').fromString('{mid}').toString()") == mid
    assert b.errors() == []
