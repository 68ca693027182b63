"""CV CRM leads as the app sees them, and the errors a lead source can raise.

`Lead.from_api` reads one item of `GET /api/v1/comercial/leads` → `leads[]` (see
/work/shared/cvcrm-api.md §5). The API is loosely typed in practice: ids arrive as ints or
strings, nested objects (`situacao`, `corretor`, `imobiliaria`, `gestor`) may be null, lists
may be missing. Parsing is therefore lenient: anything unusable becomes None/empty, and only a
lead without a usable id is refused.

Text from the CRM may carry HTML entities ("Jo&atilde;o", a PHP back end's htmlentities) and
interaction texts HTML tags; both become plain text here. Dates become "YYYY-MM-DD HH:MM:SS"
(Brasília) whatever the spelling, and MySQL's "0000-00-00" zero date becomes None.

The errors live here (not in the HTTP adapter) so that services can catch them while
importing nothing but `core/`; `adapters.cvcrm` re-exports them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from .i18n import N_, _
from .phones import normalize, phones_in, same_person

__all__ = [
    "CARD_VERSION",
    "INTERACTION_KINDS",
    "CancelReason",
    "CrmAuthError",
    "CrmBadResponse",
    "CrmError",
    "CrmNotConfigured",
    "CrmRejected",
    "CrmRouteNotAllowed",
    "CrmUnavailable",
    "Interaction",
    "Lead",
    "Situation",
]

CARD_VERSION = 1

_BRASILIA = ZoneInfo("America/Sao_Paulo")
# Only complete entities ("&atilde;", "&#233;", "&#xE9;"): a bare "&" as in "M&M" stays.
_ENTITY_RE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_BREAK_RE = re.compile(r"<br\s*/?>|</(?:p|div|li|tr|h[1-6])\s*>", re.IGNORECASE)
_TAG_RE = re.compile(r"<[A-Za-z/!][^<>]*>")
_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
)


# --------------------------------------------------------------------------- lenient readers


def _plain(value: Any) -> str | None:
    """A non-empty stripped string, or None (numbers become their decimal text)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def _unescape(text: str) -> str:
    """Decode complete HTML entities, twice at most (PHP double-encoding: "&amp;atilde;")."""
    for _round in range(2):
        if "&" not in text:
            break
        text = _ENTITY_RE.sub(lambda m: html.unescape(m.group(0)), text)
    return text


def _text(value: Any) -> str | None:
    """`_plain` for text read from CV CRM: HTML entities decoded."""
    text = _plain(value)
    return _plain(_unescape(text)) if text and "&" in text else text


def _html_text(value: Any) -> str | None:
    """Text that may be an HTML fragment (interactions): line breaks kept, tags dropped."""
    text = _plain(value)
    if not text:
        return None
    if _TAG_RE.search(text):
        text = _TAG_RE.sub("", _BREAK_RE.sub("\n", text))
    lines = (" ".join(_unescape(line).split()) for line in text.splitlines())
    return _plain("\n".join(line for line in lines if line))


def _date(value: Any) -> str | None:
    """CV CRM date as "YYYY-MM-DD HH:MM:SS" (or "YYYY-MM-DD"), Brasília time; None if none.

    The documented form is Brasília local time without offset (notes §1) and is kept as it
    is; "0000-00-00…" (MySQL's zero date) means no date; ISO values with an offset or "Z"
    are converted to Brasília time; "dd/mm/aaaa [HH:MM[:SS]]" is reordered. Anything else
    is kept as text, since the card only displays it.
    """
    text = _plain(value)
    if text is None or text.startswith("0000-00-00"):
        return None
    if len(text) == 10:
        for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
            try:
                return datetime.strptime(text, fmt).strftime("%Y-%m-%d")
            except ValueError:
                pass
        return text
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        stamp = None
        for fmt in _DATE_FORMATS:
            try:
                stamp = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if stamp is None:
            return text
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(_BRASILIA)
    return stamp.strftime("%Y-%m-%d %H:%M:%S")


def _int(value: Any) -> int | None:
    """An int from 42, "42", "42.0" or "72,5" (truncated); None when not a number."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value == value and abs(value) != float("inf") else None
    if isinstance(value, str):
        text = value.strip().replace(",", ".")
        try:
            return int(float(text)) if text else None
        except ValueError:
            return None
    return None


def _id(value: Any) -> int | None:
    """An id: a whole non-negative number or a string of digits; anything else is None.

    Stricter than `_int` on purpose: "1.001" (pt-BR thousands) or "1e3" must not become
    lead 1 or 1000, or a write would go to another lead.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float):
        return int(value) if value.is_integer() and value >= 0 else None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return None


