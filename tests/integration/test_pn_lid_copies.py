"""One message under a phone-number id and a LID id is one stored document (issue 5 "nothing
twice", issue 3 `@lid` chats; whatsapp-web-bridge.md §3.2 and §3.4, WAHA #1816).

Against the real server. The copies share the raw id, the direction and the person; the link
between the two spellings comes from WhatsApp (``lid_phone``, a ``@lid`` chat's phone, a phone
chat's LID) in any order: before, between or after the copies.
"""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymongo
import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wacrm_desktop.adapters.cache import MemoryCache, RedisCache
from wacrm_desktop.adapters.mongo import SCHEMA_VERSION, MongoHistoryStore
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
from wacrm_desktop.core.ports import JournalEntry, SearchQuery
from wacrm_desktop.services.history import HistoryService, recent_key, recent_state_key

pytestmark = pytest.mark.servers

PROFILE = "p1"
PHONE = "5511988880001"
PN = f"{PHONE}@c.us"
LID = "204011112222333@lid"
RAW = "3A5F0C0FFEE000000001"
GROUP = "120363000000000777@g.us"
OWN_PN, OWN_LID = "5511955550000@c.us", "200000000000001@lid"
T0 = 1_700_000_000


def pn_id(raw: str = RAW, *, from_me: bool = False) -> str:
    return f"{'true' if from_me else 'false'}_{PN}_{raw}"


def lid_id(raw: str = RAW, *, from_me: bool = False) -> str:
    return f"{'true' if from_me else 'false'}_{LID}_{raw}"


def message(
    wa_id: str, chat: str, body: str = "quero visitar o decorado", **extra: Any
) -> MessageEvent:
    base: dict[str, Any] = {
        "from_me": wa_id.startswith("true_"),
        "type": "chat",
        "t": T0,
        "body": body,
        "notify_name": "Mariana",
        "chat_name": "Mariana",
        "ack": 1 if wa_id.startswith("true_") else None,
    }
    if not base["from_me"]:
        base["sender"] = chat
    else:  # our own ids: the phone one in phone chats, the LID one in LID chats
        base["sender"] = OWN_LID if chat.endswith("@lid") else OWN_PN
    base.update(extra)
    return MessageEvent(id=wa_id, chat_id=chat, **base)


def pn_copy(raw: str = RAW, **extra: Any) -> MessageEvent:
    return message(pn_id(raw, from_me=extra.pop("from_me", False)), PN, **extra)


def lid_copy(raw: str = RAW, **extra: Any) -> MessageEvent:
    return message(lid_id(raw, from_me=extra.pop("from_me", False)), LID, **extra)


class Run:
    """Applies events as journal batches (one `apply` per call), numbering entries."""

    def __init__(self, store: MongoHistoryStore, profile: str = PROFILE) -> None:
        self.store, self.profile, self.seq = store, profile, 0

    def __call__(self, *events: HistoryEvent) -> list[dict[str, Any]]:
        batch = []
        for event in events:
            self.seq += 1
            batch.append(
                JournalEntry(
                    seq=self.seq,
                    profile_id=self.profile,
                    kind=JOURNAL_KINDS[type(event)],
                    payload=event_payload(event),
                )
            )
        return self.store.apply(batch)


@pytest.fixture
def store(mongo_uri: str, mongo_db_name: str, unique_alias: str) -> Iterator[MongoHistoryStore]:
    with MongoHistoryStore(mongo_uri, mongo_db_name, alias=unique_alias) as s:
        yield s


@pytest.fixture
def raw_db(mongo_uri: str, mongo_db_name: str) -> Iterator[pymongo.database.Database]:
    client: pymongo.MongoClient = pymongo.MongoClient(mongo_uri, tz_aware=True)
    yield client[mongo_db_name]
    client.close()


def docs(db: pymongo.database.Database, **query: Any) -> list[dict[str, Any]]:
    return sorted(db.messages.find(query), key=lambda d: d["_id"])


