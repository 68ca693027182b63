"""Side panel: the open chat's lead from CV CRM and the chat's recent stored history.

Layout only plus small state setters; the tab controller decides what to show.
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ..core.leads import Lead
from ..services.leads import LeadLookup

SAO_PAULO = ZoneInfo("America/Sao_Paulo")


def _fmt_time(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).astimezone(SAO_PAULO).strftime("%d/%m %H:%M")


class LeadPanel(QWidget):
    """What the salesperson looks at between two messages."""

    refreshRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("leadPanel")
        self.setMinimumWidth(280)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        layout = QVBoxLayout(self)

        self.chat_title = QLabel()
        self.chat_title.setObjectName("chatTitle")
        self.chat_title.setWordWrap(True)
        self.chat_title.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.chat_title)

        self.status = QLabel()
        self.status.setObjectName("leadStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)

        self.card = QFrame()
        self.card.setObjectName("leadCard")
        self.card.setFrameShape(QFrame.Shape.StyledPanel)
        form = QFormLayout(self.card)
        self.f_name = QLabel()
        self.f_situation = QLabel()
        self.f_situation.setObjectName("leadSituation")
        self.f_broker = QLabel()
        self.f_development = QLabel()
        self.f_development.setWordWrap(True)
        self.f_agency = QLabel()
        self.f_last = QLabel()
        for label, widget in (
            ("Nome", self.f_name),
            ("Situação", self.f_situation),
            ("Corretor", self.f_broker),
            ("Empreendimento", self.f_development),
            ("Imobiliária", self.f_agency),
            ("Última conversão", self.f_last),
        ):
            widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(label + ":", widget)
        layout.addWidget(self.card)

        self.refresh_button = QPushButton("Atualizar")
        self.refresh_button.clicked.connect(self.refreshRequested)
        layout.addWidget(self.refresh_button)

        history_label = QLabel("Histórico recente (salvo)")
        history_label.setObjectName("historyTitle")
        layout.addWidget(history_label)
        self.history = QListWidget()
        self.history.setObjectName("historyList")
        self.history.setWordWrap(True)
        layout.addWidget(self.history, 1)

        self.show_no_chat()

    # -- states -------------------------------------------------------------------------------
    def show_no_chat(self) -> None:
        self.chat_title.setText("<b>Nenhuma conversa aberta</b>")
        self.status.setText("Abra uma conversa no WhatsApp para ver o lead do CV CRM.")
        self.card.hide()
        self.refresh_button.hide()
        self.history.clear()

    def show_chat(self, name: str | None, phone: str | None, is_group: bool) -> None:
        title = html.escape(name or "Conversa")
        if phone:
            subtitle = "+" + phone
        elif is_group:
            subtitle = "grupo"
        else:
            subtitle = "telefone desconhecido"
        self.chat_title.setText(f"<b>{title}</b><br><small>{html.escape(subtitle)}</small>")
        self.history.clear()

    def show_loading(self) -> None:
        self.status.setText("Buscando lead no CV CRM…")
        self.refresh_button.hide()

    def show_lookup(self, result: LeadLookup) -> None:
        self.refresh_button.setVisible(result.status not in ("no_phone", "not_configured"))
        text = result.message
        if result.status == "found" and result.leads:
            self._fill_card(result.leads[0])
            age = max(0, int((time.time() - result.fetched_at) / 60))
            text = f"atualizado há {age} min" if age else "atualizado agora"
            if result.suffix_only:
                text += " · encontrado pelo final do número"
            if result.stale:
                text = f"⚠ {result.message} ({text})"
        elif result.status == "several" and result.leads:
            self._fill_card(result.leads[0])
        else:
            self.card.hide()
        self.status.setText(text)

    def show_error(self, message: str) -> None:
        self.card.hide()
        self.status.setText("⚠ " + message)
        self.refresh_button.show()

    def _fill_card(self, lead: Lead) -> None:
        self.f_name.setText(lead.name or "—")
        self.f_situation.setText(lead.situation_name or "—")
        self.f_broker.setText(lead.broker_name or "—")
        self.f_development.setText(", ".join(lead.developments) or "—")
        self.f_agency.setText(lead.agency_name or "—")
        self.f_last.setText(lead.last_conversion_at or "—")
        self.card.show()

    def show_history(self, messages: Sequence[dict[str, Any]]) -> None:
        self.history.clear()
        for m in messages:
            who = "Você" if m.get("from_me") else (m.get("notify_name") or "Contato")
            text = m.get("body") or m.get("caption") or f"[{m.get('type', 'mensagem')}]"
            item = QListWidgetItem(f"{_fmt_time(int(m.get('t', 0)))} {who}: {text}")
            item.setData(Qt.ItemDataRole.UserRole, m.get("id"))
            self.history.addItem(item)
        self.history.scrollToBottom()
