"""Issue 3 page-state cases on real QtWebEngine: degraded builds, ids without `_serialized`,
device unlinked (both logout spellings) and reset, renderer crash, other origins, a load whose
scripts fail.

One app (profile "Bruno") for the module; tests that change the page URL load it back.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from bridge_env import BridgeEnv, bridge_env
from helpers import APPLICATION_WORLD, run_js
from PySide6.QtCore import QUrl
from PySide6.QtWebEngineCore import (
    QWebEnginePage,
    QWebEngineUrlRequestInfo,
    QWebEngineUrlRequestInterceptor,
)
from pytestqt.qtbot import QtBot

from wacrm_desktop.core.events import HealthEvent, LogEvent, StateEvent
from wacrm_desktop.simulators.whatsapp import WhatsAppSimulator
from wacrm_desktop.ui.profile_tab import STALLED_LOAD_MS, ProfileTab
from wacrm_desktop.web.page import CRASH_RELOAD_DELAY_MS


@pytest.fixture(scope="module")
def env(
    qapp: object, mongo_uri: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BridgeEnv]:
    yield from bridge_env(tmp_path_factory.mktemp("bridge_state"), mongo_uri, ("Bruno",))


def load(qtbot: QtBot, env: BridgeEnv, query: str, state: str) -> None:
    """Navigate the tab and wait until the new document's bridge reports `state`."""
    tab = env.tabs["Bruno"]
    events = env.events["Bruno"]
    start = len(events)
    tab.page.load(env.wa.url + query)
    qtbot.waitUntil(
        lambda: any(isinstance(e, StateEvent) and e.state == state for e in events[start:]),
        timeout=30_000,
    )
    if state == "connected":
        qtbot.waitUntil(lambda: env.synced(qtbot, "Bruno"), timeout=30_000)


def js_async(qtbot: QtBot, tab: ProfileTab, expr: str) -> Any:
    """The settled value of a Promise-valued expression run in the page's main world."""
    key = "__t" + secrets.token_hex(4)
    run_js(
        qtbot, tab, f"Promise.resolve({expr}).then(v => {{ window.{key} = JSON.stringify(v); }}); 1"
    )
    qtbot.waitUntil(lambda: run_js(qtbot, tab, f"window.{key} !== undefined") is True)
    return json.loads(run_js(qtbot, tab, f"window.{key}"))


def origin_storage(qtbot: QtBot, tab: ProfileTab) -> dict[str, Any]:
    """The IndexedDB databases and Local Storage size of the page's origin."""
    return js_async(
        qtbot,
        tab,
        "indexedDB.databases().then(d => ({databases: d.map(x => x.name).sort(), "
        "localStorage: localStorage.length}))",
    )


def ensure_connected(qtbot: QtBot, env: BridgeEnv) -> None:
    tab = env.tabs["Bruno"]
    load(qtbot, env, "", "connected" if tab.state == "connected" else "qr")
    if env.sim_state(qtbot, "Bruno") != "CONNECTED":
        env.sim(qtbot, "Bruno", "scanQr()")
        qtbot.waitUntil(lambda: env.synced(qtbot, "Bruno"), timeout=30_000)


def test_message_keys_without_serialized(qtbot: QtBot, env: BridgeEnv) -> None:
    load(qtbot, env, "?nokeyser=1", "connected")
    tab = env.tabs["Bruno"]
    assert run_js(qtbot, tab, "require('WAWebMsgKey').newId !== undefined") is True
    msg_id = env.sim(qtbot, "Bruno", "sendFromPhone('mariana', 'Sem _serialized')")
    has_field = run_js(
        qtbot,
        tab,
        f"'_serialized' in require('WAWebCollections').Msg.get({json.dumps(msg_id)}).id",
    )
    assert has_field is False
    doc = env.wait_message(qtbot, msg_id)
    assert doc["wa_id"] == msg_id  # built from the key's parts = WhatsApp's string form
    env.sim(qtbot, "Bruno", f"setAck({json.dumps(msg_id)}, 3)")
    assert env.wait_message(qtbot, msg_id, lambda d: d.get("ack") == 3)["ack"] == 3


