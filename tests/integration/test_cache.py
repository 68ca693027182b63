"""One behaviour suite for both caches (real redis-server / in-process), plus outage tests."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from servers import RedisServer

from wacrm_desktop.adapters.cache import MemoryCache, RedisCache, make_cache

pytestmark = pytest.mark.servers

Cache = RedisCache | MemoryCache


@pytest.fixture(params=["redis", "memory"])
def cache(request: pytest.FixtureRequest) -> Iterator[Cache]:
    namespace = f"wacrm:test-{uuid.uuid4().hex[:8]}"
    if request.param == "redis":
        c: Cache = RedisCache(request.getfixturevalue("redis_url"), namespace)
    else:
        c = MemoryCache(namespace)
    yield c
    c.close()


def msg(i: int, t: int | None = None, **extra: Any) -> dict[str, Any]:
    return {"id": f"m{i:03d}", "t": i if t is None else t, "body": f"texto {i}", **extra}


def ids(messages: list[dict[str, Any]]) -> list[str]:
    return [m["id"] for m in messages]


def test_json_round_trip_and_delete(cache: Cache) -> None:
    value = {"nome": "Joana", "tags": ["a", "b"], "n": 3, "ok": True, "x": None, "ç": "ã"}
    assert cache.get_json("lead:5511") is None
    cache.set_json("lead:5511", value, ttl_seconds=60)
    assert cache.get_json("lead:5511") == value
    cache.set_json("lead:5511", [1, 2])
    assert cache.get_json("lead:5511") == [1, 2]
    cache.delete("lead:5511", "does-not-exist")
    cache.delete()
    assert cache.get_json("lead:5511") is None
    assert cache.available


def test_namespaces_are_isolated(cache: Cache, request: pytest.FixtureRequest) -> None:
    other: Cache
    if isinstance(cache, RedisCache):
        other = RedisCache(request.getfixturevalue("redis_url"), cache.namespace + "-other")
    else:
        other = MemoryCache(cache.namespace + "-other")
    cache.set_json("k", 1)
    assert other.get_json("k") is None
    other.put_recent_messages("r", [msg(1)], 10, None)
    assert cache.recent_messages("r", 10) == []


def test_recent_order_trim_and_count(cache: Cache) -> None:
    cache.put_recent_messages("r", [msg(5), msg(1), msg(9)], limit=4, ttl_seconds=60)
    cache.put_recent_messages("r", [msg(3), msg(7)], limit=4, ttl_seconds=60)
    # newest 4 kept (1 trimmed), returned oldest first
    assert ids(cache.recent_messages("r", 10)) == ["m003", "m005", "m007", "m009"]
    assert ids(cache.recent_messages("r", 2)) == ["m007", "m009"]
    assert cache.recent_messages("r", 0) == []
    # an older message than everything kept is trimmed right away
    cache.put_recent_messages("r", [msg(0)], limit=4, ttl_seconds=60)
    assert ids(cache.recent_messages("r", 10)) == ["m003", "m005", "m007", "m009"]
    assert cache.recent_messages("missing", 5) == []


def test_recent_replace_by_id_never_duplicates(cache: Cache) -> None:
    cache.put_recent_messages("r", [msg(1), msg(2), msg(3)], limit=10, ttl_seconds=None)
    cache.put_recent_messages("r", [msg(2, ack=3, body="editada")], limit=10, ttl_seconds=None)
    cache.put_recent_messages("r", [msg(1, t=10)], limit=10, ttl_seconds=None)  # moved in time
    got = cache.recent_messages("r", 10)
    assert ids(got) == ["m002", "m003", "m001"]
    assert got[0] == {"id": "m002", "t": 2, "body": "editada", "ack": 3}
    # duplicates inside one call: the last one wins
    cache.put_recent_messages("r", [msg(4, body="a"), msg(4, body="b")], limit=10, ttl_seconds=None)
    assert [m["body"] for m in cache.recent_messages("r", 10) if m["id"] == "m004"] == ["b"]


def test_recent_ties_ordered_by_id_and_invalid_ignored(cache: Cache) -> None:
    """Without a capture order (messages stored before it existed) a second's messages sort by
    id; a trim never cuts inside a second (the reader does, by `timeline_key`)."""
    batch = [msg(3, t=100), msg(1, t=100), msg(2, t=100), {"t": 5}, {"id": "x"}, {"id": 7, "t": 1}]
    cache.put_recent_messages("r", batch, limit=10, ttl_seconds=None)
    assert ids(cache.recent_messages("r", 10)) == ["m001", "m002", "m003"]
    cache.put_recent_messages("r", [msg(9, t=100)], limit=3, ttl_seconds=None)
    assert ids(cache.recent_messages("r", 10)) == ["m001", "m002", "m003", "m009"]
    assert ids(cache.recent_messages("r", 3)) == ["m002", "m003", "m009"]
    cache.put_recent_messages("r", [msg(10, t=101)], limit=3, ttl_seconds=None)
    assert ids(cache.recent_messages("r", 10)) == ["m001", "m002", "m003", "m009", "m010"]
    cache.put_recent_messages("r", [msg(11, t=102), msg(12, t=103)], limit=3, ttl_seconds=None)
    assert ids(cache.recent_messages("r", 10)) == ["m010", "m011", "m012"]


def test_recent_ties_follow_capture_order(cache: Cache) -> None:
    burst = [{**msg(9 - i, t=100), "captured_us": 1_000 + i} for i in range(6)]
    cache.put_recent_messages("r", burst[:3], limit=4, ttl_seconds=None)
    cache.put_recent_messages("r", burst[3:], limit=4, ttl_seconds=None)
    assert ids(cache.recent_messages("r", 10)) == ["m009", "m008", "m007", "m006", "m005", "m004"]
    assert ids(cache.recent_messages("r", 2)) == ["m005", "m004"]


def test_delete_removes_a_recent_list(cache: Cache) -> None:
    cache.put_recent_messages("r", [msg(1)], limit=10, ttl_seconds=60)
    cache.delete("r")
    assert cache.recent_messages("r", 10) == []
    cache.put_recent_messages("r", [msg(2)], limit=10, ttl_seconds=60)
    assert ids(cache.recent_messages("r", 10)) == ["m002"]


def test_recent_messages_if_marker(cache: Cache) -> None:
    cache.put_recent_messages("r", [msg(i) for i in range(5)], limit=10, ttl_seconds=60)
    assert cache.recent_messages_if("r-state", "complete", "r", 10) is None  # no marker
    cache.set_json("r-state", "seeding", ttl_seconds=60)
    assert cache.recent_messages_if("r-state", "complete", "r", 10) is None  # another marker
    cache.set_json("r-state", "complete", ttl_seconds=60)
    got = cache.recent_messages_if("r-state", "complete", "r", 3)
    assert got == cache.recent_messages("r", 3) and ids(got or []) == ["m002", "m003", "m004"]
    assert cache.recent_messages_if("r-state", "complete", "r", 0) == []
    assert cache.recent_messages_if("r-state", "complete", "missing", 5) == []
    emoji = msg(9, body='olá 👋🏽 "aspas", [colchetes]')
    cache.put_recent_messages("r", [emoji], limit=10, ttl_seconds=60)
    assert (cache.recent_messages_if("r-state", "complete", "r", 1) or [None])[0] == emoji


def test_redis_recent_messages_if_reads_values_it_did_not_write(redis_url: str) -> None:
    import redis

    cache = RedisCache(redis_url, f"wacrm:test-{uuid.uuid4().hex[:8]}")
    try:
        cache.put_recent_messages("r", [msg(1), msg(2), msg(3)], limit=10, ttl_seconds=60)
        cache.set_json("s", "complete", ttl_seconds=60)
        # A value that is no JSON object on its own: read item by item, as recent_messages does.
        raw = redis.Redis.from_url(redis_url, decode_responses=True)
        raw.hset(f"{cache.namespace}:r:msgs", "m002", "1,2")
        raw.close()
        assert cache.recent_messages_if("s", "complete", "r", 10) == cache.recent_messages("r", 10)
        assert ids([m for m in cache.recent_messages("r", 10) if isinstance(m, dict)]) == [
            "m001",
            "m003",
        ]
    finally:
        cache.close()


def test_ttl_expiry_and_refresh(cache: Cache) -> None:
    cache.set_json("short", "x", ttl_seconds=1)
    cache.set_json("forever", "y", ttl_seconds=None)
    cache.set_json("gone", "z", ttl_seconds=0)  # <= 0: expires at once
    cache.put_recent_messages("r", [msg(1)], limit=10, ttl_seconds=1)
    cache.put_recent_messages("r2", [msg(1)], limit=10, ttl_seconds=1)
    assert cache.get_json("short") == "x" and cache.get_json("gone") is None
    time.sleep(0.6)
    cache.put_recent_messages("r2", [msg(2)], limit=10, ttl_seconds=2)  # refreshes the TTL
    time.sleep(0.7)
    assert cache.get_json("short") is None
    assert cache.get_json("forever") == "y"
    assert cache.recent_messages("r", 10) == []
    assert ids(cache.recent_messages("r2", 10)) == ["m001", "m002"]


def test_make_cache() -> None:
    assert isinstance(make_cache(None, "ns"), MemoryCache)
    assert isinstance(make_cache("", "ns"), MemoryCache)
    redis_cache = make_cache("redis://127.0.0.1:1/0", "ns")  # no I/O until used
    assert isinstance(redis_cache, RedisCache)
    redis_cache.close()


# -- MemoryCache specifics ---------------------------------------------------------------------


def test_memory_cache_lru_bound_and_fake_clock() -> None:
    now = [1000.0]
    cache = MemoryCache("ns", clock=lambda: now[0], max_keys=3)
    for k in ("a", "b", "c"):
        cache.set_json(k, k, ttl_seconds=100)
    assert cache.get_json("a") == "a"  # touch: "b" is now least recently used
    cache.put_recent_messages("d", [msg(1)], 10, 100)
    assert len(cache) == 3
    assert cache.get_json("b") is None and cache.get_json("a") == "a"
    now[0] += 101
    assert cache.get_json("a") is None and cache.recent_messages("d", 5) == []


def test_memory_cache_is_thread_safe() -> None:
    cache = MemoryCache("ns", max_keys=50)
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for i in range(300):
                cache.put_recent_messages(f"r{i % 7}", [msg(i + k * 1000)], 20, 60)
                cache.recent_messages(f"r{i % 7}", 5)
                cache.set_json(f"k{k}-{i}", i, 60)
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(cache) <= 50
    assert all(len(cache.recent_messages(f"r{j}", 100)) <= 20 for j in range(7))


# -- Redis outages -----------------------------------------------------------------------------


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.monotonic()
    result = fn()
    return result, time.monotonic() - start


def test_redis_stopped_and_restarted(
    redis_server_factory: Callable[[], RedisServer], caplog: pytest.LogCaptureFixture
) -> None:
    server = redis_server_factory()
    cache = RedisCache(server.url, "wacrm:outage", retry_interval=0.2)
    cache.set_json("k", {"v": 1})
    cache.put_recent_messages("r", [msg(1)], 10, 60)
    assert cache.get_json("k") == {"v": 1} and cache.available

    server.stop()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="wacrm.cache"):
        for _ in range(3):
            value, took = _timed(lambda: cache.get_json("k"))
            assert value is None and took < 1.5
            assert cache.recent_messages("r", 5) == []
            cache.set_json("k2", 1, 60)
            cache.put_recent_messages("r", [msg(2)], 10, 60)
            cache.delete("k")
            assert cache.available is False
            time.sleep(0.25)  # past retry_interval: the next call really tries again
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1, [r.getMessage() for r in warnings]  # once per outage

        server.start()  # same port, empty (no persistence)
        time.sleep(0.25)
        cache.set_json("k", {"v": 2}, 60)
        assert cache.available is True
        assert cache.get_json("k") == {"v": 2}
        assert any("reachable again" in r.getMessage() for r in caplog.records)
    cache.close()


def test_dead_redis_never_hangs_callers() -> None:
    # A port nobody listens on: connection refused, immediately.
    from servers import free_port

    cache = RedisCache(f"redis://127.0.0.1:{free_port()}/0", "ns", retry_interval=30)
    _, took = _timed(lambda: cache.get_json("k"))
    assert cache.available is False and took < 1.5
    # Inside retry_interval the cache does not even try.
    _, took = _timed(lambda: [cache.recent_messages("r", 5) for _ in range(100)])
    assert took < 0.2


def test_redis_half_evicted_list_heals_itself(redis_url: str) -> None:
    import redis

    cache = RedisCache(redis_url, f"wacrm:heal-{uuid.uuid4().hex[:6]}")
    cache.put_recent_messages("r", [msg(1), msg(2)], 10, 60)
    raw = redis.Redis.from_url(redis_url)
    raw.delete(f"{cache.namespace}:r:msgs")  # as if maxmemory evicted only the hash
    assert cache.recent_messages("r", 10) == []
    assert raw.exists(f"{cache.namespace}:r") == 0
    raw.close()
    cache.close()
