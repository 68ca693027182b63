"""One real app shared by the tests of a module: simulators, MongoDB, a logged-in profile.

Starting QtWebEngine, logging a profile in and syncing costs seconds; the issue-3 cases only
need a fresh chat or message each, so a module builds this once (see `bridge_env` below).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymongo
from helpers import CRM_EMAIL, CRM_TOKEN, build_app, run_js
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from wacrm_desktop.app import WacrmApp
from wacrm_desktop.core.events import BridgeEvent
from wacrm_desktop.simulators.cvcrm import CvCrmSimulator
from wacrm_desktop.simulators.whatsapp import WhatsAppSimulator
from wacrm_desktop.ui.profile_tab import ProfileTab
from wacrm_desktop.web.qt_workarounds import run_javascript


def _ignore(_result: object) -> bool:
    """runJavaScript callback. PySide6 6.12 aborts ("deallocating None") when there is no
    callback or when it returns None, so it returns a value."""
    return True


def pump_until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    """Run the Qt event loop until `predicate()` holds (module fixtures have no qtbot)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        QTest.qWait(20)


@dataclass
class BridgeEnv:
    app: WacrmApp
    wa: WhatsAppSimulator
    crm: CvCrmSimulator
    mongo: pymongo.MongoClient
    db_name: str
    tabs: dict[str, ProfileTab]
    events: dict[str, list[BridgeEvent]] = field(default_factory=dict)

    @property
    def db(self) -> Any:
        return self.mongo[self.db_name]

    def flush(self) -> None:
        assert self.app.history is not None
        assert self.app.history.flush(20), "history did not reach MongoDB"

    def message(self, wa_id: str) -> dict[str, Any] | None:
        return self.db["messages"].find_one({"wa_id": wa_id})

    def wait_message(
        self,
        qtbot: QtBot,
        wa_id: str,
        predicate: Callable[[dict[str, Any]], bool] = lambda _d: True,
        timeout: int = 15_000,
    ) -> dict[str, Any]:
        """The stored document of a message once it satisfies `predicate`."""
        found: dict[str, Any] = {}

        def ready() -> bool:
            self.flush()
            doc = self.message(wa_id)
            if doc is not None and predicate(doc):
                found["doc"] = doc
                return True
            return False

        qtbot.waitUntil(ready, timeout=timeout)
        return found["doc"]

    def sim(self, qtbot: QtBot, tab: str, call: str) -> Any:
        raw = run_js(qtbot, self.tabs[tab], f"JSON.stringify(window.__waSimControl.{call})")
        return None if raw is None else json.loads(raw)

    def synced(self, qtbot: QtBot, tab: str) -> bool:
        """True once the simulator page is logged in and synced (False while it (re)loads)."""
        code = "window.__waSimControl ? window.__waSimControl.info().hasSynced === true : false"
        return run_js(qtbot, self.tabs[tab], code) is True

    def sim_state(self, qtbot: QtBot, tab: str) -> str | None:
        code = "window.__waSimControl ? window.__waSimControl.info().state : 'none'"
        value = run_js(qtbot, self.tabs[tab], code)
        return value if isinstance(value, str) and value != "none" else None

    def sim_async(self, qtbot: QtBot, tab: str, call: str, timeout: int = 15_000) -> Any:
        """A control call returning a Promise: its settled value."""
        key = "__t" + secrets.token_hex(4)
        run_js(
            qtbot,
            self.tabs[tab],
            f"Promise.resolve(window.__waSimControl.{call}).then("
            f"v => {{ window.{key} = JSON.stringify(v === undefined ? null : v); }}, "
            f"e => {{ window.{key} = JSON.stringify({{error: String(e)}}); }}); 1",
        )
        box: dict[str, Any] = {}

        def done() -> bool:
            value = run_js(qtbot, self.tabs[tab], f"window.{key} || null")
            if value is not None:
                box["v"] = json.loads(value)
                return True
            return False

        qtbot.waitUntil(done, timeout=timeout)
        return box["v"]


def bridge_env(
    tmp_path: Path, mongo_uri: str, profiles: tuple[str, ...], *, url_suffix: str = ""
) -> Iterator[BridgeEnv]:
    """Generator for a module-scoped fixture: every profile logged in and connected."""
    wa = WhatsAppSimulator().start()
    crm = CvCrmSimulator(email=CRM_EMAIL, token=CRM_TOKEN).start()
    db_name = "wacrm_bridge_" + secrets.token_hex(4)
    mongo: pymongo.MongoClient = pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=5000)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    app = build_app(
        data_dir,
        profiles=profiles,
        whatsapp_url=wa.url + url_suffix,
        crm_url=crm.url,
        mongo_uri=mongo_uri,
        db_name=db_name,
        redis_url=None,
    )
    window = app.start()
    window.show()  # hidden pages throttle timers
    tabs = {t.profile.name: t for t in window.profile_tabs()}
    env = BridgeEnv(app=app, wa=wa, crm=crm, mongo=mongo, db_name=db_name, tabs=tabs)
    for name, tab in tabs.items():
        seen: list[BridgeEvent] = []
        env.events[name] = seen

        def _keep(event: BridgeEvent, seen: list[BridgeEvent] = seen) -> None:
            seen.append(event)

        tab.page.bridge.eventReceived.connect(_keep, Qt.ConnectionType.DirectConnection)
    try:
        for tab in tabs.values():
            pump_until(lambda t=tab: t.state == "qr", 30)
            run_javascript(tab.page, "window.__waSimControl.scanQr(); 1", 0, _ignore)
        for tab in tabs.values():
            pump_until(lambda t=tab: t.state == "connected", 30)
        yield env
    finally:
        app.shutdown()
        if app.window is not None:
            app.window.hide()
            app.window.deleteLater()
        QTest.qWait(200)
        mongo.drop_database(db_name)
        mongo.close()
        crm.stop()
        wa.stop()
