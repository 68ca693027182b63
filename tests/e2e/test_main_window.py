"""The main window a new user meets: the welcome view, notices, tab names, the status bar, and
the side panel's saved history coming back with the history store."""

from __future__ import annotations

import errno
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bridge_env import BridgeEnv, bridge_env
from helpers import CRM_EMAIL, CRM_TOKEN, build_app, close_app
from PySide6.QtWidgets import QInputDialog, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from wacrm_desktop.core import i18n, profiles
from wacrm_desktop.core.profiles import Profile, ProfileRegistry
from wacrm_desktop.services.history import HistoryStatus
from wacrm_desktop.simulators.cvcrm import CvCrmSimulator
from wacrm_desktop.simulators.whatsapp import WhatsAppSimulator
from wacrm_desktop.ui.main_window import MainWindow, history_status_text
from wacrm_desktop.ui.profile_tab import ProfileTab


def _status(online: bool, pending: int, cache: bool = True) -> HistoryStatus:
    return HistoryStatus(online=online, pending=pending, last_error=None, cache_available=cache)


def test_history_status_singular_and_plural() -> None:
    assert history_status_text(_status(False, 1)) == "histórico offline — 1 pendente"
    assert history_status_text(_status(False, 3)) == "histórico offline — 3 pendentes"
    assert history_status_text(_status(True, 1)) == "histórico: salvando — 1 pendente"
    assert history_status_text(_status(True, 0, cache=False)) == "histórico: online · cache offline"
    i18n.set_language("en")
    try:
        assert history_status_text(_status(False, 1)) == "history offline — 1 message pending"
        assert history_status_text(_status(True, 2)) == "history: saving — 2 messages pending"
    finally:
        i18n.set_language("pt_BR")


def test_damaged_profiles_file_is_explained_in_the_window(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "profiles.json"
    path.write_text('{"profiles": [', encoding="utf-8")
    window = MainWindow(ProfileRegistry(path), lambda p: None)  # type: ignore[arg-type,return-value]
    qtbot.addWidget(window)
    window.show()
    assert window.notice.isVisible()
    assert "danificado" in window.notice_text.text()
    assert str(tmp_path / "profiles.broken.json") in window.notice_text.text()
    assert window.stack.currentWidget() is window.welcome  # and how to go on


@pytest.fixture
def sims() -> Iterator[tuple[WhatsAppSimulator, CvCrmSimulator]]:
    with WhatsAppSimulator() as wa, CvCrmSimulator(email=CRM_EMAIL, token=CRM_TOKEN) as crm:
        yield wa, crm


def test_first_run_welcome_view_adds_a_profile_and_comes_back(
    qtbot: QtBot,
    tmp_path: Path,
    sims: tuple[WhatsAppSimulator, CvCrmSimulator],
    mongo_uri: str,
    mongo_db_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wa, crm = sims
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    app = build_app(
        data_dir,
        whatsapp_url=wa.url,
        crm_url=crm.url,
        mongo_uri=mongo_uri,
        db_name=mongo_db_name,
        redis_url=None,
    )
    window = app.start()
    window.show()
    try:
        # First run: no grey emptiness, but what a profile is and a button to add one.
        assert window.welcome.isVisible() and not window.tabs.isVisible()
        assert "perfil" in window.welcome.explanation.text()
        assert (
            window.welcome.add_button.isVisible() and not window.welcome.reopen_button.isVisible()
        )
        assert not window.notice.isVisible()

        long_name = "Maria Aparecida dos Santos Oliveira de Albuquerque"
        monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: (long_name, True))
        window.welcome.add_button.click()
        assert [t.profile.name for t in window.profile_tabs()] == [long_name]
        assert window.tabs.isVisible() and not window.welcome.isVisible()
        # the tab shows the name shortened; the tooltip has it whole
        label = window.tabs.tabText(0)
        assert "…" in label and not label.startswith(long_name)
        assert long_name in window.tabs.tabToolTip(0)

        window._close_tab_at(0)
        assert window.welcome.isVisible()
        assert window.welcome.reopen_button.isVisible()  # the closed profile can come back
    finally:
        close_app(qtbot, app)


# ------------------------------------------------------------------ one logged-in profile


@pytest.fixture(scope="module")
def env(
    qapp: object, mongo_uri: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BridgeEnv]:
    yield from bridge_env(tmp_path_factory.mktemp("main_window"), mongo_uri, ("Ana",))


def _open_chat(qtbot: QtBot, env: BridgeEnv, key: str, phone: str) -> None:
    tab = env.tabs["Ana"]
    env.sim(qtbot, "Ana", f"openChat('{key}')")
    chat_id = f"{phone}@c.us"
    qtbot.waitUntil(
        lambda: tab.active_chat is not None and tab.active_chat.chat_id == chat_id,
        timeout=15_000,
    )


def test_saved_history_comes_back_with_the_store(qtbot: QtBot, env: BridgeEnv) -> None:
    """MongoDB down while a chat opens: the panel says so; back online (or the cache back):
    the open chat's saved history is read again without reopening the chat."""
    tab = env.tabs["Ana"]
    window = env.app.window
    history = env.app.history
    assert window is not None and history is not None
    env.sim(qtbot, "Ana", "receive('joana', 'Oi, ainda tem unidade?')")
    env.flush()
    _open_chat(qtbot, env, "joana", "5521990010003")
    qtbot.waitUntil(lambda: tab.panel.history.count() > 0, timeout=15_000)

    real = history.recent_messages

    def store_down(*_args: Any) -> list[dict[str, Any]]:
        raise ConnectionError("MongoDB does not answer")

    history.recent_messages = store_down  # type: ignore[method-assign]
    try:
        window.show_history_status(_status(False, 0))
        tab.reload_history()
        qtbot.waitUntil(lambda: "indisponível" in tab.panel.history.item(0).text(), timeout=10_000)
    finally:
        history.recent_messages = real  # type: ignore[method-assign]
    window.show_history_status(_status(True, 0))  # what the writer reports when it is back
    qtbot.waitUntil(
        lambda: (
            "Oi, ainda tem unidade?" in tab.panel.history.item(tab.panel.history.count() - 1).text()
        ),
        timeout=10_000,
    )

    # the cache coming back reloads as well
    tab.panel.history.clear()
    window.show_history_status(_status(True, 0, cache=False))
    qtbot.wait(HISTORY_SETTLE_MS)
    assert tab.panel.history.count() == 0  # going offline does not reload
    window.show_history_status(_status(True, 0, cache=True))
    qtbot.waitUntil(lambda: tab.panel.history.count() > 0, timeout=10_000)


HISTORY_SETTLE_MS = 800  # > the tab's history refresh delay


def test_new_chat_starts_at_the_top_of_the_panel(qtbot: QtBot, env: BridgeEnv) -> None:
    tab = env.tabs["Ana"]
    window = env.app.window
    assert window is not None
    window.resize(1100, 520)  # a lead card taller than the panel
    _open_chat(qtbot, env, "mariana", "5511990010001")
    qtbot.waitUntil(lambda: tab.panel.f_name.text() == "Mariana Souza", timeout=15_000)
    assert "+55 11 99001-0001" in tab.panel.lead_view.chat_title.text()
    bar = tab.panel.scroll.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=5000)
    bar.setValue(bar.maximum())  # the user scrolled down to the actions and wrote a note
    notice = tab.panel.lead_view.notice
    tab.panel.lead_view.set_notice("success", "Anotação gravada no CV CRM.")
    qtbot.waitUntil(lambda: bar.value() <= notice.y(), timeout=5000)  # its result is in view
    bar.setValue(bar.maximum())
    _open_chat(qtbot, env, "carlos", "551190010002")
    assert bar.value() == 0  # the new chat's name, phone and ⟳ are in view
    window.resize(1400, 900)


