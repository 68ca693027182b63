"""Export a chat's (or a contact's) stored history to JSON or CSV. Qt-free, no I/O but the file.

JSON keeps every stored field (edits, reactions, revocation…); CSV is one row per message with
the columns a spreadsheet user needs. Times are written in UTC ISO 8601 and as Unix seconds.
Files are written to a temporary name first and renamed, so a failed export never leaves half a
file under the chosen name.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wacrm_desktop.core.history_model import earlier_texts

CSV_COLUMNS: tuple[str, ...] = (
    "data_hora_utc",
    "t",
    "perfil",
    "conversa",
    "telefone",
    "de_mim",
    "autor",
    "tipo",
    "texto",
    "legenda",
    "editada",
    "textos_anteriores",
    "apagada",
    "texto_cortado",  # the text passed 64 KiB and was stored cut (WhatsApp has all of it)
    "reacoes",
    "ack",
    "id",
)


def _iso(t: Any) -> str:
    if not isinstance(t, int | float) or isinstance(t, bool):
        return ""
    return datetime.fromtimestamp(t, UTC).isoformat()


def csv_row(message: Mapping[str, Any]) -> dict[str, Any]:
    """One CSV row of a stored message view."""
    edits = earlier_texts(message)
    reactions = [
        f"{r.get('emoji')} {r.get('sender')}"
        for r in message.get("reactions") or ()
        if r.get("emoji")
    ]
    return {
        "data_hora_utc": _iso(message.get("t")),
        "t": message.get("t", ""),
        "perfil": message.get("profile_id", ""),
        "conversa": message.get("chat_id", ""),
        "telefone": message.get("phone", ""),
        "de_mim": "sim" if message.get("from_me") else "não",
        "autor": message.get("notify_name") or message.get("author") or "",
        "tipo": message.get("type", ""),
        "texto": message.get("body") or "",
        "legenda": message.get("caption") or "",
        "editada": "sim" if edits else "não",
        "textos_anteriores": " | ".join(edits),
        "apagada": "sim" if message.get("revoked") else "não",
        "texto_cortado": "sim" if message.get("truncated") else "não",
        "reacoes": " ".join(reactions),
        "ack": message.get("ack", ""),
        "id": message.get("id", ""),
    }


def _atomic_write(path: Path, write: Any) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".export-", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def export_json(
    messages: Sequence[Mapping[str, Any]], path: Path, meta: Mapping[str, Any] | None = None
) -> int:
    """Write ``{"exported_at", "meta", "messages": [...]}``; returns the number of messages."""
    document = {
        "exported_at": datetime.now(UTC).isoformat(),
        "meta": dict(meta or {}),
        "messages": [{**m, "data_hora_utc": _iso(m.get("t"))} for m in messages],
    }
    _atomic_write(path, lambda h: json.dump(document, h, ensure_ascii=False, indent=2, default=str))
    return len(messages)


def export_csv(messages: Iterable[Mapping[str, Any]], path: Path) -> int:
    """Write one row per message (UTF-8 with BOM, so spreadsheet apps read the accents)."""
    rows = [csv_row(m) for m in messages]

    def write(handle: Any) -> None:
        handle.write("\ufeff")
        writer = csv.DictWriter(handle, fieldnames=list(CSV_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)

    _atomic_write(path, write)
    return len(rows)
