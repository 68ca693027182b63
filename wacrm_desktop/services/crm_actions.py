"""Acting on a lead from the panel: writes, re-reads, manual search, interactions, web link.

Every write is followed by a re-read of the lead (`?idlead=`), because the POST reply's owner
fields can be stale (notes §3, S7), and the re-read lead replaces the cached one. What CV CRM
answered (`mensagem`) is handed back to be shown as it is; `sucesso:false` comes back as an
error carrying CV CRM's own message. Qt-free; every method blocks (worker threads only).
"""

from __future__ import annotations

import logging
import threading
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from wacrm_desktop.core.history_model import timeline_key
from wacrm_desktop.core.i18n import N_, _
from wacrm_desktop.core.lead_text import format_transcript
from wacrm_desktop.core.leads import (
    CrmAuthError,
    CrmError,
    CrmNotConfigured,
    CrmRejected,
    CrmRouteNotAllowed,
    CrmUnavailable,
    Interaction,
    Lead,
    Situation,
)
from wacrm_desktop.core.phones import mask, normalize
from wacrm_desktop.core.ports import Cache
from wacrm_desktop.services.leads import LeadLookup, LeadService

__all__ = ["CrmLeadApi", "InteractionsResult", "LeadActions", "SearchResult", "WriteResult"]

log = logging.getLogger("wacrm.leads")

ErrorKind = Literal["", "rejected", "auth", "unavailable", "not_configured", "error"]

# pt-BR sources, translated where a result is built.
MSG_NOT_CONFIGURED = CrmNotConfigured.default_message
MSG_REREAD_FAILED = N_("A alteração foi aceita, mas não foi possível reler o lead: {error}")
MSG_EMPTY_QUERY = N_("Digite um nome, e-mail ou telefone para buscar.")
MSG_SEARCH_NONE = N_("Nenhum lead encontrado para “{query}”.")
MSG_SEARCH_NAME_NOTE = N_(
    "Busca por nome: o filtro 'nome' da API não é documentado; os resultados foram "
    "conferidos aqui e podem não ser todos."
)


class CrmLeadApi(Protocol):
    """What the actions need from the client (`adapters.cvcrm.CvCrmClient` fits)."""

    def search_leads(
        self,
        telefone: str | None = None,
        email: str | None = None,
        idlead: int | str | None = None,
        limit: int = 50,
        offset: int = 0,
        nome: str | None = None,
    ) -> list[dict[str, Any]]: ...

    def get_lead(self, idlead: int | str) -> dict[str, Any] | None: ...

    def interactions(
        self, idlead: int | str, *, page: int = 1, per_page: int = 50
    ) -> list[dict[str, Any]]: ...

    def create_lead(
        self,
        *,
        nome: str,
        telefone: str | None,
        email: str | None = None,
        origem: str | None = None,
        midia: str | None = None,
        conversao: str | None = "WhatsApp",
    ) -> dict[str, Any]: ...

    def change_situation(
        self,
        idlead: int,
        *,
        email: str | None,
        telefone: str | None,
        nome: str | None,
        idsituacao: int,
        motivo_cancelamento: str | None = None,
        descricao_motivo: str | None = None,
    ) -> dict[str, Any]: ...

    def add_interaction(
        self,
        idlead: int,
        *,
        email: str | None,
        telefone: str | None,
        nome: str | None,
        idsituacao: int | None,
        tipo: str,
        descricao: str,
    ) -> dict[str, Any]: ...

    def lead_web_url(self, idlead: int | str) -> str: ...


@dataclass(frozen=True, slots=True)
class WriteResult:
    """Outcome of a write. `message` is CV CRM's answer as sent, or the error (app's language)."""

    ok: bool
    message: str
    lead: Lead | None = None
    error: ErrorKind = ""


@dataclass(frozen=True, slots=True)
class SearchResult:
    leads: tuple[Lead, ...]
    message: str
    error: ErrorKind = ""


@dataclass(frozen=True, slots=True)
class InteractionsResult:
    items: tuple[Interaction, ...]
    fetched_at: float
    stale: bool = False
    message: str = ""


def _fold(text: str | None) -> str:
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower().strip()


def _error_kind(exc: CrmError) -> ErrorKind:
    if isinstance(exc, CrmAuthError | CrmRouteNotAllowed):
        return "auth"
    if isinstance(exc, CrmNotConfigured):
        return "not_configured"
    if isinstance(exc, CrmRejected):
        return "rejected"
    if isinstance(exc, CrmUnavailable):
        return "unavailable"
    return "error"


def _reply_message(reply: Mapping[str, Any], default: str) -> str:
    text = str(reply.get("mensagem") or "").strip()
    return f"CV CRM: {text}" if text else default


