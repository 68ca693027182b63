"""Caches implementing ``core.ports.Cache``: Redis when configured, else in-process.

Both classes behave identically (a shared test suite runs against both): values go through
JSON on the way in and out, keys are prefixed by ``namespace``, a chat's recent messages are
read in timeline order (``core.history_model.timeline_key``: time, then capture order within a
second, then id), replaced by id, trimmed to the newest ``limit`` plus the rest of the oldest
kept second (a sorted set orders one second's messages by id only; readers trim), and
``ttl_seconds=None``
means "no expiry" while ``ttl_seconds <= 0`` means "expire now".

A cache must never break or freeze the app: RedisCache uses short socket timeouts, turns every
connection error into ``available = False`` plus a default result, logs once per outage and,
for ``retry_interval`` seconds after a failure, does not even try (so a dead remote Redis costs
callers nothing). The first call that reaches Redis again sets ``available`` back to True.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from wacrm_desktop.core.history_model import timeline_key

log = logging.getLogger("wacrm.cache")

T = TypeVar("T")

#: Keys of the hash that holds the message JSON of a recent list (next to its sorted set).
_MSGS_SUFFIX = ":msgs"

# KEYS: zset, hash. ARGV: limit, ttl (<=0: persist), then (id, score, json) triples.
_PUT_RECENT_LUA = """
local z, h = KEYS[1], KEYS[2]
local limit = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
for i = 3, #ARGV, 3 do
  redis.call('ZADD', z, ARGV[i + 1], ARGV[i])
  redis.call('HSET', h, ARGV[i], ARGV[i + 2])
end
local n = redis.call('ZCARD', z)
if n > limit then
  -- Keep every message of the oldest kept second: the score is WhatsApp's whole-second time,
  -- so which of them is older is only known to the reader (`timeline_key`).
  local edge = redis.call('ZRANGE', z, n - limit, n - limit, 'WITHSCORES')[2]
  local drop = redis.call('ZRANGEBYSCORE', z, '-inf', '(' .. edge)
  if #drop > 0 then
    redis.call('ZREMRANGEBYSCORE', z, '-inf', '(' .. edge)
    for _, id in ipairs(drop) do
      redis.call('HDEL', h, id)
    end
  end
end
if ttl > 0 then
  redis.call('EXPIRE', z, ttl)
  redis.call('EXPIRE', h, ttl)
else
  redis.call('PERSIST', z)
  redis.call('PERSIST', h)