def _obj(value: Any) -> Mapping[str, Any]:
    """Nested objects may be null, missing or (rarely) an empty list: always get a mapping."""
    return value if isinstance(value, Mapping) else {}


def _names(
    value: Any, keys: tuple[str, ...] = ("nome",), read: Callable[[Any], str | None] = _text
) -> tuple[str, ...]:
    """Names from a list of objects/strings, a single object or a comma-separated string.

    A PHP array with non-sequential keys arrives as an object keyed by id
    (`{"43": {"id": 43, "nome": …}}`): its values are the items.
    """
    if value is None:
        return ()
    if isinstance(value, str):
        items: Iterable[Any] = value.split(",")
    elif isinstance(value, Mapping):
        nested = list(value.values())
        keyed = nested and all(isinstance(v, Mapping) for v in nested)
        items = nested if keyed and not any(k in value for k in keys) else [value]
    elif isinstance(value, list | tuple):
        items = value
    else:
        return ()
    out: list[str] = []
    for item in items:
        if isinstance(item, Mapping):
            name = next((read(item.get(k)) for k in keys if read(item.get(k))), None)
        else:
            name = read(item)
        if name and name not in out:
            out.append(name)
    return tuple(out)


def _nested(d: Mapping[str, Any], key: str, field: str) -> str | None:
    """`d[key][field]`; a plain string `d[key]` counts as its name (CVDW rows are flat)."""
    raw = d.get(key)
    if isinstance(raw, Mapping):
        return _text(raw.get(field))
    if field == "nome" and isinstance(raw, str):
        return _text(raw)
    return None


# --------------------------------------------------------------------------- model

# Lead fields that hold phone numbers, in display order ([UNCERTAIN] `celular`, see from_api).
_PHONE_KEYS = ("telefone", "celular")


@dataclass(frozen=True, slots=True)
class Lead:
    """The lead card shown beside a chat; strings are kept as CV CRM sent them.

    Dates are "YYYY-MM-DD HH:MM:SS" in Brasília time without offset (notes §1), kept as text
    because the card only displays them and they sort correctly as strings.
    """

    id: int
    name: str
    email: str | None = None
    phone: str | None = None
    situation_id: int | None = None
    situation_name: str | None = None
    broker_name: str | None = None
    broker_email: str | None = None
    agency_name: str | None = None
    manager_name: str | None = None
    developments: tuple[str, ...] = ()
    origin: str | None = None
    media: str | None = None
    created_at: str | None = None
    last_conversion_at: str | None = None
    score: int | None = None
    tags: tuple[str, ...] = ()
    # Every phone field as CV CRM sent it (`telefone`, then `celular`), for matching only;
    # `phone` is what edits resend as `telefone`.
    phones: tuple[str, ...] = ()

    def phone_match(self, digits: str | None) -> Literal["exact", "suffix"] | None:
        """How a chat's number matches this lead: "exact", "suffix" (same DDD + last 8,
        one side without the ninth digit) or None. Looks at every number of every field."""
        wanted = normalize(digits) if digits else None
        if wanted is None:
            return None
        found = [n for text in (self.phones or (self.phone,)) for n in phones_in(text)]
        if wanted in found:
            return "exact"
        return "suffix" if any(same_person(n, wanted) for n in found) else None

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> Lead:
        """Parse one `leads[]` item; raises ValueError only when it has no usable id."""
        if not isinstance(d, Mapping):
            raise ValueError("lead item is not an object")
        lead_id = _id(d.get("idlead", d.get("id")))
        if lead_id is None:
            raise ValueError("lead item has no idlead")
        situacao = d.get("situacao")
        situation_id = _id(_obj(situacao).get("id", _obj(situacao).get("idsituacao")))
        if situation_id is None:
            situation_id = _id(d.get("idsituacao"))
        media = _text(d.get("midia_principal")) or _nested(d, "midia_principal", "nome")
        if media is None:
            media = next(iter(_names(d.get("midias"), ("nome", "midia"))), None)
        # [UNCERTAIN] notes §5: `celular` never appeared on a lead, only `telefone`; it is
        # shown only as a fallback, but matched as well (a landline in `telefone` and the
        # WhatsApp mobile in `celular` must still find the lead).
        phones = tuple(dict.fromkeys(p for p in (_plain(d.get(k)) for k in _PHONE_KEYS) if p))
        phone = phones[0] if phones else None
        return cls(
            id=lead_id,
            name=_text(d.get("nome")) or "Sem nome",
            email=_text(d.get("email")),
            phone=phone,
            situation_id=situation_id,
            situation_name=_nested(d, "situacao", "nome"),
            broker_name=_nested(d, "corretor", "nome"),
            broker_email=_nested(d, "corretor", "email"),
            agency_name=_nested(d, "imobiliaria", "nome")
            or _nested(d, "imobiliaria", "nome_fantasia"),
            manager_name=_nested(d, "gestor", "nome"),
            developments=_names(d.get("empreendimento")),
            origin=_text(d.get("origem")) or _nested(d, "origem", "nome"),
            media=media,
            created_at=_date(d.get("data_cad")),
            last_conversion_at=_date(d.get("ultima_data_conversao")),
            score=_int(d.get("score")),
            tags=_names(d.get("tags"), ("nome", "tag")),
            phones=phones,
        )

    def to_card(self) -> dict[str, Any]:
        """JSON-safe dict for the cache (tuples become lists; versioned for later changes)."""
        return {
            "v": CARD_VERSION,
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "situation_id": self.situation_id,
            "situation_name": self.situation_name,
            "broker_name": self.broker_name,
            "broker_email": self.broker_email,
            "agency_name": self.agency_name,
            "manager_name": self.manager_name,
            "developments": list(self.developments),
            "origin": self.origin,
            "media": self.media,
            "created_at": self.created_at,
            "last_conversion_at": self.last_conversion_at,
            "score": self.score,
            "tags": list(self.tags),
            "phones": list(self.phones),
        }

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> Lead:
        """Inverse of `to_card`; raises ValueError for a card of another version or shape,
        so a cache written by another app version is treated as a miss. Values are taken
        as stored (already decoded by `from_api`); a card without `phones` is read too."""
        if not isinstance(card, Mapping) or card.get("v") != CARD_VERSION:
            raise ValueError("not a lead card of this version")
        lead_id = _id(card.get("id"))
        if lead_id is None:
            raise ValueError("lead card has no id")
        phone = _plain(card.get("phone"))
        raw_phones = card.get("phones")
        phones = (
            tuple(p for p in (_plain(x) for x in raw_phones) if p)
            if isinstance(raw_phones, list)
            else ((phone,) if phone else ())
        )
        return cls(
            id=lead_id,
            name=_plain(card.get("name")) or "Sem nome",
            email=_plain(card.get("email")),
            phone=phone,
            situation_id=_id(card.get("situation_id")),
            situation_name=_plain(card.get("situation_name")),
            broker_name=_plain(card.get("broker_name")),
            broker_email=_plain(card.get("broker_email")),
            agency_name=_plain(card.get("agency_name")),
            manager_name=_plain(card.get("manager_name")),
            developments=_names(card.get("developments"), read=_plain),
            origin=_plain(card.get("origin")),
            media=_plain(card.get("media")),
            created_at=_plain(card.get("created_at")),
            last_conversion_at=_plain(card.get("last_conversion_at")),
            score=_int(card.get("score")),
            tags=_names(card.get("tags"), read=_plain),
            phones=phones,
        )


