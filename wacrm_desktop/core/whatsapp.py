"""Small facts about WhatsApp Web that need no Qt: page titles, id kinds, state labels."""

from __future__ import annotations

import re
from typing import NamedTuple

from .events import LoginState
from .i18n import N_, _

_TITLE_UNREAD = re.compile(r"^\((\d{1,5})\)")

# pt-BR source texts; `state_label` gives them in the app's language.
STATE_LABELS_PT: dict[LoginState, str] = {
    "loading": N_("carregando"),
    "qr": N_("aguardando QR"),
    "connecting": N_("conectando"),
    "connected": N_("conectado"),
    "phone_offline": N_("celular offline"),
    "logged_out": N_("desconectado"),
}


def state_label(state: LoginState) -> str:
    """The tab's label for a login state, in the app's language."""
    return _(STATE_LABELS_PT[state])


def unread_from_title(title: str) -> int:
    """WhatsApp puts the unread chat count in the title as "(3) WhatsApp"."""
    match = _TITLE_UNREAD.match(title.strip())
    return int(match.group(1)) if match else 0


def chat_kind(chat_id: str) -> str:
    """'user' (@c.us), 'lid', 'group', 'broadcast', 'status', 'newsletter' or 'other'."""
    if chat_id == "status@broadcast":
        return "status"
    server = chat_id.rpartition("@")[2]
    return {
        "c.us": "user",
        "s.whatsapp.net": "user",
        "lid": "lid",
        "g.us": "group",
        "broadcast": "broadcast",
        "newsletter": "newsletter",
    }.get(server, "other")


def chat_of_message_id(wa_id: str) -> str | None:
    """Chat wid inside a message id ``<true|false>_<chat wid>_<msg id>[_<participant>]``."""
    parts = wa_id.split("_")
    if len(parts) >= 3 and parts[0] in ("true", "false") and "@" in parts[1]:
        return parts[1]
    return None


class MessageKey(NamedTuple):
    """The parts of a serialized message id ``<true|false>_<remote>_<raw id>[_<participant>]``."""

    from_me: bool
    remote: str  # chat wid
    raw: str  # WhatsApp's own id: unique per sender only
    participant: str | None  # the sender in groups and status (others' messages)

    def serialized(self) -> str:
        head = f"{'true' if self.from_me else 'false'}_{self.remote}_{self.raw}"
        return f"{head}_{self.participant}" if self.participant else head


def parse_message_id(wa_id: str) -> MessageKey | None:
    """Split a serialized message id (None when it is not one).

    Raw ids never contain ``_`` (the bridge schema allows ``[0-9A-Za-z-]``), so the parts are
    unambiguous; a fourth part is the participant.
    """
    parts = wa_id.split("_")
    if len(parts) not in (3, 4) or parts[0] not in ("true", "false"):
        return None
    remote, raw = parts[1], parts[2]
    participant = parts[3] if len(parts) == 4 else None
    if "@" not in remote or not raw or "@" in raw:
        return None
    if participant is not None and "@" not in participant:
        return None
    return MessageKey(parts[0] == "true", remote, raw, participant)
