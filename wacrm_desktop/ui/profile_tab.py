"""One salesperson's tab: WhatsApp Web on the left, the lead panel on the right.

Also the controller between that tab's bridge events and the services: history capture,
lead lookup on chat change, login state and unread count for the tab label.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWebEngineCore import QWebEngineProfile
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ..core.events import (
    HISTORY_EVENTS,
    ActiveChatEvent,
    BridgeEvent,
    CommandResultEvent,
    HealthEvent,
    HistoryEvent,
    LogEvent,
    LoginState,
    MessageEvent,
    StateEvent,
)
from ..core.i18n import N_, _
from ..core.profiles import Profile
from ..core.whatsapp import unread_from_title
from ..services.history import HistoryService
from ..services.leads import LeadService
from ..web.badges import APPLICATION_WORLD, build_badges_script
from ..web.page import WhatsAppPage
from .compose_box import ComposeBox
from .lead.controller import LeadPanelContext, LeadPanelController
from .lead_panel import LeadPanel
from .tasks import TaskRunner
from .web_prompts import ask_permission, handle_download, make_notification_presenter

log = logging.getLogger("wacrm.ui")
HISTORY_REFRESH_MS = 300
JOURNAL_BATCH = 500  # history events journalled together at most (one transaction)
SEND_TIMEOUT_MS = 45_000  # no command_result by then: the compose box is released with an error
# Still "carregando" this long after a load started (WhatsApp's scripts did not load or hang):
# the tab says so and loads the start page again, never a silent "carregando" forever.
STALLED_LOAD_MS = 90_000
STALLED_LOAD_MAX_MS = 15 * 60_000  # consecutive stalls wait longer each time, up to this
# After the device was unlinked on the phone (pt-BR sources, translated when shown).
UNLINKED_TEXT = N_(
    "Este aparelho foi desconectado pelo celular. O histórico salvo foi mantido. "
    "Para usar o WhatsApp aqui de novo, mostre o QR e escaneie-o com o celular."
)
UNLINKED_QR_TEXT = N_(
    "Este aparelho foi desconectado pelo celular. O histórico salvo foi mantido. "
    "Escaneie o QR abaixo com o celular para conectar de novo."
)


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
        lead_context: LeadPanelContext | None = None,
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
        self.lead_controller = LeadPanelController(
            self.panel.lead_view,
            lead_context or LeadPanelContext(leads=leads),
            tasks,
            profile.id,
            fill_composer=self.fill_composer,
            recent_messages=lambda chat_id, n: history.recent_messages(profile.id, chat_id, n),
            run_js=self._run_badges_js,
            parent=self,
        )

        self.banner = QLabel()
        self.banner.setObjectName("degradedBanner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background:#fff3cd;color:#664d03;padding:6px;")
        self.banner.hide()
        self._banner_kind = ""  # what the banner shows: "", "stalled", "reset"
        # Device unlinked on the phone: what happened, and the two ways on (until connected).
        self._unlinked = False
        self.unlinked_box = QFrame()
        self.unlinked_box.setObjectName("unlinkedBox")
        self.unlinked_box.setStyleSheet(
            "#unlinkedBox{background:#e7f1ff;border:1px solid #b6d4fe;border-radius:4px;}"
            "#unlinkedBox QLabel{color:#084298;}"
        )
        self.unlinked_text = QLabel()
        self.unlinked_text.setObjectName("unlinkedText")
        self.unlinked_text.setWordWrap(True)
        self.reset_button = QPushButton(_("Mostrar o QR novamente"))
        self.reset_button.clicked.connect(self.page.load_home)
        # A stale session after an unlink may show neither QR nor chats (notes §5): start over.
        self.reset_profile_button = QPushButton(_("Redefinir este perfil"))
        self.reset_profile_button.setToolTip(
            _(
                "Se o QR não aparecer ou não funcionar: apaga a sessão do WhatsApp guardada "
                "neste perfil (o histórico salvo é mantido)"
            )
        )
        self.reset_profile_button.clicked.connect(self.ask_reset_profile)
        unlinked_buttons = QHBoxLayout()
        unlinked_buttons.addWidget(self.reset_button)
        unlinked_buttons.addWidget(self.reset_profile_button)
        unlinked_buttons.addStretch(1)
        unlinked_layout = QVBoxLayout(self.unlinked_box)
        unlinked_layout.setContentsMargins(8, 6, 8, 6)
        unlinked_layout.addWidget(self.unlinked_text)
        unlinked_layout.addLayout(unlinked_buttons)
        self.unlinked_box.hide()
        self.compose = ComposeBox()
        self.compose.fillRequested.connect(self.fill_composer)
        self.compose.sendRequested.connect(self.send_text)
        self._pending: dict[str, str] = {}  # request id -> "send" | "fill"
        # History events of the bridge delivery being handled (see `_record`).
        self._journal_buffer: list[HistoryEvent] = []

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.view)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.panel, 1)
        side_layout.addWidget(self.compose)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([1000, 380])  # the panel needs ~360 px for its buttons and labels
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.unlinked_box)
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
        self.page.bridge.deliveryDone.connect(self._flush_journal)
        self.page.titleChanged.connect(self._on_title)
        self.page.loggedOutNavigation.connect(lambda: self._set_state("logged_out"))
        self.page.renderCrashed.connect(
            lambda _status: self._show_banner(_("A página do WhatsApp travou e será recarregada…"))
        )
        self.page.loadFinished.connect(self._on_load_finished)
        self.page.resetFinished.connect(self._on_reset_finished)
        self._stall_timer = QTimer(self)
        self._stall_timer.setSingleShot(True)
        self._stall_timer.setInterval(STALLED_LOAD_MS)
        self._stall_timer.timeout.connect(self._on_load_stalled)
        self._health_since_load: HealthEvent | None = None
        self.page.loadStarted.connect(self._on_load_started)
        # Lead situação badges in the chat list (issue 4): isolated world, read-only.
        self.page.scripts().insert(build_badges_script((home_url,)))
        self.page.load_home()
        self._preload_history()  # at start: the recent chats are in the cache before they open

    def _preload_history(self) -> None:
        """Issue 5: record the profile document and pre-load its recent chats into the cache."""
        profile_id, name = self.profile.id, self.profile.name

        def _work() -> int:
            self._history.register_profile(profile_id, name)
            return self._history.preload(profile_id)

        self._tasks.submit(
            _work,
            lambda n: log.debug("history: %d recent chats pre-loaded", n),
            lambda e: log.info("history pre-load skipped: %s", type(e).__name__),
        )

    # -- bridge events ------------------------------------------------------------------------
    def _on_event(self, event: BridgeEvent) -> None:
        if isinstance(event, HISTORY_EVENTS):
            self._record(event)  # type: ignore[arg-type]
            if isinstance(event, MessageEvent) and not event.is_group:
                self.lead_controller.learn_chat(event.chat_id, event.chat_name, event.chat_phone)
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
        elif isinstance(event, CommandResultEvent):
            self._on_command_result(event)
        elif isinstance(event, LogEvent):
            logging.getLogger("wacrm.js").log(
                logging.getLevelName(event.level.upper()), "%s", event.message
            )

    def _record(self, event: HistoryEvent) -> None:
        """Gather one history event; the delivery's events are journalled together.

        The bridge emits `deliveryDone` after the last event of each delivery, still inside
        the page's call, so a delivery is durable (one SQLite transaction) before it returns.
        """
        self._journal_buffer.append(event)
        if len(self._journal_buffer) >= JOURNAL_BATCH:
            self._flush_journal()

    def _flush_journal(self) -> None:
        batch, self._journal_buffer = self._journal_buffer, []
        if not batch:
            return
        try:
            self._history.record_many(self.profile.id, batch)  # type: ignore[arg-type]
        except Exception:
            log.exception("could not journal %d history events", len(batch))

    def _on_active_chat(self, event: ActiveChatEvent) -> None:
        previous = self.active_chat
        self.active_chat = event if event.chat_id else None
        self.compose.set_chat_open(event.chat_id is not None)
        if event.chat_id is None:
            self._lookup_generation += 1
            self.panel.show_no_chat()
            self.lead_controller.set_chat(None, None, None, False)
            return
        same_chat = previous is not None and previous.chat_id == event.chat_id
        if not same_chat:
            self.panel.scroll_to_top()  # the new chat's name, phone and ⟳ first
        if not same_chat or (event.phone and not (previous and previous.phone)):
            self.panel.history.clear()
            self.lead_controller.set_chat(event.chat_id, event.name, event.phone, event.is_group)
        self._load_history()

    def reload_history(self) -> None:
        """Read the open chat's saved history again (the history store or cache came back)."""
        if self.active_chat is not None:
            self._history_timer.start()

    def _lookup_lead(self) -> None:
        """Look the open chat's lead up again (the panel's refresh does the same)."""
        self.lead_controller.refresh()

    def _run_badges_js(self, code: str, callback: Callable[[Any], None] | None) -> None:
        """Run code in lead_badges.js's isolated world (never the page's own world)."""
        if shiboken6.isValid(self.page):
            self.page.runJavaScript(code, APPLICATION_WORLD, callback or (lambda _r: None))

    def _load_history(self) -> None:
        chat = self.active_chat
        if chat is None or chat.chat_id is None:
            return
        chat_id = chat.chat_id

        def _still_open() -> bool:
            current = self.active_chat
            return current is not None and current.chat_id == chat_id and shiboken6.isValid(self)

        def _done(messages: list[dict[str, Any]]) -> None:
            if _still_open():
                self.panel.show_history(messages)

        def _failed(error: BaseException) -> None:
            log.warning("history read failed: %s", type(error).__name__)
            if _still_open():
                self.panel.show_history_unavailable()

        self._tasks.submit(
            lambda: self._history.recent_messages(self.profile.id, chat_id, 50),
            _done,
            _failed,
        )

    def _set_state(self, state: LoginState) -> None:
        if state == self.state:
            return
        log.info("profile %s: WhatsApp state: %s", self.profile.id, state)
        self.state = state
        if state != "loading":
            self._stall_timer.stop()
            self._stall_timer.setInterval(STALLED_LOAD_MS)
            self._hide_banner("stalled")
        if state == "logged_out":
            self._unlinked = True
        elif state == "connected":
            self._unlinked = False
        self._update_unlinked_box()
        if state == "logged_out":
            self.active_chat = None
            self.compose.set_chat_open(False)
            self.panel.show_no_chat()
            self.lead_controller.set_chat(None, None, None, False)
        if state == "connected":
            self._request_catch_up()
            self._preload_history()
        self.stateChanged.emit(state)

    def _request_catch_up(self) -> None:
        """On start and after a reconnect: the page resends chats active since our last message."""
        last_t = getattr(self._history, "last_message_t", None)
        if not callable(last_t):
            self.page.bridge.send_command("catch_up", {"since_t": 0})
            return

        def _done(since: int | None) -> None:
            if shiboken6.isValid(self.page):
                # A minute of overlap: clocks differ and the history keys on the message id anyway.
                self.page.bridge.send_command("catch_up", {"since_t": max(0, int(since or 0) - 60)})

        self._tasks.submit(
            lambda: last_t(self.profile.id),
            _done,
            lambda e: log.warning("last message time unavailable: %s", e),
        )

    def _update_unlinked_box(self) -> None:
        """From the unlink until the profile is connected again: say what happened; offer
        "show the QR" while WhatsApp shows no QR, and "reset this profile" in case it never
        comes (a stale session may show neither QR nor chats, notes §5)."""
        if not self._unlinked:
            self.unlinked_box.hide()
            return
        if self.state == "connecting" and self.unlinked_box.isVisibleTo(self):
            return  # the QR was just scanned: keep what is shown until connected
        qr_visible = self.state == "qr"
        self.unlinked_text.setText(_(UNLINKED_QR_TEXT if qr_visible else UNLINKED_TEXT))
        self.reset_button.setVisible(not qr_visible)
        self.reset_profile_button.setVisible(True)
        self.unlinked_box.show()

    def _on_health(self, event: HealthEvent) -> None:
        self.health = event
        self._health_since_load = event
        if event.ok:
            # The version goes into every bug report; pieces that only limit extras are named.
            log.info(
                "profile %s: WhatsApp %s, bridge ok%s",
                self.profile.id,
                event.version or "?",
                f" (without {', '.join(event.missing)})" if event.missing else "",
            )
            self.banner.hide()
            return
        missing = ", ".join(event.missing) or "?"
        log.error("WhatsApp %s: bridge degraded, missing %s", event.version or "?", missing)
        self._show_banner(
            _(
                "Integração degradada (WhatsApp {version}): faltam {missing}. "
                "O WhatsApp continua funcionando, mas as mensagens não estão sendo salvas."
            ).format(version=event.version or "?", missing=missing)
        )

    def _on_load_finished(self, ok: bool) -> None:
        """WhatsApp Web unreachable (no internet, proxy): say so instead of "carregando" forever."""
        if ok:
            if self.banner.property("loadError"):
                self.banner.setProperty("loadError", False)
                self.banner.hide()
            return
        self.banner.setProperty("loadError", True)
        self._show_banner(
            _(
                "Não foi possível abrir o WhatsApp Web (verifique a internet). "
                "Tentando de novo em 30 s…"
            )
        )
        QTimer.singleShot(30_000, self, self._retry_load)

    def _retry_load(self) -> None:
        if self.banner.property("loadError") and shiboken6.isValid(self.page):
            self.page.load_home()

    def _on_load_stalled(self) -> None:
        """Still "loading" long after a load started: say so and load the start page again."""
        if self.state != "loading" or self.banner.property("loadError"):
            return  # a failed load has its own banner and retry
        if self.page.resetting:
            self._stall_timer.start()  # the reset loads the start page when it is done
            return
        health = self._health_since_load
        if health is not None and not {"require", "__d"} & set(health.missing):
            # WhatsApp's own code runs (its module loader is there): reloading would not help
            # and would make a WhatsApp whose internals changed unusable. The health banner
            # says what the bridge cannot read; WhatsApp stays usable as a plain window.
            log.warning(
                "profile %s: login state still unknown (WhatsApp %s, missing %s); not reloading",
                self.profile.id,
                health.version or "?",
                ", ".join(health.missing) or "nothing",
            )
            return
        log.warning(
            "profile %s: WhatsApp still loading after %d s; loading it again",
            self.profile.id,
            self._stall_timer.interval() // 1000,
        )
        self._show_banner(_("O WhatsApp Web não terminou de carregar. Recarregando…"), "stalled")
        # Each consecutive stall waits twice as long (a slow link gets more time, never a loop).
        self._stall_timer.setInterval(min(self._stall_timer.interval() * 2, STALLED_LOAD_MAX_MS))
        self.page.load_home()

    def _on_load_started(self) -> None:
        self._health_since_load = None
        self._stall_timer.start()

    def _show_banner(self, text: str, kind: str = "") -> None:
        self._banner_kind = kind
        self.banner.setText(text)
        self.banner.show()

    def _hide_banner(self, kind: str) -> None:
        """Hide the banner if it still shows a message of this kind."""
        if kind and self._banner_kind == kind:
            self._banner_kind = ""
            self.banner.hide()

    def _on_title(self, title: str) -> None:
        unread = unread_from_title(title)
        if unread != self.unread:
            self.unread = unread
            self.unreadChanged.emit(unread)

    # -- commands -------------------------------------------------------------------------------
    def fill_composer(self, text: str) -> None:
        """Put text in WhatsApp's composer of the open chat; the user still clicks send."""
        request_id = self._new_request("fill")
        self.page.bridge.send_command("fill_composer", {"text": text, "request_id": request_id})

    def send_text(self, text: str) -> str | None:
        """Send `text` to the open chat through WhatsApp's own path (explicit click only)."""
        chat = self.active_chat
        if chat is None or chat.chat_id is None:
            self.compose.show_result(False, "no_chat", was_send=True)
            return None
        return self.send_text_to(chat.chat_id, text)

    def send_text_to(self, chat_id: str, text: str) -> str:
        """Send to a chat id or a phone id (`<digits>@c.us`), even one never chatted with."""
        request_id = self._new_request("send")
        self.compose.sending_started()
        self.page.bridge.send_command(
            "send_text", {"chat_id": chat_id, "text": text, "request_id": request_id}
        )

        def _timeout() -> None:
            if self._pending.pop(request_id, None) is not None:
                self.compose.show_result(False, "timeout", was_send=True)

        QTimer.singleShot(SEND_TIMEOUT_MS, self, _timeout)
        return request_id

    def _new_request(self, kind: str) -> str:
        request_id = secrets.token_hex(8)
        self._pending[request_id] = kind
        return request_id

    def _on_command_result(self, event: CommandResultEvent) -> None:
        kind = self._pending.pop(event.request_id or "", None)
        if kind is None:
            if not event.ok:
                log.warning("page command failed: %s", event.error)
            return
        if not event.ok:
            log.warning("%s failed: %s", kind, event.error)
        self.compose.show_result(event.ok, event.error, was_send=kind == "send")

    def ask_reset_profile(self) -> None:
        """After confirmation: wipe this profile's WhatsApp web storage; the history is kept."""
        answer = QMessageBox.question(
            self,
            _("Redefinir perfil"),
            _(
                "Apagar a sessão do WhatsApp de “{name}” neste computador?\n\n"
                "Será preciso escanear o QR de novo. O histórico de mensagens salvo não é apagado."
            ).format(name=self.profile.name),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.reset_profile()

    def reset_profile(self) -> None:
        """Delete this profile's WhatsApp session on this computer (cookies, HTTP cache, the
        origin's storage), then show the QR again; the stored history is kept (web/reset.py)."""
        log.info("resetting the web storage of profile %s", self.profile.id)
        self._show_banner(_("Redefinindo o perfil: apagando a sessão do WhatsApp…"), "reset")
        self.page.reset_storage()

    def _on_reset_finished(self, ok: bool, detail: str) -> None:
        if ok:
            self._hide_banner("reset")
            self._unlinked = False  # a fresh session: WhatsApp's own QR screen says the rest
            self._update_unlinked_box()
            return
        log.warning("profile %s: reset incomplete: %s", self.profile.id, detail)
        self._show_banner(
            _(
                "Parte da sessão do WhatsApp pode não ter sido apagada. Se o QR não aparecer, "
                "feche o aplicativo, abra-o de novo e use “Redefinir este perfil” outra vez."
            )
        )

    def shutdown(self) -> None:
        """Delete view, then page, then profile: the profile must outlive its pages (Qt rule)."""
        self._history_timer.stop()
        self._flush_journal()
        for obj in (self.view, self.page):
            if shiboken6.isValid(obj):
                shiboken6.delete(obj)
        if shiboken6.isValid(self.web_profile):
            shiboken6.delete(self.web_profile)