def test_pn_copy_then_lid_copy_is_one_document(
    store: MongoHistoryStore, raw_db: pymongo.database.Database
) -> None:
    run = Run(store)
    run(pn_copy(chat_lid=LID))  # WhatsApp knows the phone chat's LID: the link
    views = run(lid_copy(chat_phone=PHONE, ack=None))

    [doc] = docs(raw_db)
    assert doc["_id"] == f"{PROFILE}/{pn_id()}" and doc["wa_id"] == pn_id()
    assert doc["aliases"] == [lid_id()] and doc["alias_chats"] == [LID]
    assert doc["chat_id"] == PN and doc["sender"] == PN and doc["phone"] == PHONE
    assert store.count_messages() == 1
    assert [v["id"] for v in views] == [pn_id()] and views[0]["alias_chats"] == [LID]
    # The message shows once in each chat it arrived in, and once in the team view.
    assert [m["id"] for m in store.recent_messages(PROFILE, LID, 10)] == [pn_id()]
    assert [m["id"] for m in store.recent_messages(PROFILE, PN, 10)] == [pn_id()]
    assert [m["id"] for m in store.contact_timeline(PROFILE, LID)] == [pn_id()]
    lid_chat = raw_db.chats.find_one({"_id": f"{PROFILE}/{LID}"})
    assert lid_chat is not None and lid_chat["alias_messages"] is True
    assert lid_chat["phone"] == PHONE
    assert raw_db.lids.find_one({"_id": LID}) == {"_id": LID, "phone": PHONE}

    # The same batches again (a journal replay) change nothing.
    rev = doc["rev"]
    run(pn_copy(chat_lid=LID))
    run(lid_copy(chat_phone=PHONE, ack=None))
    [again] = docs(raw_db)
    assert again["rev"] == rev and again["aliases"] == [lid_id()]


def test_lid_copy_first_then_pn_copy(
    store: MongoHistoryStore, raw_db: pymongo.database.Database
) -> None:
    run = Run(store)
    run(LidPhoneEvent(lid=LID, phone=PHONE))
    run(lid_copy(body="primeiro sob o LID"))
    run(pn_copy(body="primeiro sob o LID"))
    [doc] = docs(raw_db)
    assert doc["wa_id"] == lid_id() and doc["chat_id"] == LID and doc["sender"] == LID
    assert doc["aliases"] == [pn_id()] and doc["alias_chats"] == [PN]
    assert doc["phone"] == PHONE
    assert [m["id"] for m in store.recent_messages(PROFILE, PN, 10)] == [lid_id()]


def test_both_copies_in_one_batch_keep_the_first_journalled(
    store: MongoHistoryStore, raw_db: pymongo.database.Database
) -> None:
    run = Run(store)
    run(lid_copy(chat_phone=PHONE), pn_copy(), AckEvent(id=pn_id(), ack=3))
    [doc] = docs(raw_db)
    assert doc["wa_id"] == lid_id() and doc["aliases"] == [pn_id()] and doc["ack"] == 3


def test_link_learnt_after_both_copies_were_stored_merges_them(
    store: MongoHistoryStore, raw_db: pymongo.database.Database
) -> None:
    run = Run(store)
    run(pn_copy(body="original", t=T0))
    run(lid_copy(body="original", t=T0, ack=2))  # no phone known for the LID yet
    run(
        EditEvent(id=lid_id(), body="editada", caption=None, edited_at_ms=5_000),
        ReactionEvent(id=pn_id(), sender=PN, emoji="👍", t_ms=10),
        ReactionEvent(id=lid_id(), sender="5511977776666@c.us", emoji="❤", t_ms=11),
        AckEvent(id=pn_id(), ack=3),
    )
    assert len(docs(raw_db)) == 2  # nothing says they are one person yet

    views = run(LidPhoneEvent(lid=LID, phone=PHONE))
    [doc] = docs(raw_db)
    assert doc["wa_id"] == pn_id() and doc["aliases"] == [lid_id()]  # the first stored
    assert doc["chat_id"] == PN and doc["alias_chats"] == [LID]
    assert doc["body"] == "editada" and doc["edits"] == [{"at_ms": 0, "body": "original"}]
    assert doc["ack"] == 3
    assert [r["emoji"] for r in doc["reactions"]] == ["❤", "👍"]
    assert "original" in doc["words"] and "editada" in doc["words"]
    markers = [v for v in views if "merged_into" in v]
    assert markers == [
        {"id": lid_id(), "profile_id": PROFILE, "merged_into": pn_id(), "chats": sorted([PN, LID])}
    ]
    assert raw_db.lids.find_one({"_id": LID}) == {"_id": LID, "phone": PHONE}  # merge done
    assert [m["id"] for m in store.recent_messages(PROFILE, LID, 10)] == [pn_id()]
    # Later events addressed to either id land on the one document.
    run(RevokeEvent(id=lid_id(), revoked_at=T0 + 60, by_admin=False))
    run(AckEvent(id=lid_id(), ack=4))
    [doc] = docs(raw_db)
    assert doc["revoked"] is True and doc["body"] == "editada" and doc["ack"] == 4


