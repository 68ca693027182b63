"""Configurações: CV CRM fields, lead panel fields and "Testar conexão" against the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from wacrm_desktop.adapters.cvcrm import CrmError, CvCrmClient
from wacrm_desktop.simulators.cvcrm import CvCrmSimulator
from wacrm_desktop.ui.settings_dialog import (
    SettingsDialog,
    SettingsValues,
    normalize_subdomain,
    subdomain_problem,
)
from wacrm_desktop.ui.tasks import TaskRunner

EMAIL, TOKEN = "demo@wacrm.local", "demo-token"


@pytest.fixture
def sim() -> Iterator[CvCrmSimulator]:
    with CvCrmSimulator(EMAIL, TOKEN) as server:
        yield server


@pytest.fixture
def tasks(qapp: Any) -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.shutdown()


def _dialog(qtbot: QtBot, tasks: TaskRunner, sim: CvCrmSimulator) -> SettingsDialog:
    def test_connection(values: SettingsValues) -> str:
        token = values.cvcrm_token or TOKEN
        try:
            with CvCrmClient(sim.url, values.cvcrm_email, token, max_retries=0) as client:
                return client.test_connection()
        except CrmError as exc:
            return f"⚠ {exc}" + (f" (HTTP {exc.status})" if exc.status else "")

    initial = SettingsValues("empresa", EMAIL, "", "", "", quick_replies=["Oi {nome}"])
    dialog = SettingsDialog(
        initial,
        tasks=tasks,
        test_connection=test_connection,
        save=lambda _v: None,
        token_stored=True,
    )
    qtbot.addWidget(dialog)
    return dialog


def test_subdomain_is_normalised_and_checked() -> None:
    assert normalize_subdomain("https://Empresa.cvcrm.com.br/gestor/") == "empresa"
    assert normalize_subdomain(" empresa.cvcrm.com.br ") == "empresa"
    assert subdomain_problem("") is not None
    assert subdomain_problem("em presa") is not None
    assert subdomain_problem("minha-empresa") is None


def test_test_connection_reports_the_exact_outcome(
    qtbot: QtBot, tasks: TaskRunner, sim: CvCrmSimulator
) -> None:
    dialog = _dialog(qtbot, tasks, sim)
    dialog.test_button.click()
    qtbot.waitUntil(lambda: "Conectado" in dialog.result.text(), timeout=5000)
    assert "HTTP 200" in dialog.result.text() and "leads visíveis" in dialog.result.text()

    dialog.token.setText("errado")
    dialog.test_button.click()
    qtbot.waitUntil(lambda: "HTTP 401" in dialog.result.text(), timeout=5000)
    assert "token" in dialog.result.text()

    sim.fail_next(405)
    dialog.token.setText("")
    dialog.test_button.click()
    qtbot.waitUntil(lambda: "HTTP 405" in dialog.result.text(), timeout=5000)
    assert "interface Lead" in dialog.result.text()

    dialog.email.setText("sem-arroba")
    dialog.test_button.click()
    assert "e-mail" in dialog.result.text()  # refused before any call


def test_lead_panel_fields_round_trip(qtbot: QtBot, tasks: TaskRunner, sim: CvCrmSimulator) -> None:
    dialog = _dialog(qtbot, tasks, sim)
    dialog.subdomain.setText("https://nova.cvcrm.com.br")
    dialog.lead_origin.setEditText("wa")
    dialog.lead_media.setText("whatsapp")
    dialog.lead_ttl.setValue(15)
    dialog.quick_replies.setPlainText("Oi {primeiro_nome}\n\n{corretor} aqui")
    values = dialog.values()
    assert values.cvcrm_subdomain == "nova"
    assert (values.lead_origin, values.lead_media, values.lead_cache_ttl_minutes) == (
        "WA",
        "whatsapp",
        15,
    )
    assert values.quick_replies == ["Oi {primeiro_nome}", "{corretor} aqui"]


@pytest.mark.parametrize("token_stored", [True, False])
def test_placeholders_are_read_whole(
    qtbot: QtBot, tasks: TaskRunner, sim: CvCrmSimulator, token_stored: bool
) -> None:
    """Placeholders fit their fields at the dialog's opening size (details are tooltips)."""
    initial = SettingsValues("", "", "", "", "")
    dialog = SettingsDialog(
        initial,
        tasks=tasks,
        test_connection=lambda _v: "",
        save=lambda _v: None,
        token_stored=token_stored,
    )
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    checked = 0
    for edit in dialog.findChildren(QLineEdit):
        text = edit.placeholderText()
        if not text or not edit.isVisible():
            continue
        margins = edit.textMargins()
        room = edit.contentsRect().width() - margins.left() - margins.right() - 4
        assert edit.fontMetrics().horizontalAdvance(text) <= room, text
        assert edit.toolTip(), f"{text!r}: the detail belongs in a tooltip"
        checked += 1
    assert checked >= 5


def test_origin_shows_the_name_and_keeps_the_code(
    qtbot: QtBot, tasks: TaskRunner, sim: CvCrmSimulator
) -> None:
    dialog = _dialog(qtbot, tasks, sim)
    assert dialog.lead_origin.currentText() == "CH — Chat"
    assert dialog.values().lead_origin == "CH"
    dialog.lead_origin.setCurrentIndex(dialog.lead_origin.findData("SI"))
    assert dialog.lead_origin.currentText() == "SI — WebSite"
    assert dialog.values().lead_origin == "SI"
    dialog.lead_origin.setEditText("zz")  # a code of the tenant's own list
    assert dialog.values().lead_origin == "ZZ"
    dialog.lead_origin.setEditText("")
    assert dialog.values().lead_origin == ""
