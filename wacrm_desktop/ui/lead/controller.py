"""Controller of the lead panel: chat switches, stale-while-revalidate, actions, badges, prefetch.

Every CV CRM, cache or disk call runs on the TaskRunner's threads; callbacks come back on
the UI thread and are dropped when the chat changed in the meantime (generation counter).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices

from ...core.i18n import N_, _
from ...core.lead_text import DEFAULT_QUICK_REPLIES, age_text, render_quick_reply
from ...core.leads import CancelReason, Lead, Situation
from ...core.phone_format import display_phone
from ...core.phones import normalize
from ...services.crm_actions import InteractionsResult, LeadActions, SearchResult, WriteResult
from ...services.crm_catalog import UNKNOWN_COLOR, CrmCatalog
from ...services.crm_choices import LeadChoices, PanelLayout
from ...services.crm_prefetch import LeadPrefetcher
from ...services.leads import LeadLookup, LeadService
from ..tasks import TaskRunner
from .dialogs import ConversationDialog, CreateLeadDialog, NoteDialog, SituationDialog
from .view import LeadView

log = logging.getLogger("wacrm.ui")

AGE_TICK_MS = 30_000
BADGE_PUSH_MS = 250
VISIBLE_POLL_MS = 2_500
PREFETCH_HOLD_S = 0.5  # about one CV CRM call: the interactive lookup goes first
# pt-BR sources, translated when shown.
REASON_GROUP = N_("Conversa em grupo: não há um telefone para buscar no CV CRM.")
REASON_NO_PHONE = N_(
    "Telefone desconhecido: o WhatsApp não informou o número deste contato "
    "(contato com identificador @lid)."
)
APPLICATION_WORLD = 1  # QWebEngineScript.ApplicationWorld, where lead_badges.js runs


class PrefetchRelay(QObject):
    """Carries prefetch results from the prefetch thread to the UI thread (queued signal)."""

    result = Signal(object)


@dataclass
class LeadPanelContext:
    """Everything the lead panel needs, built once by the composition root."""

    leads: LeadService
    actions: LeadActions | None = None
    catalog: CrmCatalog | None = None
    choices: LeadChoices | None = None
    layout: PanelLayout | None = None
    prefetcher: LeadPrefetcher | None = None
    prefetch_relay: PrefetchRelay | None = None
    open_settings: Callable[[], None] | None = None
    open_url: Callable[[str], None] = field(default=lambda url: QDesktopServices.openUrl(QUrl(url)))
    quick_replies: Sequence[str] = DEFAULT_QUICK_REPLIES
    lead_origin: str = ""
    lead_media: str = ""
    conversation_messages: int = 20
    me_label: str = "Corretor"  # in the transcript stored in CV CRM: pt-BR, not translated


@dataclass(frozen=True, slots=True)
class ChatInfo:
    chat_id: str
    name: str | None
    phone: str | None  # E.164 digits, no "+"
    is_group: bool


class LeadPanelController(QObject):
    """Owns no widgets' layout; drives a LeadView for one profile tab."""

    leadShown = Signal(object)  # Lead or None, after each paint (tests and benchmark)

    def __init__(
        self,
        view: LeadView,
        context: LeadPanelContext,
        tasks: TaskRunner,
        profile_id: str,
        *,
        fill_composer: Callable[[str], None] | None = None,
        recent_messages: Callable[[str, int], list[dict[str, Any]]] | None = None,
        run_js: Callable[[str, Callable[[Any], None] | None], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent or view)
        self.view = view
        self.ctx = context
        self.tasks = tasks
        self.profile_id = profile_id
        self._fill_composer = fill_composer
        self._recent_messages = recent_messages
        self._run_js = run_js
        self.chat: ChatInfo | None = None
        self.result: LeadLookup | None = None
        self.shown_lead: Lead | None = None
        self._chosen: int | None = None
        self._generation = 0
        self._search_hits: dict[int, Lead] = {}
        # Chat directory for badges and prefetch: what the bridge told us this session.
        self._phone_by_chat: dict[str, str] = {}
        self._phone_by_title: dict[str, str] = {}
        self._badges: dict[str, dict[str, str]] = {}  # phone digits -> {label, color}
        self._catalog_loading = False

        view.refreshRequested.connect(self.refresh)
        view.settingsRequested.connect(self._open_settings)
        view.candidateChosen.connect(self.choose)
        view.undoChoiceRequested.connect(self.undo_choice)
        view.searchRequested.connect(self.search)
        view.createRequested.connect(self.create_requested)
        view.situationRequested.connect(self.situation_requested)
        view.noteRequested.connect(self.note_requested)
        view.conversationRequested.connect(self.conversation_requested)
        view.quickReplyChosen.connect(self.quick_reply)
        view.openLinkRequested.connect(self._open_link)
        view.set_quick_replies(list(context.quick_replies))
        if context.layout is not None:
            order, opened = context.layout.load()
            view.sections.apply(order, opened)
            view.sections.layoutChanged.connect(self._save_layout)
        if context.prefetch_relay is not None:
            context.prefetch_relay.result.connect(self._on_prefetched)

        self._age_timer = QTimer(self)
        self._age_timer.setInterval(AGE_TICK_MS)
        self._age_timer.timeout.connect(self._tick)
        self._age_timer.start()
        self._badge_timer = QTimer(self)
        self._badge_timer.setSingleShot(True)
        self._badge_timer.setInterval(BADGE_PUSH_MS)
        self._badge_timer.timeout.connect(self.push_badges)
        self._visible_timer = QTimer(self)
        self._visible_timer.setInterval(VISIBLE_POLL_MS)
        self._visible_timer.timeout.connect(self.poll_visible_chats)
        if run_js is not None:
            self._visible_timer.start()
        self._load_catalog()

    # ------------------------------------------------------------------ plumbing

    def _alive(self) -> bool:
        return shiboken6.isValid(self) and shiboken6.isValid(self.view)

    def _submit(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None],
        *,
        what: str,
        same_chat: bool = True,
    ) -> None:
        """`what`: pt-BR name of the work (marked with N_), for the log and a failure notice."""
        generation = self._generation

        def _done(value: Any) -> None:
            if self._alive() and (not same_chat or generation == self._generation):
                on_done(value)

        def _failed(error: BaseException) -> None:
            log.error("%s failed: %s", what, type(error).__name__)
            if self._alive() and (not same_chat or generation == self._generation):
                self.view.set_notice(
                    "error", _("⚠ Falha inesperada ({what}).").format(what=_(what))
                )

        self.tasks.submit(fn, _done, _failed)

    def _color(self, lead: Lead) -> str:
        if self.ctx.catalog is None:
            return UNKNOWN_COLOR
        return self.ctx.catalog.color_for(lead.situation_id, lead.situation_name)

    def _load_catalog(self) -> None:
        catalog = self.ctx.catalog
        if catalog is None or catalog.cached_situations() or self._catalog_loading:
            return
        self._catalog_loading = True

        def _done(_items: tuple[Situation, ...]) -> None:
            self._catalog_loading = False
            if self.shown_lead is not None:  # repaint the situation colour
                self.view.f_situation.setStyleSheet(
                    self.view.f_situation.styleSheet().replace(
                        UNKNOWN_COLOR, self._color(self.shown_lead)
                    )
                )
            self._refresh_badge_colors()

        self._submit(catalog.situations, _done, what=N_("catálogo de situações"), same_chat=False)

    # ------------------------------------------------------------------ chat switches

    def set_chat(
        self, chat_id: str | None, name: str | None, phone: str | None, is_group: bool
    ) -> None:
        """The open chat changed (or its phone became known)."""
        self._generation += 1
        if not chat_id:
            self.chat = None
            self.result = None
            self.shown_lead = None
            self.view.show_no_chat()
            self.leadShown.emit(None)
            return
        digits = normalize(phone) if phone and not is_group else None
        self.learn_chat(chat_id, name, digits)
        self.chat = ChatInfo(chat_id, name, digits, is_group)
        self.result = None
        self.shown_lead = None
        self._chosen = None
        self._search_hits.clear()
        self.view.show_chat(name, digits, is_group)
        self.view.search_results.clear()
        self.view.search_status.setText("")
        if self.ctx.prefetcher is not None:
            self.ctx.prefetcher.hold(PREFETCH_HOLD_S)
        self._load(force=False)

    def refresh(self) -> None:
        if self.chat is not None:
            self._generation += 1
            self._load(force=True)

    def _load(self, *, force: bool) -> None:
        chat = self.chat
        if chat is None:
            return
        choices = self.ctx.choices
        profile_id = self.profile_id
        if chat.phone is None:
            reason = _(REASON_GROUP if chat.is_group else REASON_NO_PHONE)

            def _chosen_only() -> tuple[int | None, Lead | None, str]:
                chosen = choices.chosen(profile_id, chat.chat_id) if choices else None
                if chosen is None or self.ctx.actions is None:
                    return chosen, None, ""
                try:
                    return chosen, self.ctx.actions.get(chosen), ""
                except Exception as exc:  # CrmError: say it, keep the reason visible
                    return chosen, None, str(exc)

            def _show(value: tuple[int | None, Lead | None, str]) -> None:
                chosen, lead, error = value
                self._chosen = chosen
                if lead is not None:
                    self._paint_lead(lead, chosen_among=1, fetched_at=time.time())
                else:
                    self.view.show_no_phone(reason)
                    if error:
                        self.view.set_notice("warning", "⚠ " + error)
                    self.leadShown.emit(None)

            self._submit(_chosen_only, _show, what=N_("lead escolhido"))
            return

        leads = self.ctx.leads
        phone = chat.phone
        if not force:
            # Fast path, no I/O: a fresh card in this process's memory is painted right away.
            known, chosen = (
                choices.chosen_if_loaded(profile_id, chat.chat_id)
                if choices
                else (
                    True,
                    None,
                )
            )
            fast = leads.peek_memory(phone) if known else None
            if fast is not None:
                self._chosen = chosen
                self.render(fast)
                return

        def _peek() -> tuple[LeadLookup | None, int | None]:
            chosen = choices.chosen(profile_id, chat.chat_id) if choices else None
            return leads.peek(phone), chosen

        def _after_peek(value: tuple[LeadLookup | None, int | None]) -> None:
            cached, chosen = value
            self._chosen = chosen
            if cached is not None:
                self.render(cached, refreshing=force or cached.stale)
                if not force and not cached.stale:
                    return
            elif self.shown_lead is None:
                self.view.show_loading()
            self._submit(
                lambda: leads.lookup(phone, force_refresh=force),
                self.render,
                what=N_("consulta do lead"),
            )

        self._submit(_peek, _after_peek, what=N_("cache do lead"))

    # ------------------------------------------------------------------ painting

    def render(self, result: LeadLookup, *, refreshing: bool = False) -> None:
        """Show a lookup outcome for the open chat."""
        self.result = result
        self.view.set_actions_enabled(True)
        status = result.status
        stale_message = result.message if result.stale and not refreshing else None
        if status in ("found", "several") and result.leads:
            chosen = next((x for x in result.leads if x.id == self._chosen), None)
            if status == "found" or chosen is not None:
                lead = chosen or result.leads[0]
                self._paint_lead(
                    lead,
                    chosen_among=len(result.leads) if chosen is not None else 0,
                    fetched_at=result.fetched_at,
                    stale_message=stale_message,
                    suffix_only=result.suffix_only and not chosen,
                    refreshing=refreshing,
                )
            elif self._chosen is not None and self._chosen not in {x.id for x in result.leads}:
                self._show_chosen_elsewhere(self._chosen)
            else:
                self.shown_lead = None
                self.view.show_candidates(
                    result.leads,
                    stale_message=stale_message,
                    age=age_text(result.fetched_at, time.time()),
                )
                self.leadShown.emit(None)
            return
        self.shown_lead = None
        if status == "not_found":
            if self._chosen is not None:
                self._show_chosen_elsewhere(self._chosen)
                return
            self.view.show_not_found(
                result.message, can_create=self.ctx.actions is not None and bool(result.phone)
            )
        elif status == "no_phone":
            self.view.show_no_phone(result.message)
        elif status == "auth_error":
            self.view.show_auth_error(result.message)
        elif status == "not_configured":
            self.view.show_not_configured(result.message)
        elif status == "unavailable":
            self.view.show_unavailable(result.message)
        else:
            self.view.show_error(result.message)
        self.leadShown.emit(None)

    def _show_chosen_elsewhere(self, idlead: int) -> None:
        """The chosen lead is not among the phone's candidates (picked by manual search)."""
        hit = self._search_hits.get(idlead)
        if hit is not None:
            self._paint_lead(hit, chosen_among=1, fetched_at=time.time())
            return
        actions = self.ctx.actions
        if actions is None:
            return

        def _done(lead: Lead | None) -> None:
            if lead is not None:
                self._paint_lead(lead, chosen_among=1, fetched_at=time.time())

        self._submit(lambda: actions.get(idlead), _done, what=N_("lead escolhido"))

    def _paint_lead(
        self,
        lead: Lead,
        *,
        chosen_among: int,
        fetched_at: float,
        stale_message: str | None = None,
        suffix_only: bool = False,
        refreshing: bool = False,
    ) -> None:
        previous = self.shown_lead
        self.shown_lead = lead
        self._fetched_at = fetched_at
        self._refreshing = refreshing
        url = self.ctx.actions.lead_url(lead.id) if self.ctx.actions is not None else None
        self.view.show_lead(
            lead,
            color=self._color(lead),
            age=age_text(fetched_at, time.time()),
            stale_message=stale_message,
            suffix_only=suffix_only,
            chosen_among=chosen_among,
            url=url,
            refreshing=refreshing,
        )
        self.view.undo_button.setVisible(chosen_among > 1 or self._chosen is not None)
        if self.chat is not None and self.chat.phone:
            self._set_badge(self.chat.phone, lead)
        self.leadShown.emit(lead)
        if previous is None or previous.id != lead.id or not refreshing:
            self._load_interactions(lead.id, force=False)

    def _load_interactions(self, idlead: int, *, force: bool) -> None:
        actions = self.ctx.actions
        if actions is None:
            return
        self.view.show_interactions((), loading=True)

        def _done(result: InteractionsResult) -> None:
            if self.shown_lead is not None and self.shown_lead.id == idlead:
                note = result.message if result.stale else ""
                self.view.show_interactions(result.items, note=note)

        self._submit(
            lambda: actions.interactions(idlead, force_refresh=force), _done, what=N_("interações")
        )

    def _tick(self) -> None:
        if self.shown_lead is not None and getattr(self, "_fetched_at", 0):
            self.view.set_age(age_text(self._fetched_at, time.time()), refreshing=False)

    # ------------------------------------------------------------------ choices & search

    def choose(self, idlead: int) -> None:
        chat = self.chat
        choices = self.ctx.choices
        if chat is None:
            return
        self._chosen = idlead
        if choices is not None:
            self._submit(
                lambda: choices.choose(self.profile_id, chat.chat_id, idlead),
                lambda _r: None,
                what=N_("guardar a escolha"),
                same_chat=False,
            )
        if self.result is not None and any(x.id == idlead for x in self.result.leads):
            self.render(self.result)
        else:
            self._show_chosen_elsewhere(idlead)

    def undo_choice(self) -> None:
        chat = self.chat
        choices = self.ctx.choices
        if chat is None:
            return
        self._chosen = None
        if choices is not None:
            self._submit(
                lambda: choices.forget(self.profile_id, chat.chat_id),
                lambda _r: None,
                what=N_("desfazer a escolha"),
                same_chat=False,
            )
        if self.result is not None:
            self.render(self.result)
        elif chat.phone is None:
            self.view.show_no_phone(_(REASON_GROUP if chat.is_group else REASON_NO_PHONE))
            self.shown_lead = None

    def search(self, query: str) -> None:
        actions = self.ctx.actions
        if actions is None:
            self.view.show_search_results((), _("CV CRM não configurado."))
            return

        def _done(result: SearchResult) -> None:
            self._search_hits = {lead.id: lead for lead in result.leads}
            self.view.show_search_results(result.leads, result.message)
            if result.error == "auth":
                self.view.auth_box.show()

        self._submit(lambda: actions.search(query), _done, what=N_("busca"))

    # ------------------------------------------------------------------ actions

    def _write(self, call: Callable[[], WriteResult], busy: str) -> None:
        self.view.set_actions_enabled(False)
        self.view.set_notice("info", busy)
        self._submit(call, self._on_write, what=N_("gravação no CV CRM"))

    def _on_write(self, result: WriteResult) -> None:
        self.view.set_actions_enabled(True)
        if not result.ok:
            self.view.set_notice("error", "⚠ " + result.message)
            if result.error == "auth":
                self.view.auth_box.show()
            return
        if result.lead is not None:
            lead = result.lead
            if self.result is not None:
                others = tuple(x for x in self.result.leads if x.id != lead.id)
                status = "found" if not others or self._chosen == lead.id else "several"
                self.result = LeadLookup(
                    status,
                    leads=(lead, *others),
                    message="",
                    fetched_at=time.time(),
                    phone=self.result.phone,
                )
            if self.chat is not None and self.chat.phone is None and self.ctx.choices is not None:
                self.choose(lead.id)  # a lead created/edited for a phone-less chat sticks
            self._paint_lead(
                lead,
                chosen_among=len(self.result.leads) if self.result and self._chosen else 0,
                fetched_at=time.time(),
            )
            self._load_interactions(lead.id, force=True)
        self.view.set_notice("success", "✓ " + result.message)

    def do_create(self, values: Mapping[str, str]) -> None:
        actions = self.ctx.actions
        if actions is None:
            return
        self._write(
            lambda: actions.create_lead(
                name=values.get("name", ""),
                phone=values.get("phone") or None,
                email=values.get("email") or None,
                origin=values.get("origin") or None,
                media=values.get("media") or None,
            ),
            _("Criando o lead no CV CRM…"),
        )

    def do_change_situation(
        self, situation: Situation, reason: str | None = None, reason_text: str = ""
    ) -> None:
        actions, lead = self.ctx.actions, self.shown_lead
        if actions is None or lead is None:
            return
        phone = self.chat.phone if self.chat else None
        self._write(
            lambda: actions.change_situation(
                lead, situation, reason=reason, reason_text=reason_text, phone=phone
            ),
            _("Alterando a situação para “{name}”…").format(name=situation.name),
        )

    def do_add_note(self, text: str) -> None:
        actions, lead = self.ctx.actions, self.shown_lead
        if actions is None or lead is None:
            return
        phone = self.chat.phone if self.chat else None
        self._write(lambda: actions.add_note(lead, text, phone=phone), _("Gravando a anotação…"))

    def do_register_conversation(self, messages: Sequence[Mapping[str, Any]]) -> None:
        actions, lead = self.ctx.actions, self.shown_lead
        if actions is None or lead is None:
            return
        chat = self.chat
        self._write(
            lambda: actions.register_conversation(
                lead,
                messages,
                contact_name=chat.name if chat else None,
                me_label=self.ctx.me_label,
                phone=chat.phone if chat else None,
            ),
            _("Registrando a conversa no lead…"),
        )

    # ---- dialogs (the do_* methods above are what they end in)

    def create_requested(self) -> None:
        chat = self.chat
        if chat is None:
            return
        dialog = CreateLeadDialog(
            name=chat.name or "",
            phone=display_phone(chat.phone) if chat.phone else "",
            origin=self.ctx.lead_origin,
            media=self.ctx.lead_media,
            parent=self.view.window(),
        )
        dialog.accepted.connect(lambda: self.do_create(dialog.values()))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def situation_requested(self) -> None:
        lead, catalog = self.shown_lead, self.ctx.catalog
        if lead is None or catalog is None:
            return

        def _load() -> tuple[tuple[Situation, ...], tuple[CancelReason, ...]]:
            return catalog.situations(), catalog.cancel_reasons()

        def _show(value: tuple[tuple[Situation, ...], tuple[CancelReason, ...]]) -> None:
            situations, reasons = value
            if not situations:
                self.view.set_notice(
                    "error", _("⚠ Não foi possível carregar as situações do CV CRM.")
                )
                return
            colors = {s.id: catalog.color_for(s.id) for s in situations}
            dialog = SituationDialog(lead, situations, reasons, colors, self.view.window())
            dialog.accepted.connect(lambda: self._situation_accepted(dialog))
            dialog.finished.connect(dialog.deleteLater)
            dialog.open()

        self._submit(_load, _show, what=N_("catálogo de situações"))

    def _situation_accepted(self, dialog: SituationDialog) -> None:
        situation, reason, text = dialog.values()
        if situation is not None:
            self.do_change_situation(situation, reason, text)

    def note_requested(self) -> None:
        if self.shown_lead is None:
            return
        dialog = NoteDialog(self.shown_lead, self.view.window())
        dialog.accepted.connect(lambda: self.do_add_note(dialog.value()))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def conversation_requested(self) -> None:
        lead, chat, read = self.shown_lead, self.chat, self._recent_messages
        if lead is None or chat is None or read is None:
            return

        def _show(messages: list[dict[str, Any]]) -> None:
            dialog = ConversationDialog(
                lead, messages, last_n=self.ctx.conversation_messages, parent=self.view.window()
            )
            dialog.accepted.connect(lambda: self.do_register_conversation(dialog.selected()))
            dialog.finished.connect(dialog.deleteLater)
            dialog.open()

        self._submit(lambda: read(chat.chat_id, 200), _show, what=N_("mensagens da conversa"))

    def quick_reply(self, template: str) -> None:
        rendered = render_quick_reply(
            template, self.shown_lead, self.chat.name if self.chat else None
        )
        if self._fill_composer is not None:
            self._fill_composer(rendered.text)
        if rendered.missing:
            names = ", ".join("{" + m + "}" for m in rendered.missing)
            self.view.set_notice(
                "warning",
                _("Sem valor para {names}: ajuste o texto antes de enviar.").format(names=names),
            )
        else:
            self.view.set_notice("info", _("Texto colocado na caixa de mensagem; confira e envie."))

    def _open_settings(self) -> None:
        if self.ctx.open_settings is not None:
            self.ctx.open_settings()

    def _open_link(self, url: str) -> None:
        if url.startswith(("https://", "http://")):
            self.ctx.open_url(url)

    def _save_layout(self, order: list[str], opened: dict[str, bool]) -> None:
        layout = self.ctx.layout
        if layout is not None:
            self._submit(
                lambda: layout.save(order, opened),
                lambda _r: None,
                what=N_("layout"),
                same_chat=False,
            )

    # ------------------------------------------------------------------ badges & prefetch

    def learn_chat(self, chat_id: str | None, name: str | None, phone: str | None) -> None:
        """Remember chat id/title → phone (from bridge events), for badges and prefetch."""
        digits = normalize(phone) if phone else None
        if digits is None and chat_id:
            digits = normalize(chat_id)  # "<digits>@c.us"; @lid and groups give None
        if digits is None:
            return
        if chat_id:
            self._phone_by_chat[chat_id] = digits
        if name and name.strip():
            self._phone_by_title[name.strip()] = digits

    def phone_for_row(self, title: str | None, row_id: str | None) -> str | None:
        """Phone of a visible chat-list row: its data-id, a learnt title, or a phone title."""
        if row_id:
            found = self._phone_by_chat.get(row_id) or normalize(row_id)
            if found:
                return found
        if title:
            title = title.strip()
            return self._phone_by_title.get(title) or normalize(title)
        return None

    def _set_badge(self, phone: str | None, lead: Lead) -> None:
        if not phone or not lead.situation_name:
            return
        badge = {"label": lead.situation_name, "color": self._color(lead)}
        if self._badges.get(phone) != badge:
            self._badges[phone] = badge
            self._badge_timer.start()

    def _refresh_badge_colors(self) -> None:
        catalog = self.ctx.catalog
        if catalog is None:
            return
        for badge in self._badges.values():
            sit = next((s for s in catalog.cached_situations() if s.name == badge["label"]), None)
            if sit is not None:
                badge["color"] = catalog.color_for(sit.id)
        self._badge_timer.start()

    def badge_payload(self) -> dict[str, Any]:
        """{"ids": {chat_id: badge}, "titles": {title: badge}} for lead_badges.js."""
        ids = {cid: self._badges[p] for cid, p in self._phone_by_chat.items() if p in self._badges}
        titles = {t: self._badges[p] for t, p in self._phone_by_title.items() if p in self._badges}
        for phone, badge in self._badges.items():
            ids.setdefault(f"{phone}@c.us", badge)
        return {"ids": ids, "titles": titles}

    def push_badges(self) -> None:
        if self._run_js is None:
            return
        payload = json.dumps(self.badge_payload(), ensure_ascii=True)
        payload = payload.replace("<", "\\u003c").replace(">", "\\u003e")
        # The trailing 0: the callback never receives a JS boolean (PySide6 refcount issue).
        code = f"window.__wacrmLeadBadges && window.__wacrmLeadBadges.set({payload}); 0"
        self._run_js(code, None)

    def poll_visible_chats(self) -> None:
        """Ask lead_badges.js which chats are visible; prefetch their leads (active tab only)."""
        if self._run_js is None or not self.view.isVisible():
            return
        # A JSON string: PySide6 does not convert arrays of objects coming from runJavaScript.
        self._run_js(
            "window.__wacrmLeadBadges ? JSON.stringify(window.__wacrmLeadBadges.visible()) : ''",
            self.on_visible_chats,
        )

    def on_visible_chats(self, raw: Any) -> None:
        """`raw`: the JSON text of lead_badges.js's visible() (a list of {title, id})."""
        if not self._alive() or not isinstance(raw, str) or not raw:
            return
        try:
            rows = json.loads(raw)
        except ValueError:
            return
        if not isinstance(rows, list):
            return
        phones: list[str] = []
        for row in rows[:80]:
            if not isinstance(row, dict):
                continue
            phone = self.phone_for_row(
                row.get("title") if isinstance(row.get("title"), str) else None,
                row.get("id") if isinstance(row.get("id"), str) else None,
            )
            if phone and phone not in phones:
                phones.append(phone)
        if phones and self.ctx.prefetcher is not None:
            self.ctx.prefetcher.request(phones)

    def _on_prefetched(self, result: LeadLookup) -> None:
        if not self._alive() or result.phone is None or len(result.leads) != 1:
            return
        known = set(self._phone_by_chat.values()) | set(self._phone_by_title.values())
        if result.phone in known:
            self._set_badge(result.phone, result.leads[0])