def test_events_addressed_to_either_id_after_the_merge(
    store: MongoHistoryStore, raw_db: pymongo.database.Database
) -> None:
    run = Run(store)
    run(LidPhoneEvent(lid=LID, phone=PHONE), pn_copy(raw="3EB0AA01", from_me=True, ack=1))
    run(AckEvent(id=lid_id("3EB0AA01", from_me=True), ack=3))
    run(EditEvent(id=lid_id("3EB0AA01", from_me=True), body="novo", caption=None, edited_at_ms=9))
    run(ReactionEvent(id=lid_id("3EB0AA01", from_me=True), sender=LID, emoji="🙏", t_ms=3))
    run(RevokeEvent(id=pn_id("3EB0AA01", from_me=True), revoked_at=T0 + 5, by_admin=False))
    [doc] = docs(raw_db)
    assert doc["wa_id"] == pn_id("3EB0AA01", from_me=True)
    assert doc["aliases"] == [lid_id("3EB0AA01", from_me=True)]
    assert "alias_chats" not in doc  # only events came under the LID id, no message
    assert doc["ack"] == 3 and doc["body"] == "novo" and doc["revoked"] is True
    assert doc["reactions"] == [{"sender": LID, "emoji": "🙏", "t_ms": 3}]


def test_an_ack_under_the_other_id_before_its_message(
    store: MongoHistoryStore, raw_db: pymongo.database.Database
) -> None:
    run = Run(store)
    # Link known: the stub under the LID id is folded into the message when it arrives.
    run(LidPhoneEvent(lid=LID, phone=PHONE))
    run(AckEvent(id=lid_id("3EB0B1", from_me=True), ack=3))
    run(pn_copy(raw="3EB0B1", from_me=True, ack=1))
    [doc] = docs(raw_db)
    assert doc["wa_id"] == pn_id("3EB0B1", from_me=True) and doc["ack"] == 3
    assert doc["aliases"] == [lid_id("3EB0B1", from_me=True)] and "copy_refs" not in doc


def test_a_stub_under_the_other_id_is_merged_when_the_link_arrives(
    store: MongoHistoryStore, raw_db: pymongo.database.Database
) -> None:
    run = Run(store)
    run(pn_copy(raw="3EB0C1", from_me=True, ack=1))
    run(AckEvent(id=lid_id("3EB0C1", from_me=True), ack=3))  # the chat moved to LID meanwhile
    stub = raw_db.messages.find_one({"wa_id": lid_id("3EB0C1", from_me=True)})
    assert stub is not None and stub["copy_refs"] == [f"stub:{LID}"] and "chat_id" not in stub
    run(LidPhoneEvent(lid=LID, phone=PHONE))
    [doc] = docs(raw_db)
    assert doc["wa_id"] == pn_id("3EB0C1", from_me=True) and doc["ack"] == 3
    assert doc["aliases"] == [lid_id("3EB0C1", from_me=True)]


