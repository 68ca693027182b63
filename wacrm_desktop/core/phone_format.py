"""Phone numbers as people read them on screen: "+55 11 99001-0001".

The UI shows the full, formatted number (the user must be able to check it, e.g. before an
LGPD erasure); `core.phones.mask` is for logs only.
"""

from __future__ import annotations

import re

import phonenumbers

from .phones import VALID_DDDS

__all__ = ["display_phone"]

_PHONE_SERVERS = frozenset({"c.us", "s.whatsapp.net"})
_NON_DIGITS = re.compile(r"\D")


def _brazilian(national: str) -> str | None:
    """DDD + 8 or 9 digits → "11 99001-0001" / "11 9001-0002" (the old mobile spelling that
    WhatsApp still uses, which phonenumbers leaves unformatted)."""
    ddd, subscriber = national[:2], national[2:]
    if ddd not in VALID_DDDS or len(subscriber) not in (8, 9):
        return None
    return f"{ddd} {subscriber[:-4]}-{subscriber[-4:]}"


def display_phone(phone: str | None) -> str:
    """E.164 digits (with or without "+") or a phone WhatsApp id → "+55 11 99001-0001".

    Empty for None, "" and ids that are not phones ("@lid", groups): their digits are not a
    number anyone could dial. Numbers phonenumbers cannot place are shown as "+<digits>".
    """
    if not phone:
        return ""
    user, at, server = phone.strip().partition("@")
    if at and server not in _PHONE_SERVERS:
        return ""
    digits = _NON_DIGITS.sub("", user.split(":")[0])  # "<phone>:<device>@s.whatsapp.net"
    if not digits:
        return ""
    if digits.startswith("55"):
        national = _brazilian(digits[2:])
        if national is not None:
            return f"+55 {national}"
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return "+" + digits
    if not phonenumbers.is_possible_number(number):
        return "+" + digits
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
