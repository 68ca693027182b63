"""The app's language: English on request, pt-BR by default with Qt's own texts in pt-BR too.

The real composition root on the simulators: menus, the tab's state label, the lead panel, the
WhatsApp page's Accept-Language, Qt's standard buttons and QtWebEngine's context menu actions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import CRM_EMAIL, CRM_TOKEN, build_app, close_app, run_js
from pytestqt.qtbot import QtBot

from wacrm_desktop.app import WacrmApp
from wacrm_desktop.core import i18n
from wacrm_desktop.core.settings import Settings, load_settings, save_settings
from wacrm_desktop.simulators.cvcrm import CvCrmSimulator
from wacrm_desktop.simulators.whatsapp import WhatsAppSimulator
from wacrm_desktop.ui.profile_tab import ProfileTab
from wacrm_desktop.ui.settings_dialog import SettingsDialog, SettingsValues
from wacrm_desktop.ui.tasks import TaskRunner


@pytest.fixture
def wa_sim() -> Iterator[WhatsAppSimulator]:
    with WhatsAppSimulator() as server:
        yield server


@pytest.fixture
def crm_sim() -> Iterator[CvCrmSimulator]:
    with CvCrmSimulator(email=CRM_EMAIL, token=CRM_TOKEN) as server:
        yield server


def _start(
    tmp_path: Path,
    wa_sim: WhatsAppSimulator,
    crm_sim: CvCrmSimulator,
    mongo_uri: str,
    db_name: str,
    language: str | None,
) -> tuple[WacrmApp, ProfileTab]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    if language is not None:
        save_settings(data_dir / "settings.json", Settings(mongodb_db=db_name, language=language))
    app = build_app(
        data_dir,
        whatsapp_url=wa_sim.url,
        crm_url=crm_sim.url,
        mongo_uri=mongo_uri,
        db_name=db_name,
        redis_url=None,
        profiles=("Ana",),
    )
    window = app.start()
    window.show()
    return app, window.profile_tabs()[0]


def _message_box_buttons() -> tuple[str, str]:
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox()
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    try:
        return (
            box.button(QMessageBox.StandardButton.Yes).text(),
            box.button(QMessageBox.StandardButton.No).text(),
        )
    finally:
        box.deleteLater()


def _copy_action_text(tab: ProfileTab) -> str:
    from PySide6.QtWebEngineCore import QWebEnginePage

    return tab.page.action(QWebEnginePage.WebAction.Copy).text()


def test_english_app(
    qtbot: QtBot,
    tmp_path: Path,
    wa_sim: WhatsAppSimulator,
    crm_sim: CvCrmSimulator,
    mongo_uri: str,
    mongo_db_name: str,
) -> None:
    app, tab = _start(tmp_path, wa_sim, crm_sim, mongo_uri, mongo_db_name, "en")
    try:
        assert app.language == "en" and i18n.current_language() == "en"
        window = app.window
        assert window is not None
        assert window.profiles_menu.title() == "&Profiles"
        assert window.action_add.text() == "&Add profile…"
        assert window.action_history.text() == "&History…"
        assert window.history_status.text().startswith("history")

        # The tab's state label, the lead panel and the compose box.
        qtbot.waitUntil(lambda: tab.state == "qr", timeout=20_000)
        index = window.tabs.indexOf(tab)
        qtbot.waitUntil(lambda: window.tabs.tabText(index) == "Ana · waiting for QR")
        assert tab.panel.lead_view.chat_title.text() == "<b>No chat open</b>"
        assert tab.panel.status.text() == "Open a chat in WhatsApp to see its CV CRM lead."
        assert tab.compose.send_button.text() == "Send"

        # WhatsApp Web picks its language from Accept-Language (navigator.languages).
        assert run_js(qtbot, tab, "navigator.language") == "en-US"
        # Qt's own texts stay Qt's English.
        assert _message_box_buttons() == ("&Yes", "&No")
        assert _copy_action_text(tab) == "Copy"
    finally:
        close_app(qtbot, app)
    assert app.qt_language is None  # translators removed, default locale restored


def test_pt_br_app_with_qt_catalogs(
    qtbot: QtBot,
    tmp_path: Path,
    wa_sim: WhatsAppSimulator,
    crm_sim: CvCrmSimulator,
    mongo_uri: str,
    mongo_db_name: str,
) -> None:
    app, tab = _start(tmp_path, wa_sim, crm_sim, mongo_uri, mongo_db_name, None)
    try:
        assert app.language == "pt_BR"
        assert app.qt_language is not None
        assert app.qt_language.loaded == ["qtbase_pt_BR.qm", "qtwebengine_pt_BR.qm"]
        window = app.window
        assert window is not None and window.profiles_menu.title() == "&Perfis"
        qtbot.waitUntil(lambda: tab.state == "qr", timeout=20_000)
        assert tab.panel.lead_view.chat_title.text() == "<b>Nenhuma conversa aberta</b>"

        # Qt's standard buttons (qtbase_pt_BR) and the page's context menu (qtwebengine_pt_BR).
        assert _message_box_buttons() == ("&Sim", "&Não")
        assert _copy_action_text(tab) == "Copiar"
        assert run_js(qtbot, tab, "navigator.language") == "pt-BR"

        # The language setting is saved for the next start; this run keeps its language.
        values = SettingsValues("", app.settings.cvcrm_email, "", "", "")
        app._save_settings(replace(values, language="en"))
        assert load_settings(app.paths.settings_file).language == "en"
        assert app.language == "pt_BR" and i18n.current_language() == "pt_BR"
    finally:
        close_app(qtbot, app)


def test_settings_dialog_offers_both_languages(qtbot: QtBot, qapp: object) -> None:
    tasks = TaskRunner()
    try:
        dialog = SettingsDialog(
            SettingsValues("empresa", CRM_EMAIL, "", "", "", language="en"),
            tasks=tasks,
            test_connection=lambda _v: "",
            save=lambda _v: None,
            token_stored=False,
            language_override="en_US",
        )
        qtbot.addWidget(dialog)
        items = [dialog.language.itemText(i) for i in range(dialog.language.count())]
        assert items == ["Português (Brasil)", "English"]
        assert dialog.language.currentData() == "en"
        note = dialog.language_note.text()
        assert "próxima vez que o app for aberto" in note and "WACRM_LANGUAGE=en_US" in note
        dialog.language.setCurrentIndex(0)
        assert dialog.values().language == "pt_BR"
    finally:
        tasks.shutdown()