def _flag(value: Any) -> bool:
    """CV CRM flags are 'S'/'N'; accept booleans and 1/0 too."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    return isinstance(value, str) and value.strip().upper() in {"S", "SIM", "TRUE", "1"}


@dataclass(frozen=True, slots=True)
class Situation:
    """One step of the tenant's lead workflow (`GET /api/v1/cv/workflow/leads`).

    The catalog is tenant-specific, so ids are never hard-coded (notes §4).
    """

    id: int
    name: str
    order: int | None = None
    color: str | None = None
    is_start: bool = False
    is_cancelled: bool = False

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> Situation:
        """Parse one catalog item; raises ValueError when it has no usable id."""
        if not isinstance(d, Mapping):
            raise ValueError("situation item is not an object")
        situation_id = _id(d.get("idsituacao", d.get("id")))
        if situation_id is None:
            raise ValueError("situation item has no idsituacao")
        flags = _obj(d.get("flags"))
        return cls(
            id=situation_id,
            name=_text(d.get("nome")) or _("Situação {id}").format(id=situation_id),
            order=_int(d.get("ordem")),
            color=_text(d.get("cor")),
            is_start=_flag(flags.get("inicio")),
            is_cancelled=_flag(flags.get("cancelada")),
        )


# Interaction `tipo` codes (notes §3, S4; `W` seen in real rows in S10).
INTERACTION_KINDS: dict[str, str] = {
    "A": N_("Anotação"),
    "L": N_("Ligação"),
    "E": N_("E-mail"),
    "S": "SMS",
    "W": "WhatsApp",
}


@dataclass(frozen=True, slots=True)
class Interaction:
    """One row of `GET /api/v1/comercial/leads/interacoes` → `dados[]` (notes §3)."""

    id: int
    lead_id: int | None = None
    created_at: str | None = None
    kind: str | None = None
    description: str = ""
    broker_name: str | None = None

    @property
    def kind_label(self) -> str:
        """Name of the `tipo` code ("Anotação", "WhatsApp"…) in the app's language, or the code."""
        known = INTERACTION_KINDS.get((self.kind or "").upper())
        return _(known) if known else self.kind or _("Interação")

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> Interaction:
        """Parse one row; raises ValueError when it has no usable id."""
        if not isinstance(d, Mapping):
            raise ValueError("interaction item is not an object")
        interaction_id = _id(d.get("idinteracao", d.get("id")))
        if interaction_id is None:
            raise ValueError("interaction item has no idinteracao")
        return cls(
            id=interaction_id,
            lead_id=_id(d.get("idlead")),
            created_at=_date(d.get("data_cad")) or _date(d.get("referencia_data")),
            kind=_text(d.get("tipo")),
            description=_html_text(d.get("descricao")) or "",
            broker_name=_text(d.get("corretor_interacao")) or _text(d.get("corretor")),
        )

    def to_card(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "lead_id": self.lead_id,
            "created_at": self.created_at,
            "kind": self.kind,
            "description": self.description,
            "broker_name": self.broker_name,
        }

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> Interaction:
        if not isinstance(card, Mapping) or _id(card.get("id")) is None:
            raise ValueError("not an interaction card")
        return cls(
            id=int(card["id"]),
            lead_id=_id(card.get("lead_id")),
            created_at=_plain(card.get("created_at")),
            kind=_plain(card.get("kind")),
            description=_plain(card.get("description")) or "",
            broker_name=_plain(card.get("broker_name")),
        )