def test_module_missing_build_is_degraded_without_busy_retry(qtbot: QtBot, env: BridgeEnv) -> None:
    tab = env.tabs["Bruno"]
    events = env.events["Bruno"]
    start = len(events)
    tab.page.load(env.wa.url + "?mode=modules-missing")
    qtbot.waitUntil(lambda: tab.health is not None and not tab.health.ok, timeout=30_000)
    assert tab.health is not None
    assert "WAWebCollections.Msg" in tab.health.missing
    assert "WAWebCollections.Chat" in tab.health.missing
    assert tab.banner.isVisible() and "Integração degradada" in tab.banner.text()
    assert "WAWebCollections.Msg" in tab.banner.text()
    # no exception loop, no busy retry: over 3 s the page reports nothing more
    qtbot.wait(3000)
    later = events[start:]
    assert sum(isinstance(e, HealthEvent) for e in later) == 1
    assert not [e for e in later if isinstance(e, LogEvent) and e.level in ("warning", "error")]
    assert run_js(qtbot, tab, "document.title").startswith(("WhatsApp", "("))
    load(qtbot, env, "", "connected")
    qtbot.waitUntil(lambda: tab.health is not None and tab.health.ok, timeout=30_000)
    assert not tab.banner.isVisible()


def test_renamed_modules_build_still_captures(qtbot: QtBot, env: BridgeEnv) -> None:
    load(qtbot, env, "?mode=renamed", "connected")
    tab = env.tabs["Bruno"]
    qtbot.waitUntil(lambda: tab.health is not None and tab.health.ok, timeout=30_000)
    msg_id = env.sim(qtbot, "Bruno", "receive('plantao', 'Build nova', {author: 'mariana'})")
    assert env.wait_message(qtbot, msg_id)["author"] == "5511990010001@c.us"
    load(qtbot, env, "", "connected")


def test_other_origin_gets_no_bridge(qtbot: QtBot, env: BridgeEnv) -> None:
    tab = env.tabs["Bruno"]
    accepted = tab.page.bridge.accepted
    with WhatsAppSimulator() as other:  # same page, another port = another origin
        tab.page.load(other.url)
        qtbot.waitUntil(lambda: tab.page.url().toString().startswith(other.url), timeout=15_000)
        qtbot.waitUntil(
            lambda: run_js(qtbot, tab, "typeof window.require") == "function", timeout=15_000
        )
        # neither half of the bridge ran: no capture script, no relay in the isolated world
        assert run_js(qtbot, tab, "document[Symbol.for('wcb.once')] === undefined") is True
        relay_ran = "document[Symbol.for('wcr.once')] !== undefined"
        assert run_js(qtbot, tab, relay_ran, APPLICATION_WORLD) is False
        qtbot.wait(1500)  # the simulator boots and would have reported state/health by now
        assert tab.page.bridge.accepted == accepted
    load(qtbot, env, "", "connected")


def test_renderer_crash_reloads_and_says_so(qtbot: QtBot, env: BridgeEnv) -> None:
    load(qtbot, env, "", "connected")
    tab = env.tabs["Bruno"]
    events = env.events["Bruno"]
    start = len(events)
    # QtWebEngine ignores chrome://crash from load(); the signal is what a dead renderer sends.
    tab.page.renderProcessTerminated.emit(
        QWebEnginePage.RenderProcessTerminationStatus.CrashedTerminationStatus, 11
    )
    assert "travou" in tab.banner.text() and tab.banner.isVisible()
    # reloaded after the delay: the bridge of the new document reports again
    qtbot.waitUntil(
        lambda: any(isinstance(e, StateEvent) for e in events[start:]),
        timeout=CRASH_RELOAD_DELAY_MS + 15_000,
    )
    qtbot.waitUntil(lambda: env.synced(qtbot, "Bruno"), timeout=30_000)
    msg_id = env.sim(qtbot, "Bruno", "receive('joana', 'Depois da queda')")
    env.wait_message(qtbot, msg_id)


