"""The QWebEnginePage for one WhatsApp tab: bridge wiring, console logging, crash recovery."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from PySide6.QtCore import QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWebChannel import QWebChannel
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile, QWebEngineScript

from .bridge import BridgeObject
from .qt_workarounds import emit
from .reset import StorageReset
from .scripts import BridgeConfig, build_scripts

log = logging.getLogger("wacrm.web")
js_log = logging.getLogger("wacrm.js")

_CONSOLE_LEVELS = {
    QWebEnginePage.JavaScriptConsoleMessageLevel.InfoMessageLevel: logging.DEBUG,
    QWebEnginePage.JavaScriptConsoleMessageLevel.WarningMessageLevel: logging.DEBUG,
    QWebEnginePage.JavaScriptConsoleMessageLevel.ErrorMessageLevel: logging.INFO,
}
CRASH_RELOAD_DELAY_MS = 3000


class WhatsAppPage(QWebEnginePage):
    """A page whose scripts and channel are set up before the first load."""

    renderCrashed = Signal(str)
    loggedOutNavigation = Signal()
    resetFinished = Signal(bool, str)  # ok, detail

    def __init__(
        self,
        profile: QWebEngineProfile,
        *,
        home_url: str,
        capture_status_and_newsletters: bool = False,
    ) -> None:
        super().__init__(profile, None)
        # Never `self.profile()`: PySide6 then makes the profile's wrapper a child of this page,
        # and deleting the page invalidates it, so ProfileTab.shutdown() could no longer delete
        # the profile, which kept its data path busy (a reopened profile failed to start).
        self._profile = profile
        self.home_url = home_url
        self.bridge = BridgeObject(parent=self)
        self._origin = _origin(home_url)
        self._channel = QWebChannel(self)
        self._channel.registerObject("wacrmBridge", self.bridge)
        # The channel lives only in the isolated world: WhatsApp's scripts never see `qt`.
        self.setWebChannel(self._channel, QWebEngineScript.ScriptWorldId.ApplicationWorld)
        config = BridgeConfig(
            token=self.bridge.token,
            allowed_urls=(home_url,),
            capture_status_and_newsletters=capture_status_and_newsletters,
        )
        for script in build_scripts(config):
            self.scripts().insert(script)
        self.renderProcessTerminated.connect(self._on_render_terminated)
        self.urlChanged.connect(self._on_url_changed)
        self._reset = StorageReset(self, profile, home_url)
        self._reset.finished.connect(self.resetFinished)

    def load_home(self) -> None:
        self.load(QUrl(self.home_url))

    def reset_storage(self) -> None:
        """Delete the profile's cookies and cache and the WhatsApp origin's storage, then load
        the start page (see web/reset.py); `resetFinished(ok, detail)` follows."""
        url = self.url()
        on_whatsapp = url.scheme() in ("http", "https") and _origin(url.toString()) == self._origin
        self._reset.start(on_whatsapp=on_whatsapp)

    @property
    def resetting(self) -> bool:
        return self._reset.running

    # -- Qt overrides -------------------------------------------------------------------------
    def javaScriptConsoleMessage(  # noqa: N802 (Qt override)
        self,
        level: QWebEnginePage.JavaScriptConsoleMessageLevel,
        message: str,
        line: int,
        source: str,
    ) -> None:
        js_log.log(_CONSOLE_LEVELS.get(level, logging.DEBUG), "%s:%d %s", source, line, message)

    def acceptNavigationRequest(  # noqa: N802 (Qt override)
        self, url: QUrl | str, nav_type: QWebEnginePage.NavigationType, is_main_frame: bool
    ) -> bool:
        url = QUrl(url)
        if (
            is_main_frame
            and nav_type == QWebEnginePage.NavigationType.NavigationTypeLinkClicked
            and _origin(url.toString()) != self._origin
            and url.scheme() in ("http", "https")
        ):
            # Links in chats open in the user's browser, never inside the WhatsApp tab.
            QDesktopServices.openUrl(url)
            return False
        return super().acceptNavigationRequest(url, nav_type, is_main_frame)

    def createWindow(  # noqa: N802 (Qt override)
        self, _type: QWebEnginePage.WebWindowType
    ) -> QWebEnginePage:
        """target=_blank links: catch the URL in a throwaway page and hand it to the browser."""
        catcher = QWebEnginePage(self._profile, self)

        def _open(url: QUrl) -> None:
            if url.scheme() in ("http", "https", "mailto"):
                QDesktopServices.openUrl(url)
            catcher.deleteLater()

        catcher.urlChanged.connect(_open)
        return catcher

    # -- private ------------------------------------------------------------------------------
    def _on_render_terminated(
        self, status: QWebEnginePage.RenderProcessTerminationStatus, code: int
    ) -> None:
        if status == QWebEnginePage.RenderProcessTerminationStatus.NormalTerminationStatus:
            return
        log.error("WhatsApp page renderer died (%s, code %d); reloading", status.name, code)
        emit(self.renderCrashed, status.name)
        QTimer.singleShot(CRASH_RELOAD_DELAY_MS, self, self._reload_after_crash)

    def _reload_after_crash(self) -> None:
        if not self.resetting:  # a reset loads the start page itself, after the cache clear
            self.load_home()

    def _on_url_changed(self, url: QUrl) -> None:
        # WhatsApp navigates to ...?post_logout=1 after the device was unlinked: authoritative.
        if "post_logout=1" in url.query():
            emit(self.loggedOutNavigation)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()
