"""Main window: one tab per open salesperson profile, profile menu, status bar."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QSystemTrayIcon,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core.i18n import _
from ..core.profiles import Profile, ProfileError, ProfileRegistry
from ..core.whatsapp import state_label
from ..services.history import HistoryStatus
from .icons import app_icon
from .profile_tab import ProfileTab

log = logging.getLogger("wacrm.ui")

TabFactory = Callable[[Profile], ProfileTab]
TAB_NAME_WIDTH = 180  # px of a profile name in its tab; longer names are elided (full in tooltip)
NOTICE_STYLE = "background:#fff3cd;color:#664d03;padding:8px;border-radius:4px;"


def history_status_text(status: HistoryStatus) -> str:
    """The status bar's history text, singular or plural ("1 pendente", "3 pendentes")."""
    n = status.pending
    if status.online and not n:
        text = _("histórico: online")
    elif status.online:
        text = (
            _("histórico: salvando — 1 pendente")
            if n == 1
            else _("histórico: salvando — {n} pendentes").format(n=n)
        )
    else:
        text = (
            _("histórico offline — 1 pendente")
            if n == 1
            else _("histórico offline — {n} pendentes").format(n=n)
        )
    if not status.cache_available:
        text += _(" · cache offline")
    return text


class WelcomeView(QWidget):
    """What the window shows with no open profile tab: what a profile is, and how to add one."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcomeView")
        title = QLabel(_("Bem-vindo ao WACRM Desktop"))
        title.setObjectName("welcomeTitle")
        title.setStyleSheet("font-size:20px;font-weight:600;")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.explanation = QLabel(
            _(
                "Um perfil é o WhatsApp de um vendedor: cada perfil abre numa aba, com a "
                "própria sessão do WhatsApp Web (escaneie o QR uma vez) e o lead do CV CRM "
                "ao lado da conversa."
            )
        )
        self.explanation.setObjectName("welcomeText")
        self.explanation.setWordWrap(True)
        self.explanation.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.add_button = QPushButton(_("Adicionar perfil…"))
        self.add_button.setObjectName("welcomeAddProfile")
        self.add_button.setDefault(True)
        self.add_button.setStyleSheet("font-size:15px;padding:8px 24px;")
        self.reopen_button = QPushButton(_("Reabrir perfil"))
        self.reopen_button.setObjectName("welcomeReopenProfile")
        self.reopen_button.hide()
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.reopen_button)
        buttons.addStretch(1)

        box = QWidget()
        box.setFixedWidth(520)  # a fixed width lets the wrapped text get its full height
        column = QVBoxLayout(box)
        column.setSpacing(16)
        column.addWidget(title)
        column.addWidget(self.explanation)
        column.addLayout(buttons)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(box)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(2)


class MainWindow(QMainWindow):
    """Tabs mirror the registry's open profiles, in its order."""

    closing = Signal()

    def __init__(
        self,
        registry: ProfileRegistry,
        tab_factory: TabFactory,
        *,
        title: str = "WACRM Desktop",
        on_remove_profile: Callable[[Profile], None] | None = None,
        on_settings: Callable[[], None] | None = None,
        on_history: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle(title)
        self.resize(1400, 900)
        self._registry = registry
        self._tab_factory = tab_factory
        self._on_remove_profile = on_remove_profile
        self.tabs = QTabWidget()
        self.tabs.setMovable(True)
        self.tabs.setTabsClosable(True)
        self.tabs.setDocumentMode(True)
        self.tabs.tabCloseRequested.connect(self._close_tab_at)
        self.tabs.tabBar().tabMoved.connect(lambda _a, _b: self._save_order())
        self.welcome = WelcomeView()
        self.welcome.add_button.clicked.connect(self.ask_add_profile)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.tabs)
        # A problem the user must know about (e.g. a damaged profiles.json), above everything.
        self.notice = QFrame()
        self.notice.setObjectName("windowNotice")
        self.notice.setStyleSheet(NOTICE_STYLE)
        self.notice_text = QLabel()
        self.notice_text.setWordWrap(True)
        self.notice_text.setTextFormat(Qt.TextFormat.PlainText)  # names from files: never markup
        self.notice_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice_text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        notice_close = QToolButton()
        notice_close.setText("✕")
        notice_close.setToolTip(_("Fechar este aviso"))
        notice_close.setAutoRaise(True)
        notice_close.clicked.connect(self.notice.hide)
        notice_row = QHBoxLayout(self.notice)
        notice_row.setContentsMargins(0, 0, 0, 0)
        notice_row.addWidget(self.notice_text, 1)
        notice_row.addWidget(notice_close, 0, Qt.AlignmentFlag.AlignTop)
        self.notice.hide()
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(0)
        central_layout.addWidget(self.notice)
        central_layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        menu = self.menuBar().addMenu(_("&Perfis"))
        self.profiles_menu = menu
        self.action_add = QAction(_("&Adicionar perfil…"), self)
        self.action_add.triggered.connect(self.ask_add_profile)
        self.action_rename = QAction(_("&Renomear perfil…"), self)
        self.action_rename.triggered.connect(self.ask_rename_profile)
        self.action_close = QAction(_("&Fechar aba"), self)
        self.action_close.triggered.connect(lambda: self._close_tab_at(self.tabs.currentIndex()))
        self.action_remove = QAction(_("Re&mover perfil…"), self)
        self.action_remove.triggered.connect(self.ask_remove_profile)
        self.reopen_menu = menu.addMenu(_("Reabrir perfil"))
        self.reopen_menu.aboutToShow.connect(self._fill_reopen_menu)
        self.welcome.reopen_button.setMenu(self.reopen_menu)
        for action in (self.action_add, self.action_rename, self.action_close, self.action_remove):
            menu.addAction(action)
        if on_settings is not None:
            settings_action = QAction(_("&Configurações…"), self)
            settings_action.triggered.connect(on_settings)
            self.menuBar().addAction(settings_action)
        if on_history is not None:
            self.action_history = QAction(_("&Histórico…"), self)
            self.action_history.setShortcut("Ctrl+H")
            self.action_history.triggered.connect(on_history)
            self.menuBar().addAction(self.action_history)

        self._last_notified: str | None = None
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(app_icon(), self)
            self.tray.setToolTip(title)
            self.tray.messageClicked.connect(self._open_last_notified)
            self.tray.activated.connect(lambda _reason: self._raise())
            self.tray.show()
        self.setWindowIcon(app_icon())

        self.history_status = QLabel(_("histórico: iniciando…"))
        self.history_status.setObjectName("historyStatus")
        self.statusBar().addPermanentWidget(self.history_status)
        self._last_history_status: HistoryStatus | None = None
        if registry.load_problem:
            self.show_notice(registry.load_problem)

        for profile in registry.open_profiles():
            self._open_tab(profile)
        if self.tabs.count():
            self.tabs.setCurrentIndex(0)  # start on the first profile, as the user ordered them
        self._update_empty_state()

    # -- tabs -----------------------------------------------------------------------------------
    def tab_for(self, profile_id: str) -> ProfileTab | None:
        for i in range(self.tabs.count()):
            tab = self.tabs.widget(i)
            if isinstance(tab, ProfileTab) and tab.profile.id == profile_id:
                return tab
        return None

    def profile_tabs(self) -> list[ProfileTab]:
        return [
            w for i in range(self.tabs.count()) if isinstance(w := self.tabs.widget(i), ProfileTab)
        ]

    def _open_tab(self, profile: Profile) -> ProfileTab:
        existing = self.tab_for(profile.id)
        if existing is not None:
            self.tabs.setCurrentWidget(existing)
            return existing
        tab = self._tab_factory(profile)
        index = self.tabs.addTab(tab, profile.name)
        tab.stateChanged.connect(lambda _s, t=tab: self._refresh_label(t))
        tab.unreadChanged.connect(lambda _n, t=tab: self._refresh_label(t))
        tab.notificationRequested.connect(
            lambda title, text, t=tab: self._notify(t.profile.id, title, text)
        )
        self._refresh_label(tab)
        self.tabs.setCurrentIndex(index)
        self._update_empty_state()
        return tab

    def _refresh_label(self, tab: ProfileTab) -> None:
        index = self.tabs.indexOf(tab)
        if index < 0:
            return
        # A long name would push the other tabs away: elided here, in full in the tooltip.
        label = (
            self.tabs.tabBar()
            .fontMetrics()
            .elidedText(tab.profile.name, Qt.TextElideMode.ElideRight, TAB_NAME_WIDTH)
        )
        if tab.unread:
            label = f"{label} ({tab.unread})"
        if tab.state != "connected":
            label = f"{label} · {state_label(tab.state)}"
        self.tabs.setTabText(index, label)
        self._update_unread_total()
        self.tabs.setTabToolTip(index, f"{tab.profile.name}: {state_label(tab.state)}")

    def total_unread(self) -> int:
        return sum(t.unread for t in self.profile_tabs())

    def _update_unread_total(self) -> None:
        total = self.total_unread()
        base = self.windowTitle().split(" (")[0]
        self.setWindowTitle(f"{base} ({total})" if total else base)
        if self.tray is not None:
            unread = _("{title}: {n} conversas não lidas").format(title=base, n=total)
            self.tray.setToolTip(unread if total else base)

    def _notify(self, profile_id: str, title: str, text: str) -> None:
        self._last_notified = profile_id
        tab = self.tab_for(profile_id)
        who = tab.profile.name if tab is not None else ""
        if self.tray is not None:
            self.tray.showMessage(f"{who}: {title}" if who else title, text, app_icon(), 8000)

    def _open_last_notified(self) -> None:
        self._raise()
        if self._last_notified is not None:
            tab = self.tab_for(self._last_notified)
            if tab is not None:
                self.tabs.setCurrentWidget(tab)

    def _raise(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def _close_tab_at(self, index: int) -> None:
        """Close a tab; always closes, even when profiles.json cannot be written (then says so).

        The write (a few hundred bytes) stays on the UI thread: it is local and tiny, and the
        registry turns every failure into ProfileError, caught here, so nothing reaches Qt.
        """
        tab = self.tabs.widget(index)
        if not isinstance(tab, ProfileTab):
            return
        self._set_open(tab.profile.id, False)
        self.tabs.removeTab(index)
        tab.shutdown()
        tab.deleteLater()
        self._update_empty_state()

    def _save_order(self) -> None:
        open_ids = [t.profile.id for t in self.profile_tabs()]
        closed = [p.id for p in self._registry.all() if p.id not in open_ids]
        try:
            self._registry.reorder(open_ids + closed)
        except ProfileError as exc:
            log.warning("could not save tab order: %s", exc)
            self._show_not_saved(exc)

    def _set_open(self, profile_id: str, is_open: bool) -> Profile | None:
        """The registry's open/closed mark; a failed write is shown, never raised (the change
        holds for this session: see ProfileRegistry). None for a profile no longer there."""
        try:
            return self._registry.set_open(profile_id, is_open)
        except ProfileError as exc:
            log.warning("could not save that a tab was opened/closed: %s", exc)
            self._show_not_saved(exc)
        return next((p for p in self._registry.all() if p.id == profile_id), None)

    def _show_not_saved(self, exc: ProfileError) -> None:
        self.show_notice(
            f"{exc} "
            + _(
                "As abas ficam como estão agora, mas isso pode não ser lembrado na próxima "
                "vez que o app abrir."
            )
        )

    def _update_empty_state(self) -> None:
        """No open tab: the welcome view (what a profile is, how to add or reopen one)."""
        has_tabs = self.tabs.count() > 0
        self.stack.setCurrentWidget(self.tabs if has_tabs else self.welcome)
        if not has_tabs:
            self.welcome.reopen_button.setVisible(any(not p.is_open for p in self._registry.all()))

    def show_notice(self, text: str) -> None:
        """A warning over the window's content until the user closes it.

        A notice still showing is kept (the new one goes below it), and the same text is
        never shown twice, so a damaged profiles.json is not hidden by a later problem.
        """
        current = "" if self.notice.isHidden() else self.notice_text.text()
        if text in current.split("\n\n"):
            return
        self.notice_text.setText(f"{current}\n\n{text}" if current else text)
        self.notice.show()

    def _fill_reopen_menu(self) -> None:
        self.reopen_menu.clear()
        closed = [p for p in self._registry.all() if not p.is_open]
        if not closed:
            self.reopen_menu.addAction(_("(nenhum perfil fechado)")).setEnabled(False)
        for profile in closed:
            action = self.reopen_menu.addAction(profile.name)
            action.triggered.connect(lambda _c=False, pid=profile.id: self.reopen_profile(pid))

    # -- profile actions ------------------------------------------------------------------------
    def add_profile(self, name: str) -> Profile:
        profile = self._registry.add(name)
        self._open_tab(profile)
        return profile

    def reopen_profile(self, profile_id: str) -> None:
        profile = self._set_open(profile_id, True)
        if profile is not None:
            self._open_tab(profile)

    def rename_profile(self, profile_id: str, name: str) -> None:
        profile = self._registry.rename(profile_id, name)
        tab = self.tab_for(profile_id)
        if tab is not None:
            tab.profile = profile
            self._refresh_label(tab)

    def remove_profile(self, profile_id: str) -> None:
        """Raises ProfileError (then nothing changed: the tab and the session stay)."""
        profile = self._registry.remove(profile_id)
        tab = self.tab_for(profile_id)
        if tab is not None:
            self.tabs.removeTab(self.tabs.indexOf(tab))
            tab.shutdown()
            tab.deleteLater()
        if self._on_remove_profile is not None:
            self._on_remove_profile(profile)
        self._update_empty_state()

    def ask_add_profile(self) -> None:
        title = _("Adicionar perfil")
        name, ok = QInputDialog.getText(self, title, _("Nome do vendedor:"))
        if ok:
            try:
                self.add_profile(name)
            except ProfileError as exc:
                QMessageBox.warning(self, title, str(exc))

    def _current_tab(self) -> ProfileTab | None:
        tab = self.tabs.currentWidget()
        return tab if isinstance(tab, ProfileTab) else None

    def ask_rename_profile(self) -> None:
        tab = self._current_tab()
        if tab is None:
            return
        title = _("Renomear perfil")
        name, ok = QInputDialog.getText(self, title, _("Novo nome:"), text=tab.profile.name)
        if ok:
            try:
                self.rename_profile(tab.profile.id, name)
            except ProfileError as exc:
                QMessageBox.warning(self, title, str(exc))

    def ask_remove_profile(self) -> None:
        tab = self._current_tab()
        if tab is None:
            return
        title = _("Remover perfil")
        answer = QMessageBox.question(
            self,
            title,
            _(
                "Remover o perfil “{name}”? A sessão do WhatsApp deste perfil será "
                "apagada deste computador (será preciso escanear o QR de novo). "
                "O histórico salvo no MongoDB é mantido."
            ).format(name=tab.profile.name),
        )
        if answer == QMessageBox.StandardButton.Yes:
            try:
                self.remove_profile(tab.profile.id)
            except ProfileError as exc:
                QMessageBox.warning(self, title, str(exc))

    # -- status -----------------------------------------------------------------------------------
    def show_history_status(self, status: HistoryStatus) -> None:
        previous, self._last_history_status = self._last_history_status, status
        self.history_status.setText(history_status_text(status))
        self.history_status.setToolTip(status.last_error or "")
        # The store (or the cache) is back: the open chats' saved history can be read again
        # (a read that failed while it was down left the panel's list empty).
        store_back = status.online and (previous is None or not previous.online)
        cache_back = (
            previous is not None and status.cache_available and not previous.cache_available
        )
        if store_back or cache_back:
            for tab in self.profile_tabs():
                tab.reload_history()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        self.closing.emit()
        for tab in self.profile_tabs():
            tab.shutdown()
        super().closeEvent(event)
