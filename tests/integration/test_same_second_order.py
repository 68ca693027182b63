"""Messages of the same second keep the order they were captured in, everywhere.

WhatsApp's ``t`` has whole seconds, so a burst ("oi" / "tudo bem?" / "vi o anúncio…") shares one
``t``. Message ids are random hex, so ordering ties by id scrambles the burst. These tests send
bursts whose id order is the reverse of the capture order and read them back through every path
a user sees: the side panel's recent list (store, in-process cache, Redis), the team timeline
and its "older" pages, search, the JSON export and the "registrar conversa" transcript. Real
SecantusDB (or mongod through WACRM_MONGODB_URI) and a real redis-server.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from wacrm_desktop.adapters.cache import MemoryCache, RedisCache
from wacrm_desktop.adapters.mongo import MongoHistoryStore
from wacrm_desktop.core.events import MessageEvent
from wacrm_desktop.core.history_model import join_messages, timeline_key
from wacrm_desktop.core.lead_text import format_transcript
from wacrm_desktop.core.ports import SearchQuery
from wacrm_desktop.services.history import HistoryService, recent_key

pytestmark = pytest.mark.servers

PROFILE = "perfil-ordem"
CHAT = "5511966665555@c.us"
T0 = 1_760_000_000
WORDS = ["oi", "tudo bem?", "vi o anúncio", "do Jardim", "ainda tem", "unidade de 2",
         "quartos?", "obrigado"]  # fmt: skip


def burst_id(i: int, n: int) -> str:
    """Ids whose sort order is the reverse of the capture order (worst case for an id tie-break)."""
    return f"false_{CHAT}_3A{n - i:02d}{uuid.uuid4().hex[:14].upper()}"


def burst(n: int, t: int, tag: str) -> list[MessageEvent]:
    return [
        MessageEvent(
            id=burst_id(i, n),
            chat_id=CHAT,
            from_me=False,
            type="chat",
            t=t,
            body=f"{tag} {i} {WORDS[i % len(WORDS)]}",
            chat_name="Cliente Ordem",
            chat_phone="5511966665555",
            notify_name="Cliente",
        )
        for i in range(n)
    ]


def bodies(messages: list[dict[str, Any]]) -> list[str]:
    return [str(m.get("body")) for m in messages]


def expected(events: list[MessageEvent]) -> list[str]:
    return [e.body or "" for e in events]


@pytest.fixture
def make_service(
    tmp_path: Path, mongo_uri: str, mongo_db_name: str
) -> Iterator[Callable[[Any], HistoryService]]:
    services: list[HistoryService] = []

    def factory() -> MongoHistoryStore:
        store = MongoHistoryStore(
            mongo_uri, mongo_db_name, alias=f"ord_{uuid.uuid4().hex[:8]}",
            server_selection_timeout_ms=2000,
        )  # fmt: skip
        return store.connect()

    def make(cache: Any) -> HistoryService:
        service = HistoryService(factory, cache, tmp_path / f"journals{len(services)}")
        services.append(service)
        service.start()
        return service

    yield make
    for service in services:
        service.stop(timeout=10)


def test_timeline_key_and_join_keep_the_first_capture() -> None:
    first = {"id": "b", "t": 5, "captured_us": 10}
    again = {"id": "b", "t": 5, "captured_us": 99}  # a backfill of the same message, later
    assert join_messages(first, again)["captured_us"] == 10
    assert join_messages(again, first)["captured_us"] == 10
    ordered = sorted([{"id": "a", "t": 5, "captured_us": 20}, first, {"id": "z", "t": 4}],
                     key=timeline_key)  # fmt: skip
    assert [m["id"] for m in ordered] == ["z", "b", "a"]
    # Stored before captured_us existed: first within their second, by id; bad values ignored.
    assert timeline_key({"id": "x", "t": 5, "captured_us": True}) == (5, 0, "x")
    assert timeline_key({"_id": "p/x"}) == (0, 0, "p/x")


@pytest.mark.parametrize("cache_kind", ["memory", "redis"])
def test_a_same_second_burst_reads_back_in_capture_order_everywhere(
    cache_kind: str, redis_url: str, make_service: Callable[[Any], HistoryService], tmp_path: Path
) -> None:
    namespace = f"wacrm:ord{uuid.uuid4().hex[:6]}"
    cache: Any = (
        MemoryCache(namespace) if cache_kind == "memory" else RedisCache(redis_url, namespace)
    )
    service = make_service(cache)
    older = burst(3, T0 - 60, "antes")
    same = burst(8, T0, "rajada")
    for e in older:
        service.record(PROFILE, e)
    service.record_many(PROFILE, same)  # a backfill burst: one journal transaction
    assert service.flush(timeout=30)
    want = expected(older) + expected(same)

    # Side panel: first read from MongoDB (seeds the cache), then from the cache.
    assert bodies(service.recent_messages(PROFILE, CHAT, 50)) == want
    assert bodies(service.recent_messages(PROFILE, CHAT, 50)) == want
    assert bodies(cache.recent_messages(recent_key(PROFILE, CHAT), 50)) == want
    # The newest 5 are the last 5 captured, not 5 picked by id inside the second.
    assert bodies(service.recent_messages(PROFILE, CHAT, 5)) == expected(same)[-5:]
    store = service._get_store()
    assert bodies(store.recent_messages(PROFILE, CHAT, 5)) == expected(same)[-5:]

    # Team timeline, and paging "older" with a page that ends inside the burst's second: the
    # page carries the whole second, and the next page (t < that second) loses nothing.
    timeline = service.contact_timeline(PROFILE, CHAT)
    assert bodies(timeline) == want
    page = service.contact_timeline(PROFILE, CHAT, limit=5)
    assert bodies(page) == expected(same)  # the whole second, in capture order
    older_page = service.contact_timeline(PROFILE, CHAT, before_t=int(page[0]["t"]), limit=2)
    assert bodies(older_page) == expected(older)  # again the whole (older) second
    assert service.contact_timeline(PROFILE, CHAT, before_t=T0 - 60, limit=2) == []
    page = service.contact_timeline(PROFILE, CHAT, limit=11)
    assert bodies(page) == want

    # Search newest first: the reverse of the capture order.
    found = service.search(SearchQuery(text="rajada", profile_id=PROFILE, limit=50))
    assert bodies(found) == list(reversed(expected(same)))

    # Export (JSON) in capture order.
    path = tmp_path / "export.json"
    assert service.export_chat(PROFILE, CHAT, path) == len(want)
    exported = json.loads(path.read_text(encoding="utf-8"))
    assert bodies(exported["messages"]) == want

    # "Registrar conversa": the transcript lines follow the capture order.
    text = format_transcript(service.recent_messages(PROFILE, CHAT, 8), contact_name="Cliente")
    positions = [text.index(body) for body in expected(same)]
    assert positions == sorted(positions)


def test_a_list_longer_than_the_cache_limit_trims_by_capture_order(
    redis_url: str, make_service: Callable[[Any], HistoryService]
) -> None:
    """The cache keeps the newest N; when the cut falls inside a second the kept ones are the
    last captured (Redis keeps the whole second and the reader trims)."""
    for cache in (
        MemoryCache("wacrm:ordtrim"),
        RedisCache(redis_url, f"wacrm:ordtrim{uuid.uuid4().hex[:6]}"),
    ):
        key = recent_key(PROFILE, CHAT)
        items = [
            {"id": burst_id(i, 10), "t": T0, "captured_us": 1000 + i, "body": f"m{i}"}
            for i in range(10)
        ]
        cache.put_recent_messages(key, items[:6], 4, 3600)
        cache.put_recent_messages(key, items[6:], 4, 3600)
        assert bodies(cache.recent_messages(key, 4)) == ["m6", "m7", "m8", "m9"]
        assert bodies(cache.recent_messages(key, 2)) == ["m8", "m9"]
        cache.set_json("marker", "ok", 3600)
        assert bodies(cache.recent_messages_if("marker", "ok", key, 3) or []) == ["m7", "m8", "m9"]