end
return n
"""

_NEWEST_LUA = """
-- The ids of the newest `count` messages, plus the others of the oldest second among them
-- (the reader orders a second's messages and trims to `count`).
local function newest(z, count)
  local ids = redis.call('ZREVRANGE', z, 0, count - 1, 'WITHSCORES')
  local out, seen = {}, {}
  for i = 1, #ids, 2 do
    out[#out + 1] = ids[i]
    seen[ids[i]] = true
  end
  if #out == count then
    local edge = ids[#ids]
    for _, id in ipairs(redis.call('ZRANGEBYSCORE', z, edge, edge)) do
      if not seen[id] then
        out[#out + 1] = id
      end
    end
  end
  return out
end
"""

# KEYS: zset, hash. ARGV: count. Returns the JSON strings, newest first (see `newest`). If the
# two keys disagree (one of them evicted under maxmemory), both are dropped and nothing is
# returned: an empty list makes the caller rebuild it from MongoDB instead of trusting half of it.
_GET_RECENT_LUA = (
    _NEWEST_LUA
    + """
local ids = newest(KEYS[1], tonumber(ARGV[1]))
if #ids == 0 then
  if redis.call('EXISTS', KEYS[2]) == 1 then
    redis.call('DEL', KEYS[2])
  end
  return {}
end
local values = redis.call('HMGET', KEYS[2], unpack(ids))
for i = 1, #values do
  if not values[i] then
    redis.call('DEL', KEYS[1], KEYS[2])
    return {}
  end
end
return values
"""
)

# KEYS: marker, zset, hash. ARGV: count, marker JSON. The read of `_GET_RECENT_LUA` behind a check
# of the list's marker, in one round trip: false when the marker differs; else {n, text} where
# text is the n message JSONs, oldest first, joined into one JSON array (one string to parse).
_GET_RECENT_IF_LUA = (
    _NEWEST_LUA
    + """
if redis.call('GET', KEYS[1]) ~= ARGV[2] then
  return false
end
local ids = newest(KEYS[2], tonumber(ARGV[1]))
if #ids == 0 then
  if redis.call('EXISTS', KEYS[3]) == 1 then
    redis.call('DEL', KEYS[3])
  end
  return {0, '[]'}
end
local values = redis.call('HMGET', KEYS[3], unpack(ids))
local parts = {}
for i = #values, 1, -1 do
  if not values[i] then
    redis.call('DEL', KEYS[2], KEYS[3])
    return {0, '[]'}
  end
  parts[#parts + 1] = values[i]
end
return {#parts, '[' .. table.concat(parts, ',') .. ']'}
"""
)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


_Order = tuple[int, int, str]


def _valid_messages(
    messages: Iterable[dict[str, Any]],
) -> list[tuple[str, float, _Order, str]]:
    """(id, t, timeline order, json) for each message with a string id and a numeric t; later
    duplicates win."""
    by_id: dict[str, tuple[str, float, _Order, str]] = {}
    for msg in messages:
        msg_id = msg.get("id") if isinstance(msg, dict) else None
        t = msg.get("t") if isinstance(msg, dict) else None
        if (
            not isinstance(msg_id, str)
            or not msg_id
            or not isinstance(t, int | float)
            or isinstance(t, bool)
        ):
            log.warning("cache: ignoring a recent message without a valid id/t")
            continue
        by_id[msg_id] = (msg_id, float(t), timeline_key(msg), _dumps(msg))
    return list(by_id.values())


def _oldest_first(messages: list[Any], count: int) -> list[Any]:
    """The newest `count` messages, oldest first, in timeline order (`timeline_key`)."""
    ordered = sorted(messages, key=lambda m: timeline_key(m if isinstance(m, dict) else {}))
    return ordered[-count:]


class RedisCache:
    """``core.ports.Cache`` on Redis: one sorted set + one hash per recent list, updated by Lua."""

    def __init__(
        self,
        url: str,
        namespace: str,
        *,
        socket_timeout: float = 0.5,
        retry_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        import redis  # local: the in-process cache must not need redis at all
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.namespace = namespace
        self._redis_errors: tuple[type[BaseException], ...] = (
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
            OSError,
        )
        self._other_errors: tuple[type[BaseException], ...] = (redis.exceptions.RedisError,)
        # One immediate retry: after a Redis restart the pooled socket is dead and the retry
        # reconnects; more retries would only multiply the wait while Redis is really down.
        self._client = redis.Redis.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            retry=Retry(NoBackoff(), 1),
            health_check_interval=30,
            decode_responses=True,
            client_name="wacrm-desktop",
        )
        self._put_script = self._client.register_script(_PUT_RECENT_LUA)
        self._get_script = self._client.register_script(_GET_RECENT_LUA)
        self._get_if_script = self._client.register_script(_GET_RECENT_IF_LUA)
        self._retry_interval = retry_interval
        self._clock = clock
        self._state_lock = threading.Lock()
        self._available = True
        self._down_since: float | None = None
        self._url_for_logs = _redact_url(url)

    # -- availability --------------------------------------------------------------------

    @property
    def available(self) -> bool:
        return self._available

    def _call(self, op: Callable[[], T], default: T, what: str) -> T:
        """Run one Redis operation; connection trouble becomes `default` + available=False."""
        with self._state_lock:
            if (
                self._down_since is not None
                and self._clock() - self._down_since < self._retry_interval
            ):
                return default
        try:
            result = op()
        except self._redis_errors as exc:
            with self._state_lock:
                was_available = self._available
                self._available = False
                self._down_since = self._clock()
            if was_available:
                log.warning(
                    "Redis %s unreachable (%s: %s); until it is back, recent messages are read "
                    "from MongoDB and lead cards kept in this process's memory",
                    self._url_for_logs,
                    type(exc).__name__,
                    exc,
                )
            return default
        except self._other_errors as exc:  # a server-side error, not an outage
            log.warning("Redis %s failed: %s: %s", what, type(exc).__name__, exc)
            self._mark_up()
            return default
        self._mark_up()
        return result

    def _mark_up(self) -> None:
        with self._state_lock:
            was_available = self._available
            self._available = True
            self._down_since = None
        if not was_available:
            log.info("Redis %s reachable again; caching resumed", self._url_for_logs)

    def _k(self, key: str) -> str:
        return f"{self.namespace}:{key}"

    # -- Cache ---------------------------------------------------------------------------

    def get_json(self, key: str) -> Any | None:
        raw = self._call(lambda: self._client.get(self._k(key)), None, "GET")
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            log.warning("cache: undecodable value under a %s key; ignoring it", self.namespace)
            return None

    def set_json(self, key: str, value: Any, ttl_seconds: int | None = None) -> None:
        data = _dumps(value)
        full = self._k(key)
        if ttl_seconds is not None and ttl_seconds <= 0:
            self._call(lambda: self._client.delete(full), None, "DEL")
        elif ttl_seconds is None:
            self._call(lambda: self._client.set(full, data), None, "SET")
        else:
            self._call(lambda: self._client.set(full, data, ex=int(ttl_seconds)), None, "SET")

    def delete(self, *keys: str) -> None:
        if not keys:
            return
        names: list[str] = []
        for key in keys:
            names += [self._k(key), self._k(key) + _MSGS_SUFFIX]
        self._call(lambda: self._client.delete(*names), None, "DEL")

    def put_recent_messages(
        self, key: str, messages: Iterable[dict[str, Any]], limit: int, ttl_seconds: int | None
    ) -> None:
        """Insert or replace (by id) and trim to the newest `limit`, atomically (one Lua call)."""
        items = _valid_messages(messages)
        zkey = self._k(key)
        hkey = zkey + _MSGS_SUFFIX
        if limit <= 0 or (ttl_seconds is not None and ttl_seconds <= 0):
            self._call(lambda: self._client.delete(zkey, hkey), None, "DEL")
            return
        args: list[Any] = [int(limit), int(ttl_seconds or 0)]
        for msg_id, t, _order, data in items:
            args += [msg_id, repr(t), data]
        self._call(lambda: self._put_script(keys=[zkey, hkey], args=args), None, "put_recent")

    def recent_messages(self, key: str, count: int) -> list[dict[str, Any]]:
        if count <= 0:
            return []
        zkey = self._k(key)
        raw = self._call(
            lambda: self._get_script(keys=[zkey, zkey + _MSGS_SUFFIX], args=[int(count)]),
            [],
            "recent",
        )
        out: list[dict[str, Any]] = []
        for item in reversed(raw or []):
            if item is None:
                continue
            try:
                out.append(json.loads(item))
            except ValueError:
                continue
        return _oldest_first(out, count)

    def recent_messages_if(
        self, marker_key: str, marker: Any, key: str, count: int
    ) -> list[dict[str, Any]] | None:
        """One Lua call: the marker check and the read; the messages come as one JSON array."""
        if count <= 0:
            return [] if self.get_json(marker_key) == marker else None
        zkey = self._k(key)
        keys = [self._k(marker_key), zkey, zkey + _MSGS_SUFFIX]
        reply = self._call(
            lambda: self._get_if_script(keys=keys, args=[int(count), _dumps(marker)]),
            None,
            "recent_if",
        )
        if not reply:
            return None
        try:
            n, text = int(reply[0]), reply[1]
            out = json.loads(text)
        except (ValueError, TypeError, IndexError):
            out = None
        if isinstance(out, list) and len(out) == n:
            return _oldest_first(out, count)
        # Not our own writes (a value that is no JSON object on its own): item by item.
        return self.recent_messages(key, count)

    def ping(self) -> bool:
        """True when Redis answers now (also refreshes `available`)."""
        return bool(self._call(lambda: bool(self._client.ping()), False, "PING"))

    def close(self) -> None:
        self._client.close()

    def __repr__(self) -> str:
        return f"RedisCache({self._url_for_logs!r}, namespace={self.namespace!r})"


@dataclass(slots=True)
class _Entry:
    expires_at: float | None
    value: str | None = None  # JSON (plain keys)
    recent: dict[str, tuple[_Order, str]] = field(default_factory=dict)  # id -> (order, JSON)
    is_recent: bool = False


class MemoryCache:
    """In-process ``core.ports.Cache``: thread-safe, TTLs, LRU-bounded to `max_keys` keys."""

    def __init__(
        self,
        namespace: str,
        clock: Callable[[], float] = time.monotonic,
        *,
        max_keys: int = 10_000,
    ) -> None:
        if max_keys <= 0:
            raise ValueError("max_keys must be positive")
        self.namespace = namespace
        self._clock = clock
        self._max_keys = max_keys
        self._data: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        return True

    def _k(self, key: str) -> str:
        return f"{self.namespace}:{key}"

    def _expiry(self, ttl_seconds: int | None) -> float | None:
        return None if ttl_seconds is None else self._clock() + ttl_seconds

    def _live(self, full: str) -> _Entry | None:
        """The entry if present and not expired (caller holds the lock); touches LRU order."""
        entry = self._data.get(full)
        if entry is None:
            return None
        if entry.expires_at is not None and self._clock() >= entry.expires_at:
            del self._data[full]
            return None
        self._data.move_to_end(full)
        return entry

    def _store(self, full: str, entry: _Entry) -> None:
        """Insert/replace and evict (expired first, then least recently used)."""
        self._data[full] = entry
        self._data.move_to_end(full)
        if len(self._data) > self._max_keys:
            now = self._clock()
            for name in [
                n for n, e in self._data.items() if e.expires_at is not None and now >= e.expires_at
            ]:
                del self._data[name]
            while len(self._data) > self._max_keys:
                self._data.popitem(last=False)

    def get_json(self, key: str) -> Any | None:
        with self._lock:
            entry = self._live(self._k(key))
            raw = entry.value if entry is not None and not entry.is_recent else None
        return None if raw is None else json.loads(raw)

    def set_json(self, key: str, value: Any, ttl_seconds: int | None = None) -> None:
        data = _dumps(value)
        full = self._k(key)
        with self._lock:
            if ttl_seconds is not None and ttl_seconds <= 0:
                self._data.pop(full, None)
                return
            self._store(full, _Entry(expires_at=self._expiry(ttl_seconds), value=data))

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._data.pop(self._k(key), None)

    def put_recent_messages(
        self, key: str, messages: Iterable[dict[str, Any]], limit: int, ttl_seconds: int | None
    ) -> None:
        items = _valid_messages(messages)
        full = self._k(key)
        with self._lock:
            if limit <= 0 or (ttl_seconds is not None and ttl_seconds <= 0):
                self._data.pop(full, None)
                return
            entry = self._live(full)
            if entry is None or not entry.is_recent:
                entry = _Entry(expires_at=None, is_recent=True)
            for msg_id, _t, order, data in items:
                entry.recent[msg_id] = (order, data)
            if len(entry.recent) > limit:
                # Like Redis: the newest `limit`, plus the rest of the oldest kept second.
                ordered = sorted(entry.recent.items(), key=lambda kv: kv[1][0])
                edge = ordered[len(ordered) - limit][1][0][0]
                entry.recent = {k: v for k, v in ordered if v[0][0] >= edge}
            entry.expires_at = self._expiry(ttl_seconds)
            self._store(full, entry)

    def recent_messages(self, key: str, count: int) -> list[dict[str, Any]]:
        if count <= 0:
            return []
        with self._lock:
            entry = self._live(self._k(key))
            if entry is None or not entry.is_recent:
                return []
            ordered = sorted(entry.recent.items(), key=lambda kv: kv[1][0])
            raws = [data for _, (_, data) in ordered[-count:]]
        return [json.loads(raw) for raw in raws]

    def recent_messages_if(
        self, marker_key: str, marker: Any, key: str, count: int
    ) -> list[dict[str, Any]] | None:
        if self.get_json(marker_key) != marker:
            return None
        return self.recent_messages(key, count)

    def ping(self) -> bool:
        return True

    def close(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        """Number of keys held (expired ones may linger until touched or evicted)."""
        with self._lock:
            return len(self._data)

    def __bool__(self) -> bool:
        return True  # an empty cache is still a cache (`cache or default` must keep it)

    def __repr__(self) -> str:
        return f"MemoryCache(namespace={self.namespace!r}, max_keys={self._max_keys})"


def make_cache(url: str | None, namespace: str) -> RedisCache | MemoryCache:
    """RedisCache for a redis:// / rediss:// / unix:// URL; MemoryCache for None or ""."""
    if not url or url.strip().lower() in ("memory", "memory://"):
        return MemoryCache(namespace)
    return RedisCache(url.strip(), namespace)


def _redact_url(url: str) -> str:
    """The URL without its password, for logs."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user + ':***' if ':' in creds else user}@{host}"
