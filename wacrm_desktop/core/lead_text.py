"""Texts built from a lead: quick-reply templates, the "registrar conversa" transcript, ages.

Qt-free and I/O-free, so the rules are unit-tested directly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from .i18n import _
from .leads import Lead

__all__ = [
    "DEFAULT_QUICK_REPLIES",
    "MAX_TRANSCRIPT_CHARS",
    "RenderedReply",
    "age_text",
    "format_transcript",
    "render_quick_reply",
    "template_values",
]

SAO_PAULO = ZoneInfo("America/Sao_Paulo")

DEFAULT_QUICK_REPLIES: tuple[str, ...] = (
    "Olá, {primeiro_nome}! Aqui é {corretor}. Tudo bem?",
    "{primeiro_nome}, posso te enviar mais detalhes do {empreendimento}?",
    "{primeiro_nome}, que tal agendarmos uma visita ao {empreendimento}?",
)

# [UNCERTAIN] no documented size limit for an interaction's `descricao`; stay well below
# anything a text column would refuse, and say that the transcript was cut.
MAX_TRANSCRIPT_CHARS = 15_000
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e")
#: One message's text in a transcript: a long text (up to 64 KiB) is cut here, so it never
#: pushes every other message out of the transcript.
MAX_TRANSCRIPT_LINE_CHARS = 2_000

_VAR_RE = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True, slots=True)
class RenderedReply:
    """A filled template; `missing` lists variables left as "{name}" for the human to fix."""

    text: str
    missing: tuple[str, ...] = ()


def template_values(lead: Lead | None, chat_name: str | None = None) -> dict[str, str]:
    """Variables a template may use; absent values are simply not in the dict."""
    values: dict[str, str] = {}
    name = (lead.name if lead and lead.name != "Sem nome" else None) or (chat_name or "").strip()
    if name:
        values["nome"] = name
        values["primeiro_nome"] = name.split()[0]
    if lead is not None:
        if lead.developments:
            values["empreendimento"] = lead.developments[0]
            values["empreendimentos"] = ", ".join(lead.developments)
        for key, value in (
            ("corretor", lead.broker_name),
            ("imobiliaria", lead.agency_name),
            ("gestor", lead.manager_name),
            ("situacao", lead.situation_name),
            ("email", lead.email),
        ):
            if value:
                values[key] = value
    return values


def render_quick_reply(
    template: str, lead: Lead | None, chat_name: str | None = None
) -> RenderedReply:
    """Fill {nome}, {primeiro_nome}, {empreendimento}, {corretor}, {imobiliaria}, {gestor},
    {situacao}, {email}. An unknown or empty variable stays visible as "{name}" so the
    salesperson notices it before clicking send (sending is always a human click)."""
    values = template_values(lead, chat_name)
    missing: list[str] = []

    def _sub(match: re.Match[str]) -> str:
        key = match.group(1)
        if key in values:
            return values[key]
        if key not in missing:
            missing.append(key)
        return match.group(0)

    return RenderedReply(_VAR_RE.sub(_sub, template), tuple(missing))


def _when(t: Any) -> str:
    try:
        stamp = datetime.fromtimestamp(int(t), UTC).astimezone(SAO_PAULO)
    except (TypeError, ValueError, OverflowError, OSError):
        return "??/?? ??:??"
    return stamp.strftime("%d/%m/%Y %H:%M")


def format_transcript(
    messages: Iterable[Mapping[str, Any]],
    *,
    contact_name: str | None,
    me_label: str = "Corretor",
    limit_chars: int = MAX_TRANSCRIPT_CHARS,
) -> str:
    """Messages (HistoryService dicts, oldest first) as the text of a WhatsApp interaction.

    Always pt-BR, whatever the app's language: the text is stored in CV CRM, where the whole
    team reads it (like the quick replies, which go to Brazilian contacts).

    One line per message: "dd/mm/aaaa HH:MM Nome: texto"; media become "[imagem] legenda"; a
    deleted, edited or cut message says so after its text. A text longer than
    `MAX_TRANSCRIPT_LINE_CHARS` is cut ("[…] (texto cortado)"). When the whole is still longer
    than `limit_chars` the OLDEST lines are dropped and a note says so; the newest message is
    always kept (cut to fit if need be), so a transcript is never empty.
    """
    lines: list[str] = []
    for m in messages:
        who = me_label if m.get("from_me") else (m.get("notify_name") or contact_name or "Contato")
        text = m.get("body") or ""
        kind = str(m.get("type") or "chat")
        if kind not in ("chat", "text"):
            caption = m.get("caption") or ""
            text = f"[{kind}] {caption}".strip()
        # Invisible characters alone (a zero-width space) must not read as an empty line.
        text = " ".join(str(text).split())
        if not any(ch.isprintable() and not ch.isspace() and ch not in _INVISIBLE for ch in text):
            text = "[mensagem sem texto]"
        cut = bool(m.get("truncated"))
        if len(text) > MAX_TRANSCRIPT_LINE_CHARS:
            text, cut = text[:MAX_TRANSCRIPT_LINE_CHARS].rstrip() + " […]", True
        # Whoever reads the lead must see what the chat showed: a deleted or edited message,
        # or a text cut (by the app's 64 KiB store limit or here), is not logged as if plain.
        if m.get("revoked"):
            text += " (apagada para todos)"
        if m.get("edits"):
            text += " (editada)"
        if cut:
            text += " (texto cortado)"
        lines.append(f"{_when(m.get('t'))} {who}: {text}")
    # Times are Brasília's (the team's), whatever this computer's zone: say so.
    header = "Conversa registrada pelo WhatsApp (WACRM Desktop; horário de Brasília)"
    note_room = 80  # the "N mensagens omitidas" note
    body = "\n".join(lines)
    dropped = 0
    while len(lines) > 1 and len(header) + len(body) + note_room > limit_chars:
        lines.pop(0)
        dropped += 1
        body = "\n".join(lines)
    room = limit_chars - len(header) - note_room
    if lines and len(body) > room:  # only the newest line is left, and it is still too long
        body = body[: max(0, room - len(" […] (texto cortado)"))].rstrip() + " […] (texto cortado)"
    if dropped:
        header += f" — {dropped} mensagem(ns) mais antiga(s) omitida(s) por tamanho"
    return f"{header}\n{body}"


def age_text(fetched_at: float, now: float) -> str:
    """ "atualizado agora" / "atualizado há N min" / "atualizado há N h"."""
    seconds = max(0.0, now - fetched_at)
    minutes = int(seconds // 60)
    if minutes < 1:
        return _("atualizado agora")
    if minutes < 120:
        return _("atualizado há {n} min").format(n=minutes)
    return _("atualizado há {n} h").format(n=minutes // 60)