class LeadActions:
    """Panel actions; `client_factory` is the same one LeadService uses (one shared client)."""

    def __init__(
        self,
        client_factory: Callable[[], CrmLeadApi | None],
        leads: LeadService,
        cache: Cache,
        *,
        interactions_ttl_seconds: int = 600,
        interactions_shown: int = 10,
        key_prefix: str = "lead-interactions:",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client_factory = client_factory
        self._leads = leads
        self._cache = cache
        self.interactions_ttl_seconds = interactions_ttl_seconds
        self.interactions_shown = interactions_shown
        self._prefix = key_prefix
        self._clock = clock
        self._memory: dict[int, InteractionsResult] = {}
        self._memory_lock = threading.Lock()

    # ------------------------------------------------------------------ reads

    def _client(self) -> CrmLeadApi:
        client = self._client_factory()
        if client is None:
            raise CrmNotConfigured()
        return client

    def get(self, idlead: int) -> Lead | None:
        """Re-read one lead; raises the typed CrmError subclasses."""
        row = self._client().get_lead(idlead)
        return Lead.from_api(row) if row else None

    def lead_url(self, idlead: int) -> str | None:
        """The lead's page in the CV CRM web app ([UNCERTAIN] pattern, see the adapter)."""
        try:
            client = self._client_factory()
        except CrmError:
            return None
        return client.lead_web_url(idlead) if client is not None else None

    def search(self, query: str, *, limit: int = 20) -> SearchResult:
        """Manual search by e-mail, phone or name (for chats without a usable phone)."""
        text = (query or "").strip()
        if not text:
            return SearchResult((), _(MSG_EMPTY_QUERY))
        try:
            if "@" in text and " " not in text:
                rows = self._client().search_leads(email=text, limit=limit)
                leads = [
                    lead for lead in self._parse(rows) if (lead.email or "").lower() == text.lower()
                ]
                note = ""
            elif normalize(text) is not None:
                lookup: LeadLookup = self._leads.lookup(text)
                if lookup.status in ("auth_error", "not_configured", "unavailable", "error"):
                    kind: ErrorKind = "auth" if lookup.status == "auth_error" else "unavailable"
                    if lookup.status == "not_configured":
                        kind = "not_configured"
                    return SearchResult(lookup.leads, lookup.message, kind)
                leads = list(lookup.leads)
                note = ""
            else:
                wanted = _fold(text)
                rows = self._client().search_leads(nome=text, limit=max(limit, 50))
                # [UNCERTAIN] `nome` filter: re-check, a tenant may ignore it.
                leads = [lead for lead in self._parse(rows) if wanted in _fold(lead.name)]
                note = _(MSG_SEARCH_NAME_NOTE)
        except CrmError as exc:
            return SearchResult((), exc.message, _error_kind(exc))
        leads = leads[:limit]
        if not leads:
            return SearchResult((), _(MSG_SEARCH_NONE).format(query=text))
        message = _("{n} lead(s) encontrado(s).").format(n=len(leads))
        return SearchResult(tuple(leads), f"{message} {note}".strip())

    @staticmethod
    def _parse(rows: Sequence[Mapping[str, Any]]) -> list[Lead]:
        out: list[Lead] = []
        for row in rows:
            try:
                lead = Lead.from_api(row)
            except ValueError:
                continue
            if all(lead.id != seen.id for seen in out):
                out.append(lead)
        return out

    def interactions(self, idlead: int, *, force_refresh: bool = False) -> InteractionsResult:
        """The lead's latest interactions (newest first), cached like lead cards."""
        key = f"{self._prefix}{int(idlead)}"
        now = self._clock()
        known = self._known_interactions(idlead, key)
        if (
            known is not None
            and not force_refresh
            and now - known.fetched_at < self.interactions_ttl_seconds
        ):
            return known
        try:
            rows = self._client().interactions(idlead, per_page=self.interactions_shown)
        except CrmError as exc:
            if known is not None:
                return InteractionsResult(known.items, known.fetched_at, True, exc.message)
            return InteractionsResult((), 0.0, True, exc.message)
        items: list[Interaction] = []
        for row in rows:
            try:
                items.append(Interaction.from_api(row))
            except ValueError:
                continue
        items.sort(key=lambda i: (i.created_at or "", i.id), reverse=True)
        result = InteractionsResult(tuple(items[: self.interactions_shown]), now)
        with self._memory_lock:
            self._memory[int(idlead)] = result
        try:
            self._cache.set_json(
                key,
                {"fetched_at": now, "items": [i.to_card() for i in result.items]},
                self.interactions_ttl_seconds * 12,
            )
        except Exception:
            log.warning("interactions cache write failed", exc_info=True)
        return result

    def _known_interactions(self, idlead: int, key: str) -> InteractionsResult | None:
        with self._memory_lock:
            remembered = self._memory.get(int(idlead))
        if remembered is not None:
            return remembered
        try:
            raw = self._cache.get_json(key)
        except Exception:
            return None
        if not isinstance(raw, dict) or not isinstance(raw.get("items"), list):
            return None
        try:
            items = tuple(Interaction.from_card(card) for card in raw["items"])
        except ValueError:
            return None
        at = raw.get("fetched_at")
        return InteractionsResult(items, float(at) if isinstance(at, int | float) else 0.0)

    def _forget_interactions(self, idlead: int) -> None:
        with self._memory_lock:
            self._memory.pop(int(idlead), None)
        try:
            self._cache.delete(f"{self._prefix}{int(idlead)}")
        except Exception:
            log.warning("interactions cache delete failed", exc_info=True)

    # ------------------------------------------------------------------ writes

    def _write(
        self,
        what: str,
        call: Callable[[CrmLeadApi], Mapping[str, Any]],
        *,
        phone: str | None,
        default_message: str,
    ) -> WriteResult:
        """POST, then re-read the lead and refresh the caches; errors become WriteResult."""
        try:
            client = self._client()
            reply = call(client)
        except CrmError as exc:
            log.warning("%s refused: %s", what, exc.detail or type(exc).__name__)
            return WriteResult(False, exc.message, error=_error_kind(exc))
        except Exception:
            log.exception("%s failed unexpectedly", what)
            return WriteResult(False, _("Erro inesperado ao gravar no CV CRM."), error="error")
        message = _reply_message(reply, default_message)
        lead_id = reply.get("id", reply.get("idlead"))
        try:
            lead_id = int(str(lead_id))
        except (TypeError, ValueError):
            return WriteResult(True, message)
        self._forget_interactions(lead_id)
        try:
            lead = self.get(lead_id)
        except CrmError as exc:
            reread = _(MSG_REREAD_FAILED).format(error=exc.message)
            return WriteResult(True, f"{message}\n{reread}")
        if lead is not None:
            for number in {phone, lead.phone} - {None}:
                self._leads.replace_lead(number, lead)
        log.info("%s done on lead %s (phone %s)", what, lead_id, mask(phone))
        return WriteResult(True, message, lead)

    def create_lead(
        self,
        *,
        name: str,
        phone: str | None,
        email: str | None = None,
        origin: str | None = None,
        media: str | None = None,
    ) -> WriteResult:
        """Create the chat's lead; "Lead já cadastrado" is CV CRM's answer for a duplicate."""
        digits = normalize(phone) if phone else None
        if phone and digits is None:
            return WriteResult(False, _("Telefone inválido."), error="rejected")
        if not digits and not (email or "").strip():
            return WriteResult(False, _("Informe o telefone ou o e-mail."), error="rejected")
        telefone = f"+{digits}" if digits else None
        result = self._write(
            "create lead",
            lambda c: c.create_lead(
                nome=name.strip(),
                telefone=telefone,
                email=(email or "").strip() or None,
                origem=(origin or "").strip() or None,
                midia=(media or "").strip() or None,
            ),
            phone=digits,
            default_message=_("Lead cadastrado."),
        )
        if result.ok and digits:
            self._leads.invalidate(digits)  # a cached "not found" must go
            if result.lead is not None:
                self._leads.replace_lead(digits, result.lead)
        return result

    def change_situation(
        self,
        lead: Lead,
        situation: Situation,
        *,
        reason: str | None = None,
        reason_text: str | None = None,
        phone: str | None = None,
    ) -> WriteResult:
        if situation.is_cancelled and not (reason or "").strip():
            return WriteResult(
                False, _("Escolha o motivo do cancelamento da lista do CV CRM."), error="rejected"
            )
        return self._write(
            "change situation",
            lambda c: c.change_situation(
                lead.id,
                email=lead.email,
                telefone=lead.phone,
                nome=lead.name if lead.name != "Sem nome" else None,
                idsituacao=situation.id,
                motivo_cancelamento=(reason or "").strip() or None,
                descricao_motivo=(reason_text or "").strip() or None,
            ),
            phone=phone or lead.phone,
            default_message=_("Situação alterada."),
        )

    def add_note(self, lead: Lead, text: str, *, phone: str | None = None) -> WriteResult:
        if not text.strip():
            return WriteResult(False, _("Escreva a anotação."), error="rejected")
        return self._interaction(lead, "A", text.strip(), phone, _("Anotação registrada."))

    def register_conversation(
        self,
        lead: Lead,
        messages: Sequence[Mapping[str, Any]],
        *,
        contact_name: str | None = None,
        me_label: str = "Corretor",
        phone: str | None = None,
    ) -> WriteResult:
        """Log messages (oldest first) as one WhatsApp interaction (tipo W) on the lead."""
        if not messages:
            return WriteResult(False, _("Nenhuma mensagem selecionada."), error="rejected")
        text = format_transcript(
            sorted(messages, key=timeline_key),
            contact_name=contact_name or lead.name,
            me_label=me_label,
        )
        return self._interaction(lead, "W", text, phone, _("Conversa registrada."))

    def _interaction(
        self, lead: Lead, tipo: str, text: str, phone: str | None, default: str
    ) -> WriteResult:
        return self._write(
            f"interaction {tipo}",
            lambda c: c.add_interaction(
                lead.id,
                email=lead.email,
                telefone=lead.phone,
                nome=lead.name if lead.name != "Sem nome" else None,
                idsituacao=lead.situation_id,
                tipo=tipo,
                descricao=text,
            ),
            phone=phone or lead.phone,
            default_message=default,
        )
