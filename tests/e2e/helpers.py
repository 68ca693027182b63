"""Helpers for end-to-end tests that drive the real app on real QtWebEngine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pytestqt.qtbot import QtBot

from wacrm_desktop.app import Options, WacrmApp
from wacrm_desktop.core.settings import Settings, save_settings
from wacrm_desktop.ui.profile_tab import ProfileTab
from wacrm_desktop.web.qt_workarounds import run_javascript

MAIN_WORLD = 0
APPLICATION_WORLD = 1  # QWebEngineScript.ApplicationWorld: where our relay and `qt` live
CRM_EMAIL = "demo@wacrm.local"
CRM_TOKEN = "demo-token"


def run_js(qtbot: QtBot, tab: ProfileTab, code: str, world: int = MAIN_WORLD) -> Any:
    """Run `code` in the tab's page and return its (JSON-able) value."""
    box: dict[str, Any] = {}
    # Not page.runJavaScript directly: PySide6 6.12.0 leaks a None reference per call.
    run_javascript(tab.page, code, world, lambda result: box.setdefault("r", result))
    qtbot.waitUntil(lambda: "r" in box, timeout=10_000)
    return box["r"]


def sim(qtbot: QtBot, tab: ProfileTab, call: str) -> Any:
    """Call the WhatsApp simulator's test-only control API (a plain value comes back)."""
    return run_js(qtbot, tab, f"JSON.stringify(window.__waSimControl.{call})")


def sim_json(qtbot: QtBot, tab: ProfileTab, call: str) -> Any:
    raw = sim(qtbot, tab, call)
    return None if raw is None else json.loads(raw)


def build_app(
    data_dir: Path,
    *,
    whatsapp_url: str,
    crm_url: str,
    mongo_uri: str,
    db_name: str,
    redis_url: str | None,
    profiles: tuple[str, ...] = (),
) -> WacrmApp:
    """The real composition root, pointed at test servers through the documented env vars."""
    if not (data_dir / "settings.json").exists():
        save_settings(data_dir / "settings.json", Settings(mongodb_db=db_name))
    env = {
        "WACRM_MONGODB_URI": mongo_uri,
        "WACRM_CVCRM_URL": crm_url,
        "WACRM_CVCRM_EMAIL": CRM_EMAIL,
        "WACRM_CVCRM_TOKEN": CRM_TOKEN,
    }
    if redis_url:
        env["WACRM_REDIS_URL"] = redis_url
    return WacrmApp(
        Options(data_dir=data_dir, whatsapp_url=whatsapp_url, profiles=profiles, env=env)
    )


def close_app(qtbot: QtBot, app: WacrmApp) -> None:
    """What closing the window does, then wait until Qt deleted the WebEngine objects."""
    window = app.window
    app.shutdown()
    if window is not None:
        window.hide()
        window.deleteLater()
    qtbot.wait(200)