def test_the_same_raw_id_from_someone_else_is_another_message(
    store: MongoHistoryStore, raw_db: pymongo.database.Database
) -> None:
    other_phone, other_lid = "5521977770002", "309999888877776@lid"
    run = Run(store)
    run(LidPhoneEvent(lid=LID, phone=PHONE), LidPhoneEvent(lid=other_lid, phone=other_phone))
    run(pn_copy(body="da Mariana"))
    # Another contact's messages with the same raw id, under their phone and their LID.
    run(message(f"false_{other_phone}@c.us_{RAW}", f"{other_phone}@c.us", body="do Zeca"))
    run(message(f"false_{other_lid}_{RAW}", other_lid, body="do Zeca"))
    # A LID nobody linked, and our own message with the same raw id.
    run(message(f"false_208888777766665@lid_{RAW}", "208888777766665@lid", body="de quem?"))
    run(lid_copy(from_me=True, body="nossa"))
    found = {d["wa_id"]: d for d in docs(raw_db)}
    assert set(found) == {
        pn_id(),
        f"false_{other_phone}@c.us_{RAW}",
        "false_208888777766665@lid_" + RAW,
        lid_id(from_me=True),
    }
    assert found[pn_id()]["body"] == "da Mariana" and "aliases" not in found[pn_id()]
    assert found[f"false_{other_phone}@c.us_{RAW}"]["aliases"] == [f"false_{other_lid}_{RAW}"]
    assert "aliases" not in found[lid_id(from_me=True)]


def group_copy(participant: str, raw: str = "3A9900AA", **extra: Any) -> MessageEvent:
    return MessageEvent(
        id=f"false_{GROUP}_{raw}_{participant}",
        chat_id=GROUP,
        from_me=False,
        type="chat",
        t=T0 + 100,
        body=extra.pop("body", "no grupo"),
        author=participant,
        sender=participant,
        is_group=True,
        chat_name="Plantão",
        **extra,
    )


def test_group_copies_by_participant_spelling(
    store: MongoHistoryStore, raw_db: pymongo.database.Database
) -> None:
    run = Run(store)
    run(group_copy(PN))
    run(group_copy(LID))  # not linked yet: two documents
    run(group_copy("5531900001111@c.us", body="outra pessoa, mesmo id"))
    assert len(docs(raw_db)) == 3
    run(LidPhoneEvent(lid=LID, phone=PHONE))
    found = {d["wa_id"]: d for d in docs(raw_db)}
    first = f"false_{GROUP}_3A9900AA_{PN}"
    assert set(found) == {first, f"false_{GROUP}_3A9900AA_5531900001111@c.us"}
    assert found[first]["aliases"] == [f"false_{GROUP}_3A9900AA_{LID}"]
    assert found[first]["author"] == PN and "alias_chats" not in found[first]
    # Linked already: a copy arriving later is folded at once, and its reaction too.
    run(group_copy(LID, raw="3A9900BB"), group_copy(PN, raw="3A9900BB"))
    run(ReactionEvent(id=f"false_{GROUP}_3A9900BB_{PN}", sender=LID, emoji="👏", t_ms=1))
    [doc] = docs(raw_db, wa_id=f"false_{GROUP}_3A9900BB_{LID}")
    assert doc["aliases"] == [f"false_{GROUP}_3A9900BB_{PN}"] and doc["reactions"]
    assert len(docs(raw_db)) == 3
    assert len(store.recent_messages(PROFILE, GROUP, 10)) == 3


def test_search_lead_and_retention_see_copies_in_the_alias_chat(
    store: MongoHistoryStore, raw_db: pymongo.database.Database
) -> None:
    run = Run(store)
    run(pn_copy(body="apartamento garden", chat_lid=LID, t=T0))
    run(lid_copy(body="apartamento garden", chat_phone=PHONE, t=T0))
    run(lid_copy(raw="3A5F0C0FFEE000000002", body="só no LID", chat_phone=PHONE, t=T0 + 10))
    hits = store.search(SearchQuery(text="garden", chat_id=LID))
    assert [h["id"] for h in hits] == [pn_id()]
    assert len(store.search(SearchQuery(text="garden"))) == 1
    assert store.link_lead(PROFILE, LID, "4242") == 2  # both messages shown in the LID chat
    assert {d["lead_id"] for d in docs(raw_db)} == {"4242"}
    deleted, refs = store.delete_older_than(T0 + 1)
    assert deleted == 1 and set(refs) == {(PROFILE, PN), (PROFILE, LID)}


