"""One salesperson's tab: WhatsApp Web on the left, the lead panel on the right.

Also the controller between that tab's bridge events and the services: history capture,
lead lookup on chat change, login state and unread count for the tab label.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWebEngineCore import QWebEngineProfile
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from ..core.events import (
    AckEvent,
    ActiveChatEvent,
    BridgeEvent,
    HealthEvent,
    LogEvent,
    LoginState,
    MessageEvent,
    StateEvent,
)
from ..core.profiles import Profile
from ..core.whatsapp import unread_from_title
from ..services.history import HistoryService
from ..services.leads import LeadLookup, LeadService
from ..web.page import WhatsAppPage
from .lead_panel import LeadPanel
from .tasks import TaskRunner
from .web_prompts import ask_permission, handle_download, make_notification_presenter

log = logging.getLogger("wacrm.ui")
HISTORY_REFRESH_MS = 300


class ProfileTab(QWidget):
    """Owns the view, the page and the web profile of one salesperson profile."""

    stateChanged = Signal(str)
    unreadChanged = Signal(int)
    notificationRequested = Signal(str, str)  # title, message

    def __init__(
        self,
        profile: Profile,
        web_profile_factory: Callable[[Profile], QWebEngineProfile],
        *,
        home_url: str,
        history: HistoryService,
        leads: LeadService,
        tasks: TaskRunner,
        capture_status_and_newsletters: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.profile = profile
        self.state: LoginState = "loading"
        self.unread = 0
        self.health: HealthEvent | None = None
        self.active_chat: ActiveChatEvent | None = None
        self._history = history
        self._leads = leads
        self._tasks = tasks
        self._lookup_generation = 0

        self.web_profile = web_profile_factory(profile)
        self.page = WhatsAppPage(
            self.web_profile,
            home_url=home_url,
            capture_status_and_newsletters=capture_status_and_newsletters,
        )
        self.view = QWebEngineView()
        self.view.setPage(self.page)
        self.panel = LeadPanel()

        self.banner = QLabel()
        self.banner.setObjectName("degradedBanner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background:#fff3cd;color:#664d03;padding:6px;")
        self.banner.hide()
        self.reset_button = QPushButton("Mostrar o QR novamente")
        self.reset_button.hide()
        self.reset_button.clicked.connect(self.page.load_home)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.view)
        splitter.addWidget(self.panel)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.reset_button)
        layout.addWidget(splitter, 1)

        self._history_timer = QTimer(self)
        self._history_timer.setSingleShot(True)
        self._history_timer.setInterval(HISTORY_REFRESH_MS)
        self._history_timer.timeout.connect(self._load_history)

        self.web_profile.setNotificationPresenter(
            make_notification_presenter(
                profile.id, lambda _pid, title, text: self.notificationRequested.emit(title, text)
            )
        )
        self.web_profile.downloadRequested.connect(lambda d: handle_download(self, d))
        self.page.permissionRequested.connect(
            lambda permission: ask_permission(self, self.profile.name, permission)
        )
        self.page.bridge.eventReceived.connect(self._on_event)
        self.page.titleChanged.connect(self._on_title)
        self.page.loggedOutNavigation.connect(lambda: self._set_state("logged_out"))
        self.page.renderCrashed.connect(
            lambda _status: self._show_banner("A página do WhatsApp travou e será recarregada…")
        )
        self.panel.refreshRequested.connect(self._lookup_lead)
        self.page.load_home()

    # -- bridge events ------------------------------------------------------------------------
    def _on_event(self, event: BridgeEvent) -> None:
        if isinstance(event, MessageEvent | AckEvent):
            self._history.record(self.profile.id, event)
            if (
                isinstance(event, MessageEvent)
                and self.active_chat is not None
                and event.chat_id == self.active_chat.chat_id
            ):
                self._history_timer.start()
        elif isinstance(event, ActiveChatEvent):
            self._on_active_chat(event)
        elif isinstance(event, StateEvent):
            self._set_state(event.state)
        elif isinstance(event, HealthEvent):
            self._on_health(event)
        elif isinstance(event, LogEvent):
            logging.getLogger("wacrm.js").log(
                logging.getLevelName(event.level.upper()), "%s", event.message
            )

    def _on_active_chat(self, event: ActiveChatEvent) -> None:
        previous = self.active_chat
        self.active_chat = event if event.chat_id else None
        if event.chat_id is None:
            self._lookup_generation += 1
            self.panel.show_no_chat()
            return
        same_chat = previous is not None and previous.chat_id == event.chat_id
        self.panel.show_chat(event.name, event.phone, event.is_group)
        if not same_chat or (event.phone and not (previous and previous.phone)):
            self._lookup_lead()
        self._load_history()

    def _lookup_lead(self) -> None:
        chat = self.active_chat
        if chat is None:
            return
        self._lookup_generation += 1
        generation = self._lookup_generation
        if chat.is_group:
            reason = "Conversa em grupo: não há um telefone para buscar no CV CRM."
        else:
            reason = "Telefone desconhecido: o WhatsApp não informou o número deste contato."
        self.panel.show_loading()
        phone = None if chat.is_group or not chat.phone else "+" + chat.phone

        def _done(result: LeadLookup) -> None:
            # A late answer for a chat that is no longer open must never be shown.
            if generation == self._lookup_generation and shiboken6.isValid(self.panel):
                self.panel.show_lookup(result)

        def _failed(error: BaseException) -> None:
            if generation == self._lookup_generation and shiboken6.isValid(self.panel):
                log.error("lead lookup failed: %s", error)
                self.panel.show_error("Não foi possível consultar o CV CRM.")

        self._tasks.submit(lambda: self._leads.lookup(phone, reason), _done, _failed)

    def _load_history(self) -> None:
        chat = self.active_chat
        if chat is None or chat.chat_id is None:
            return
        chat_id = chat.chat_id

        def _done(messages: list[dict[str, Any]]) -> None:
            current = self.active_chat
            if current is not None and current.chat_id == chat_id and shiboken6.isValid(self):
                self.panel.show_history(messages)

        self._tasks.submit(
            lambda: self._history.recent_messages(self.profile.id, chat_id, 50),
            _done,
            lambda e: log.warning("history read failed: %s", e),
        )

    def _set_state(self, state: LoginState) -> None:
        if state == self.state:
            return
        self.state = state
        self.reset_button.setVisible(state == "logged_out")
        if state == "logged_out":
            self.active_chat = None
            self.panel.show_no_chat()
        self.stateChanged.emit(state)

    def _on_health(self, event: HealthEvent) -> None:
        self.health = event
        if event.ok:
            self.banner.hide()
            return
        missing = ", ".join(event.missing) or "?"
        log.error("WhatsApp %s: bridge degraded, missing %s", event.version or "?", missing)
        self._show_banner(
            f"Integração degradada (WhatsApp {event.version or '?'}): faltam {missing}. "
            "O WhatsApp continua funcionando, mas as mensagens não estão sendo salvas."
        )

    def _show_banner(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.show()

    def _on_title(self, title: str) -> None:
        unread = unread_from_title(title)
        if unread != self.unread:
            self.unread = unread
            self.unreadChanged.emit(unread)

    # -- commands -------------------------------------------------------------------------------
    def fill_composer(self, text: str) -> None:
        """Put text in WhatsApp's composer of the open chat; the user still clicks send."""
        self.page.bridge.send_command("fill_composer", {"text": text})

    def shutdown(self) -> None:
        """Delete view, then page, then profile: the profile must outlive its pages (Qt rule)."""
        self._history_timer.stop()
        for obj in (self.view, self.page):
            if shiboken6.isValid(obj):
                shiboken6.delete(obj)
        if shiboken6.isValid(self.web_profile):
            shiboken6.delete(self.web_profile)
