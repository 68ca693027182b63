"""HTTP client for the CV CRM REST API (lead lookup and lead writes).

Facts and doubts about the API are in /work/shared/cvcrm-api.md ("the notes"); every
behaviour the notes mark [UNCERTAIN] or [single] is commented where this module relies on it.

Design points:
* Auth is two plain headers, `email` and `token` (notes §1). The token is kept in a `_Secret`,
  sent only as a header, never logged, never put in an exception or repr, and scrubbed from
  any text the server echoes back.
* Calls are serialised by a lock and spaced `min_interval` apart (no official rate limit is
  known; notes §8), with exponential backoff on 429/5xx that honours `Retry-After`. A refused
  connection, a DNS failure or a timeout is not retried here (the lock is held while
  waiting, so every other lookup would wait too): it raises at once, and callers that run
  in the background pace themselves (services/crm_backoff.py).
* Trouble that lasts (unreachable, 5xx, credentials refused, answers that are no API) is
  logged once per change of state at WARNING, then at DEBUG with a summary every 30 min,
  and the first answer after it at INFO; not one WARNING per call.
* Redirects are not followed: `requests` would re-send our custom `token` header to whatever
  host the redirect names (it only strips `Authorization`).
* Failures surface as the typed `CrmError` subclasses from `core.leads`, re-exported here,
  each carrying a pt-BR message for the user.
* Bodies are decoded here, not by `requests`: a PHP back end may label JSON `text/html`
  (which `requests` would decode as ISO-8859-1: "JoÃ£o"), send Latin-1, or prefix a BOM.
* A 2xx JSON body with `sucesso:false` is a refusal on reads too, with CV CRM's `mensagem`;
  a `codigo` of 401/403 inside it is a credentials error.
"""

from __future__ import annotations

import codecs
import email.utils
import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from wacrm_desktop.core.i18n import N_, _
from wacrm_desktop.core.leads import (
    CrmAuthError,
    CrmBadResponse,
    CrmError,
    CrmNotConfigured,
    CrmRejected,
    CrmRouteNotAllowed,
    CrmUnavailable,
)
from wacrm_desktop.core.phones import mask, redact_phones

__all__ = [
    "CANCEL_REASONS_PATHS",
    "DEFAULT_LEAD_URL_TEMPLATE",
    "INTERACTIONS_PATH",
    "LEADS_PATH",
    "MAX_LIMIT",
    "WORKFLOW_LEADS_PATH",
    "CrmAuthError",
    "CrmBadResponse",
    "CrmError",
    "CrmNotConfigured",
    "CrmRejected",
    "CrmRouteNotAllowed",
    "CrmUnavailable",
    "CvCrmClient",
]

log = logging.getLogger("wacrm.crm")

LEADS_PATH = "/api/v1/comercial/leads"
INTERACTIONS_PATH = "/api/v1/comercial/leads/interacoes"
# [single] notes §4: works in production in one source (S12); the generic
# /api/v1/cv/workflow/{funcionalidade} is documented, the name "leads" is not.
WORKFLOW_LEADS_PATH = "/api/v1/cv/workflow/leads"
# [UNCERTAIN] notes §2: no documented maximum page size; working code stays within 20–500.
MAX_LIMIT = 500
# A search follows `offset` while the server gives fewer rows per page than asked and its
# `total` says there are more (a server may cap the page size), at most this many pages.
MAX_PAGES = 10
# [UNCERTAIN] notes §3: S6 uses the first route, S1 documents the second; tried in this order,
# moving on only when a route answers 404/405.
CANCEL_REASONS_PATHS = (
    "/api/v1/comercial/motivos-cancelamento-lead",
    "/api/v1/cv/motivos_cancelamento_lead",
)
# [UNCERTAIN] the lead's page in the CV CRM web app is not part of the API docs. Two public
# front-ends link to /gestor/comercial/leads/{id}/administrar (one adds ?lido=true), another
# to …/{id}/detalhes. Configurable (settings.json `cvcrm_lead_url_template`).
DEFAULT_LEAD_URL_TEMPLATE = "{base}/gestor/comercial/leads/{id}/administrar"
# Interaction type for "registrar conversa" (notes §3: W = WhatsApp, seen in real rows, S10).
WHATSAPP_INTERACTION = "W"
NOTE_INTERACTION = "A"

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# How a lasting failure reads in the log (see `_trouble`).
_TROUBLE_TEXT = {
    "unreachable": "unreachable",
    "unavailable": "unavailable (HTTP 5xx/429)",
    "credentials": "refused the credentials",
    "unexpected": "answers with something that is not its API",
}
TROUBLE_SUMMARY_INTERVAL = 1800.0
_MAX_SERVER_TEXT = 300
# Invisible characters a copy from a web page or a file may bring along with the token.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_CHARSET_RE = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._-]+)", re.IGNORECASE)
_NOT_FOUND_WORDS = ("não encontrad", "nao encontrad", "not found", "nenhum")

# A write that got no clear answer (timeout, connection cut) may still have been applied.
_MSG_WRITE_UNKNOWN = N_(
    "O CV CRM não respondeu a tempo e a alteração pode ou não ter sido gravada; confira o "
    "lead antes de repetir."
)

