"""How a stored message reads in the app's lists (side panel, history window, conversation picker).

One place, so a deleted, edited or cut message is marked the same way everywhere: a salesperson
must never read a text the contact deleted "for everyone", or an earlier version of an edited
one, as if it were the current message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core.bridge_schema import MAX_TEXT_CHARS
from ..core.history_model import earlier_texts
from ..core.i18n import _


def sender(message: Mapping[str, Any]) -> str:
    return _("Você") if message.get("from_me") else (message.get("notify_name") or _("Contato"))


def text_of(message: Mapping[str, Any]) -> str:
    """The current text (body, else caption), else the message kind in brackets."""
    return message.get("body") or message.get("caption") or f"[{message.get('type') or _('mídia')}]"


def marks(message: Mapping[str, Any], *, edited: bool = True) -> list[str]:
    """Short state marks: deleted for everyone, edited (unless `edited` is False: the caller
    shows the earlier texts itself), cut (over 64 KiB)."""
    out: list[str] = []
    if message.get("revoked"):
        out.append(
            _("🗑 apagada para todos (por admin)")
            if message.get("revoked_by_admin")
            else _("🗑 apagada para todos")
        )
    if edited and message.get("edits"):
        out.append(_("✎ editada"))
    if message.get("truncated"):
        out.append(_("✂ cortada: passava de {size} KiB").format(size=MAX_TEXT_CHARS // 1024))
    return out


def one_line(message: Mapping[str, Any], stamp: str) -> str:
    """A compact line: "<when> <who>: <text> · <marks>" (side panel, conversation picker)."""
    line = f"{stamp} {sender(message)}: {text_of(message)}"
    found = marks(message)
    return " · ".join([line, *found]) if found else line


def details(message: Mapping[str, Any]) -> str:
    """Tooltip of a compact line: the earlier texts of an edited message and what a mark means."""
    parts: list[str] = []
    before = earlier_texts(message)
    if before:
        parts.append(_("Antes: {texts}").format(texts=" → ".join(f"“{t}”" for t in before)))
    if message.get("revoked"):
        parts.append(_("Mensagem apagada para todos; o texto foi mantido no histórico."))
    if message.get("truncated"):
        kept = _("Só os primeiros {size} KiB do texto foram guardados; o inteiro está no WhatsApp.")
        parts.append(kept.format(size=MAX_TEXT_CHARS // 1024))
    return "\n".join(parts)
