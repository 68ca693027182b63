"""Find the CV CRM lead(s) of the open chat's phone number, with caching and graceful failure.

Qt-free and blocking: call `LeadService.lookup` from a worker thread. It never raises for
CRM or cache trouble; every outcome is a `LeadLookup` with a message for the panel (in the
app's language, `core.i18n`).

Matching (notes §6): the CRM's `telefone` filter is a "contains" match, so the service asks
for `phones.search_fragment` (the last 8 digits for Brazil) and keeps only hits that are
`phones.same_person` (same country, DDD and last 8 digits, a 9-less spelling only for an old
mobile), looking at every number of the lead's phone fields (`Lead.phone_match`); an exact
e-mail, when known, narrows the candidates further.

Caching: results go to the `Cache` under `<key_prefix><E.164 digits>`. Found leads are
fresh for `ttl_seconds` but kept much longer (`stale_ttl_seconds`), and the last good result
per phone is also kept in memory, so an unreachable CRM still shows the last known card,
flagged stale (stale-while-revalidate). "Not found" is cached briefly, since a lead may be
created at any moment.

Outages: every CV CRM call a lookup makes reports its outcome to `backoff`
(`services.crm_backoff`): background prefetch waits while it says so, lookups asked for by
the user never wait (and their success ends the pause). A different client from the factory
(the settings changed) or `crm_settings_changed()` ends the pause too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from wacrm_desktop.core.i18n import N_, _
from wacrm_desktop.core.leads import (
    CrmAuthError,
    CrmBadResponse,
    CrmError,
    CrmNotConfigured,
    CrmRouteNotAllowed,
    CrmUnavailable,
    Lead,
)
from wacrm_desktop.core.phones import mask, normalize, search_fragment
from wacrm_desktop.core.ports import Cache
from wacrm_desktop.services.crm_backoff import CrmBackoff

__all__ = ["CrmLeadSearch", "LeadLookup", "LeadService", "LookupStatus"]

log = logging.getLogger("wacrm.leads")

LookupStatus = Literal[
    "found", "several", "not_found", "no_phone", "not_configured", "auth_error", "unavailable",
    "error",
]  # fmt: skip

_ENTRY_VERSION = 1
_STRIPES = 64

# pt-BR sources, translated where a LeadLookup is built.
MSG_NO_PHONE = N_("Esta conversa não tem um número de telefone conhecido.")
MSG_BAD_PHONE = N_("O número desta conversa não é um telefone válido para buscar no CV CRM.")
MSG_FOUND = N_("Lead encontrado no CV CRM.")
MSG_FOUND_SUFFIX = N_(
    "Lead encontrado com o número escrito de outro jeito (com ou sem o nono dígito); "
    "confira se é a mesma pessoa."
)
MSG_SEVERAL = N_("{n} leads com este telefone no CV CRM; o de conversão mais recente vem primeiro.")
MSG_NOT_FOUND = N_("Nenhum lead com este telefone no CV CRM.")
MSG_STALE = N_("CV CRM indisponível; mostrando os dados de {when}, que podem estar desatualizados.")
MSG_UNEXPECTED = N_("Erro inesperado ao consultar o CV CRM.")


class CrmLeadSearch(Protocol):
    """What the service needs from the CRM client (`adapters.cvcrm.CvCrmClient` fits).

    Declared here, structurally, so this service imports no adapter (docs/architecture.md).
    """

    def search_leads(
        self,
        telefone: str | None = None,
        email: str | None = None,
        idlead: int | str | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]: ...


@dataclass(frozen=True, slots=True)
class LeadLookup:
    """Outcome of one lookup, ready for the panel.

    `leads` is ordered by latest conversion first. `from_cache`: not fetched by this call.
    `stale`: older than the freshness TTL, shown because the CRM could not be reached.
    `suffix_only`: no lead has exactly this number, only the same DDD + last 8 digits
    (the ninth-digit rule). `phone` is the normalised number the lookup was for, so a
    result arriving late can be matched to the chat it belongs to.
    """

    status: LookupStatus
    leads: tuple[Lead, ...] = ()
    message: str = ""
    from_cache: bool = False
    stale: bool = False
    fetched_at: float = 0.0
    suffix_only: bool = False
    phone: str | None = None

    @property
    def lead(self) -> Lead | None:
        """The lead to show first (latest conversion), if any."""
        return self.leads[0] if self.leads else None


@dataclass(frozen=True, slots=True)
class _Entry:
    """One cached search result: every same-person candidate, before e-mail narrowing."""

    leads: tuple[Lead, ...]
    fetched_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "v": _ENTRY_VERSION,
            "fetched_at": self.fetched_at,
            "leads": [lead.to_card() for lead in self.leads],
        }

    @classmethod
    def from_json(cls, value: Any) -> _Entry | None:
        """None for anything this version did not write (treated as a cache miss)."""
        if not isinstance(value, dict) or value.get("v") != _ENTRY_VERSION:
            return None
        fetched_at = value.get("fetched_at")
        cards = value.get("leads")
        if not isinstance(fetched_at, int | float) or not isinstance(cards, list):
            return None
        try:
            return cls(tuple(Lead.from_card(card) for card in cards), float(fetched_at))
        except ValueError:
            return None


def _conversion_order(lead: Lead) -> tuple[str, int]:
    """Sort key, used reversed: latest `ultima_data_conversao` (text sorts as time), then id."""
    return lead.last_conversion_at or "", lead.id


class LeadService:
    """Phone → lead lookups for the side panel; thread-safe, no Qt.

    `client_factory` returns the configured client or None when the CRM is not set up; it
    should return the same client instance each time, because that instance is what
    serialises and spaces the calls to CV CRM.
    """

    def __init__(
        self,
        client_factory: Callable[[], CrmLeadSearch | None],
        cache: Cache,
        ttl_seconds: int = 600,
        *,
        key_prefix: str = "wacrm:lead:",
        not_found_ttl_seconds: int = 60,
        stale_ttl_seconds: int = 7 * 24 * 3600,
        search_limit: int = 50,
        memory_size: int = 500,
        clock: Callable[[], float] = time.time,
        backoff: CrmBackoff | None = None,
    ) -> None:
        self._client_factory = client_factory
        self._cache = cache
        self.ttl_seconds = ttl_seconds
        self.key_prefix = key_prefix
        self.not_found_ttl_seconds = not_found_ttl_seconds
        self.stale_ttl_seconds = max(stale_ttl_seconds, ttl_seconds)
        self.search_limit = search_limit
        self._memory_size = max(1, memory_size)
        self._clock = clock  # wall time: cached entries outlive the process (Redis)
        self._memory: OrderedDict[str, _Entry] = OrderedDict()
        self._memory_lock = threading.Lock()
        # Striped locks: two lookups of the same phone make one CRM call, different phones
        # rarely wait for each other, and the number of locks stays bounded.
        self._stripes = tuple(threading.Lock() for _stripe in range(_STRIPES))
        self.backoff = backoff if backoff is not None else CrmBackoff()
        self._client_seen: object | None = None

    # ------------------------------------------------------------------ public API

    def lookup(
        self,
        phone_digits: str | None,
        reason_if_none: str | None = None,
        *,
        email: str | None = None,
        force_refresh: bool = False,
    ) -> LeadLookup:
        """The lead(s) for a phone: E.164 digits, a WhatsApp id, "+55…" or a typed number.

        No phone (e.g. a "@lid" contact) → "no_phone" with `reason_if_none`. Bare 10–11
        digits are read as a Brazilian number (see `phones.normalize`); pass foreign numbers
        with "+" or as a WhatsApp id. `force_refresh` skips a fresh cache entry (a "refresh"
        button) but still falls back to the stale card if the CRM is down.
        """
        if not phone_digits:
            return LeadLookup("no_phone", message=reason_if_none or _(MSG_NO_PHONE))
        digits = normalize(phone_digits)
        if digits is None:
            log.info("lookup skipped: %s is not a phone number", mask(phone_digits))
            return LeadLookup("no_phone", message=reason_if_none or _(MSG_BAD_PHONE))
        key = self.key_prefix + digits
        with self._stripes[hash(key) % _STRIPES]:
            return self._lookup_locked(digits, key, email, force_refresh)

    def peek(self, phone_digits: str | None, *, email: str | None = None) -> LeadLookup | None:
        """What the cache knows about a phone, without calling CV CRM (any age).

        For stale-while-revalidate: the panel paints this at once, then calls `lookup` when
        the answer is not fresh. `stale` is True when older than the freshness TTL; None when
        nothing usable is cached (or the phone is no phone).
        """
        digits = normalize(phone_digits) if phone_digits else None
        if digits is None:
            return None
        known = self._known(self.key_prefix + digits)
        if known is None:
            return None
        stale = not self._is_fresh(known, self._clock())
        if stale and not known.leads:
            return None  # an old "not found" is not worth showing: ask again
        return self._result(known, digits, email, from_cache=True, stale=stale)

    def peek_memory(self, phone_digits: str | None) -> LeadLookup | None:
        """A FRESH found card from this process's memory only: no I/O, safe on the UI thread.

        The chat-switch fast path; None when not in memory or older than the TTL (then the
        caller goes through `peek`/`lookup` on a worker).
        """
        digits = normalize(phone_digits) if phone_digits else None
        if digits is None:
            return None
        with self._memory_lock:
            entry = self._memory.get(self.key_prefix + digits)
        if entry is None or not self._is_fresh(entry, self._clock()):
            return None
        return self._result(entry, digits, None, from_cache=True)

    def is_fresh(self, phone_digits: str | None) -> bool:
        """True when a lookup of this phone would be answered from the cache (prefetch)."""
        found = self.peek(phone_digits)
        return found is not None and not found.stale

    def replace_lead(self, phone_digits: str | None, lead: Lead) -> None:
        """Put a freshly re-read lead into the phone's cached candidates (after a write)."""
        digits = normalize(phone_digits) if phone_digits else None
        if digits is None:
            return
        key = self.key_prefix + digits
        with self._stripes[hash(key) % _STRIPES]:
            known = self._known(key)
            others = tuple(x for x in (known.leads if known else ()) if x.id != lead.id)
            leads = (lead, *others) if lead.phone_match(digits) else others
            leads = tuple(sorted(leads, key=_conversion_order, reverse=True))
            self._remember(key, _Entry(leads, self._clock()))

    def crm_settings_changed(self) -> None:
        """CV CRM address, e-mail or token changed: background look-ups may try at once."""
        self.backoff.reset()

    def invalidate(self, phone_digits: str) -> None:
        """Forget what is known about a phone (after a write to its lead, for instance)."""
        digits = normalize(phone_digits)
        if digits is None:
            return
        key = self.key_prefix + digits
        with self._memory_lock:
            self._memory.pop(key, None)
        try:
            self._cache.delete(key)
        except Exception:  # a cache must never break a lookup (core.ports.Cache)
            log.warning("cache delete failed", exc_info=True)

    # ------------------------------------------------------------------ flow

    def _lookup_locked(
        self, digits: str, key: str, email: str | None, force_refresh: bool
    ) -> LeadLookup:
        now = self._clock()
        known = self._known(key)
        if known is not None and not force_refresh and self._is_fresh(known, now):
            log.debug("lead lookup %s: cache hit", mask(digits))
            return self._result(known, digits, email, from_cache=True)

        backoff = self.backoff
        try:
            client = self._client_factory()
        except CrmNotConfigured as exc:
            backoff.failed("not configured")
            return LeadLookup("not_configured", message=exc.message, phone=digits)
        except Exception:
            log.exception("building the CV CRM client failed")
            backoff.failed("error")
            return LeadLookup("error", message=_(MSG_UNEXPECTED), phone=digits)
        if client is None:
            backoff.failed("not configured")
            return LeadLookup(
                "not_configured", message=_(CrmNotConfigured.default_message), phone=digits
            )
        if client is not self._client_seen:
            if self._client_seen is not None:  # new settings: the old failures say nothing
                backoff.reset()
            self._client_seen = client

        try:
            rows = client.search_leads(telefone=search_fragment(digits), limit=self.search_limit)
        except (CrmAuthError, CrmRouteNotAllowed) as exc:
            backoff.failed("credentials")
            return LeadLookup("auth_error", message=exc.message, phone=digits)
        except CrmNotConfigured as exc:
            backoff.failed("not configured")
            return LeadLookup("not_configured", message=exc.message, phone=digits)
        except CrmUnavailable as exc:
            backoff.failed("unavailable" if exc.status else "unreachable", exc.retry_after)
            return self._fallback(known, digits, email, "unavailable", exc.message)
        except CrmBadResponse as exc:
            backoff.failed("unexpected answers")
            return self._fallback(known, digits, email, "error", exc.message)
        except CrmError as exc:
            backoff.failed("refused")
            return LeadLookup("error", message=exc.message, phone=digits)
        except Exception:
            log.exception("lead lookup %s failed unexpectedly", mask(digits))
            backoff.failed("error")
            return self._fallback(known, digits, email, "error", _(MSG_UNEXPECTED))
        backoff.succeeded()

        entry = _Entry(self._candidates(rows, digits), now)
        self._remember(key, entry)
        log.info("lead lookup %s: %d candidate(s)", mask(digits), len(entry.leads))
        return self._result(entry, digits, email, from_cache=False)

    def _candidates(self, rows: list[dict[str, Any]], digits: str) -> tuple[Lead, ...]:
        """Parse the hits and keep the same person only (the filter is "contains")."""
        if len(rows) >= self.search_limit:
            log.warning(
                "lead search for %s returned %d rows (the limit); a match may be missing",
                mask(digits),
                len(rows),
            )
        out: list[Lead] = []
        for row in rows:
            try:
                lead = Lead.from_api(row)
            except ValueError:
                log.warning("skipping a lead row without a usable id")
                continue
            if lead.phone_match(digits) and all(lead.id != seen.id for seen in out):
                out.append(lead)
        out.sort(key=_conversion_order, reverse=True)
        return tuple(out)

    def _result(
        self,
        entry: _Entry,
        digits: str,
        email: str | None,
        *,
        from_cache: bool,
        stale: bool = False,
        message: str | None = None,
    ) -> LeadLookup:
        """Turn an entry into the panel's answer; the e-mail narrows, it never widens."""
        leads = entry.leads
        wanted = (email or "").strip().lower()
        if wanted:
            by_email = tuple(lead for lead in leads if (lead.email or "").lower() == wanted)
            leads = by_email or leads
        suffix_only = bool(leads) and not any(lead.phone_match(digits) == "exact" for lead in leads)
        if not leads:
            status: LookupStatus = "not_found"
            text = _(MSG_NOT_FOUND)
        elif len(leads) == 1:
            status, text = "found", _(MSG_FOUND_SUFFIX if suffix_only else MSG_FOUND)
        else:
            status, text = "several", _(MSG_SEVERAL).format(n=len(leads))
        return LeadLookup(
            status,
            leads=leads,
            message=message or text,
            from_cache=from_cache,
            stale=stale,
            fetched_at=entry.fetched_at,
            suffix_only=suffix_only,
            phone=digits,
        )

    def _fallback(
        self,
        known: _Entry | None,
        digits: str,
        email: str | None,
        status: LookupStatus,
        message: str,
    ) -> LeadLookup:
        """CRM unusable: the last known card (flagged stale) beats an error banner.

        A remembered "not found" is not shown: claiming "no lead" while the CRM is down
        could make the salesperson create a duplicate.
        """
        if known is not None and known.leads:
            when = time.strftime("%d/%m %H:%M", time.localtime(known.fetched_at))
            # DEBUG: the outage itself is logged once by the client and by the backoff.
            log.debug("lead lookup %s: CRM failed, serving the card from %s", mask(digits), when)
            return self._result(
                known,
                digits,
                email,
                from_cache=True,
                stale=True,
                message=_(MSG_STALE).format(when=when),
            )
        return LeadLookup(status, message=message, phone=digits)

    # ------------------------------------------------------------------ storage

    def _is_fresh(self, entry: _Entry, now: float) -> bool:
        ttl = self.ttl_seconds if entry.leads else self.not_found_ttl_seconds
        return now - entry.fetched_at < ttl

    def _known(self, key: str) -> _Entry | None:
        """Newest of the shared cache's entry and the in-memory last good result."""
        try:
            cached = _Entry.from_json(self._cache.get_json(key))
        except Exception:  # a cache must never break a lookup (core.ports.Cache)
            log.warning("cache read failed", exc_info=True)
            cached = None
        with self._memory_lock:
            remembered = self._memory.get(key)
            if remembered is not None:
                self._memory.move_to_end(key)
        candidates = [e for e in (cached, remembered) if e is not None]
        return max(candidates, key=lambda e: e.fetched_at) if candidates else None

    def _remember(self, key: str, entry: _Entry) -> None:
        """Cache every result; keep found ones in memory too, for stale-while-revalidate.

        While the shared cache (Redis) is down, "not found" answers are kept in memory as well,
        so switching between chats without a lead does not ask CV CRM again each time (a
        remembered "not found" is never served as a stale card, see `_fallback`).
        """
        ttl = self.stale_ttl_seconds if entry.leads else self.not_found_ttl_seconds
        try:
            self._cache.set_json(key, entry.to_json(), ttl)
            shared = bool(self._cache.available)
        except Exception:  # a cache must never break a lookup (core.ports.Cache)
            log.warning("cache write failed", exc_info=True)
            shared = False
        with self._memory_lock:
            if entry.leads or not shared:
                self._memory[key] = entry
                self._memory.move_to_end(key)
                while len(self._memory) > self._memory_size:
                    self._memory.popitem(last=False)
            else:
                # Keep the old card for a later outage? No: the CRM just said it is gone.
                self._memory.pop(key, None)
