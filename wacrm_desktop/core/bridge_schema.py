"""Validation of payloads coming from the injected JavaScript.

The page is untrusted input: a WhatsApp update, a bug in our script or a hostile page script can
send anything. Each payload is checked here (schema, types, sizes) and turned into a typed event;
anything else raises `PayloadError`, which the caller logs and drops.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from .events import (
    LOGIN_STATES,
    AckEvent,
    ActiveChatEvent,
    BridgeEvent,
    CommandResultEvent,
    EditEvent,
    HealthEvent,
    LidPhoneEvent,
    LogEvent,
    MessageEvent,
    ReactionEvent,
    RevokeEvent,
    StateEvent,
)

MAX_PAYLOAD_CHARS = 256 * 1024
MAX_TEXT_CHARS = 64 * 1024
MAX_ID_CHARS = 256
MAX_WID_CHARS = 128
MAX_NAME_CHARS = 512
PROTOCOL_VERSION = 1

_WID_RE = re.compile(
    r"^[0-9A-Za-z._:\-]{1,96}@(c\.us|s\.whatsapp\.net|lid|g\.us|broadcast|newsletter)$"
)
_MSG_ID_RE = re.compile(r"^(true|false)_[^_\s]+@[a-z.]+_[0-9A-Za-z\-]{1,128}(_[^_\s]+@[a-z.]+)?$")
_PHONE_RE = re.compile(r"^[1-9][0-9]{7,14}$")
_TYPE_RE = re.compile(r"^[a-z0-9_]{1,40}$")
#: Any UTF-16 surrogate code point (paired or not: json.loads joins valid pairs into one).
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_LOG_LEVELS = ("debug", "info", "warning", "error")
_MEDIA_KEYS = {
    "mimetype": str,
    "filename": str,
    "size": int,
    "duration": int,
    "width": int,
    "height": int,
    "is_view_once": bool,
    "is_gif": bool,
}


#: A time at or above this is in milliseconds if read as seconds (after the year 5000), and below
#: it in seconds if read as milliseconds (before 1973): WhatsApp mixes the two units.
_MS_THRESHOLD = 10**11


def _seconds(value: int | None) -> int | None:
    return value // 1000 if value is not None and value >= _MS_THRESHOLD else value


def _millis(value: int | None) -> int | None:
    return value * 1000 if value is not None and 0 < value < _MS_THRESHOLD else value


class PayloadError(ValueError):
    """The payload is malformed; the message says which rule it broke (never its content)."""


def _check_token(got: object, expected: str) -> None:
    if not isinstance(got, str) or not hmac.compare_digest(got.encode(), expected.encode()):
        raise PayloadError("token missing or wrong")


def _no_lone_surrogates(value: str) -> str:
    """JS strings may hold half an emoji (a lone UTF-16 surrogate): not encodable as UTF-8.

    Surrogates are rejoined into code points where they pair up, lone ones become U+FFFD.
    A string without surrogate code points (checked in C: ASCII flag, then one regex scan)
    is returned as it is, which is what the UTF-16 round trip would give.
    """
    if value.isascii() or _SURROGATE_RE.search(value) is None:
        return value
    return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _str(d: Mapping[str, Any], key: str, *, max_len: int, required: bool = False) -> str | None:
    value = d.get(key)
    if value is None:
        if required:
            raise PayloadError(f"{key}: required")
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{key}: expected string, got {type(value).__name__}")
    if len(value) > max_len:
        raise PayloadError(f"{key}: longer than {max_len}")
    return _no_lone_surrogates(value)


def _bool(d: Mapping[str, Any], key: str, *, default: bool | None = None) -> bool:
    value = d.get(key, default)
    if not isinstance(value, bool):
        raise PayloadError(f"{key}: expected boolean")
    return value


def _int(d: Mapping[str, Any], key: str, *, lo: int, hi: int, required: bool = False) -> int | None:
    value = d.get(key)
    if value is None:
        if required:
            raise PayloadError(f"{key}: required")
        return None
    # bool is an int subclass in Python; a JSON true is not a number here.
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadError(f"{key}: expected integer")
    if not lo <= value <= hi:
        raise PayloadError(f"{key}: out of range")
    return value


def _wid(d: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    value = _str(d, key, max_len=MAX_WID_CHARS, required=required)
    if value is not None and not _WID_RE.match(value):
        raise PayloadError(f"{key}: not a WhatsApp id")
    return value


def _phone(d: Mapping[str, Any], key: str) -> str | None:
    value = _str(d, key, max_len=16)
    if value is not None and not _PHONE_RE.match(value):
        raise PayloadError(f"{key}: not E.164 digits")
    return value


def _text(d: Mapping[str, Any], key: str) -> tuple[str | None, bool]:
    """Body/caption up to 64 KiB; longer ones are cut and flagged, never rejected."""
    value = d.get(key)
    if value is None:
        return None, False
    if not isinstance(value, str):
        raise PayloadError(f"{key}: expected string")
    # Lone surrogates (a truncated emoji from JS UTF-16) cannot be encoded to UTF-8 for storage.
    value = _no_lone_surrogates(value)
    if len(value) > MAX_TEXT_CHARS:
        return value[:MAX_TEXT_CHARS], True
    return value, False


def _reject_unknown(d: Mapping[str, Any], allowed: AbstractSet[str], where: str) -> None:
    if allowed.issuperset(d):
        return
    unknown = set(d) - allowed
    raise PayloadError(f"{where}: unknown fields {sorted(unknown)[:5]}")


_MESSAGE_FIELDS = {
    "id", "chat_id", "from_me", "type", "t", "body", "caption", "author", "sender", "notify_name",
    "ack", "is_new", "is_group", "chat_name", "chat_phone", "quoted_id", "media",
    "subtype", "is_notification", "is_forwarded", "latest_edit_ms", "location", "vcards", "poll",
    "mentioned", "chat_lid",
}  # fmt: skip
_MEDIA_FIELDS = frozenset(_MEDIA_KEYS)
MAX_VCARDS = 10
MAX_POLL_OPTIONS = 32
MAX_MENTIONS = 256


def _msg_id(d: Mapping[str, Any], key: str = "id", *, required: bool = True) -> str | None:
    value = _str(d, key, max_len=MAX_ID_CHARS, required=required)
    if value is not None and not _MSG_ID_RE.match(value):
        raise PayloadError(f"{key}: not a serialized message id")
    return value


def _number(d: Mapping[str, Any], key: str, lo: float, hi: float) -> float:
    value = d.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise PayloadError(f"{key}: expected a number in range")
    return float(value)


def _location(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise PayloadError("location: expected object")
    _reject_unknown(value, {"lat", "lng", "name", "address"}, "location")
    out: dict[str, Any] = {
        "lat": _number(value, "lat", -90, 90),
        "lng": _number(value, "lng", -180, 180),
    }
    for key in ("name", "address"):
        text = _str(value, key, max_len=MAX_NAME_CHARS)
        if text is not None:
            out[key] = text
    return out


def _str_list(value: object, key: str, *, max_items: int, max_len: int) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > max_items:
        raise PayloadError(f"{key}: expected a list of at most {max_items}")
    for item in value:
        if not isinstance(item, str) or len(item) > max_len:
            raise PayloadError(f"{key}: expected short strings")
    return tuple(_no_lone_surrogates(item) for item in value)


def _poll(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise PayloadError("poll: expected object")
    _reject_unknown(value, {"name", "options", "selectable_count"}, "poll")
    name = _str(value, "name", max_len=MAX_TEXT_CHARS, required=True)
    options = _str_list(
        value.get("options", []), "options", max_items=MAX_POLL_OPTIONS, max_len=MAX_NAME_CHARS
    )
    out: dict[str, Any] = {"name": name, "options": list(options or ())}
    count = _int(value, "selectable_count", lo=0, hi=MAX_POLL_OPTIONS)
    if count is not None:
        out["selectable_count"] = count
    return out


def _message(d: Mapping[str, Any]) -> MessageEvent:
    _reject_unknown(d, _MESSAGE_FIELDS, "message")
    msg_id = _msg_id(d)
    assert msg_id is not None
    chat_id = _wid(d, "chat_id", required=True)
    assert chat_id is not None
    msg_type = _str(d, "type", max_len=40, required=True)
    assert msg_type is not None
    if not _TYPE_RE.match(msg_type):
        raise PayloadError("type: invalid")
    t = _seconds(_int(d, "t", lo=0, hi=2**50, required=True))
    assert t is not None
    body, body_cut = _text(d, "body")
    caption, caption_cut = _text(d, "caption")
    media = d.get("media")
    if media is not None:
        if not isinstance(media, dict):
            raise PayloadError("media: expected object")
        _reject_unknown(media, _MEDIA_FIELDS, "media")
        for key, kind in _MEDIA_KEYS.items():
            value = media.get(key)
            if value is None:
                continue
            if kind is int:
                _int(media, key, lo=0, hi=2**53)
            elif kind is bool:
                _bool(media, key)
            else:
                _str(media, key, max_len=MAX_NAME_CHARS)
    return MessageEvent(
        id=msg_id,
        chat_id=chat_id,
        from_me=_bool(d, "from_me"),
        type=msg_type,
        t=t,
        body=body,
        caption=caption,
        author=_wid(d, "author"),
        sender=_wid(d, "sender"),
        notify_name=_str(d, "notify_name", max_len=MAX_NAME_CHARS),
        ack=_int(d, "ack", lo=-1, hi=4),
        is_new=_bool(d, "is_new", default=True),
        is_group=_bool(d, "is_group", default=False),
        chat_name=_str(d, "chat_name", max_len=MAX_NAME_CHARS),
        chat_phone=_phone(d, "chat_phone"),
        quoted_id=_str(d, "quoted_id", max_len=MAX_ID_CHARS),
        media=(
            {k: _no_lone_surrogates(v) if isinstance(v, str) else v for k, v in media.items()}
            if media
            else None
        ),
        truncated=body_cut or caption_cut,
        subtype=_str(d, "subtype", max_len=40),
        is_notification=_bool(d, "is_notification", default=False),
        is_forwarded=_bool(d, "is_forwarded", default=False),
        latest_edit_ms=_millis(_int(d, "latest_edit_ms", lo=0, hi=2**53)),
        location=_location(d.get("location")),
        vcards=_str_list(d.get("vcards"), "vcards", max_items=MAX_VCARDS, max_len=16 * 1024),
        poll=_poll(d.get("poll")),
        mentioned=_wids(d.get("mentioned")),
        chat_lid=_wid(d, "chat_lid"),
    )


def _wids(value: object) -> tuple[str, ...] | None:
    items = _str_list(value, "mentioned", max_items=MAX_MENTIONS, max_len=MAX_WID_CHARS)
    if items is not None and not all(_WID_RE.match(i) for i in items):
        raise PayloadError("mentioned: not WhatsApp ids")
    return items


def _edit(d: Mapping[str, Any]) -> EditEvent:
    _reject_unknown(d, {"id", "body", "caption", "edited_at_ms"}, "edit")
    msg_id = _msg_id(d)
    assert msg_id is not None
    body, body_cut = _text(d, "body")
    caption, caption_cut = _text(d, "caption")
    if body is None and caption is None:
        raise PayloadError("edit: body or caption required")
    at = _millis(_int(d, "edited_at_ms", lo=0, hi=2**53, required=True))
    assert at is not None
    return EditEvent(
        id=msg_id, body=body, caption=caption, edited_at_ms=at, truncated=body_cut or caption_cut
    )


def _revoke(d: Mapping[str, Any]) -> RevokeEvent:
    _reject_unknown(d, {"id", "revoked_at", "by_admin"}, "revoke")
    msg_id = _msg_id(d)
    assert msg_id is not None
    return RevokeEvent(
        id=msg_id,
        revoked_at=_seconds(_int(d, "revoked_at", lo=0, hi=2**50)),
        by_admin=_bool(d, "by_admin", default=False),
    )


def _reaction(d: Mapping[str, Any]) -> ReactionEvent:
    _reject_unknown(d, {"id", "sender", "emoji", "t_ms"}, "reaction")
    msg_id = _msg_id(d)
    sender = _wid(d, "sender", required=True)
    emoji = _str(d, "emoji", max_len=32, required=True)
    t_ms = _millis(_int(d, "t_ms", lo=0, hi=2**53, required=True))
    assert msg_id is not None and sender is not None and emoji is not None and t_ms is not None
    return ReactionEvent(id=msg_id, sender=sender, emoji=emoji, t_ms=t_ms)


def _lid_phone(d: Mapping[str, Any]) -> LidPhoneEvent:
    _reject_unknown(d, {"lid", "phone"}, "lid_phone")
    lid = _wid(d, "lid", required=True)
    phone = _phone(d, "phone")
    if lid is None or not lid.endswith("@lid") or phone is None:
        raise PayloadError("lid_phone: a @lid and a phone are required")
    return LidPhoneEvent(lid=lid, phone=phone)


def _ack(d: Mapping[str, Any]) -> AckEvent:
    _reject_unknown(d, {"id", "ack"}, "ack")
    msg_id = _str(d, "id", max_len=MAX_ID_CHARS, required=True)
    assert msg_id is not None
    if not _MSG_ID_RE.match(msg_id):
        raise PayloadError("id: not a serialized message id")
    ack = _int(d, "ack", lo=-1, hi=4, required=True)
    assert ack is not None
    return AckEvent(id=msg_id, ack=ack)


def _active_chat(d: Mapping[str, Any]) -> ActiveChatEvent:
    _reject_unknown(d, {"chat_id", "name", "phone", "is_group"}, "active_chat")
    return ActiveChatEvent(
        chat_id=_wid(d, "chat_id"),
        name=_str(d, "name", max_len=MAX_NAME_CHARS),
        phone=_phone(d, "phone"),
        is_group=_bool(d, "is_group", default=False),
    )


def _state(d: Mapping[str, Any]) -> StateEvent:
    _reject_unknown(d, {"state", "detail"}, "state")
    state = _str(d, "state", max_len=32, required=True)
    if state not in LOGIN_STATES:
        raise PayloadError("state: unknown value")
    return StateEvent(state=state, detail=_str(d, "detail", max_len=MAX_NAME_CHARS))  # type: ignore[arg-type]


def _health(d: Mapping[str, Any]) -> HealthEvent:
    _reject_unknown(d, {"ok", "version", "missing"}, "health")
    missing = d.get("missing", [])
    if not isinstance(missing, list) or len(missing) > 100:
        raise PayloadError("missing: expected a short list")
    for item in missing:
        if not isinstance(item, str) or len(item) > 200:
            raise PayloadError("missing: expected strings")
    return HealthEvent(
        ok=_bool(d, "ok"),
        version=_str(d, "version", max_len=64),
        missing=tuple(_no_lone_surrogates(m) for m in missing),
    )


def _log(d: Mapping[str, Any]) -> LogEvent:
    _reject_unknown(d, {"level", "message"}, "log")
    level = _str(d, "level", max_len=10, required=True)
    if level not in _LOG_LEVELS:
        raise PayloadError("level: unknown")
    message = _str(d, "message", max_len=4096, required=True)
    assert message is not None
    return LogEvent(level=level, message=message)  # type: ignore[arg-type]


def _command_result(d: Mapping[str, Any]) -> CommandResultEvent:
    _reject_unknown(d, {"request_id", "ok", "error", "id"}, "command_result")
    msg_id = _str(d, "id", max_len=MAX_ID_CHARS)
    if msg_id is not None and not _MSG_ID_RE.match(msg_id):
        raise PayloadError("id: not a serialized message id")
    return CommandResultEvent(
        request_id=_str(d, "request_id", max_len=64),
        ok=_bool(d, "ok"),
        error=_str(d, "error", max_len=300),
        id=msg_id,
    )


_PARSERS: dict[str, Callable[[Mapping[str, Any]], BridgeEvent]] = {
    "message": _message,
    "ack": _ack,
    "active_chat": _active_chat,
    "state": _state,
    "health": _health,
    "log": _log,
    "command_result": _command_result,
    "edit": _edit,
    "revoke": _revoke,
    "reaction": _reaction,
    "lid_phone": _lid_phone,
}


def parse_payload(raw: object, token: str) -> BridgeEvent:
    """Validate one envelope string from the page and return its typed event."""
    if not isinstance(raw, str):
        raise PayloadError("payload is not a string")
    if len(raw) > MAX_PAYLOAD_CHARS:
        raise PayloadError(f"payload larger than {MAX_PAYLOAD_CHARS} characters")
    try:
        envelope = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise PayloadError("payload is not JSON") from exc
    if not isinstance(envelope, dict):
        raise PayloadError("payload is not an object")
    _check_token(envelope.get("token"), token)
    if envelope.get("v") != PROTOCOL_VERSION:
        raise PayloadError("unsupported protocol version")
    kind = envelope.get("kind")
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        raise PayloadError("unknown event kind")
    data = envelope.get("data")
    if not isinstance(data, dict):
        raise PayloadError("data is not an object")
    return parser(data)
