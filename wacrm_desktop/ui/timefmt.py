"""Message times on screen: in the computer's own time zone, like WhatsApp shows them.

Brazil has four time zones, so a fixed America/Sao_Paulo would put a salesperson in Manaus an
hour off from the chat beside the panel. (Texts sent *to* CV CRM use Brasília time instead,
as the CRM's own dates do: see core/lead_text.py.)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def local_stamp(t: Any, fmt: str = "%d/%m %H:%M") -> str:
    """`t` in Unix seconds (UTC) → local time text; "??" for a missing or absurd value."""
    try:
        return datetime.fromtimestamp(float(t), UTC).astimezone().strftime(fmt)
    except (TypeError, ValueError, OverflowError, OSError):
        return "??"
