"""MongoHistoryStore against a real server (SecantusDB, or $WACRM_TEST_MONGODB_URI)."""

from __future__ import annotations

import random
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymongo
import pytest

from wacrm_desktop.adapters.embedded_mongo import (
    EMBEDDED_FLAG,
    EmbeddedMongo,
    EmbeddedMongoError,
    EmbeddedMongoLockedError,
)
from wacrm_desktop.adapters.mongo import (
    SCHEMA_VERSION,
    MongoHistoryStore,
    StoreWriteError,
    parse_batch,
    uri_without_database,
)
from wacrm_desktop.core.events import MessageEvent
from wacrm_desktop.core.ports import JournalEntry

pytestmark = pytest.mark.servers

PROFILE = "p1"
CHAT = "5511988887777@c.us"


def message(
    i: int, *, chat: str = CHAT, ack: int | None = None, t: int | None = None, **extra: Any
) -> JournalEntry:
    event = MessageEvent(
        id=f"false_{chat}_3EB0{i:016X}",
        chat_id=chat,
        from_me=False,
        type="chat",
        t=1_700_000_000 + i if t is None else t,
        body=f"mensagem {i}",
        notify_name="Cliente",
        ack=ack,
        chat_name="Cliente Teste",
        chat_phone="5511988887777",
        **extra,
    )
    return JournalEntry(seq=i, profile_id=PROFILE, kind="message", payload=event.to_document())


def ack(i: int, value: int, *, chat: str = CHAT) -> JournalEntry:
    payload = {"id": f"false_{chat}_3EB0{i:016X}", "ack": value}
    return JournalEntry(seq=10_000 + i, profile_id=PROFILE, kind="ack", payload=payload)


@pytest.fixture
def store(mongo_uri: str, mongo_db_name: str, unique_alias: str) -> Iterator[MongoHistoryStore]:
    with MongoHistoryStore(mongo_uri, mongo_db_name, alias=unique_alias) as s:
        yield s


@pytest.fixture
def raw_db(mongo_uri: str, mongo_db_name: str) -> Iterator[pymongo.database.Database]:
    client: pymongo.MongoClient = pymongo.MongoClient(mongo_uri, tz_aware=True)
    yield client[mongo_db_name]
    client.close()


def test_same_events_twice_are_five_documents(
    store: MongoHistoryStore, raw_db: pymongo.database.Database
) -> None:
    batch = [message(i) for i in range(5)]
    store.apply(batch)
    first = {d["_id"]: d for d in raw_db.messages.find()}
    store.apply(batch)
    store.apply(list(reversed(batch)))

    docs = {d["_id"]: d for d in raw_db.messages.find()}
    assert len(docs) == 5
    assert store.count_messages() == 5 and store.count_messages(PROFILE) == 5
    assert store.count_messages("other") == 0
    doc = docs[f"{PROFILE}/{batch[0].payload['id']}"]
    assert doc["profile_id"] == PROFILE
    assert doc["wa_id"] == batch[0].payload["id"]
    assert doc["chat_id"] == CHAT and doc["t"] == 1_700_000_000 and doc["body"] == "mensagem 0"
    assert doc["schema_version"] == SCHEMA_VERSION and doc["from_me"] is False
    # Every MessageEvent field is kept under its own name; new-message defaults are explicit.
    assert doc["chat_name"] == "Cliente Teste" and doc["is_new"] is True
    assert doc["edits"] == [] and doc["reactions"] == [] and doc["revoked"] is False
    assert doc["phone"] == "5511988887777" and "mensagem" in doc["words"]
    # first_seen_at is set once; updated_at moves.
    for _id, d in docs.items():
        assert d["first_seen_at"] == first[_id]["first_seen_at"]
        assert d["updated_at"] >= first[_id]["updated_at"]

    chats = list(raw_db.chats.find())
    assert len(chats) == 1
    assert chats[0]["_id"] == f"{PROFILE}/{CHAT}"
    assert chats[0]["last_t"] == 1_700_000_004
    assert chats[0]["name"] == "Cliente Teste" and chats[0]["phone"] == "5511988887777"