def test_erasure_removes_merged_copies_and_their_stubs(
    store: MongoHistoryStore, raw_db: pymongo.database.Database
) -> None:
    run = Run(store)
    run(pn_copy(chat_lid=LID))
    run(lid_copy(chat_phone=PHONE))
    run(AckEvent(id=lid_id("3EB0D1", from_me=True), ack=2))  # a stub under the LID
    run(group_copy(LID), group_copy(PN))
    run(message("false_5521911112222@c.us_3A00", "5521911112222@c.us", body="fica"))
    counts = store.erase_contact(PHONE)
    assert counts == {"messages": 3, "chats": 2, "lids": 1}
    rest = docs(raw_db)
    assert [d["wa_id"] for d in rest] == ["false_5521911112222@c.us_3A00"]
    assert raw_db.lids.count_documents({}) == 0


def test_migration_from_v2_merges_copies_a_v2_database_kept(
    mongo_uri: str, mongo_db_name: str, raw_db: pymongo.database.Database
) -> None:
    # A v2 database: both copies stored, the link only on the LID chat's document.
    with MongoHistoryStore(mongo_uri, mongo_db_name, alias=f"v2_{uuid.uuid4().hex[:6]}") as s:
        run = Run(s)
        run(pn_copy(body="antes"), AckEvent(id=lid_id("3EB0E1", from_me=True), ack=3))
        run(lid_copy(body="antes", ack=2), pn_copy(raw="3EB0E1", from_me=True))
    raw_db.chats.update_one({"_id": f"{PROFILE}/{LID}"}, {"$set": {"phone": PHONE}})
    raw_db.messages.update_many({}, {"$unset": {"copy_refs": ""}, "$set": {"schema_version": 2}})
    raw_db.meta.update_one({"_id": "schema"}, {"$set": {"version": 2}})
    raw_db.lids.delete_many({})
    assert len(docs(raw_db)) == 4

    with MongoHistoryStore(mongo_uri, mongo_db_name, alias=f"v3_{uuid.uuid4().hex[:6]}") as s:
        assert s.schema_version() == SCHEMA_VERSION == 3
        assert raw_db.lids.find_one({"_id": LID}) == {
            "_id": LID,
            "phone": PHONE,
            "merge_pending": True,
        }
        assert len(docs(raw_db)) == 4  # merged by the writer, which also fixes the cache
        views = s.apply([])
        assert s.apply([]) == []  # once per connection
    found = {d["wa_id"]: d for d in docs(raw_db)}
    assert set(found) == {pn_id(), pn_id("3EB0E1", from_me=True)}
    assert found[pn_id()]["aliases"] == [lid_id()] and found[pn_id()]["ack"] == 2
    assert found[pn_id("3EB0E1", from_me=True)]["ack"] == 3
    assert sorted(v["id"] for v in views if "merged_into" in v) == [
        lid_id(),
        lid_id("3EB0E1", from_me=True),
    ]
    assert raw_db.lids.find_one({"_id": LID}) == {"_id": LID, "phone": PHONE}
    index_names = {i["name"] for i in raw_db.messages.list_indexes()}
    assert "copy_refs" in index_names
    assert "phone" in {i["name"] for i in raw_db.lids.list_indexes()}


# -- any order -------------------------------------------------------------------------------

#: What must not depend on the order: the message's content. Which id it keeps (and so its
#: chat and sender spelling) follows the arrival order by design: the first stored stays.
COPY_SPECIFIC = {"_id", "wa_id", "chat_id", "sender", "aliases", "alias_chats", "copy_refs"}
VOLATILE = {"rev", "updated_at", "first_seen_at", "profile_id"}


def copy_events(phone: str, lid: str) -> list[HistoryEvent]:
    """Two messages of one contact, each under the phone and the LID spelling, then the link
    (last). Links are global (``lids``), so each example gets its own contact."""
    pn, out = f"{phone}@c.us", "3EB0F00D"
    m_pn, m_lid = f"false_{pn}_{RAW}", f"false_{lid}_{RAW}"
    o_pn, o_lid = f"true_{pn}_{out}", f"true_{lid}_{out}"
    return [
        message(m_pn, pn, body="original"),
        message(m_lid, lid, body="original"),
        message(m_lid, lid, body="segunda", latest_edit_ms=2000),
        EditEvent(id=m_pn, body="primeira", caption=None, edited_at_ms=1000),
        EditEvent(id=m_lid, body="segunda", caption=None, edited_at_ms=2000),
        AckEvent(id=m_lid, ack=3),
        RevokeEvent(id=m_pn, revoked_at=T0 + 30, by_admin=False),
        ReactionEvent(id=m_lid, sender=pn, emoji="👍", t_ms=10),
        ReactionEvent(id=m_pn, sender=pn, emoji="", t_ms=20),
        message(o_pn, pn, body="resposta"),
        AckEvent(id=o_lid, ack=4),
        LidPhoneEvent(lid=lid, phone=phone),
    ]


