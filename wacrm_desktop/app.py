"""Composition root: the one place that builds adapters, services and the UI and wires them.

Nothing else constructs an adapter; every other module receives what it needs.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from .adapters.cache import make_cache
from .adapters.cvcrm import CrmNotConfigured, CvCrmClient
from .adapters.embedded_mongo import EmbeddedMongo
from .adapters.mongo import MongoHistoryStore
from .adapters.secrets import SecretStore
from .adapters.state_store import JsonStateStore
from .core.i18n import _, set_language
from .core.lead_text import DEFAULT_QUICK_REPLIES
from .core.profiles import Profile, ProfileRegistry
from .core.settings import (
    DEFAULT_WHATSAPP_URL,
    ENV_LANGUAGE,
    Paths,
    RuntimeConfig,
    load_settings,
    save_settings,
)
from .services.crm_actions import LeadActions
from .services.crm_catalog import CrmCatalog
from .services.crm_choices import LeadChoices, PanelLayout
from .services.crm_prefetch import LeadPrefetcher
from .services.history import HistoryService, HistoryStatus
from .services.leads import LeadService
from .ui.lead.controller import LeadPanelContext, PrefetchRelay
from .ui.main_window import MainWindow
from .ui.profile_tab import ProfileTab
from .ui.qt_language import QtLanguage
from .ui.settings_dialog import SettingsDialog, SettingsValues
from .ui.tasks import TaskRunner
from .web.profiles import create_profile

log = logging.getLogger("wacrm.app")

DEMO_PROFILES = ("Ana", "Bruno")
HISTORY_RETENTION_KEY = "history_retention_days"  # settings.json; 0 = keep forever
DEMO_CRM_EMAIL = "demo@wacrm.local"
DEMO_CRM_TOKEN = "demo-token"  # the simulator's own credential, not a secret
DEMO_PORT_FILE = "demo-simulator.json"  # the demo's WhatsApp origin, kept between runs


@dataclass(frozen=True, slots=True)
class Options:
    """What the command line asked for."""

    demo: bool = False
    data_dir: Path | None = None
    whatsapp_url: str | None = None
    profiles: tuple[str, ...] = ()
    debug: bool = False
    quit_after_ms: int | None = None
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


class _StatusRelay(QObject):
    """Carries history status from the writer thread to the UI thread."""

    status = Signal(object)


class EmbeddedMongoHolder:
    """Starts the embedded SecantusDB lazily, off the UI thread, once."""

    def __init__(self, data_dir: Path) -> None:
        self._server = EmbeddedMongo(data_dir)
        self._lock = threading.Lock()
        self._started = False

    def uri(self) -> str:
        """Start the server, or restart it if it died since (start() is idempotent)."""
        with self._lock:
            self._server.start()
            self._started = True
            return self._server.uri

    def stop(self) -> None:
        with self._lock:
            if self._started:
                self._server.stop()
                self._started = False


class WacrmApp:
    """Builds everything for one run; `start()` needs a QApplication, `shutdown()` undoes it."""

    def __init__(self, options: Options) -> None:
        self.options = options
        data_dir = options.data_dir
        if data_dir is None and options.demo:
            # The demo never touches the user's real profiles and history.
            data_dir = Paths.resolve(None).data_dir / "demo"
        self.paths = Paths.resolve(data_dir)
        self.paths.ensure()
        self.secrets = SecretStore()
        self.config = RuntimeConfig.build(load_settings(self.paths.settings_file), options.env)
        self.settings = self.config.settings
        # The language of the whole process, before any service or widget builds a text.
        self.language = set_language(self.settings.language)
        self.qt_language: QtLanguage | None = None
        self.whatsapp_url = options.whatsapp_url or DEFAULT_WHATSAPP_URL
        self._simulators: list[object] = []
        self._crm_token_override: str | None = self.config.cvcrm_token_from_env
        self._crm_lock = threading.Lock()
        self._crm_cached: tuple[tuple[str, str, str], CvCrmClient] | None = None
        self.embedded: EmbeddedMongoHolder | None = None
        self.window: MainWindow | None = None
        self.history: HistoryService | None = None
        self.tasks: TaskRunner | None = None

    # -- building -------------------------------------------------------------------------------
    def _start_demo_simulators(self) -> None:
        from .simulators.cvcrm import CvCrmSimulator
        from .simulators.whatsapp import WhatsAppSimulator

        wa = self._start_whatsapp_simulator(WhatsAppSimulator)
        crm = CvCrmSimulator(email=DEMO_CRM_EMAIL, token=DEMO_CRM_TOKEN)
        crm.start()
        self._simulators += [wa, crm]
        if self.options.whatsapp_url is None:
            self.whatsapp_url = wa.url + "?controls=1"
        self.settings = replace(self.settings, cvcrm_base_url=crm.url, cvcrm_email=DEMO_CRM_EMAIL)
        self._crm_token_override = DEMO_CRM_TOKEN
        log.info("demo: WhatsApp simulator at %s, CV CRM simulator at %s", wa.url, crm.url)

    def _start_whatsapp_simulator(self, factory: Callable[[int], Any]) -> Any:
        """The demo's WhatsApp simulator on the same port as last time when it is free.

        The port is part of the page's origin, and the browser keeps the WhatsApp session per
        origin: a new port each run would mean a new QR each run ("scan once" must hold in the
        demo too). A taken port falls back to a free one (that run shows the QR again).
        """
        port_file = self.paths.data_dir / DEMO_PORT_FILE
        try:
            saved = int(json.loads(port_file.read_text(encoding="utf-8"))["whatsapp_port"])
        except (OSError, ValueError, KeyError, TypeError):
            saved = 0
        sim = None
        if 1024 <= saved <= 65535:
            try:
                sim = factory(saved).start()
            except OSError as exc:
                log.info("demo: port %d is taken (%s); the demo shows a new QR", saved, exc)
        if sim is None:
            sim = factory(0).start()
        if sim.port != saved:
            try:
                port_file.write_text(json.dumps({"whatsapp_port": sim.port}), encoding="utf-8")
            except OSError as exc:
                log.warning("demo: could not remember the simulator's port: %s", exc)
        return sim

    def _mongodb_uri(self) -> str:
        uri = self.config.mongodb_uri or self.secrets.mongodb_uri()
        if uri:
            return uri
        if self.embedded is None:
            self.embedded = EmbeddedMongoHolder(self.paths.embedded_db_dir)
        return self.embedded.uri()

    def _store_factory(self) -> MongoHistoryStore:
        """Called by the history writer thread (never the UI thread); may block on startup."""
        store = MongoHistoryStore(self._mongodb_uri(), self.settings.mongodb_db)
        store.connect()
        return store

    def _crm_client(self) -> CvCrmClient | None:
        """Called from worker threads (reading the keyring may block on D-Bus).

        One client is kept while the settings stay the same, so its call spacing and backoff
        apply to every lookup of the app, not per call. No token because the OS keyring is
        missing or failing raises CrmNotConfigured saying so (not "not configured").
        """
        url = self.settings.cvcrm_url
        email = self.settings.cvcrm_email
        if not url or not email:
            return None
        token = self._crm_token_override or self.secrets.cvcrm_token(email)
        if not token:
            problem = self.secrets.unavailable_reason()
            if problem:
                raise CrmNotConfigured(problem, detail="no token: keyring unavailable")
            return None
        key = (url, email, token)
        with self._crm_lock:
            if self._crm_cached is None or self._crm_cached[0] != key:
                if self._crm_cached is not None:
                    self._crm_cached[1].close()
                self._crm_cached = (
                    key,
                    CvCrmClient(
                        url,
                        email,
                        token,
                        lead_url_template=self.settings.cvcrm_lead_url_template,
                    ),
                )
            return self._crm_cached[1]

    # -- settings dialog ------------------------------------------------------------------------
    def open_settings(self) -> None:
        assert self.tasks is not None and self.window is not None
        settings = self.settings

        def _load() -> tuple[SettingsValues, bool]:
            stored = load_settings(self.paths.settings_file)
            stored_language = stored.language
            return (
                SettingsValues(
                    cvcrm_subdomain=settings.cvcrm_subdomain,
                    cvcrm_email=settings.cvcrm_email,
                    cvcrm_token="",
                    lead_origin=settings.cvcrm_lead_origin,
                    lead_media=settings.cvcrm_lead_media,
                    lead_cache_ttl_minutes=max(1, settings.lead_cache_ttl_seconds // 60),
                    quick_replies=list(settings.lead_quick_replies or DEFAULT_QUICK_REPLIES),
                    mongodb_uri=self.secrets.mongodb_uri() or "",
                    redis_url=self.secrets.redis_url() or "",
                    language=stored_language,
                    mongodb_db=stored.mongodb_db,  # saved ones apply at the next start
                ),
                bool(self.secrets.cvcrm_token(settings.cvcrm_email)),
            )

        def _show(loaded: tuple[SettingsValues, bool]) -> None:
            assert self.tasks is not None
            values, token_stored = loaded
            SettingsDialog(
                values,
                tasks=self.tasks,
                test_connection=self._test_crm,
                save=self._save_settings,
                token_stored=token_stored,
                needs_subdomain=not settings.cvcrm_base_url,
                language_override=(self.options.env.get(ENV_LANGUAGE) or "").strip() or None,
                parent=self.window,
            ).open()

        self.tasks.submit(_load, _show)

    def _test_crm(self, values: SettingsValues) -> str:
        """Worker thread: the exact outcome of one read call, in the app's language."""
        from .adapters.cvcrm import CrmError

        url = self.settings.cvcrm_base_url or (
            CvCrmClient.tenant_url(values.cvcrm_subdomain) if values.cvcrm_subdomain else ""
        )
        token = values.cvcrm_token or self._crm_token_override
        token = token or self.secrets.cvcrm_token(values.cvcrm_email) or ""
        problem = None if token else self.secrets.unavailable_reason()
        if problem:
            return f"⚠ {problem}"
        try:
            with CvCrmClient(url, values.cvcrm_email, token, max_retries=0) as client:
                return client.test_connection()
        except CrmError as exc:
            status = f" (HTTP {exc.status})" if exc.status else ""
            return f"⚠ {exc}{status}"

    def _save_settings(self, values: SettingsValues) -> None:
        """Worker thread: non-secrets to settings.json, secrets to the keyring."""
        if values.cvcrm_token:
            self.secrets.set_cvcrm_token(values.cvcrm_email, values.cvcrm_token)
        self.secrets.set_mongodb_uri(values.mongodb_uri or None)
        self.secrets.set_redis_url(values.redis_url or None)
        replies = list(values.quick_replies)
        lead_fields = {
            "cvcrm_lead_origin": values.lead_origin,
            "cvcrm_lead_media": values.lead_media,
            "lead_cache_ttl_seconds": max(60, values.lead_cache_ttl_minutes * 60),
            "lead_quick_replies": [] if replies == list(DEFAULT_QUICK_REPLIES) else replies,
        }
        stored = load_settings(self.paths.settings_file)
        stored = replace(
            stored,
            cvcrm_subdomain=values.cvcrm_subdomain,
            cvcrm_email=values.cvcrm_email,
            language=values.language,  # applied at the next start
            mongodb_db=values.mongodb_db,  # next start too (the dialog checked the name)
            **lead_fields,
        )
        save_settings(self.paths.settings_file, stored)
        # CV CRM changes apply at once (the client factory reads these on the next lookup).
        self.settings = replace(
            self.settings,
            cvcrm_subdomain=values.cvcrm_subdomain,
            cvcrm_email=values.cvcrm_email,
            **lead_fields,
        )
        self._apply_lead_settings()

    def _apply_lead_settings(self) -> None:
        """Live-apply the lead panel settings (TTL, origem/mídia, quick replies)."""
        ctx = getattr(self, "lead_context", None)
        if ctx is None:
            return
        ctx.leads.ttl_seconds = self.settings.lead_cache_ttl_seconds
        ctx.leads.crm_settings_changed()  # new address/e-mail/token: prefetch may try at once
        ctx.lead_origin = self.settings.cvcrm_lead_origin
        ctx.lead_media = self.settings.cvcrm_lead_media
        ctx.quick_replies = list(self.settings.lead_quick_replies or DEFAULT_QUICK_REPLIES)

    def start(self) -> MainWindow:
        # Qt's own texts and the default QLocale, before the first widget and web profile.
        if self.qt_language is None:
            self.qt_language = QtLanguage(self.language)
        if self.options.demo:
            self._start_demo_simulators()
        redis_url = self.config.redis_url or self.secrets.redis_url()
        cache = make_cache(redis_url, namespace=f"wacrm:{self.settings.mongodb_db}")
        relay = _StatusRelay()
        self._status_relay = relay
        self.history = HistoryService(
            self._store_factory,
            cache,
            self.paths.journal_dir(),
            recent_limit=self.settings.recent_messages_limit,
            on_status=relay.status.emit,
            retention_days=self._retention_days(),
        )
        self.history.start()
        self.leads = LeadService(
            self._crm_client,
            cache,
            ttl_seconds=self.settings.lead_cache_ttl_seconds,
            key_prefix="lead:",
        )
        self._build_lead_context(cache)
        self.tasks = TaskRunner()
        self.registry = ProfileRegistry(self.paths.profiles_file)
        wanted = list(self.options.profiles)
        if self.options.demo and not wanted and not self.registry.all():
            wanted = list(DEMO_PROFILES)
        for name in wanted:
            self.registry.ensure(name)

        title = _("WACRM Desktop — demonstração") if self.options.demo else "WACRM Desktop"
        self.window = MainWindow(
            self.registry,
            self._make_tab,
            title=title,
            on_remove_profile=self._forget_profile_storage,
            on_settings=self.open_settings,
            on_history=self.open_history,
        )
        relay.status.connect(self._on_history_status)
        self.window.closing.connect(self.shutdown)
        if self.options.quit_after_ms is not None:
            QTimer.singleShot(self.options.quit_after_ms, self.window.close)
        return self.window

    def _build_lead_context(self, cache: Any) -> None:
        """Lead panel services shared by every tab (one CV CRM client, one prefetcher)."""
        state = JsonStateStore(self.paths.data_dir / "lead_panel_state.json")
        actions = LeadActions(
            self._crm_client,
            self.leads,
            cache,
            interactions_ttl_seconds=self.settings.lead_cache_ttl_seconds,
        )
        relay = PrefetchRelay()
        prefetcher = LeadPrefetcher(
            self.leads,
            interval=self.settings.lead_prefetch_interval_ms / 1000,
            on_result=relay.result.emit,
        ).start()
        self.lead_context = LeadPanelContext(
            leads=self.leads,
            actions=actions,
            catalog=CrmCatalog(self._crm_client, cache),
            choices=LeadChoices(state),
            layout=PanelLayout(state),
            prefetcher=prefetcher,
            prefetch_relay=relay,
            open_settings=self.open_settings,
            quick_replies=list(self.settings.lead_quick_replies or DEFAULT_QUICK_REPLIES),
            lead_origin=self.settings.cvcrm_lead_origin,
            lead_media=self.settings.cvcrm_lead_media,
            conversation_messages=self.settings.lead_conversation_messages,
        )

    def _make_tab(self, profile: Profile) -> ProfileTab:
        assert self.history is not None and self.tasks is not None
        return ProfileTab(
            profile,
            lambda p: create_profile(
                p.id,
                self.paths.profile_storage(p.id),
                self.paths.profile_cache(p.id),
                language=self.language,
            ),
            home_url=self.whatsapp_url,
            history=self.history,
            leads=self.leads,
            tasks=self.tasks,
            capture_status_and_newsletters=self.settings.capture_status_and_newsletters,
            lead_context=self.lead_context,
        )

    # -- history window (issue 5) ---------------------------------------------------------------
    def _retention_days(self) -> int:
        value = self.settings.extra.get(HISTORY_RETENTION_KEY, 0)
        return value if isinstance(value, int) and value >= 0 else 0

    def _set_retention_days(self, days: int) -> None:
        """UI thread: remember the retention (settings.json) and apply it to the writer."""
        if self.history is not None:
            self.history.retention_days = days
            self.history.retention_interval = 6 * 3600

        def _save() -> None:
            stored = load_settings(self.paths.settings_file)
            save_settings(
                self.paths.settings_file,
                replace(stored, extra={**stored.extra, HISTORY_RETENTION_KEY: days}),
            )

        self.settings = replace(
            self.settings, extra={**self.settings.extra, HISTORY_RETENTION_KEY: days}
        )
        if self.tasks is not None:
            self.tasks.submit(_save, lambda _r: None)

    def open_history(self) -> None:
        """Menu Histórico: the current tab's open chat (team view), or the search alone."""
        from .ui.history_view import HistoryDialog

        if self.window is None or self.history is None or self.tasks is None:
            return
        tab = self.window.tabs.currentWidget()
        chat = getattr(tab, "active_chat", None)
        profile = getattr(tab, "profile", None)
        dialog = HistoryDialog(
            self.history,
            self.tasks,
            profiles=[(p.id, p.name) for p in self.registry.all()],
            profile_id=profile.id if profile is not None and chat is not None else None,
            chat_id=getattr(chat, "chat_id", None),
            chat_name=getattr(chat, "name", None),
            phone=getattr(chat, "phone", None),
            actor=os.environ.get("USER") or os.environ.get("USERNAME") or "",
            retention_days=self._retention_days(),
            on_retention_changed=self._set_retention_days,
            parent=self.window,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()

    def _on_history_status(self, status: HistoryStatus) -> None:
        if self.window is not None:
            self.window.show_history_status(status)

    def _forget_profile_storage(self, profile: Profile) -> None:
        """Delete the removed profile's WhatsApp session once Chromium let go of its files."""

        def _rm() -> None:
            for path in (
                self.paths.profile_storage(profile.id).parent,
                self.paths.profile_cache(profile.id),
            ):
                shutil.rmtree(path, ignore_errors=True)

        # Deleting a session folder is disk I/O: off the UI thread.
        QTimer.singleShot(
            1500, lambda: self.tasks.submit(_rm, lambda _r: None) if self.tasks else _rm()
        )

    # -- teardown -------------------------------------------------------------------------------
    def _stop_simulators(self) -> None:
        for sim in self._simulators:
            stop = getattr(sim, "stop", None)
            if callable(stop):
                stop()
        self._simulators.clear()

    def shutdown(self) -> None:
        """Idempotent: tabs (pages before profiles), then the writer drains, then servers."""
        if self.window is not None:
            for tab in self.window.profile_tabs():
                tab.shutdown()
        if self.tasks is not None:
            self.tasks.shutdown()
        ctx = getattr(self, "lead_context", None)
        if ctx is not None and ctx.prefetcher is not None:
            ctx.prefetcher.stop()
        if self.history is not None:
            self.history.stop(timeout=10.0)
            self.history = None
        if self.embedded is not None:
            self.embedded.stop()
        self._stop_simulators()
        if self.qt_language is not None:
            self.qt_language.remove()
            self.qt_language = None