def test_ack_before_message_and_message_never_lowers_ack(
    store: MongoHistoryStore, raw_db: pymongo.database.Database
) -> None:
    store.apply([ack(1, 3)])
    stub = raw_db.messages.find_one()
    assert stub is not None and stub["ack"] == 3 and stub["profile_id"] == PROFILE
    assert "chat_id" not in stub
    assert store.count_messages() == 0  # an ack-only stub is not a message yet

    store.apply([message(1, ack=1)])  # the message arrives later with an older ack
    doc = raw_db.messages.find_one({"_id": f"{PROFILE}/{ack(1, 0).payload['id']}"})
    assert doc is not None
    assert doc["ack"] == 3 and doc["body"] == "mensagem 1" and doc["chat_id"] == CHAT
    assert store.count_messages() == 1

    store.apply([ack(1, 2)])  # stale ack
    store.apply([message(1, ack=4)])  # newer ack carried by the message
    store.apply([ack(1, 3)])
    assert raw_db.messages.find_one()["ack"] == 4  # type: ignore[index]
    assert raw_db.messages.count_documents({}) == 1


def test_message_and_acks_in_one_batch_any_order(
    store: MongoHistoryStore, raw_db: pymongo.database.Database
) -> None:
    batch = [ack(7, 2), message(7, ack=1), ack(7, 3), ack(7, 1)]
    store.apply(batch)
    assert raw_db.messages.find_one()["ack"] == 3  # type: ignore[index]
    assert len(parse_batch(batch).messages) == 1  # coalesced: one write per document per batch


