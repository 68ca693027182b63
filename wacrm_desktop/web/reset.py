"""Redefinir este perfil: delete one profile's WhatsApp web session so the QR shows again.

The steps run in this order, each one capped, so a reset always ends on the WhatsApp start page:

0. The profile's cookies are deleted.
1. If the tab shows a WhatsApp document, `resources/js/reset_storage.js` ("leave") unregisters
   the origin's service workers there (the API refuses the blank document of step 2).
2. The tab shows a blank document *of the WhatsApp origin* (`setHtml`
   with the WhatsApp URL as base; nothing is fetched). WhatsApp's previous document is gone, so
   its IndexedDB connections are closed, and none of its scripts run there to open them again.
   `reset_storage.js` ("wipe") deletes the origin's IndexedDB databases, Local/Session Storage
   and Cache Storage in that document and reports what is left.
3. The HTTP cache is cleared while nothing loads. When QtWebEngine finishes clearing it resets
   the profile's network context, and requests of a page loading at that moment fail without
   reaching the server. Qt's documentation says to start no navigation until
   `clearHttpCacheCompleted`. Reloading WhatsApp during the clear left its page without its
   scripts, stuck in "loading".
4. The WhatsApp start page is loaded.

`finished(ok, detail)` is emitted after step 4. `ok` is false when something may be left: the
blank document did not load, the wipe or the cache clear did not finish, or a database was still
in use (its delete stays queued ahead of WhatsApp's next open of it).
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

from PySide6.QtCore import QObject, QTimer, QUrl, Signal
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile, QWebEngineScript

from .qt_workarounds import emit, run_javascript
from .scripts import read_resource_text

log = logging.getLogger("wacrm.web")

#: The document the wipe runs in: no script, no subresource, nothing from the network.
RESET_PAGE_HTML = (
    '<!doctype html><html lang="pt-BR"><head><meta charset="utf-8">'
    "<title>WhatsApp</title></head><body></body></html>"
)
LEAVE_CAP_MS = 10_000  # reset_storage.js caps each of its calls at 8 s
BLANK_LOAD_CAP_MS = 15_000
WIPE_CAP_MS = 20_000
POLL_MS = 200
CACHE_CLEAR_CAP_MS = 20_000

_READ_RESULT = "JSON.stringify(window.__wacrmReset === undefined ? null : window.__wacrmReset)"


def _script(step: str, origin: str) -> str:
    """reset_storage.js for one step, wrapped so that each run has its own constants."""
    source = read_resource_text("js", "reset_storage.js")
    return (
        f"(function () {{\nconst WACRM_RESET_STEP = {json.dumps(step)};\n"
        f"const WACRM_RESET_ORIGIN = {json.dumps(origin)};\n{source}\n}})();"
    )


def web_origin(url: str) -> str:
    """What `location.origin` says on a page at `url`: scheme://host[:port], no default port."""
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}"