def state(db: pymongo.database.Database, profile: str) -> dict[str, Any]:
    """Per message (raw id): every id it is known by, the chats it shows in, its content."""
    out: dict[str, Any] = {}
    for doc in db.messages.find({"profile_id": profile}):
        if not doc.get("chat_id"):
            continue  # a stub: no message shows it
        raw = doc["wa_id"].split("_")[2]
        assert raw not in out, f"two documents for {raw}"
        out[raw] = {
            "ids": sorted([doc["wa_id"], *doc.get("aliases", [])]),
            "chats": sorted([doc["chat_id"], *doc.get("alias_chats", [])]),
            "content": {k: v for k, v in doc.items() if k not in COPY_SPECIFIC | VOLATILE},
        }
    return out


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_copies_end_in_one_document_in_any_order(
    store: MongoHistoryStore, raw_db: pymongo.database.Database, data: st.DataObject
) -> None:
    run_id = uuid.uuid4().hex[:8]
    n = int(run_id, 16)
    every = copy_events(f"55119{n % 10**8:08d}", f"2{n % 10**14:014d}@lid")
    link = every[-1]
    # Most events, a few left out (so partial histories are covered too).
    left_out = data.draw(
        st.sets(st.sampled_from(range(len(every) - 1)), max_size=4), label="left out"
    )
    events = [e for i, e in enumerate(every[:-1]) if i not in left_out]
    shuffled = data.draw(st.permutations(events), label="order")
    cuts = sorted(
        data.draw(st.lists(st.integers(0, len(shuffled)), max_size=4, unique=True), label="cuts")
    )
    bounds = [0, *cuts, len(shuffled)]
    batches = [list(shuffled[lo:hi]) for lo, hi in zip(bounds, bounds[1:], strict=False) if hi > lo]
    # The link arrives before, between or after the copies: alone, or with a batch.
    at = data.draw(st.integers(0, len(batches)), label="link at")
    if data.draw(st.booleans(), label="link alone") or at == len(batches):
        batches.insert(at, [link])
    else:
        batches[at].append(link)

    # The shuffled run first: the in-order run would make the link known from the start.
    shuffled_run = Run(store, f"shuffled{run_id}")
    for batch in batches:
        shuffled_run(*batch)
    Run(store, f"inorder{run_id}")(*events, link)
    expected = state(raw_db, f"inorder{run_id}")
    assert state(raw_db, f"shuffled{run_id}") == expected
    shuffled_run(*shuffled, link)  # a journal replay changes nothing
    assert state(raw_db, f"shuffled{run_id}") == expected
    for raw, item in expected.items():
        # Every copy that arrived as a message is shown in its chat.
        arrived = {e.chat_id for e in events if isinstance(e, MessageEvent) and raw in e.id}
        assert arrived <= set(item["chats"])


# -- the service: recent-message cache, team view, export, erasure -----------------------------


class Factory:
    def __init__(self, uri: str, db: str) -> None:
        self.uri, self.db = uri, db

    def __call__(self) -> MongoHistoryStore:
        return MongoHistoryStore(self.uri, self.db, alias=f"f_{uuid.uuid4().hex[:8]}").connect()


@pytest.fixture
def redis_service(
    mongo_uri: str, mongo_db_name: str, redis_url: str, tmp_path: Path
) -> Iterator[tuple[HistoryService, RedisCache]]:
    cache = RedisCache(redis_url, f"wacrm:{mongo_db_name}")
    svc = HistoryService(Factory(mongo_uri, mongo_db_name), cache, tmp_path / "journal")
    svc.start()
    yield svc, cache
    svc.stop()
    cache.close()