def test_a_batch_ends_with_one_journaled_write(
    store: MongoHistoryStore,
    raw_db: pymongo.database.Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """apply() writes with w:1 and returns only after a j:true write that follows all of them
    (the journal is sequential: that acknowledgement covers every earlier write)."""
    from pymongo.collection import Collection

    writes: list[tuple[str, str, dict[str, Any]]] = []
    for name in ("insert_one", "insert_many", "bulk_write", "update_one", "update_many"):
        original = getattr(Collection, name)

        def recording(
            self: Collection, *a: Any, _o: Any = original, _n: str = name, **k: Any
        ) -> Any:
            writes.append((self.name, _n, self.write_concern.document))
            return _o(self, *a, **k)

        monkeypatch.setattr(Collection, name, recording)

    for batch in ([message(i) for i in range(600)], [ack(3, 3), ack(4, 2)], [message(5)]):
        writes.clear()
        store.apply(batch)
        assert len(writes) >= 2, writes
        assert writes[-1] == ("meta", "update_one", {"w": 1, "j": True})
        assert all(concern == {"w": 1} for _c, _n, concern in writes[:-1]), writes
    assert raw_db.messages.count_documents({"chat_id": CHAT}) == 600
    assert raw_db.messages.find_one({"_id": f"{PROFILE}/{ack(3, 0).payload['id']}"})["ack"] == 3  # type: ignore[index]
    writes.clear()
    assert store.apply([]) == [] and writes == []


def test_recent_messages_newest_limit_oldest_first(store: MongoHistoryStore) -> None:
    entries = [message(i) for i in range(20)] + [
        message(100 + i, chat="5511000@c.us") for i in range(3)
    ]
    random.Random(4).shuffle(entries)
    store.apply(entries)
    recent = store.recent_messages(PROFILE, CHAT, 5)
    assert [m["t"] for m in recent] == [1_700_000_000 + i for i in range(15, 20)]
    assert recent[-1]["id"] == message(19).payload["id"]
    assert set(recent[0]) >= {"id", "chat_id", "t", "body", "from_me", "type"}
    assert "_id" not in recent[0] and "first_seen_at" not in recent[0]
    assert store.recent_messages(PROFILE, CHAT, 0) == []
    assert len(store.recent_messages(PROFILE, CHAT, 100)) == 20
    assert store.recent_messages("other", CHAT, 5) == []


def test_recent_read_uses_the_chat_hint_and_stays_exact(
    store: MongoHistoryStore, raw_db: pymongo.database.Database
) -> None:
    """The bounded read (chat's recent times) returns exactly what the unbounded one would:
    in order-shuffled batches, with several messages in one second, after messages at the top
    were deleted (retention/erasure), and for a chat stored before the hint existed."""
    rng = random.Random(7)
    entries = [message(i) for i in range(260)]
    # three more messages sharing the newest second
    entries += [message(1000 + k, t=1_700_000_000 + 259) for k in range(3)]
    rng.shuffle(entries)
    for lo in range(0, len(entries), 37):
        store.apply(entries[lo : lo + 37])
    chat = raw_db.chats.find_one({"chat_id": CHAT})
    assert chat is not None and len(chat["recent_ts"]) == 200

    def unbounded(limit: int) -> list[Any]:
        """Every message of the chat in timeline order (a second's messages by id here: these
        entries carry no capture order), the newest `limit`."""
        docs = raw_db.messages.find({"profile_id": PROFILE, "chat_id": CHAT})
        return sorted((d["t"], d["wa_id"]) for d in docs)[-limit:]

    def ids(limit: int) -> list[Any]:
        return [(d["t"], d["id"]) for d in store.recent_messages(PROFILE, CHAT, limit)]

    for limit in (1, 50, 100, 200, 300):
        assert ids(limit) == unbounded(limit), limit
    # the newest messages disappear (retention, erasure of a few): the hint over-promises
    newest = raw_db.messages.find({"chat_id": CHAT}).sort("t", -1).limit(120)
    raw_db.messages.delete_many({"_id": {"$in": [d["_id"] for d in newest]}})
    assert ids(100) == unbounded(100)
    # a chat document from before the hint: read falls back, then heals the hint
    raw_db.chats.update_one({"chat_id": CHAT}, {"$unset": {"recent_ts": ""}})
    assert ids(100) == unbounded(100)
    healed = raw_db.chats.find_one({"chat_id": CHAT})
    assert healed is not None and len(healed["recent_ts"]) >= 100
    assert ids(100) == unbounded(100)
    # the hint never leaks into what the UI reads about the chat
    assert "recent_ts" not in (store.get_chat(PROFILE, CHAT) or {})
    assert all("recent_ts" not in c for c in store.recent_chats(PROFILE, 10))


def test_indexes_exist(store: MongoHistoryStore, raw_db: pymongo.database.Database) -> None:
    msg_keys = [list(ix["key"].items()) for ix in raw_db.messages.list_indexes()]
    assert [("profile_id", 1), ("chat_id", 1), ("t", 1)] in msg_keys
    assert [("profile_id", 1), ("t", -1)] in msg_keys
    assert [("phone", 1), ("t", 1)] in msg_keys  # team view, erasure
    assert [("lead_id", 1), ("t", 1)] in msg_keys  # per-lead timeline
    assert [("words", 1)] in msg_keys  # search
    chat_keys = [list(ix["key"].items()) for ix in raw_db.chats.list_indexes()]
    assert [("phone", 1)] in chat_keys and [("lid", 1)] in chat_keys
    assert [("profile_id", 1), ("last_t", -1)] in chat_keys


def test_concurrent_upserts_of_the_same_documents(
    mongo_uri: str, mongo_db_name: str, unique_alias: str, raw_db: pymongo.database.Database
) -> None:
    """Two writers racing on the same new _ids: no error escapes, one document each."""
    batch = [message(i, ack=i % 4) for i in range(60)] + [ack(i, 3) for i in range(0, 60, 2)]
    stores = [
        MongoHistoryStore(mongo_uri, mongo_db_name, alias=f"{unique_alias}_{k}").connect()
        for k in range(3)
    ]
    errors: list[BaseException] = []

    def run(s: MongoHistoryStore) -> None:
        try:
            for _ in range(3):
                s.apply(batch)
        except BaseException as exc:  # pragma: no cover - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for s in stores:
        s.close()
    assert not errors
    assert raw_db.messages.count_documents({}) == 60
    expected_ack3 = sum(1 for i in range(60) if i % 2 == 0 or i % 4 == 3)
    assert raw_db.messages.count_documents({"ack": 3}) == expected_ack3


def test_down_server_fails_fast(mongo_uri: str) -> None:
    from servers import free_port

    dead = MongoHistoryStore(
        f"mongodb://127.0.0.1:{free_port()}/?directConnection=true",
        "nothing",
        alias="wacrm_test_dead",
        server_selection_timeout_ms=300,
    )
    started = time.monotonic()
    with pytest.raises(pymongo.errors.PyMongoError):
        dead.connect()
    assert dead.ping() is False
    assert time.monotonic() - started < 5
    with pytest.raises(RuntimeError):
        dead.apply([message(1)])


def test_write_errors_do_not_leak_message_content(
    store: MongoHistoryStore, raw_db: pymongo.database.Database
) -> None:
    """pymongo's BulkWriteError quotes the documents; ours carries codes only."""
    raw_db.command(
        "collMod", "messages", validator={"$jsonSchema": {"properties": {"t": {"bsonType": "int"}}}}
    )
    bad = message(1)
    payload = {**bad.payload, "t": "not-a-number", "body": "segredo 5511988887777"}
    with pytest.raises(StoreWriteError) as info:
        store.apply([JournalEntry(seq=1, profile_id=PROFILE, kind="message", payload=payload)])
    text = str(info.value)
    assert "segredo" not in text and "5511988887777" not in text
    assert info.value.codes and "write error" in text


def test_configured_db_name_wins_over_the_uri_path(
    mongo_uri: str, mongo_db_name: str, unique_alias: str, raw_db: pymongo.database.Database
) -> None:
    base, _, options = mongo_uri.partition("?")
    uri_with_db = base.rstrip("/") + "/some_other_db" + (f"?{options}" if options else "")
    with MongoHistoryStore(uri_with_db, mongo_db_name, alias=unique_alias) as s:
        s.apply([message(1)])
    assert raw_db.messages.count_documents({}) == 1
    assert uri_without_database("mongodb://u:p@h1,h2/app?replicaSet=r") == (
        "mongodb://u:p@h1,h2/?replicaSet=r&authSource=app"
    )
    assert uri_without_database("mongodb://h/db?authSource=admin") == (
        "mongodb://h/?authSource=admin"
    )


def test_embedded_mongo_lock_restart_and_persistence(tmp_path: Path) -> None:
    server = EmbeddedMongo(tmp_path / "db", cache_size="64M").start()
    try:
        uri = server.uri
        with MongoHistoryStore(uri, "wacrm", alias=f"emb_{server.port}") as s:
            s.apply([message(i) for i in range(3)])

        with pytest.raises(EmbeddedMongoLockedError, match="já está aberto por outro processo"):
            EmbeddedMongo(tmp_path / "db", start_timeout=20).start()

        server.stop()
        assert not server.running
        server.start()  # same directory, same port: existing clients reconnect by themselves
        assert server.uri == uri
        client: pymongo.MongoClient = pymongo.MongoClient(uri)
        assert client["wacrm"].messages.count_documents({}) == 3
        client.close()
    finally:
        server.kill()


def test_embedded_mongo_command_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = EmbeddedMongo(tmp_path)
    cmd = server.command(27999)
    assert cmd[:4] == [
        sys.executable,
        "-m",
        "wacrm_desktop.adapters.embedded_mongo",
        "--watch-stdin",
    ]
    assert cmd[cmd.index("--port") + 1] == "27999" and "--storage-path" in cmd
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    frozen = server.command(27999)
    assert frozen[:2] == [sys.executable, EMBEDDED_FLAG] and frozen[2:] == cmd[3:]
    with pytest.raises(EmbeddedMongoError):
        _ = EmbeddedMongo(tmp_path).uri  # never started: no port yet


def test_embedded_mongo_stops_by_its_own_handler_with_a_client_connected(tmp_path: Path) -> None:
    """SIGTERM must run SecantusDB's clean shutdown even when the kernel hands the signal to a
    non-main thread (it used to be missed about one stop in ten; the app then killed the server
    after stop_timeout). Every stop here must end with exit code 0, never with the kill."""
    server = EmbeddedMongo(tmp_path / "db", cache_size="64M")
    codes = []
    for _ in range(10):
        server.start()
        proc = server._proc
        assert proc is not None
        client: pymongo.MongoClient = pymongo.MongoClient(server.uri)  # idle: mid-handshake
        server.stop()
        client.close()
        codes.append(proc.returncode)
    assert codes == [0] * 10