class StorageReset(QObject):
    """One reset of `page`'s profile storage for the origin of `home_url`; see the module doc."""

    finished = Signal(bool, str)  # ok, detail (for the log and the banner)

    def __init__(self, page: QWebEnginePage, profile: QWebEngineProfile, home_url: str) -> None:
        """`profile` is `page`'s profile, passed in: see WhatsAppPage on `page.profile()`."""
        super().__init__(page)
        self._page = page
        self._profile = profile
        self._home_url = home_url
        self._step = "idle"
        self._problems: list[str] = []
        self._cache_clearing = False
        self._deadline = QTimer(self)
        self._deadline.setSingleShot(True)
        self._deadline.timeout.connect(self._on_deadline)
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._read_result)
        page.loadFinished.connect(self._on_load_finished)
        profile.clearHttpCacheCompleted.connect(self._on_cache_cleared)

    @property
    def running(self) -> bool:
        return self._step != "idle"

    def start(self, *, on_whatsapp: bool) -> None:
        """`on_whatsapp`: the tab shows a document of the WhatsApp origin (step 1 runs there)."""
        if self.running:
            log.info("profile reset already running")
            return
        self._problems = []
        self._profile.cookieStore().deleteAllCookies()
        if on_whatsapp:
            self._run("leave", LEAVE_CAP_MS)
        else:
            self._show_blank()

    # -- steps --------------------------------------------------------------------------------
    def _enter(self, step: str, cap_ms: int) -> None:
        self._step = step
        self._deadline.start(cap_ms)

    def _run(self, step: str, cap_ms: int) -> None:
        """Run reset_storage.js for `step` in the current document and poll for its outcome."""
        self._enter(step, cap_ms)
        run_javascript(
            self._page,
            _script(step, web_origin(self._home_url)),
            QWebEngineScript.ScriptWorldId.ApplicationWorld,
            _ignore,
        )
        self._poll.start()

    def _show_blank(self) -> None:
        self._poll.stop()
        self._enter("blank", BLANK_LOAD_CAP_MS)
        self._page.setHtml(RESET_PAGE_HTML, QUrl(self._home_url))

    def _on_load_finished(self, ok: bool) -> None:
        # Only the blank document counts (an aborted earlier load may report first).
        if self._step != "blank" or self._page.requestedUrl().scheme() != "data":
            return
        if not ok:
            self._problems.append("blank page failed to load")
            self._clear_cache()
            return
        self._run("wipe", WIPE_CAP_MS)

    def _read_result(self) -> None:
        step = self._step
        run_javascript(
            self._page,
            _READ_RESULT,
            QWebEngineScript.ScriptWorldId.ApplicationWorld,
            lambda raw: self._on_result(step, raw),
        )

    def _on_result(self, step: str, raw: object) -> None:
        if step != self._step or not isinstance(raw, str):
            return
        try:
            result = json.loads(raw)
        except ValueError:
            return
        if not isinstance(result, dict) or result.get("step") != step or not result.get("done"):
            return
        self._poll.stop()
        if step == "leave":
            log.info(
                "reset: %s service worker(s) unregistered; errors %s",
                result.get("unregistered"),
                result.get("errors"),
            )
            self._show_blank()
            return
        log.info(
            "reset: deleted databases %s; blocked %s; failed %s; errors %s",
            result.get("deleted"),
            result.get("blocked"),
            result.get("failed"),
            result.get("errors"),
        )
        left = result.get("left") or {}
        databases = left.get("databases") if isinstance(left, dict) else None
        if databases:
            self._problems.append(f"still in use: {', '.join(map(str, databases))}")
        if not isinstance(left, dict) or left.get("localStorage") != 0:
            self._problems.append("Local Storage not emptied")
        self._clear_cache()

    def _clear_cache(self) -> None:
        self._poll.stop()
        self._enter("cache", CACHE_CLEAR_CAP_MS)
        self._cache_clearing = True
        self._profile.clearHttpCache()

    def _on_cache_cleared(self) -> None:
        if not self._cache_clearing:
            return
        self._cache_clearing = False
        if self._step == "cache":
            self._load_home()
        elif self._step == "idle":
            # Finished after its cap, when the start page was already loading: that load lost
            # its network context, so load it again.
            log.warning("profile reset: HTTP cache cleared late; loading the start page again")
            self._page.load(QUrl(self._home_url))

    def _on_deadline(self) -> None:
        step = self._step
        log.warning("profile reset: step %r did not finish in time; going on", step)
        if step == "leave":
            self._show_blank()  # service workers are not storage the session lives in
        elif step == "blank":
            self._problems.append("blank page did not load")
            self._clear_cache()
        elif step == "wipe":
            self._problems.append("storage wipe did not finish")
            self._clear_cache()
        elif step == "cache":
            self._problems.append("HTTP cache clear did not finish")
            self._load_home()

    def _load_home(self) -> None:
        self._deadline.stop()
        self._step = "idle"
        self._page.load(QUrl(self._home_url))
        detail = "; ".join(self._problems)
        if detail:
            log.warning("profile reset finished with problems: %s", detail)
        else:
            log.info("profile reset finished: storage empty, start page loading")
        emit(self.finished, not self._problems, detail)


def _ignore(_result: object) -> None:
    return None
