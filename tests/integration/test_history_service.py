"""HistoryService end to end: journal → real SecantusDB/MongoDB → cache, with outages."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pymongo
import pytest
from servers import RedisServer, SecantusServer

from wacrm_desktop.adapters.cache import MemoryCache, RedisCache
from wacrm_desktop.adapters.mongo import MongoHistoryStore
from wacrm_desktop.core.events import AckEvent, MessageEvent
from wacrm_desktop.core.whatsapp import chat_of_message_id
from wacrm_desktop.services.history import (
    HistoryService,
    HistoryStatus,
    recent_key,
)

pytestmark = pytest.mark.servers

PROFILE = "perfil1"
CHAT = "5511977776666@c.us"
FAST_BACKOFF = (0.05, 0.1, 0.2)


def event(
    i: int, *, chat: str = CHAT, ack: int | None = None, body: str | None = None
) -> MessageEvent:
    return MessageEvent(
        id=f"true_{chat}_3EB0{i:016X}",
        chat_id=chat,
        from_me=True,
        type="chat",
        t=1_700_000_000 + i,
        body=body or f"olá {i}",
        ack=ack,
        chat_name="Maria",
        chat_phone="5511977776666",
    )


class StoreFactory:
    """Builds connected stores for one URI/db; counts calls (reconnects)."""

    def __init__(self, uri: str, db_name: str, timeout_ms: int = 500) -> None:
        self.uri, self.db_name, self.timeout_ms = uri, db_name, timeout_ms
        self.calls = 0

    def __call__(self) -> MongoHistoryStore:
        self.calls += 1
        alias = f"svc_{uuid.uuid4().hex[:8]}"
        store = MongoHistoryStore(
            self.uri, self.db_name, alias=alias, server_selection_timeout_ms=self.timeout_ms
        )
        return store.connect()


@pytest.fixture
def raw_db(mongo_uri: str, mongo_db_name: str) -> Iterator[pymongo.database.Database]:
    client: pymongo.MongoClient = pymongo.MongoClient(mongo_uri)
    yield client[mongo_db_name]
    client.close()


@pytest.fixture
def make_service(tmp_path: Path) -> Iterator[Callable[..., HistoryService]]:
    services: list[HistoryService] = []

    def make(factory: Callable[[], Any], cache: Any = None, **kwargs: Any) -> HistoryService:
        kwargs.setdefault("retry_backoff", FAST_BACKOFF)
        service = HistoryService(
            factory,
            cache if cache is not None else MemoryCache("wacrm:test"),
            tmp_path / "journals",
            **kwargs,
        )
        services.append(service)
        return service

    yield make
    for service in services:
        service.stop(timeout=10)


def test_end_to_end_journal_to_mongo_and_cache(
    mongo_uri: str, mongo_db_name: str, raw_db: pymongo.database.Database, make_service: Any
) -> None:
    statuses: list[HistoryStatus] = []
    cache = MemoryCache("wacrm:test")
    service = make_service(StoreFactory(mongo_uri, mongo_db_name), cache, on_status=statuses.append)
    service.start()
    for i in range(20):
        service.record(PROFILE, event(i, ack=1))
    service.record(PROFILE, AckEvent(id=event(3).id, ack=3))
    assert service.flush(timeout=20)
    assert raw_db.messages.count_documents({}) == 20
    assert raw_db.messages.find_one({"_id": f"{PROFILE}/{event(3).id}"})["ack"] == 3  # type: ignore[index]
    assert service.journal_for(PROFILE).pending_count() == 0
    assert statuses and statuses[-1] == HistoryStatus(
        online=True, pending=0, last_error=None, cache_available=True
    )

    # First read: from the store, which seeds the cache and marks it complete.
    recent = service.recent_messages(PROFILE, CHAT, 5)
    assert [m["id"] for m in recent] == [event(i).id for i in range(15, 20)]
    assert [m["id"] for m in cache.recent_messages(recent_key(PROFILE, CHAT), 5)] == [
        m["id"] for m in recent
    ]
    # New message + ack for a cached one: the writer keeps the trusted list current.
    service.record(PROFILE, event(25, ack=1))
    service.record(PROFILE, AckEvent(id=event(19).id, ack=4))
    service.record(PROFILE, event(19, ack=2))  # a stale copy must not lower the ack
    assert service.flush(timeout=20)
    recent = service.recent_messages(PROFILE, CHAT, 3)
    assert [m["id"] for m in recent] == [event(18).id, event(19).id, event(25).id]
    assert recent[1]["ack"] == 4
    assert recent == service._get_store().recent_messages(PROFILE, CHAT, 3)
    # More than recent_limit: straight from the store.
    assert len(service.recent_messages(PROFILE, CHAT, 500)) == 21


def test_record_is_fast_and_mongo_down_at_start_does_not_stop_anything(
    secantus_server_factory: Callable[..., SecantusServer],
    make_service: Any,
    tmp_path: Path,
) -> None:
    server = secantus_server_factory(start=False)  # port chosen, nothing listening yet
    factory = StoreFactory(f"mongodb://127.0.0.1:{server.port}/?directConnection=true", "hist")
    statuses: list[HistoryStatus] = []
    service = make_service(factory, on_status=statuses.append)
    service.start()

    started = time.perf_counter()
    for i in range(100):
        service.record(PROFILE, event(i))
    per_record = (time.perf_counter() - started) / 100
    assert per_record < 0.02, f"record() took {per_record * 1000:.1f} ms"

    deadline = time.monotonic() + 10
    while not statuses or statuses[-1].online or statuses[-1].last_error is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    status = service.status()
    assert status.online is False and status.pending == 100 and status.last_error
    assert service.flush(timeout=0.5) is False

    server.start()
    assert service.flush(timeout=30)
    assert service.status().online and service.status().pending == 0
    client: pymongo.MongoClient = pymongo.MongoClient(server.uri)
    assert client["hist"].messages.count_documents({}) == 100
    client.close()
    assert factory.calls >= 2  # it kept trying to connect


def test_mongo_stopped_during_burst_and_restarted_exactly_once(
    secantus_server_factory: Callable[..., SecantusServer], make_service: Any
) -> None:
    server = secantus_server_factory()
    service = make_service(StoreFactory(server.uri, "burst"), batch_size=200)
    service.start()
    ids = [event(i, chat=f"55119{i % 7:04d}@c.us").id for i in range(2000)]

    deadline = time.monotonic() + 20
    while not service.status().online:  # connected (indexes, schema) before the burst
        assert time.monotonic() < deadline, "writer never connected"
        time.sleep(0.05)
    half_sent, stopped = threading.Event(), threading.Event()

    def burst() -> None:
        for i in range(2000):
            service.record(PROFILE, event(i, chat=f"55119{i % 7:04d}@c.us", ack=i % 3))
            if i == 1000:  # the second half of the burst arrives while MongoDB is down
                half_sent.set()
                stopped.wait(30)
            if i % 200 == 0:
                time.sleep(0.02)

    producer = threading.Thread(target=burst)
    producer.start()
    assert half_sent.wait(30)
    server.stop()  # mid-burst
    stopped.set()
    producer.join(timeout=30)
    # The writer notices once its in-flight bulk_write fails (server selection timeout).
    deadline = time.monotonic() + 15
    while service.status().online or not service.status().last_error:
        assert time.monotonic() < deadline, "writer never noticed the outage"
        time.sleep(0.05)
    down = service.status()
    assert down.pending > 0
    assert down.last_error

    server.start()
    assert service.flush(timeout=40)
    client: pymongo.MongoClient = pymongo.MongoClient(server.uri)
    docs = list(client["burst"].messages.find({}, {"wa_id": 1}))
    client_count = client["burst"].messages.count_documents({})
    client.close()
    assert len(docs) == 2000  # every message, no duplicate:
    assert client_count == 2000 and len({d["wa_id"] for d in docs}) == 2000
    assert sorted(d["wa_id"] for d in docs) == sorted(ids)
    assert service.status() == HistoryStatus(
        online=True, pending=0, last_error=None, cache_available=True
    )


def test_pending_entries_of_a_previous_run_are_written(
    mongo_uri: str, mongo_db_name: str, raw_db: pymongo.database.Database, tmp_path: Path
) -> None:
    journal_dir = tmp_path / "journals"
    cache = MemoryCache("wacrm:test")
    first = HistoryService(StoreFactory(mongo_uri, mongo_db_name), cache, journal_dir)
    for i in range(5):  # never started: entries only reach the journal
        first.record("perfilB", event(i))
    first.stop()
    assert raw_db.messages.count_documents({}) == 0

    second = HistoryService(StoreFactory(mongo_uri, mongo_db_name), cache, journal_dir)
    second.start()  # no record() for perfilB in this run
    try:
        assert second.status().pending == 5
        assert second.flush(timeout=20)
        assert raw_db.messages.count_documents({"profile_id": "perfilB"}) == 5
    finally:
        second.stop()


def test_redis_cache_outage_during_writes(
    mongo_uri: str,
    mongo_db_name: str,
    redis_server_factory: Callable[[], RedisServer],
    make_service: Any,
) -> None:
    redis = redis_server_factory()
    cache = RedisCache(redis.url, f"wacrm:{mongo_db_name}", retry_interval=0.1)
    service = make_service(StoreFactory(mongo_uri, mongo_db_name), cache)
    service.start()
    for i in range(5):
        service.record(PROFILE, event(i))
    assert service.flush(timeout=20)
    assert len(service.recent_messages(PROFILE, CHAT, 10)) == 5  # seeds Redis

    redis.stop()
    service.record(PROFILE, event(5))
    assert service.flush(timeout=20)  # MongoDB still gets everything
    assert service.status().cache_available is False
    assert [m["id"] for m in service.recent_messages(PROFILE, CHAT, 10)][-1] == event(5).id

    redis.start()
    time.sleep(0.15)
    service.record(PROFILE, event(6))
    assert service.flush(timeout=20)
    assert service.status().cache_available is True
    got = service.recent_messages(PROFILE, CHAT, 10)
    assert [m["id"] for m in got] == [event(i).id for i in range(7)]


def test_invalid_profile_and_event_types(tmp_path: Path) -> None:
    service = HistoryService(lambda: None, MemoryCache("x"), tmp_path)  # type: ignore[arg-type,return-value]
    with pytest.raises(ValueError):
        service.record("../evil", event(1))
    with pytest.raises(TypeError):
        service.record(PROFILE, "not an event")  # type: ignore[arg-type]
    assert chat_of_message_id(event(1).id) == CHAT
    assert chat_of_message_id("false_120363000000000000@g.us_ABC_5511999@c.us") == (
        "120363000000000000@g.us"
    )
    assert chat_of_message_id("garbage") is None
    service.stop()


def test_evicted_list_with_complete_marker_falls_back_to_store(
    mongo_uri: str, mongo_db_name: str, make_service: Any
) -> None:
    cache = MemoryCache("wacrm:test")
    service = make_service(StoreFactory(mongo_uri, mongo_db_name), cache)
    service.start()
    for i in range(4):
        service.record(PROFILE, event(i))
    assert service.flush(timeout=20)
    assert len(service.recent_messages(PROFILE, CHAT, 10)) == 4  # seeded + marked complete
    cache.delete(recent_key(PROFILE, CHAT))  # the list is evicted, its marker is not
    assert len(service.recent_messages(PROFILE, CHAT, 10)) == 4  # re-read from the store
    cache.delete(recent_key(PROFILE, CHAT))
    service.record(PROFILE, event(9))  # the writer must not build a "complete" list with a hole
    assert service.flush(timeout=20)
    assert [m["id"] for m in service.recent_messages(PROFILE, CHAT, 10)] == [
        event(i).id for i in (0, 1, 2, 3, 9)
    ]


def test_a_refused_entry_does_not_block_the_others(
    mongo_uri: str, mongo_db_name: str, raw_db: pymongo.database.Database, tmp_path: Path
) -> None:
    """Bad data (here an int BSON cannot hold) is set aside; every other entry is stored."""
    factory = StoreFactory(mongo_uri, mongo_db_name)
    service = HistoryService(factory, MemoryCache("x"), tmp_path / "j", retry_backoff=FAST_BACKOFF)
    for i in range(9):
        service.record(PROFILE, event(i))
    poison = MessageEvent(id=f"true_{CHAT}_BAD", chat_id=CHAT, from_me=True, type="chat", t=2**70)
    service.record(PROFILE, poison)
    service.record(PROFILE, event(9))
    service.start()
    try:
        assert service.flush(timeout=20)
        assert raw_db.messages.count_documents({}) == 10
        status = service.status()
        assert status.online and status.pending == 0 and status.rejected == 1
    finally:
        service.stop()

    again = HistoryService(factory, MemoryCache("x"), tmp_path / "j", retry_backoff=FAST_BACKOFF)
    again.start()  # re-queues the refused entry once; it is refused again, nothing blocks
    try:
        assert again.flush(timeout=20)
        assert again.status().rejected == 1
    finally:
        again.stop()