def redis_dump(url: str, db_name: str, *, ids_only: bool = False) -> list[tuple[str, str]]:
    """(key, content) of every key of the test's namespace; `ids_only`: a hash's field names
    (a cached list keeps each message under its id)."""
    r = redis.Redis.from_url(url, decode_responses=True)
    out: list[tuple[str, str]] = []
    try:
        for key in r.scan_iter(f"wacrm:{db_name}:*"):
            kind = r.type(key)
            if kind == "hash":
                fields = r.hkeys(key) if ids_only else r.hgetall(key)
                value = json.dumps(fields, ensure_ascii=False)
            elif kind == "zset":
                value = json.dumps(r.zrange(key, 0, -1), ensure_ascii=False)
            elif kind == "string":
                value = str(r.get(key))
            else:
                value = kind
            out.append((key, value))
    finally:
        r.close()
    return out


def cached_ids(cache: RedisCache, chat: str, profile: str = PROFILE) -> list[str] | None:
    if cache.get_json(recent_state_key(profile, chat)) != "complete":
        return None  # not trusted: the next reader seeds it from MongoDB
    return [m["id"] for m in cache.recent_messages(recent_key(profile, chat), 50)]


def test_cache_follows_a_copy_folded_into_a_stored_message(
    redis_service: tuple[HistoryService, RedisCache],
) -> None:
    svc, cache = redis_service
    only_lid = "3A5F0C0FFEE0000000AA"
    svc.record_many(PROFILE, [pn_copy(t=T0, chat_lid=LID), lid_copy(raw=only_lid, t=T0 + 5)])
    assert svc.flush(20)
    for chat in (PN, LID):  # both chats open once: their lists are trusted
        svc.recent_messages(PROFILE, chat, 50)
    assert cached_ids(cache, LID) == [lid_id(only_lid)]

    svc.record(PROFILE, lid_copy(t=T0, chat_phone=PHONE))  # backfill after a restart
    svc.record(PROFILE, AckEvent(id=lid_id(), ack=3))
    assert svc.flush(20)
    assert cached_ids(cache, LID) == [pn_id(), lid_id(only_lid)]
    assert cached_ids(cache, PN) == [pn_id()]
    cached = cache.recent_messages(recent_key(PROFILE, LID), 50)[0]
    assert cached["ack"] == 3 and cached["aliases"] == [lid_id()]
    store = Factory(svc._store.uri, svc._store.db_name)()  # type: ignore[union-attr]
    try:
        # What the cache says is what MongoDB says.
        for chat in (PN, LID):
            assert svc.recent_messages(PROFILE, chat, 50) == store.recent_messages(
                PROFILE, chat, 50
            )
    finally:
        store.close()


def test_cache_lists_of_merged_documents_are_reseeded(
    redis_service: tuple[HistoryService, RedisCache], redis_url: str, mongo_db_name: str
) -> None:
    svc, cache = redis_service
    svc.record_many(PROFILE, [pn_copy(t=T0)])
    assert svc.flush(20)  # stored first: its id stays
    svc.record_many(PROFILE, [lid_copy(t=T0, ack=2)])
    assert svc.flush(20)
    for chat in (PN, LID):
        svc.recent_messages(PROFILE, chat, 50)
    assert cached_ids(cache, PN) == [pn_id()] and cached_ids(cache, LID) == [lid_id()]

    svc.record(PROFILE, LidPhoneEvent(lid=LID, phone=PHONE))
    assert svc.flush(20)
    # The lists held the absorbed copy under its own id: dropped, and re-seeded on read.
    assert cached_ids(cache, LID) is None and cached_ids(cache, PN) is None
    assert [m["id"] for m in svc.recent_messages(PROFILE, LID, 50)] == [pn_id()]
    assert cached_ids(cache, LID) == [pn_id()]
    # Nothing in Redis under the absorbed id (list members are ids, hash fields too).
    dump = redis_dump(redis_url, mongo_db_name, ids_only=True)
    assert [e for e in dump if pn_id() in e[1]] and not [e for e in dump if lid_id() in e[1]]