# ------------------------------------------------------------------ profiles.json problems


class _LightTab(ProfileTab):
    """A ProfileTab without a web page: enough for the window's tab bookkeeping."""

    def __init__(self, profile: Profile) -> None:
        QWidget.__init__(self)
        self.profile = profile
        self.state = "connected"
        self.unread = 0
        self.shut = False

    def shutdown(self) -> None:
        self.shut = True


def _light_window(qtbot: QtBot, registry: ProfileRegistry) -> MainWindow:
    window = MainWindow(registry, _LightTab)
    qtbot.addWidget(window)
    window.show()
    return window


def test_entries_that_could_not_be_loaded_are_named_in_the_window(
    qtbot: QtBot, tmp_path: Path
) -> None:
    path = tmp_path / "profiles.json"
    kept = "0b9f7c1e-8a52-4b8e-9c61-3f2a1d5e7a01"
    lost = "1c8e6b2d-7f41-4a7d-8b50-2e193c4d6b02"
    path.write_text(
        json.dumps(
            {
                "profiles": [
                    {"id": kept, "name": "Maria " + "x" * 70},
                    {"id": lost, "name": "Repetida"},
                    {"id": lost, "name": "Repetida de novo"},
                ]
            }
        ),
        encoding="utf-8",
    )
    window = _light_window(qtbot, ProfileRegistry(path))
    text = window.notice_text.text()
    assert window.notice.isVisible()
    assert str(tmp_path / "profiles.broken.json") in text
    assert lost in text  # the entry left out, by id
    assert "“Maria xxx" in text  # the profile kept under a shortened name
    assert [t.profile.id for t in window.profile_tabs()] == [kept, lost]
    assert window.tabs.tabToolTip(0).startswith("Maria " + "x" * 53 + "…")


def test_closing_a_tab_when_profiles_json_cannot_be_written(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = ProfileRegistry(tmp_path / "profiles.json")
    ana, bia = registry.add("Ana"), registry.add("Bia")
    window = _light_window(qtbot, registry)
    first = window.tab_for(ana.id)

    def disk_full(path: Path, data: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(profiles, "atomic_write_json", disk_full)
    window._close_tab_at(0)  # no exception into Qt: the tab closes, the window says why
    assert [t.profile.id for t in window.profile_tabs()] == [bia.id]
    assert isinstance(first, _LightTab) and first.shut
    assert window.notice.isVisible()
    assert "profiles.json" in window.notice_text.text()
    assert "disco" in window.notice_text.text() or "espaço" in window.notice_text.text()

    # it can come back from the menu, and moving tabs says the same (once) without raising
    window.reopen_profile(ana.id)
    window.tabs.tabBar().moveTab(1, 0)
    assert [t.profile.id for t in window.profile_tabs()] == [ana.id, bia.id]
    assert window.notice_text.text().count("profiles.json") == 1

    # a removal that cannot be saved changes nothing and is explained
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _w, _t, text: warnings.append(text))
    window.tabs.setCurrentIndex(0)
    window.ask_remove_profile()
    assert warnings and "profiles.json" in warnings[0]
    assert [t.profile.id for t in window.profile_tabs()] == [ana.id, bia.id]
    assert [p.id for p in registry.all()] == [ana.id, bia.id]
