"""The lead card shows CV CRM's text as text: markup in a name or a message is not rendered."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from wacrm_desktop.core.leads import Lead
from wacrm_desktop.ui.lead.view import LeadView, candidate_line


def test_crm_text_is_plain_text(qtbot: QtBot, qapp: Any) -> None:
    view = LeadView()
    qtbot.addWidget(view)
    lead = Lead(
        id=1,
        name="<b>Ana</b> <img src='x'>",
        situation_name="<i>Novo</i>",
        broker_name="Bia & <Cia>",
        developments=("<u>Torre</u>",),
    )
    view.show_lead(lead, color="#ffffff", age="atualizado agora")
    view.set_notice("error", "O CV CRM recusou a operação: <a href='x'>clique</a>")
    view.set_status("<h1>mensagem</h1>")
    for label in (
        view.f_name,
        view.f_situation,
        view.f_broker,
        view.f_development,
        view.notice,
        view.status,
    ):
        assert label.textFormat() == Qt.TextFormat.PlainText
    assert view.f_name.text() == "<b>Ana</b> <img src='x'>"
    assert "<b>Ana</b>" in candidate_line(lead)


def test_zero_or_missing_dates_show_a_dash(qtbot: QtBot, qapp: Any) -> None:
    view = LeadView()
    qtbot.addWidget(view)
    lead = Lead(id=2, name="Ana", created_at=None, last_conversion_at="2026-11-28")
    view.show_lead(lead, color="#ffffff", age="")
    assert view.f_created.text() == "—"
    assert view.f_last.text() == "28/11/2026"


def test_a_cached_zero_date_shows_a_dash(qtbot: QtBot, qapp: Any) -> None:
    view = LeadView()
    qtbot.addWidget(view)
    view.show_lead(Lead(id=3, name="Ana", created_at="0000-00-00 00:00:00"), color="#fff", age="")
    assert view.f_created.text() == "—"
