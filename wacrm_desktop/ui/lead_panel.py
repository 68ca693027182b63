"""Side panel: the open chat's lead from CV CRM (ui/lead/) and the chat's recent stored history.

Layout only plus small state setters; `ui.lead.controller.LeadPanelController` drives the
lead part, the tab controller the history part.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ..core.i18n import _
from .lead.view import LeadView
from .message_lines import details, one_line
from .timefmt import local_stamp


def _fmt_time(t: int) -> str:
    return local_stamp(t)


class LeadPanel(QWidget):
    """What the salesperson looks at between two messages."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("leadPanel")
        self.setMinimumWidth(300)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)

        self.lead_view = LeadView()
        scroll = QScrollArea()
        self.scroll = scroll
        scroll.setObjectName("leadScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.lead_view)
        # A result notice (e.g. "Anotação gravada") is brought into view when it appears.
        self.lead_view.noticeShown.connect(
            lambda: QTimer.singleShot(0, self, self._show_notice_area)
        )

        history_box = QWidget()
        history_layout = QVBoxLayout(history_box)
        history_layout.setContentsMargins(0, 0, 0, 0)
        history_label = QLabel(_("Histórico recente (salvo)"))
        history_label.setObjectName("historyTitle")
        history_layout.addWidget(history_label)
        self.history = QListWidget()
        self.history.setObjectName("historyList")
        self.history.setWordWrap(True)
        history_layout.addWidget(self.history, 1)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(scroll)
        splitter.addWidget(history_box)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([3000, 1000])  # the lead first; the user can drag the handle
        splitter.setChildrenCollapsible(False)
        layout.addWidget(splitter, 1)

    # Card fields, kept under their historical names (tests and the history side use them).
    @property
    def f_name(self) -> QLabel:
        return self.lead_view.f_name

    @property
    def f_situation(self) -> QLabel:
        return self.lead_view.f_situation

    @property
    def f_broker(self) -> QLabel:
        return self.lead_view.f_broker

    @property
    def f_development(self) -> QLabel:
        return self.lead_view.f_development

    @property
    def status(self) -> QLabel:
        return self.lead_view.status

    # -- scrolling ----------------------------------------------------------------------------
    def scroll_to_top(self) -> None:
        """Back to the chat's name, phone and ⟳ (on a chat change)."""
        self.scroll.verticalScrollBar().setValue(0)

    def _show_notice_area(self) -> None:
        notice = self.lead_view.notice
        if notice.isVisible():
            self.scroll.ensureWidgetVisible(notice, 0, 40)

    # -- states -------------------------------------------------------------------------------
    def show_no_chat(self) -> None:
        self.lead_view.show_no_chat()
        self.history.clear()

    def show_chat(self, name: str | None, phone: str | None, is_group: bool) -> None:
        self.lead_view.show_chat(name, phone, is_group)
        self.history.clear()

    def show_history(self, messages: Sequence[dict[str, Any]]) -> None:
        self.history.clear()
        for m in messages:
            item = QListWidgetItem(one_line(m, _fmt_time(int(m.get("t", 0)))))
            item.setData(Qt.ItemDataRole.UserRole, m.get("id"))
            tip = details(m)
            if tip:
                item.setToolTip(tip)
            self.history.addItem(item)
        self.history.scrollToBottom()

    def show_history_unavailable(self) -> None:
        """The saved history could not be read (store down); it is read again when it is back."""
        self.history.clear()
        item = QListWidgetItem(
            _("Histórico indisponível agora (MongoDB offline?). Ele aparece quando voltar.")
        )
        item.setFlags(Qt.ItemFlag.NoItemFlags)
        self.history.addItem(item)