@dataclass(frozen=True, slots=True)
class CancelReason:
    """One lead cancellation reason of the tenant (notes §3).

    [UNCERTAIN] the field names were never seen in a real answer; `from_api` accepts
    `idmotivo_cancelamento`/`idmotivo`/`id` and `nome`/`motivo`/`descricao`. CV CRM matches the
    reason BY NAME on the write, so the name is what matters.
    """

    id: int | None
    name: str

    @property
    def label(self) -> str:
        """The name for display, HTML entities decoded. `name` itself is sent back on the
        write exactly as the catalog gave it: it must match, or CV CRM creates a reason."""
        return _unescape(self.name)

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> CancelReason:
        if isinstance(d, str) and d.strip():
            return cls(None, d.strip())
        if not isinstance(d, Mapping):
            raise ValueError("reason item is not an object")
        name = _plain(d.get("nome")) or _plain(d.get("motivo")) or _plain(d.get("descricao"))
        if not name:
            raise ValueError("reason item has no name")
        reason_id = _id(d.get("idmotivo_cancelamento", d.get("idmotivo", d.get("id"))))
        return cls(reason_id, name)


# --------------------------------------------------------------------------- errors


class CrmError(Exception):
    """Base of every CV CRM failure; `message` is text for the user, in the app's language.

    `detail` is a technical English note for logs; it never holds the token or a full phone.
    """

    default_message = N_("Erro ao falar com o CV CRM.")  # pt-BR; translated when raised

    def __init__(
        self, message: str | None = None, *, status: int | None = None, detail: str = ""
    ) -> None:
        self.message = message or _(self.default_message)
        self.status = status
        self.detail = detail
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class CrmNotConfigured(CrmError):
    """Address, e-mail or token missing (or unusable): the user must open the settings."""

    default_message = N_(
        "CV CRM não configurado: informe endereço, e-mail e token nas preferências."
    )


class CrmAuthError(CrmError):
    """401/403: the e-mail/token pair was refused."""

    default_message = N_("O CV CRM recusou o e-mail ou o token; confira-os nas preferências.")


class CrmRouteNotAllowed(CrmError):
    """405: the route does not exist or the token's interface does not cover it."""

    default_message = N_(
        "O CV CRM recusou esta consulta (HTTP 405): o token não tem a interface para esta rota. "
        "Gere um token com a interface Lead."
    )


class CrmRejected(CrmError):
    """The CRM understood the request and refused it (`sucesso:false`, 400 and other 4xx)."""

    default_message = N_("O CV CRM recusou a operação.")

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        detail: str = "",
        mensagem: str | None = None,
        codigo: Any = None,
    ) -> None:
        self.mensagem = mensagem
        self.codigo = codigo
        if message is None and mensagem:
            message = _("O CV CRM recusou a operação: {mensagem}").format(mensagem=mensagem)
        super().__init__(message, status=status, detail=detail)


class CrmUnavailable(CrmError):
    """Timeout, connection failure, 5xx or 429 after the retries: try again later."""

    default_message = N_("CV CRM indisponível no momento; tente novamente em instantes.")

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        detail: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, status=status, detail=detail)


class CrmBadResponse(CrmError):
    """The answer was not JSON or not the expected shape (maintenance page, wrong address)."""

    default_message = N_("Resposta inesperada do CV CRM; confira o endereço configurado.")