# CV CRM answers some rejections with a bare code; say it in words for the user.
_KNOWN_MESSAGES = {
    "email_telefone_vazio": N_("informe o e-mail ou o telefone do lead"),
}


class _Secret:
    """Holds the token so that repr(), vars() and tracebacks show no value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__


# Request parameters whose values the app sets itself (paging, CRM ids): safe to log.
_PLAIN_PARAMS = frozenset(
    {"limit", "offset", "pagina", "registros_por_pagina", "idlead", "idsituacao"}
)


def _mask_email(address: str) -> str:
    """'d***@wacrm.local': enough to tell accounts apart in a log."""
    user, at, domain = address.partition("@")
    return f"{user[:1]}***{at}{domain}" if at else "***"


def _truthy(value: Any) -> bool | None:
    """CV CRM's `sucesso` as a bool: True/False, "true"/"false", 1/0, "S"/"N"; None if absent."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        text = value.strip().lower()
        if text in {"true", "1", "s", "sim"}:
            return True
        if text in {"false", "0", "n", "nao", "não"}:
            return False
    return None


def _int_or_none(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _never_sent(exc: requests.ConnectionError) -> bool:
    """True when the connection was never made (refused, DNS): the request did not leave."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    # urllib3's NewConnectionError (and its NameResolutionError), by name: urllib3 is
    # requests' dependency, not ours.
    return any(
        cls.__name__ == "NewConnectionError" for cls in type(reason).__mro__ if reason is not None
    )


def _catalog_rows(data: Any, keys: tuple[str, ...]) -> list[Any] | None:
    """Rows of a catalog: a bare array, wrapped under one of `keys`, or a PHP array with
    non-sequential keys (an object keyed by id, bare or wrapped); None for other shapes."""

    def _as_list(value: Any) -> list[Any] | None:
        if isinstance(value, list):
            return value
        if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            return list(value.values())
        return None

    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in keys:
            rows = _as_list(data.get(key))
            if rows is not None:
                return rows
        return _as_list(data)
    return None


def _id_text(value: Any) -> str:
    """An id as digits: 1001, "1001" and the JSON number 1001.0 are the same id."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _credential(value: str, what: str) -> str:
    """Strip whitespace and invisible characters; refuse what cannot be an HTTP header.

    Header values go out as Latin-1 (http.client): a token with an inner space, line break
    or a character like "€" would fail deep in the stack (or, with a line break, inject a
    header), so it is refused here with a clear message. The value is never echoed.
    """
    text = (value or "").translate(_INVISIBLE).strip()
    bad = any(ch.isspace() or not ch.isprintable() or ord(ch) > 0xFF for ch in text)
    if what == "e-mail" and (bad or "@" not in text):
        raise CrmNotConfigured(
            _("O e-mail do usuário do CV CRM é inválido; confira-o nas preferências."),
            detail="email unusable as a header",
        )
    if bad:
        raise CrmNotConfigured(
            _(
                "O token do CV CRM tem caracteres inválidos (espaço, quebra de linha ou símbolo); "
                "copie-o de novo do CV CRM nas preferências."
            ),
            detail="token unusable as a header",
        )
    return text


def _decode_body(response: requests.Response) -> str:
    """Body text: UTF-8 first (BOM tolerated), then the declared charset, then cp1252.

    Strict UTF-8 first because valid UTF-8 is almost never Latin-1 text by accident, while a
    PHP server easily labels UTF-8 JSON as text/html or ISO-8859-1.
    """
    raw = response.content or b""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16", errors="replace")
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = _CHARSET_RE.search(response.headers.get("Content-Type", ""))
    for charset in (declared.group(1) if declared else None, "cp1252"):
        if charset and charset.lower().replace("-", "") not in ("utf8",):
            try:
                return raw.decode(charset)
            except (LookupError, UnicodeDecodeError):
                continue
    return raw.decode("latin-1")


def _json_body(response: requests.Response) -> Any:
    """Parsed JSON of a response (see `_decode_body`); ValueError when it is not JSON."""
    return json.loads(_decode_body(response))


def _parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date); None if absent/garbled."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class CvCrmClient:
    """Blocking CV CRM client; call it from a worker thread, never from the Qt GUI thread.

    `clock` and `sleep` are injectable so tests can check spacing and backoff without waiting.
    """

    def __init__(
        self,
        base_url: str,
        email: str,
        token: str,
        *,
        timeout: float = 10.0,
        session: requests.Session | None = None,
        min_interval: float = 0.35,
        max_retries: int = 3,
        backoff_base: float = 2.0,
        max_retry_wait: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        lead_url_template: str = DEFAULT_LEAD_URL_TEMPLATE,
    ) -> None:
        if not (base_url or "").strip() or not (email or "").strip() or not (token or "").strip():
            raise CrmNotConfigured(detail="base_url, email or token missing")
        self.base_url = self._check_base_url(base_url.strip())
        self.email = _credential(email, "e-mail")
        self._token = _Secret(_credential(token, "token"))
        if not self._token.reveal():
            raise CrmNotConfigured(detail="token missing")
        self.timeout = timeout
        self.min_interval = max(0.0, min_interval)
        self.max_retries = max(0, max_retries)
        self.backoff_base = backoff_base
        self.max_retry_wait = max_retry_wait
        self._clock = clock
        self._sleep = sleep
        self._own_session = session is None
        self._session = session if session is not None else requests.Session()
        self._lock = threading.Lock()
        self._last_call_end: float | None = None
        # Lasting trouble, for the log (guarded by `_lock`, like every call).
        self._trouble_kind: str | None = None
        self._trouble_since = 0.0
        self._trouble_count = 0
        self._trouble_summary_at = 0.0
        self._refused_routes: set[str] = set()
        self.lead_url_template = lead_url_template or DEFAULT_LEAD_URL_TEMPLATE

    # ------------------------------------------------------------------ setup

    @staticmethod
    def tenant_url(subdomain: str) -> str:
        """https://<subdomain>.cvcrm.com.br: each tenant has its own host (notes §1)."""
        return f"https://{subdomain.strip().strip('.')}.cvcrm.com.br"

    @staticmethod
    def _check_base_url(url: str) -> str:
        """Refuse URLs that would send the token nowhere useful or in clear text."""
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise CrmNotConfigured(
                _("Endereço do CV CRM inválido; use https://<subdomínio>.cvcrm.com.br."),
                detail="base_url has no http(s) scheme or host",
            )
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
            raise CrmNotConfigured(
                _(
                    "O endereço do CV CRM precisa começar com https:// "
                    "(senão o token iria sem criptografia)."
                ),
                detail="plain http refused for a non-loopback host",
            )
        return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")

    def close(self) -> None:
        """Close the HTTP session if this client created it."""
        if self._own_session:
            self._session.close()

    def __enter__(self) -> CvCrmClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CvCrmClient(base_url={self.base_url!r}, email={_mask_email(self.email)!r})"

    # ------------------------------------------------------------------ public API

    def search_leads(
        self,
        telefone: str | None = None,
        email: str | None = None,
        idlead: int | str | None = None,
        limit: int = 50,
        offset: int = 0,
        nome: str | None = None,
    ) -> list[dict[str, Any]]:
        """GET /api/v1/comercial/leads with the confirmed filters; [] when nothing matches.

        [single] notes §2/§6: `telefone` is a "contains" match, so callers must re-check hits
        (see core.phones.search_fragment / same_person).
        [UNCERTAIN] `nome` is not among the confirmed filters (idlead, email, telefone,
        idsituacao). A tenant that ignores it returns an unfiltered page, so callers must
        re-check names themselves (services.crm_actions does).
        """
        wanted = max(1, min(int(limit), MAX_LIMIT))
        filters: dict[str, Any] = {}
        if telefone:
            filters["telefone"] = telefone
        if email:
            filters["email"] = email
        if idlead is not None and str(idlead).strip():
            filters["idlead"] = str(idlead).strip()
        if nome and nome.strip():
            filters["nome"] = nome.strip()
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()
        next_offset = max(0, int(offset))
        for _page in range(MAX_PAGES):
            params = {"limit": wanted - len(rows), "offset": next_offset, **filters}
            try:
                data = self._request("GET", LEADS_PATH, params=params)
            except CrmRejected as exc:
                if self._is_not_found(exc):
                    break
                raise
            page = self._leads_from(data)
            fresh = [row for row in page if self._row_key(row) not in seen]
            seen.update(self._row_key(row) for row in fresh)
            rows.extend(fresh)
            total = _int_or_none(data.get("total")) if isinstance(data, dict) else None
            next_offset += len(page)
            # Stop on an empty or repeated page (a server ignoring `offset`), when enough
            # rows came, or when `total` does not promise more.
            if not fresh or len(rows) >= wanted or total is None or next_offset >= total:
                break
        return rows[:wanted]

    @staticmethod
    def _row_key(row: Mapping[str, Any]) -> str:
        lead_id = row.get("idlead", row.get("id"))
        return str(lead_id) if lead_id is not None else json.dumps(row, sort_keys=True)

    @staticmethod
    def _is_not_found(exc: CrmRejected, subjects: tuple[str, ...] = ("lead",)) -> bool:
        """A JSON "not found" answer to a read (S1: 404 "lead não encontrado"): nothing.

        Only when CV CRM's own message names what was searched (`subjects`) and says it was
        not found, with a 404 or as `sucesso:false`: a bare 404 page or "Rota não
        encontrada" means a wrong address, not "nothing".
        """
        text = (exc.mensagem or "").lower()
        if not any(subject in text for subject in subjects) or "rota" in text:
            return False
        if exc.status != 200 and 404 not in (exc.status, _int_or_none(exc.codigo)):
            return False
        return any(word in text for word in _NOT_FOUND_WORDS)

    def get_lead(self, idlead: int | str) -> dict[str, Any] | None:
        """One lead by id via `?idlead=`, or None.

        [UNCERTAIN] notes §2: GET /leads/{id} answered 405 in one source and is probably
        absent, so the list route with the confirmed `idlead` filter is used instead. Hits are
        re-checked by id in case a tenant ignores the filter and returns other leads.
        """
        wanted = str(idlead).strip()
        for row in self.search_leads(idlead=wanted, limit=10):
            if _id_text(row.get("idlead", row.get("id", ""))) == _id_text(wanted):
                return row
        return None

    def situations(self) -> list[dict[str, Any]]:
        """The tenant's lead workflow (situation catalog); ids differ per tenant (notes §4)."""
        data = self._request("GET", WORKFLOW_LEADS_PATH)
        if data is None:
            return []
        # [UNCERTAIN] notes §4 shows a bare array; accept a wrapped one as well.
        rows = _catalog_rows(data, ("situacoes", "dados", "workflow", "leads"))
        if rows is None:
            raise CrmBadResponse(detail=f"workflow: unexpected {type(data).__name__}")
        return [row for row in rows if isinstance(row, dict)]

    def post_lead(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create/update a lead, change its situation or add an interaction (notes §3).

        Raises CrmRejected when CV CRM answers `sucesso:false` (HTTP 200, notes §8). The
        owner fields of the reply can be stale (S7): re-read with `get_lead` if they matter.
        """
        try:
            data = self._request("POST", LEADS_PATH, body=dict(body))
        except CrmBadResponse as exc:  # a 2xx that is no JSON (maintenance page…)
            raise self._maybe_stored(exc.detail, exc.status) from None
        if not isinstance(data, dict):
            raise self._maybe_stored(f"post lead: unexpected {type(data).__name__}", 200)
        success = _truthy(data.get("sucesso"))
        if success is None:
            # One public integration (S4) checks only `codigo`; accept it when `sucesso` is
            # missing rather than report a write that CV CRM accepted as failed.
            codigo = _int_or_none(data.get("codigo"))
            if codigo is None:
                raise self._maybe_stored("post lead: reply without 'sucesso' or 'codigo'", 200)
            success = 200 <= codigo < 300
        if not success:
            raise self._rejected(data, status=200)
        reply = dict(data)
        # [single] notes §3: the reply names the id `id`; S1 calls it `idlead`. Accept either.
        if "id" not in reply and "idlead" in reply:
            reply["id"] = reply["idlead"]
        log.info(
            "CV CRM accepted lead write (id=%s): %s",
            reply.get("id"),
            self._loggable(self._scrub(str(reply.get("mensagem", "")))),
        )
        return reply

    @staticmethod
    def _maybe_stored(detail: str, status: int | None) -> CrmBadResponse:
        """A write answered with neither yes nor no: it may have been stored (notes §3:
        nothing can be undone), so the salesperson checks before repeating it."""
        log.warning("%s", detail)
        return CrmBadResponse(
            _(
                "O CV CRM respondeu de forma inesperada e a alteração pode ou não ter sido "
                "gravada; confira o lead antes de repetir."
            ),
            status=status,
            detail=detail,
        )

    def interactions(
        self, idlead: int | str, *, page: int = 1, per_page: int = 50
    ) -> list[dict[str, Any]]:
        """One page of a lead's interactions ([] if none), plus the last page(s) for page 1.

        The order of the pages is not documented: the newest rows are on the first page or
        on the last ones. So, when page 1 says there are more pages, the last page is read
        too (and the one before it when the last is partial); callers sort by date and keep
        what they need.
        """
        rows, pages = self._interactions_page(idlead, max(1, int(page)), per_page)
        if page != 1 or pages is None or pages < 2:
            return rows
        wanted = len(rows)  # a full page
        tail: list[dict[str, Any]] = []
        for number in range(pages, 1, -1):  # the last page, and the one before if partial
            more, _total = self._interactions_page(idlead, number, per_page)
            tail = more + tail
            if len(tail) >= wanted or not more:
                break
        known = {self._interaction_key(row) for row in rows}
        return rows + [row for row in tail if self._interaction_key(row) not in known]

    @staticmethod
    def _interaction_key(row: Mapping[str, Any]) -> str:
        key = row.get("idinteracao", row.get("id"))
        return _id_text(key) if key is not None else json.dumps(row, sort_keys=True)

    def _interactions_page(
        self, idlead: int | str, page: int, per_page: int
    ) -> tuple[list[dict[str, Any]], int | None]:
        """(rows, total_de_paginas) of one page; ([], None) on 204 (notes §3)."""
        per_page = max(1, min(int(per_page), MAX_LIMIT))
        params = {"idlead": str(idlead).strip(), "pagina": page, "registros_por_pagina": per_page}
        try:
            data = self._request("GET", INTERACTIONS_PATH, params=params)
        except CrmRejected as exc:
            if self._is_not_found(exc, ("interaç", "interac", "registro")):
                return [], None
            raise
        if data is None:
            return [], None
        if isinstance(data, list):
            return [row for row in data if isinstance(row, dict)], None
        if isinstance(data, dict):
            dados = data.get("dados", [])
            if isinstance(dados, dict):  # a PHP array keyed by id
                dados = list(dados.values())
            if isinstance(dados, list):
                pages = _int_or_none(data.get("total_de_paginas"))
                if pages is None:
                    total = _int_or_none(data.get("total_de_registros"))
                    pages = -(-total // per_page) if total else None
                return [row for row in dados if isinstance(row, dict)], pages
        raise CrmBadResponse(detail=f"interactions: unexpected {type(data).__name__}")

    def cancel_reasons(self) -> list[dict[str, Any]]:
        """The tenant's lead cancellation reasons (bare list or wrapped); [] on 204.

        [UNCERTAIN] notes §3: which route is current is unknown; the second one is tried only
        when the first answers 404/405. Field names were never observed (see CancelReason).
        """
        last_error: CrmError | None = None
        for path in CANCEL_REASONS_PATHS:
            try:
                data = self._request("GET", path)
            except CrmRouteNotAllowed as exc:
                last_error = exc
                continue
            except CrmRejected as exc:
                if exc.status == 404:
                    last_error = exc
                    continue
                raise
            if data is None:
                return []
            rows = _catalog_rows(data, ("motivos", "dados", "motivos_cancelamento", "data"))
            if rows is not None:
                return [row for row in rows if isinstance(row, dict | str)]
            raise CrmBadResponse(detail=f"cancel reasons: unexpected {type(data).__name__}")
        assert last_error is not None
        raise last_error

    def lead_web_url(self, idlead: int | str) -> str:
        """Address of the lead in the CV CRM web app, for the system browser.

        [UNCERTAIN] not an API fact; see DEFAULT_LEAD_URL_TEMPLATE.
        """
        return self.lead_url_template.format(base=self.base_url, id=str(idlead).strip())

    # ---- writes: every one is the same POST /leads (notes §3) with different fields ----

    @staticmethod
    def _contact_fields(email: str | None, telefone: str | None) -> dict[str, Any]:
        """E-mail or phone is mandatory even on edits (notes §3); resend the current values."""
        fields: dict[str, Any] = {}
        if email:
            fields["email"] = email
        if telefone:
            fields["telefone"] = telefone
        if not fields:
            raise CrmRejected(
                _(
                    "Este lead não tem e-mail nem telefone no CV CRM; a alteração seria "
                    "recusada (email_telefone_vazio). Complete o cadastro no CV CRM."
                ),
                detail="no email/telefone to resend",
            )
        return fields

    def create_lead(
        self,
        *,
        nome: str,
        telefone: str | None,
        email: str | None = None,
        origem: str | None = None,
        midia: str | None = None,
        conversao: str | None = "WhatsApp",
    ) -> dict[str, Any]:
        """Create a lead; an existing contact answers sucesso:true "Lead já cadastrado" + its id.

        Sent without `permitir_alteracao`, so an existing lead is never modified by this call.
        [single] `origem` is a 2-letter code; there is no documented WhatsApp code (S9 sends
        "WA" [UNCERTAIN]); `midia` is a slug and an unknown slug creates a new media record.
        """
        # `telefone` goes as "+<country><DDD><number>" ([confirmed] accepted on input, §6).
        body: dict[str, Any] = {"nome": nome.strip() or "Sem nome"}
        body.update(self._contact_fields(email, telefone))
        if origem:
            body["origem"] = origem
        if midia:
            body["midia"] = midia
        if conversao:
            body["conversao"] = conversao  # notes §3: without it CV records "Painel Gestor"
        return self.post_lead(body)

    @staticmethod
    def _edit_body(
        idlead: int,
        *,
        email: str | None,
        telefone: str | None,
        nome: str | None,
        idsituacao: int | None,
    ) -> dict[str, Any]:
        """Base of a surgical edit (notes §3 pitfalls, S6/S7): resend contact, name and the
        current situation (an edit of a cancelled lead without it can reactivate it; without
        `nome` a reactivation renames it "Sem nome"), and switch off conversion/reactivation,
        broker changes and the e-mail trigger."""
        body: dict[str, Any] = {"idlead": int(idlead), "permitir_alteracao": True}
        body.update(CvCrmClient._contact_fields(email, telefone))
        if nome:
            body["nome"] = nome
        if idsituacao is not None:
            body["idsituacao"] = int(idsituacao)
        body.update(
            {
                "converter": False,
                "reativar_lead": False,
                "permitir_trocar_atendente": False,
                "ignorar_email": True,
            }
        )
        return body

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
    ) -> dict[str, Any]:
        """Move a lead to another situation of the catalog; cancelling carries the reason NAME
        (notes §3: it must match exactly, a new name creates a new reason)."""
        body = self._edit_body(
            idlead, email=email, telefone=telefone, nome=nome, idsituacao=idsituacao
        )
        if motivo_cancelamento:
            body["motivo_cancelamento"] = motivo_cancelamento
            if descricao_motivo:
                body["descricao_motivo_cancelamento"] = descricao_motivo
        return self.post_lead(body)

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
    ) -> dict[str, Any]:
        """Add a note (tipo A) or a WhatsApp conversation (tipo W) to a lead.

        [single + inferred] notes §3: no standalone interaction POST is known; the same
        POST /leads carries `interacoes:[{tipo, descricao}]`, and a rejected interaction fails
        the whole POST. The current situation is resent so the edit never moves the lead.
        """
        body = self._edit_body(
            idlead, email=email, telefone=telefone, nome=nome, idsituacao=idsituacao
        )
        body["interacoes"] = [{"tipo": tipo, "descricao": descricao}]
        return self.post_lead(body)

    def test_connection(self) -> str:
        """Check address + credentials with the cheapest read of the Lead interface.

        Returns a line for the settings dialog (app's language); raises the typed errors.
        """
        data = self._request("GET", LEADS_PATH, params={"limit": 1, "offset": 0})
        who = _mask_email(self.email)
        where = f"GET {LEADS_PATH}"
        if data is None:
            return _(
                "Conectado ao CV CRM como {who}: nenhum lead visível ({where}: HTTP 204)."
            ).format(who=who, where=where)
        if isinstance(data, dict) and data.get("total") is not None:
            return _(
                "Conectado ao CV CRM como {who}: {total} leads visíveis ({where}: HTTP 200)."
            ).format(who=who, total=data.get("total"), where=where)
        self._leads_from(data)  # raises CrmBadResponse when the shape is wrong
        return _("Conectado ao CV CRM como {who} ({where}: HTTP 200).").format(who=who, where=where)

    # ------------------------------------------------------------------ plumbing

    def _leads_from(self, data: Any) -> list[dict[str, Any]]:
        """`leads` of the list envelope; 204 (None) and `total: 0` mean no leads."""
        if data is None:  # [confirmed] notes §8: 204 = empty result
            return []
        if isinstance(data, list):  # not seen, but harmless to accept
            return [row for row in data if isinstance(row, dict)]
        if isinstance(data, dict):
            leads = data.get("leads")
            if isinstance(leads, dict):  # a PHP array with non-sequential keys: {"12": {…}}
                leads = list(leads.values())
            if isinstance(leads, list):
                return [row for row in leads if isinstance(row, dict)]
            if leads is None and str(data.get("total", "")).strip() == "0":
                return []
        raise CrmBadResponse(detail="leads: envelope without a 'leads' list")

    def _headers(self, method: str) -> dict[str, str]:
        # [confirmed] notes §1: both headers on every call. [single/UNCERTAIN] a token-only
        # variant exists for form posts, but no source shows reads working without `email`.
        headers = {
            "email": self.email,
            "token": self._token.reveal(),
            "Accept": "application/json",
        }
        if method == "POST":
            headers["Content-Type"] = "application/json"
            # [single] notes §1 (S6): without `origemcv: true` a name change answers
            # sucesso:true but is silently ignored; S7 and S12 send it too.
            headers["origemcv"] = "true"
        return headers

    def _scrub(self, text: str) -> str:
        """Server text for messages/logs: no token (should the server echo it), bounded size."""
        token = self._token.reveal()
        if token and len(token) >= 4:
            text = text.replace(token, "***")
        return text[:_MAX_SERVER_TEXT]

    @staticmethod
    def _loggable(text: str | None) -> str | None:
        """Server text for a log line: spelled-out phone numbers masked like every phone in
        a log (`core.phones.redact_phones`; the user-facing message keeps them). Already
        scrubbed of the token by `_scrub`."""
        return redact_phones(text) if text else text

    @staticmethod
    def _describe(params: Mapping[str, Any] | None, body: Mapping[str, Any] | None) -> str:
        """Loggable summary of a call's inputs: names and sizes, never what a person typed.

        A search term (`nome`, `email`, `documento`, a typed `telefone`…) is personal data,
        possibly mistyped so that no log filter recognises it ("9900l-0001"): only its
        length is logged. Values are logged only for the paging fields and ids the app
        itself sets (`_PLAIN_PARAMS`: a lead id is the CRM's key, not a phone, and support
        needs it), and only when they are short digit strings. `telefone` is always the
        app's own search fragment (`core.phones.search_fragment`, digits only): it is
        logged masked (last 4 digits, as every phone in the log) so a lookup can be matched
        with the chat's masked number; anything else in it is redacted like a name.
        """
        parts: list[str] = []
        for key, value in (params or {}).items():
            text = str(value).strip()
            if key in _PLAIN_PARAMS and text.isdigit() and len(text) <= 12:
                parts.append(f"{key}={text}")
            elif key == "telefone" and text.isdigit():
                parts.append(f"telefone={mask(text)}")
            else:
                parts.append(f"{key}=<{len(text)} chars>")
        if body is not None:
            parts.append(f"idlead={body.get('idlead', '-')}")
            parts.append("fields=" + ",".join(sorted(str(k) for k in body)))
        return " ".join(parts)

    def _wait_turn(self) -> None:
        """Keep `min_interval` between the end of one call and the start of the next.

        [UNCERTAIN] notes §8: no official rate limit; ~350 ms spacing is the practical advice.
        """
        if self._last_call_end is None or self.min_interval <= 0:
            return
        wait = self._last_call_end + self.min_interval - self._clock()
        if wait > 0:
            self._sleep(wait)

    def _retry_delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds before retry number `attempt + 1`, or None to give up now.

        The server's Retry-After wins; without it 2 s, 4 s, 8 s… (backoff_base · 2^attempt).
        A Retry-After longer than `max_retry_wait` is not waited for: the lock is held while
        sleeping, so a long wait would freeze every other lookup.
        """
        if attempt >= self.max_retries:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_wait else None
        return min(self.backoff_base * (2**attempt), self.max_retry_wait)

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        """One logical call with spacing and retries; returns parsed JSON, or None for 204."""
        url = self.base_url + path
        data = json.dumps(body, ensure_ascii=False).encode("utf-8") if body is not None else None
        what = self._describe(params, body)
        with self._lock:
            attempt = 0
            while True:
                self._wait_turn()
                started = self._clock()
                try:
                    response = self._session.request(
                        method,
                        url,
                        params=dict(params) if params else None,
                        data=data,
                        headers=self._headers(method),
                        timeout=self.timeout,
                        allow_redirects=False,
                    )
                except requests.Timeout as exc:
                    self._trouble(
                        "unreachable", f"{method} {path} {what}: timeout after {self.timeout:.1f} s"
                    )
                    sent = not isinstance(exc, requests.ConnectTimeout)
                    raise CrmUnavailable(
                        _(_MSG_WRITE_UNKNOWN) if method == "POST" and sent else None,
                        detail=f"{method} {path}: timeout",
                    ) from None
                except requests.ConnectionError as exc:
                    # The exception text holds the URL with its query (a phone fragment):
                    # log the class only and drop the chain. A POST cut off after it left
                    # may have been applied: say so.
                    self._trouble("unreachable", f"{method} {path} {what}: {type(exc).__name__}")
                    raise CrmUnavailable(
                        _(_MSG_WRITE_UNKNOWN)
                        if method == "POST" and not _never_sent(exc)
                        else _(
                            "Não foi possível conectar ao CV CRM; verifique a internet e o "
                            "endereço."
                        ),
                        detail=f"{method} {path}: {type(exc).__name__}",
                    ) from None
                except requests.RequestException as exc:
                    self._trouble("unreachable", f"{method} {path} {what}: {type(exc).__name__}")
                    raise CrmUnavailable(detail=f"{method} {path}: {type(exc).__name__}") from None
                finally:
                    self._last_call_end = self._clock()
                status = response.status_code
                elapsed_ms = (self._last_call_end - started) * 1000
                log.debug("%s %s %s -> %s in %.0f ms", method, path, what, status, elapsed_ms)
                if self._retryable(method, status):
                    retry_after = _parse_retry_after(response.headers.get("Retry-After"))
                    response.close()
                    delay = self._retry_delay(attempt, retry_after)
                    if delay is None:
                        self._trouble(
                            "unavailable",
                            f"{method} {path}: HTTP {status}, giving up after {attempt} retries",
                        )
                        raise CrmUnavailable(
                            self._unavailable_message(status, retry_after),
                            status=status,
                            detail=f"{method} {path}: HTTP {status} after {attempt} retries",
                            retry_after=retry_after,
                        )
                    attempt += 1
                    log.log(
                        logging.DEBUG if self._trouble_kind == "unavailable" else logging.WARNING,
                        "%s %s: HTTP %s, retry %d/%d in %.1f s",
                        method,
                        path,
                        status,
                        attempt,
                        self.max_retries,
                        delay,
                    )
                    self._sleep(delay)
                    continue
                try:
                    result = self._handle(method, path, response)
                except (CrmAuthError, CrmUnavailable, CrmBadResponse):
                    raise  # reported as trouble where raised
                except CrmError:
                    self._answered()  # a refusal is an answer: CV CRM works
                    raise
                self._answered()
                return result

    def _trouble(self, kind: str, text: str) -> None:
        """Log a failed call: WARNING when the trouble starts or changes kind, then DEBUG,
        with an INFO summary every `TROUBLE_SUMMARY_INTERVAL` while it lasts. Under `_lock`."""
        now = self._clock()
        if kind != self._trouble_kind:
            self._trouble_kind, self._trouble_since = kind, now
            self._trouble_count, self._trouble_summary_at = 1, now
            log.warning(
                "CV CRM %s: %s (repeats are logged at DEBUG until this changes)",
                _TROUBLE_TEXT[kind],
                text,
            )
            return
        self._trouble_count += 1
        if now - self._trouble_summary_at >= TROUBLE_SUMMARY_INTERVAL:
            self._trouble_summary_at = now
            log.info(
                "CV CRM still %s: %d failed calls in %.0f min (last: %s)",
                _TROUBLE_TEXT[kind],
                self._trouble_count,
                (now - self._trouble_since) / 60,
                text,
            )
        else:
            log.debug("CV CRM still %s: %s", _TROUBLE_TEXT[kind], text)

    def _route_refused(self, where: str, why: str) -> None:
        """A 405 lasts as long as the token: WARNING the first time per route, then DEBUG."""
        level = logging.DEBUG if where in self._refused_routes else logging.WARNING
        self._refused_routes.add(where)
        log.log(level, "%s (%s)", where, why)

    def _answered(self) -> None:
        """CV CRM gave a usable answer: end the trouble state (one INFO line). Under `_lock`."""
        if self._trouble_kind is None:
            return
        log.info(
            "CV CRM answering again after %d failed call(s) in %.0f s (%s)",
            self._trouble_count,
            self._clock() - self._trouble_since,
            _TROUBLE_TEXT[self._trouble_kind],
        )
        self._trouble_kind = None
        self._trouble_count = 0

    @staticmethod
    def _retryable(method: str, status: int) -> bool:
        """429 always; 5xx only for reads.

        A POST may add an interaction, and a 500/502/504 does not say whether CV CRM already
        stored it; "nothing can be undone through the API" (notes §3), so writes are retried
        only on 429, where the request was refused before processing.
        """
        if status == 429:
            return True
        return status >= 500 and method == "GET"

    @staticmethod
    def _unavailable_message(status: int, retry_after: float | None) -> str:
        if status == 429:
            if retry_after:
                return _(
                    "O CV CRM limitou as consultas (HTTP 429); tente novamente em {n} s."
                ).format(n=int(retry_after))
            return _("O CV CRM limitou as consultas (HTTP 429); tente novamente em instantes.")
        return _("CV CRM indisponível (HTTP {status}); tente novamente em instantes.").format(
            status=status
        )

    def _server_text(self, response: requests.Response) -> tuple[str | None, Any]:
        """(`mensagem`, `codigo`) of an error body when it is JSON, else (None, None)."""
        try:
            payload = _json_body(response)
        except ValueError:
            return None, None
        if not isinstance(payload, dict):
            return None, None
        text = payload.get("mensagem") or payload.get("message") or payload.get("erro")
        return (self._scrub(str(text)) if text else None), payload.get("codigo")

    def _refusal(self, payload: Mapping[str, Any], *, status: int, where: str) -> CrmError:
        """`sucesso:false` in a 2xx body: credentials (codigo 401/403), route (405) or a
        rejection carrying CV CRM's `mensagem`."""
        codigo = _int_or_none(payload.get("codigo"))
        if codigo in (401, 403):
            self._trouble("credentials", f"{where}, sucesso:false codigo={codigo}")
            return CrmAuthError(status=codigo, detail=f"{where}: sucesso:false codigo={codigo}")
        if codigo == 405:
            self._route_refused(where, "sucesso:false codigo=405, route not allowed")
            return CrmRouteNotAllowed(status=codigo, detail=f"{where}: sucesso:false")
        return self._rejected(payload, status=status)

    def _rejected(self, payload: Mapping[str, Any], *, status: int) -> CrmRejected:
        raw = payload.get("mensagem") or payload.get("message")
        mensagem = self._scrub(str(raw)) if raw else None
        known = _KNOWN_MESSAGES.get(mensagem or "")
        friendly = _(known) if known else mensagem  # CV CRM's own text stays as sent
        log.warning("CV CRM rejected the request (HTTP %s): %s", status, self._loggable(mensagem))
        return CrmRejected(
            _("O CV CRM recusou a operação: {mensagem}").format(mensagem=friendly)
            if friendly
            else None,
            status=status,
            detail=f"HTTP {status} codigo={payload.get('codigo')}",
            mensagem=mensagem,
            codigo=payload.get("codigo"),
        )

    def _handle(self, method: str, path: str, response: requests.Response) -> Any:
        """Map an HTTP answer to parsed JSON or a typed error (notes §8)."""
        status = response.status_code
        where = f"{method} {path}: HTTP {status}"
        if status == 204:
            return None
        if 200 <= status < 300:
            if not response.content.strip():
                return None
            try:
                payload = _json_body(response)
            except ValueError:
                content_type = response.headers.get("Content-Type", "?")
                self._trouble("unexpected", f"{where} with non-JSON body ({content_type})")
                page = response.content.lstrip()[:15].lower().startswith((b"<!doctype", b"<html"))
                raise CrmBadResponse(
                    _(
                        "O CV CRM respondeu com uma página da web em vez de dados (manutenção, "
                        "tela de login ou endereço errado?); tente de novo em instantes."
                    )
                    if page or "html" in content_type.lower()
                    else None,
                    status=status,
                    detail=f"{where}, non-JSON ({content_type})",
                ) from None
            if isinstance(payload, dict) and _truthy(payload.get("sucesso")) is False:
                raise self._refusal(payload, status=status, where=where)
            return payload
        if 300 <= status < 400:
            # Not followed on purpose (token header); usually http→https or a wrong subdomain.
            target = urlsplit(response.headers.get("Location", "")).hostname or "?"
            self._trouble("unexpected", f"{where} redirect to host {target} not followed")
            raise CrmBadResponse(
                _(
                    "O endereço do CV CRM redireciona para outro lugar; confira o endereço "
                    "(https://<subdomínio>.cvcrm.com.br)."
                ),
                status=status,
                detail=f"{where}, redirect to {target}",
            )
        mensagem, codigo = self._server_text(response)
        if status in (401, 403):
            # [UNCERTAIN] notes §8: the 401 body shape was never observed; only `mensagem`
            # is read, and only for the log. 403 is also what CVDW answers when not enabled.
            self._trouble("credentials", f"{where}: {self._loggable(mensagem) or '-'}")
            raise CrmAuthError(status=status, detail=f"{where}: {self._loggable(mensagem) or ''}")
        if status == 405:
            # notes §1/§8: route absent, or the token's interface does not cover it. Never retried.
            self._route_refused(where, "route not allowed for this token")
            raise CrmRouteNotAllowed(status=status, detail=where)
        if 400 <= status < 500:
            # 400 = validation (e.g. email_telefone_vazio). 422 was never observed (notes §8),
            # so every other 4xx is treated the same way: rejected, never retried.
            raise self._rejected({"mensagem": mensagem, "codigo": codigo}, status=status)
        self._trouble("unavailable", f"{where} unexpected")
        if method == "POST" and status >= 500:
            raise CrmUnavailable(
                _(
                    "O CV CRM falhou (HTTP {status}) e a alteração pode ou não ter sido "
                    "gravada; confira o lead antes de repetir."
                ).format(status=status),
                status=status,
                detail=where,
            )
        raise CrmUnavailable(status=status, detail=where)
