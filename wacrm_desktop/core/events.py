"""Typed events that the bridge hands to the services, after validation.

Everything coming from the page is untrusted; only `core.bridge_schema` builds these objects,
so the rest of the app never sees raw JSON from JavaScript.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

LoginState = Literal["loading", "qr", "connecting", "connected", "phone_offline", "logged_out"]
LOGIN_STATES: tuple[LoginState, ...] = (
    "loading",
    "qr",
    "connecting",
    "connected",
    "phone_offline",
    "logged_out",
)


@dataclass(frozen=True, slots=True)
class MessageEvent:
    """One WhatsApp message as captured (new, or loaded by backfill)."""

    id: str
    chat_id: str
    from_me: bool
    type: str
    t: int
    body: str | None = None
    caption: str | None = None
    author: str | None = None
    sender: str | None = None
    notify_name: str | None = None
    ack: int | None = None
    is_new: bool = True
    is_group: bool = False
    chat_name: str | None = None
    chat_phone: str | None = None
    quoted_id: str | None = None
    media: dict[str, Any] | None = None
    truncated: bool = False
    # Issue 3 additions (all optional; absent in older payloads):
    subtype: str | None = None  # e.g. gp2 "add", protocol "revoke"
    is_notification: bool = False  # system/notification message (gp2, e2e_notification, call_log…)
    is_forwarded: bool = False
    latest_edit_ms: int | None = None  # latestEditSenderTimestampMs when already edited
    location: dict[str, Any] | None = None  # {lat, lng, name?, address?}
    vcards: tuple[str, ...] | None = None  # contact cards (vCard text), at most 10
    poll: dict[str, Any] | None = None  # {name, options: [str], selectable_count?}
    mentioned: tuple[str, ...] | None = None  # mentioned wids
    chat_lid: str | None = None  # the @lid id of a 1:1 chat addressed by phone, when known

    def to_document(self) -> dict[str, Any]:
        """Plain dict for the journal and the stores (no None values)."""
        out: dict[str, Any] = {}
        for name in self.__slots__:  # type: ignore[attr-defined]
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


@dataclass(frozen=True, slots=True)
class EditEvent:
    """A message was edited: its new text. Earlier texts are kept by the store."""

    id: str  # the edited (original) message
    body: str | None
    caption: str | None
    edited_at_ms: int  # latestEditSenderTimestampMs: orders edits, dedupes repeated signals
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class RevokeEvent:
    """ "Apagada para todos": the original is kept and marked revoked."""

    id: str  # the revoked (original) message
    revoked_at: int | None = None  # seconds
    by_admin: bool = False


@dataclass(frozen=True, slots=True)
class ReactionEvent:
    """A reaction on a message; an empty emoji removes the sender's reaction."""

    id: str  # the message reacted to
    sender: str
    emoji: str
    t_ms: int


@dataclass(frozen=True, slots=True)
class LidPhoneEvent:
    """WhatsApp revealed the phone of a @lid (only when WhatsApp itself knows it; never guessed)."""

    lid: str
    phone: str  # E.164 digits


@dataclass(frozen=True, slots=True)
class AckEvent:
    """Delivery/read state change of a message (−1 error … 4 played)."""

    id: str
    ack: int


@dataclass(frozen=True, slots=True)
class ActiveChatEvent:
    """The open chat changed; chat_id None means no chat is open."""

    chat_id: str | None
    name: str | None = None
    phone: str | None = None
    is_group: bool = False


@dataclass(frozen=True, slots=True)
class StateEvent:
    """Login/connection state of one tab."""

    state: LoginState
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class HealthEvent:
    """What the bridge found (or missed) in this WhatsApp Web build."""

    ok: bool
    version: str | None = None
    missing: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class LogEvent:
    """A log line from the injected script."""

    level: Literal["debug", "info", "warning", "error"]
    message: str


@dataclass(frozen=True, slots=True)
class CommandResultEvent:
    """The page's answer to a command from Python (send_text, fill_composer)."""

    request_id: str | None
    ok: bool
    error: str | None = None
    id: str | None = None


BridgeEvent = (
    MessageEvent
    | AckEvent
    | EditEvent
    | RevokeEvent
    | ReactionEvent
    | LidPhoneEvent
    | ActiveChatEvent
    | StateEvent
    | HealthEvent
    | LogEvent
    | CommandResultEvent
)

# Events that change the stored history and therefore go through the journal.
HISTORY_EVENTS = (MessageEvent, AckEvent, EditEvent, RevokeEvent, ReactionEvent, LidPhoneEvent)
HistoryEvent = MessageEvent | AckEvent | EditEvent | RevokeEvent | ReactionEvent | LidPhoneEvent

# Journal kind of each history event (the store dispatches on it).
JOURNAL_KINDS: dict[type, str] = {
    MessageEvent: "message",
    AckEvent: "ack",
    EditEvent: "edit",
    RevokeEvent: "revoke",
    ReactionEvent: "reaction",
    LidPhoneEvent: "lid_phone",
}


def event_payload(event: HistoryEvent) -> dict[str, Any]:
    """Plain JSON-able dict of a history event for the journal (no None values)."""
    out: dict[str, Any] = {}
    for name in type(event).__slots__:  # type: ignore[attr-defined]
        value = getattr(event, name)
        if value is None:
            continue
        out[name] = list(value) if isinstance(value, tuple) else value
    return out
