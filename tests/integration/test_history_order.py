"""Out-of-order edit/ack/revoke/reaction/@lid sequences end in the same stored documents.

Property-based against the real server: any subset of a message's events, in any order, split
into any batches, gives exactly the documents the in-order, single-batch delivery gives.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pymongo
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wacrm_desktop.adapters.mongo import MongoHistoryStore
from wacrm_desktop.core.events import (
    JOURNAL_KINDS,
    AckEvent,
    EditEvent,
    HistoryEvent,
    LidPhoneEvent,
    MessageEvent,
    ReactionEvent,
    RevokeEvent,
    event_payload,
)
from wacrm_desktop.core.ports import JournalEntry

pytestmark = pytest.mark.servers

VOLATILE = {"_id", "profile_id", "rev", "updated_at", "first_seen_at"}


def events_for(lid: str) -> list[HistoryEvent]:
    """Everything that can happen to two messages of a @lid chat, and its phone reveal."""
    m1 = f"false_{lid}_3EB0A1"
    m2 = f"true_{lid}_3EB0A2"
    base = {"chat_id": lid, "type": "chat", "chat_name": "Cliente", "chat_lid": lid}
    return [
        MessageEvent(id=m1, from_me=False, t=100, body="original", ack=1, **base),
        # The same message captured again after its edit (WhatsApp shows the edited text).
        MessageEvent(
            id=m1, from_me=False, t=100, body="segunda", latest_edit_ms=2000, ack=1, **base
        ),
        EditEvent(id=m1, body="primeira", caption=None, edited_at_ms=1000),
        EditEvent(id=m1, body="segunda", caption=None, edited_at_ms=2000),
        AckEvent(id=m1, ack=3),
        AckEvent(id=m1, ack=2),
        RevokeEvent(id=m1, revoked_at=300, by_admin=False),
        ReactionEvent(id=m1, sender="111@lid", emoji="👍", t_ms=10),
        ReactionEvent(id=m1, sender="111@lid", emoji="", t_ms=20),
        ReactionEvent(id=m1, sender="222@lid", emoji="❤", t_ms=15),
        MessageEvent(id=m2, from_me=True, t=101, body="resposta", ack=1, **base),
        AckEvent(id=m2, ack=4),
        LidPhoneEvent(lid=lid, phone="5511977770000"),
    ]


def entries(profile: str, events: list[HistoryEvent]) -> list[JournalEntry]:
    return [
        JournalEntry(
            seq=i, profile_id=profile, kind=JOURNAL_KINDS[type(e)], payload=event_payload(e)
        )
        for i, e in enumerate(events)
    ]


@pytest.fixture(scope="module")
def store(mongo_uri: str) -> Iterator[MongoHistoryStore]:
    db = f"wacrm_order_{uuid.uuid4().hex[:8]}"
    with MongoHistoryStore(mongo_uri, db, alias=f"order_{uuid.uuid4().hex[:6]}") as s:
        yield s
    client: pymongo.MongoClient = pymongo.MongoClient(mongo_uri)
    client.drop_database(db)
    client.close()


def snapshot(store: MongoHistoryStore, profile: str) -> dict[str, Any]:
    db = pymongo.MongoClient(store.uri)[store.db_name]
    try:
        messages = {
            d["wa_id"]: {k: v for k, v in d.items() if k not in VOLATILE}
            for d in db.messages.find({"profile_id": profile})
        }
        chats = {
            d["chat_id"]: {k: v for k, v in d.items() if k not in VOLATILE}
            for d in db.chats.find({"profile_id": profile})
        }
    finally:
        db.client.close()
    return {"messages": messages, "chats": chats}


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_final_documents_do_not_depend_on_event_order(
    store: MongoHistoryStore, data: st.DataObject
) -> None:
    run = uuid.uuid4().hex[:10]
    lid = f"{int(run, 16) % 10**12}@lid"
    every = events_for(lid)
    chosen = data.draw(
        st.lists(st.sampled_from(range(len(every))), min_size=1, unique=True), label="events"
    )
    subset = [every[i] for i in sorted(chosen)]
    shuffled = data.draw(st.permutations(subset), label="order")
    cuts = sorted(
        data.draw(st.lists(st.integers(0, len(shuffled)), max_size=4, unique=True), label="cuts")
    )

    in_order = f"inorder{run}"
    store.apply(entries(in_order, subset))

    shuffled_profile = f"shuffled{run}"
    bounds = [0, *cuts, len(shuffled)]
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        if hi > lo:
            store.apply(entries(shuffled_profile, list(shuffled[lo:hi])))
    # A journal replay after a crash: the same entries once more change nothing.
    store.apply(entries(shuffled_profile, list(shuffled)))

    assert snapshot(store, shuffled_profile) == snapshot(store, in_order)


def test_full_sequence_document_shape(store: MongoHistoryStore) -> None:
    """The documents the contract promises, for the complete event set in a hostile order."""
    run = uuid.uuid4().hex[:10]
    lid = f"{int(run, 16) % 10**12}@lid"
    every = events_for(lid)
    profile = f"shape{run}"
    store.apply(entries(profile, list(reversed(every))))
    snap = snapshot(store, profile)
    m1 = snap["messages"][f"false_{lid}_3EB0A1"]
    assert m1["body"] == "segunda" and m1["ack"] == 3
    assert m1["edits"] == [{"at_ms": 0, "body": "original"}, {"at_ms": 1000, "body": "primeira"}]
    assert m1["revoked"] is True and m1["revoked_at"] == 300 and m1["revoked_by_admin"] is False
    assert m1["reactions"] == [
        {"sender": "111@lid", "emoji": "", "t_ms": 20},
        {"sender": "222@lid", "emoji": "❤", "t_ms": 15},
    ]
    assert m1["chat_lid"] == lid and m1["latest_edit_ms"] == 2000 and m1["phone"] == "5511977770000"
    chat = snap["chats"][lid]
    assert chat["lid"] == lid and chat["phone"] == "5511977770000"
    assert chat["phone_unknown"] is False and chat["name"] == "Cliente" and chat["last_t"] == 101

    # A reveal is global (a @lid is one WhatsApp user): another profile's chat gets it too.
    store.apply(entries(f"other{run}", every[:1]))
    assert store.get_chat(f"other{run}", lid)["phone"] == "5511977770000"  # type: ignore[index]
    # Without any reveal, the chat says its phone is unknown.
    unknown = f"{(int(run, 16) + 1) % 10**12}@lid"
    store.apply(entries(f"nophone{run}", events_for(unknown)[:-1]))
    chat = store.get_chat(f"nophone{run}", unknown)
    assert chat is not None and "phone" not in chat and chat["phone_unknown"] is True
