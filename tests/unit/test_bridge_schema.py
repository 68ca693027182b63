"""Every payload from the page is validated; bad ones raise PayloadError, never anything else."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wacrm_desktop.core.bridge_schema import MAX_TEXT_CHARS, PayloadError, parse_payload
from wacrm_desktop.core.events import (
    AckEvent,
    ActiveChatEvent,
    HealthEvent,
    MessageEvent,
    StateEvent,
)

TOKEN = "a" * 32
MSG_ID = "false_5511990010001@c.us_3EB0C767D7D7A1B2C3"


def envelope(kind: str, data: Any, token: str = TOKEN, v: int = 1) -> str:
    return json.dumps({"v": v, "token": token, "kind": kind, "data": data})


def message(**overrides: Any) -> dict[str, Any]:
    data = {
        "id": MSG_ID,
        "chat_id": "5511990010001@c.us",
        "from_me": False,
        "type": "chat",
        "t": 1764790000,
        "body": "Olá, tudo bem?",
        "is_new": True,
    }
    data.update(overrides)
    return data


def test_valid_message() -> None:
    event = parse_payload(envelope("message", message(chat_phone="5511990010001")), TOKEN)
    assert isinstance(event, MessageEvent)
    assert event.id == MSG_ID
    assert event.body == "Olá, tudo bem?"
    assert event.chat_phone == "5511990010001"
    assert not event.truncated


def test_group_message_with_participant_id() -> None:
    msg_id = "false_120363041122334455@g.us_3A99AA_204617782394561@lid"
    event = parse_payload(
        envelope(
            "message",
            message(
                id=msg_id,
                chat_id="120363041122334455@g.us",
                author="204617782394561@lid",
                is_group=True,
            ),
        ),
        TOKEN,
    )
    assert isinstance(event, MessageEvent)
    assert event.author == "204617782394561@lid"


def test_oversized_body_is_truncated_and_flagged() -> None:
    event = parse_payload(envelope("message", message(body="x" * 100_000)), TOKEN)
    assert isinstance(event, MessageEvent)
    assert event.truncated
    assert event.body is not None and len(event.body) == MAX_TEXT_CHARS


def test_lone_surrogate_is_replaced() -> None:
    raw = envelope("message", message(body="ok \ud83d"))
    event = parse_payload(raw, TOKEN)
    assert isinstance(event, MessageEvent)
    assert event.body is not None
    event.body.encode("utf-8")  # must not raise


def test_emoji_and_rtl_text_survive() -> None:
    text = "Olá 👋🏽 مرحبا שלום"
    event = parse_payload(envelope("message", message(body=text)), TOKEN)
    assert isinstance(event, MessageEvent) and event.body == text


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[]",
        json.dumps({"v": 1, "token": TOKEN, "kind": "message"}),
        envelope("message", message(), token="b" * 32),
        envelope("message", message(), v=2),
        envelope("teleport", {}),
        envelope("message", message(id="nonsense")),
        envelope("message", message(t="yesterday")),
        envelope("message", message(t=True)),
        envelope("message", message(from_me="yes")),
        envelope("message", message(chat_id="12345")),
        envelope("message", message(chat_phone="204617782394561@lid")),
        envelope("message", message(extra_field=1)),
        envelope("message", message(body={"html": "<b>"})),
        envelope("ack", {"id": MSG_ID, "ack": 9}),
        envelope("state", {"state": "dancing"}),
        envelope("health", {"ok": True, "missing": "Msg"}),
        "x" * 300_000,
    ],
)
def test_bad_payloads_raise_payload_error(raw: str) -> None:
    with pytest.raises(PayloadError):
        parse_payload(raw, TOKEN)


def test_other_kinds() -> None:
    assert parse_payload(envelope("ack", {"id": MSG_ID, "ack": 3}), TOKEN) == AckEvent(MSG_ID, 3)
    chat = parse_payload(envelope("active_chat", {"chat_id": None}), TOKEN)
    assert chat == ActiveChatEvent(chat_id=None)
    state = parse_payload(envelope("state", {"state": "qr"}), TOKEN)
    assert state == StateEvent("qr")
    health = parse_payload(envelope("health", {"ok": False, "missing": ["Msg"]}), TOKEN)
    assert health == HealthEvent(ok=False, missing=("Msg",))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=20,
)


@settings(max_examples=500, deadline=None)
@given(
    kind=st.sampled_from(["message", "ack", "active_chat", "state", "health", "log", "x"]),
    data=json_values,
    token=st.sampled_from([TOKEN, "", "b" * 32]),
)
def test_fuzz_never_raises_anything_but_payload_error(kind: str, data: Any, token: str) -> None:
    raw = json.dumps({"v": 1, "token": token, "kind": kind, "data": data})
    with contextlib.suppress(PayloadError):
        parse_payload(raw, TOKEN)


@settings(max_examples=500, deadline=None)
@given(data=st.fixed_dictionaries({}, optional={k: json_values for k in message()}))
def test_fuzz_message_fields(data: dict[str, Any]) -> None:
    try:
        event = parse_payload(envelope("message", data), TOKEN)
    except PayloadError:
        return
    assert isinstance(event, MessageEvent)
    assert isinstance(event.t, int) and isinstance(event.from_me, bool)


def test_times_in_the_wrong_unit_are_normalised() -> None:
    """WhatsApp mixes units (t in s, edit/reaction times in ms; wa-js builds edit times from t).
    A page that sends the other unit must not store a message in the year 57 000 or 1970."""
    from wacrm_desktop.core.events import EditEvent, ReactionEvent, RevokeEvent

    event = parse_payload(envelope("message", message(t=1764790000123)), TOKEN)
    assert isinstance(event, MessageEvent) and event.t == 1764790000
    revoke = parse_payload(envelope("revoke", {"id": MSG_ID, "revoked_at": 1764790000999}), TOKEN)
    assert isinstance(revoke, RevokeEvent) and revoke.revoked_at == 1764790000
    edit = parse_payload(
        envelope("edit", {"id": MSG_ID, "body": "novo", "edited_at_ms": 1764790000}), TOKEN
    )
    assert isinstance(edit, EditEvent) and edit.edited_at_ms == 1764790000000
    reaction = parse_payload(
        envelope(
            "reaction",
            {"id": MSG_ID, "sender": "5511990010001@c.us", "emoji": "👍", "t_ms": 1764790000},
        ),
        TOKEN,
    )
    assert isinstance(reaction, ReactionEvent) and reaction.t_ms == 1764790000000
    # the right units are kept as they are
    same = parse_payload(envelope("message", message(t=1764790000)), TOKEN)
    assert isinstance(same, MessageEvent) and same.t == 1764790000