@pytest.mark.parametrize("spelling", ["logout", "logout_from_bridge"])
def test_device_unlinked_then_reset(qtbot: QtBot, env: BridgeEnv, spelling: str) -> None:
    tab = env.tabs["Bruno"]
    ensure_connected(qtbot, env)
    msg_id = env.sim(qtbot, "Bruno", "receive('carlos', 'Antes de desconectar')")
    env.wait_message(qtbot, msg_id)
    stored = env.db["messages"].count_documents({"profile_id": tab.profile.id})
    states: list[str] = []

    def on_event(event: object) -> None:
        if isinstance(event, StateEvent):
            states.append(event.state)

    tab.page.bridge.eventReceived.connect(on_event)
    env.sim(qtbot, "Bruno", f"logoutFromPhone({json.dumps(spelling)})")
    qtbot.waitUntil(lambda: "logged_out" in states, timeout=15_000)
    qtbot.waitUntil(lambda: "post_logout=1" in tab.page.url().query(), timeout=15_000)
    qtbot.waitUntil(lambda: env.sim_state(qtbot, "Bruno") == "UNPAIRED", timeout=15_000)
    tab.page.bridge.eventReceived.disconnect(on_event)
    # The tab says what happened (history kept) and offers "reset this profile"; "show the QR"
    # only while WhatsApp shows no QR (it does once the login screen is back).
    box_text = tab.unlinked_text.text()
    assert tab.unlinked_box.isVisible() and "desconectado pelo celular" in box_text
    assert "histórico salvo foi mantido" in box_text
    assert tab.reset_profile_button.isVisible()
    assert tab.reset_button.isVisible() == (tab.state != "qr")
    qtbot.waitUntil(lambda: tab.state == "qr", timeout=30_000)
    assert tab.unlinked_box.isVisible() and "Escaneie o QR" in tab.unlinked_text.text()
    assert tab.reset_profile_button.isVisible() and not tab.reset_button.isVisible()
    # A stale session that shows no QR stays "logged_out": both ways on are offered.
    tab._set_state("logged_out")
    assert "mostre o QR" in tab.unlinked_text.text()
    assert tab.reset_button.isVisible() and tab.reset_profile_button.isVisible()
    tab._set_state("qr")  # what the page reports (unchanged since)
    assert not tab.reset_button.isVisible()
    env.flush()
    assert env.db["messages"].count_documents({"profile_id": tab.profile.id}) == stored

    tab.reset_profile()
    assert tab.banner.isVisible() and "Redefinindo" in tab.banner.text()
    qtbot.waitUntil(lambda: "post_logout" not in tab.page.url().query(), timeout=15_000)
    # (the tab already showed the QR before the reset: wait for the reset itself to end)
    qtbot.waitUntil(lambda: not tab.page.resetting, timeout=30_000)
    qtbot.waitUntil(lambda: tab.state == "qr", timeout=30_000)
    # the QR screen of an empty origin: no database, no Local Storage; the banner is gone,
    # and so is the "disconnected" box (a fresh session: WhatsApp's QR screen says the rest)
    assert origin_storage(qtbot, tab) == {"databases": [], "localStorage": 0}
    assert not tab.banner.isVisible() and not tab.unlinked_box.isVisible()
    assert env.db["messages"].count_documents({"profile_id": tab.profile.id}) == stored


def test_reset_while_whatsapp_holds_its_databases(qtbot: QtBot, env: BridgeEnv) -> None:
    """A session whose page keeps IndexedDB connections open, one of them deaf to
    `versionchange` (as a WhatsApp build could be): the reset still ends on the QR screen of
    an empty origin, and the history stays."""
    tab = env.tabs["Bruno"]
    ensure_connected(qtbot, env)
    msg_id = env.sim(qtbot, "Bruno", "receive('joana', 'Antes de redefinir')")
    env.wait_message(qtbot, msg_id)
    stored = env.db["messages"].count_documents({"profile_id": tab.profile.id})
    held = js_async(
        qtbot,
        tab,
        "new Promise((resolve, reject) => { const r = indexedDB.open('held-open', 1); "
        "r.onupgradeneeded = () => r.result.createObjectStore('s'); "
        "r.onsuccess = () => { window.__held = r.result; "
        "r.result.onversionchange = () => { window.__versionchange = true; }; resolve(true); }; "
        "r.onerror = () => reject(r.error); })",
    )
    assert held is True
    before = origin_storage(qtbot, tab)
    assert {"held-open", "wawc", "model-storage"} <= set(before["databases"])
    assert before["localStorage"] > 0

    tab.reset_profile()
    qtbot.waitUntil(lambda: tab.state == "qr", timeout=30_000)
    assert origin_storage(qtbot, tab) == {"databases": [], "localStorage": 0}
    assert not tab.banner.isVisible()
    env.flush()
    assert env.db["messages"].count_documents({"profile_id": tab.profile.id}) == stored