def test_team_view_and_exports_show_a_merged_message_once(
    mongo_uri: str, mongo_db_name: str, tmp_path: Path
) -> None:
    svc = HistoryService(
        Factory(mongo_uri, mongo_db_name), MemoryCache("wacrm:team"), tmp_path / "journal"
    )
    svc.start()
    try:
        # Ana talks to the phone chat; the same message reached her again under the LID chat.
        svc.record_many("ana", [pn_copy(t=T0, body="proposta"), pn_copy(raw="3A01", t=T0 + 1)])
        svc.record_many("ana", [lid_copy(t=T0, body="proposta", chat_phone=PHONE)])
        # Bruno knows the contact only by LID.
        svc.record_many("bruno", [lid_copy(raw="3A02", t=T0 + 2, chat_phone=PHONE)])
        assert svc.flush(20)
        for chat in (PN, LID):
            timeline = svc.contact_timeline("ana", chat)
            assert [(m["profile_id"], m["id"]) for m in timeline] == [
                ("ana", pn_id()),
                ("ana", pn_id("3A01")),
                ("bruno", lid_id("3A02")),
            ]
        assert len(svc.search(SearchQuery(text="proposta"))) == 1
        assert svc.export_chat("ana", LID, tmp_path / "chat.json") == 3
        assert svc.export_chat("ana", PN, tmp_path / "chat.csv", fmt="csv") == 3
        rows = list(csv.DictReader((tmp_path / "chat.csv").open(encoding="utf-8-sig")))
        assert len(rows) == 3
        assert svc.export_contact(PHONE, tmp_path / "contato.json") == 3
        data = json.loads((tmp_path / "contato.json").read_text(encoding="utf-8"))
        assert [m["id"] for m in data["messages"]] == [pn_id(), pn_id("3A01"), lid_id("3A02")]
        assert data["messages"][0]["aliases"] == [lid_id()]
    finally:
        svc.stop()


def test_erasure_leaves_no_trace_of_either_spelling(
    mongo_uri: str, mongo_db_name: str, redis_url: str, tmp_path: Path
) -> None:
    namespace = f"wacrm:{mongo_db_name}"
    cache = RedisCache(redis_url, namespace)
    journal_dir = tmp_path / "journal"
    svc = HistoryService(Factory(mongo_uri, mongo_db_name), cache, journal_dir)
    other = "5521933334444"
    svc.record_many(PROFILE, [pn_copy(t=T0, chat_lid=LID), group_copy(LID), group_copy(PN)])
    svc.record_many(PROFILE, [lid_copy(t=T0, chat_phone=PHONE)])
    svc.record_many(PROFILE, [message(f"false_{other}@c.us_3A77", f"{other}@c.us", body="fica")])
    svc.start()
    try:
        assert svc.flush(20)
        for chat in (PN, LID, f"{other}@c.us"):
            svc.recent_messages(PROFILE, chat, 50)  # seeds Redis
        svc.stop()  # what follows stays in the journal: written after the erasure, if at all
        svc.record(PROFILE, AckEvent(id=lid_id(), ack=3))
        svc.record(PROFILE, group_copy(LID, raw="3A9900CC", body="pendente"))
        reaction = ReactionEvent(id=f"false_{other}@c.us_3A77", sender=LID, emoji="!", t_ms=1)
        svc.record(PROFILE, reaction)
        svc.start()
        report = svc.erase_contact(PHONE, actor="gestor@empresa")
        assert report.messages == 2 and report.chats == 2 and report.journal_entries == 3
        assert svc.flush(20)
    finally:
        svc.stop()
    needles = (PHONE, LID.split("@")[0])
    client: pymongo.MongoClient = pymongo.MongoClient(mongo_uri)
    try:
        db = client[mongo_db_name]
        texts = [
            json.dumps(d, default=str, ensure_ascii=False)
            for name in db.list_collection_names()
            for d in db[name].find()
        ]
        assert not [t for t in texts if any(n in t for n in needles)]
        assert db.messages.count_documents({}) == 1
    finally:
        client.close()
    dump = redis_dump(redis_url, mongo_db_name)
    assert dump and not [e for e in dump if any(n in " ".join(e) for n in needles)]
    raw = b"".join(p.read_bytes() for p in journal_dir.rglob("*") if p.is_file())
    assert not [n for n in needles if n.encode() in raw]
    cache.close()