class _BlockScripts(QWebEngineUrlRequestInterceptor):
    """Fails every script request, as a network context reset during a load did."""

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:  # noqa: N802 (Qt)
        if info.requestUrl().path().endswith(".js"):
            info.block(True)


def test_load_whose_scripts_fail_is_shown_and_retried(qtbot: QtBot, env: BridgeEnv) -> None:
    """A page that never leaves "loading" is not a silent "carregando": the tab says so and
    loads WhatsApp again until it comes up."""
    tab = env.tabs["Bruno"]
    load(qtbot, env, "", "connected" if tab.state == "connected" else "qr")
    starts: list[int] = []

    def on_start() -> None:
        starts.append(1)

    blocker = _BlockScripts()
    tab.web_profile.setUrlRequestInterceptor(blocker)
    tab._stall_timer.setInterval(3000)
    tab.page.loadStarted.connect(on_start)
    try:
        tab.page.load(QUrl(env.wa.url))
        qtbot.waitUntil(lambda: tab.state == "loading", timeout=15_000)
        qtbot.waitUntil(
            lambda: tab.banner.isVisible() and "não terminou de carregar" in tab.banner.text(),
            timeout=15_000,
        )
        qtbot.waitUntil(lambda: len(starts) >= 2, timeout=15_000)  # loaded again
        assert tab.state == "loading"
        tab.web_profile.setUrlRequestInterceptor(None)
        qtbot.waitUntil(lambda: tab.state in ("qr", "connected"), timeout=30_000)
        assert not tab.banner.isVisible()
    finally:
        tab.page.loadStarted.disconnect(on_start)
        tab.web_profile.setUrlRequestInterceptor(None)
        tab._stall_timer.setInterval(STALLED_LOAD_MS)


def test_build_with_renamed_state_modules_still_captures_and_is_not_reloaded(
    qtbot: QtBot, env: BridgeEnv
) -> None:
    """A WhatsApp build whose Socket/Stream modules were renamed (wa-js #3481): the login state
    falls back to the own id and WhatsApp's own screens, capture goes on, the health report names
    what is missing, and a tab whose state stays unknown while WhatsApp runs is never reloaded
    (that would make WhatsApp unusable)."""
    ensure_connected(qtbot, env)
    tab = env.tabs["Bruno"]
    events = env.events["Bruno"]
    start = len(events)
    tab.page.load(QUrl(env.wa.url + "?mode=state-renamed"))
    qtbot.waitUntil(
        lambda: any(
            isinstance(e, StateEvent) and e.state == "connected" and e.detail == "fallback"
            for e in events[start:]
        ),
        timeout=30_000,
    )
    assert tab.health is not None and tab.health.ok
    assert "WAWebSocketModel.Socket" in tab.health.missing
    msg_id = env.sim(qtbot, "Bruno", "receive('joana', 'Estado por outro caminho')")
    env.wait_message(qtbot, msg_id)

    # Stalled-load guard: WhatsApp's loader runs, so "still loading" must not reload the page.
    starts: list[int] = []

    def on_start() -> None:
        starts.append(1)

    tab.page.loadStarted.connect(on_start)
    try:
        tab.state = "loading"
        tab._on_load_stalled()
        qtbot.wait(1500)
        assert not starts, "WhatsApp was reloaded although its code runs"
        assert not (tab.banner.isVisible() and "não terminou" in tab.banner.text())
    finally:
        tab.page.loadStarted.disconnect(on_start)
    load(qtbot, env, "", "connected")
