"""History pipeline: bridge events → durable journal → MongoDB (background) → recent-message cache.

Qt-free. The bridge callback only appends to a local SQLite journal (sub-millisecond) and wakes
the writer thread; everything that can block — MongoDB, Redis — happens on that thread. When
MongoDB is down, entries simply stay in the journal (which survives restarts) and the writer
retries with backoff; ``status()`` and ``on_status`` tell the UI what is going on.

Cache consistency: a chat's recent list in the cache is only *trusted* by readers after
``recent_messages`` seeded it from the store and marked it complete. The writer keeps every list
that is marked (or being seeded) up to date after each successful batch — before the batch is
marked done in the journal, so a crash in between replays it. Lists nobody marked are not
written, so a backfill of thousands of chats does not fill Redis with lists nobody reads.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from wacrm_desktop.adapters.journal import Journal
from wacrm_desktop.core.events import AckEvent, MessageEvent
from wacrm_desktop.core.ports import Cache, HistoryStore, JournalEntry

log = logging.getLogger("wacrm.store")

JOURNAL_FILE = "journal.sqlite3"
_PROFILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

#: Keys of a cached message (same shape as `MongoHistoryStore.recent_messages` rows).
CACHED_MESSAGE_FIELDS: tuple[str, ...] = (
    "id",
    "chat_id",
    "from_me",
    "type",
    "t",
    "body",
    "caption",
    "author",
    "sender",
    "notify_name",
    "is_group",
    "quoted_id",
    "media",
    "truncated",
    "ack",
)
_SEEDING = "seeding"
_COMPLETE = "complete"
_IDLE_PING_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class HistoryStatus:
    """What the UI shows about the history pipeline."""

    online: bool
    pending: int
    last_error: str | None
    cache_available: bool
    rejected: int = 0  # entries MongoDB refused although reachable; re-queued on next start


class JournalLike(Protocol):
    """What the service needs from a journal (`adapters.journal.Journal`; tests may pass fakes)."""

    profile_id: str

    def append(self, kind: str, payload: dict[str, Any]) -> int: ...

    def append_many(self, items: Iterable[tuple[str, dict[str, Any]]]) -> list[int]: ...

    def pending(self, limit: int) -> list[JournalEntry]: ...

    def mark_done(self, seqs: Iterable[int]) -> None: ...

    def pending_count(self) -> int: ...

    def reject(self, seqs: Iterable[int], reason: str) -> None: ...

    def requeue_rejected(self) -> int: ...

    def rejected_count(self) -> int: ...

    def close(self) -> None: ...


StoreFactory = Callable[[], HistoryStore]
JournalFactory = Callable[[Path, str], JournalLike]


def _default_journal_factory(path: Path, profile_id: str) -> JournalLike:
    """One SQLite journal per profile (WAL, synchronous=FULL)."""
    return Journal(path, profile_id)


def recent_key(profile_id: str, chat_id: str) -> str:
    """Cache key of a chat's recent messages (the cache adds its own namespace prefix)."""
    return f"{profile_id}:recent:{chat_id}"


def recent_state_key(profile_id: str, chat_id: str) -> str:
    """Cache key saying whether the recent list is complete (seeded from the store)."""
    return f"{profile_id}:recent-state:{chat_id}"


def chat_of_message_id(wa_id: str) -> str | None:
    """Chat wid inside a message id ``<true|false>_<chat wid>_<msg id>[_<participant>]``."""
    parts = wa_id.split("_")
    if len(parts) >= 3 and parts[0] in ("true", "false") and "@" in parts[1]:
        return parts[1]
    return None


def cached_view(payload: dict[str, Any]) -> dict[str, Any]:
    """The subset of a journal "message" payload kept in the cache (no None values)."""
    return {k: payload[k] for k in CACHED_MESSAGE_FIELDS if payload.get(k) is not None}


class HistoryService:
    """Owns the per-profile journals and the background writer; see the module docstring."""

    def __init__(
        self,
        store_factory: StoreFactory,
        cache: Cache,
        journal_dir: Path,
        *,
        batch_size: int = 500,
        recent_limit: int = 200,
        recent_ttl: int = 7 * 86400,
        retry_backoff: Sequence[float] = (0.5, 1, 2, 5, 10),
        on_status: Callable[[HistoryStatus], None] | None = None,
        idle_ping_seconds: float = _IDLE_PING_SECONDS,
        journal_factory: JournalFactory | None = None,
    ) -> None:
        if batch_size <= 0 or recent_limit <= 0:
            raise ValueError("batch_size and recent_limit must be positive")
        self._store_factory = store_factory
        self._cache = cache
        self.journal_dir = Path(journal_dir)
        self.batch_size = batch_size
        self.recent_limit = recent_limit
        self.recent_ttl = recent_ttl
        self.retry_backoff: tuple[float, ...] = tuple(retry_backoff) or (1.0,)
        self.on_status = on_status
        self._idle_ping = idle_ping_seconds
        self._journal_factory = journal_factory or _default_journal_factory

        self._journals: dict[str, JournalLike] = {}
        self._journals_lock = threading.Lock()
        self._store: HistoryStore | None = None
        self._store_lock = threading.Lock()

        # One condition for everything the writer waits on / announces: new entries
        # (`_has_work`), flush/stop asking for an immediate round (`_kicked`), progress.
        self._cond = threading.Condition()
        self._has_work = False
        self._kicked = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

        self._online = False
        self._last_error: str | None = None
        self._last_emitted: HistoryStatus | None = None
        self._failures = 0
        self._dirty_chats: set[tuple[str, str]] = set()

    # -- journals ------------------------------------------------------------------------

    def journal_for(self, profile_id: str) -> JournalLike:
        """The profile's journal, opened on first use (``<dir>/<profile>/journal.sqlite3``)."""
        journal = self._journals.get(profile_id)
        if journal is not None:
            return journal
        if not _PROFILE_RE.match(profile_id):
            raise ValueError(f"invalid profile id {profile_id!r}")
        with self._journals_lock:
            journal = self._journals.get(profile_id)
            if journal is None:
                journal = self._journal_factory(
                    self.journal_dir / profile_id / JOURNAL_FILE, profile_id
                )
                self._journals[profile_id] = journal
            return journal

    def _open_existing_journals(self) -> None:
        """Pick up journals left by earlier runs so their pending entries get stored too."""
        if not self.journal_dir.is_dir():
            return
        for path in sorted(self.journal_dir.glob(f"*/{JOURNAL_FILE}")):
            profile_id = path.parent.name
            if _PROFILE_RE.match(profile_id):
                self.journal_for(profile_id)

    def record(self, profile_id: str, event: MessageEvent | AckEvent) -> int:
        """Durably journal one history event and wake the writer; returns its sequence number.

        Runs on the caller's (bridge/UI) thread: a local SQLite append, no network I/O.
        """
        if isinstance(event, MessageEvent):
            seq = self.journal_for(profile_id).append("message", event.to_document())
        elif isinstance(event, AckEvent):
            seq = self.journal_for(profile_id).append("ack", {"id": event.id, "ack": event.ack})
        else:
            raise TypeError(f"not a history event: {type(event).__name__}")
        self._signal_work()
        return seq

    def record_many(self, profile_id: str, events: Iterable[MessageEvent | AckEvent]) -> list[int]:
        """Like `record` for a backfill burst: one journal transaction (one fsync)."""
        items: list[tuple[str, dict[str, Any]]] = []
        for event in events:
            if isinstance(event, MessageEvent):
                items.append(("message", event.to_document()))
            elif isinstance(event, AckEvent):
                items.append(("ack", {"id": event.id, "ack": event.ack}))
            else:
                raise TypeError(f"not a history event: {type(event).__name__}")
        seqs = self.journal_for(profile_id).append_many(items)
        if seqs:
            self._signal_work()
        return seqs

    def _signal_work(self) -> None:
        with self._cond:
            self._has_work = True
            self._cond.notify_all()

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start the writer thread (idempotent). MongoDB being down is fine: it retries."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._open_existing_journals()
        with self._journals_lock:
            journals = list(self._journals.values())
        for journal in journals:
            requeued = journal.requeue_rejected()
            if requeued:
                log.warning(
                    "re-queued %d history entries MongoDB had refused (profile %s)",
                    requeued,
                    journal.profile_id,
                )
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="wacrm-history-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop the writer after its current batch, close store and journals.

        Does not drain: call `flush` first for that; whatever is left stays in the journal
        and is written on the next start. Returns False if the writer did not stop in time.
        """
        self._stop.set()
        with self._cond:
            self._kicked = True
            self._cond.notify_all()
        stopped = True
        if self._thread is not None:
            self._thread.join(timeout)
            stopped = not self._thread.is_alive()
            if not stopped:
                log.warning("history writer did not stop within %.1fs", timeout)
                return False
            self._thread = None
        with self._store_lock:
            store, self._store = self._store, None
        _close_quietly(store)
        with self._journals_lock:
            journals = list(self._journals.values())
            self._journals.clear()
        for journal in journals:
            journal.close()
        return stopped

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every journal is empty (True) or `timeout` passes (False); retries now."""
        deadline = time.monotonic() + timeout
        while True:
            if self._pending_total() == 0:
                return True
            remaining = deadline - time.monotonic()
            thread = self._thread
            if remaining <= 0 or thread is None or not thread.is_alive():
                return self._pending_total() == 0
            with self._cond:
                self._kicked = True
                self._cond.notify_all()
                self._cond.wait(min(remaining, 0.25))

    # -- status --------------------------------------------------------------------------

    def status(self) -> HistoryStatus:
        """Current status (pending is counted now, so it also moves while the writer waits)."""
        return HistoryStatus(
            online=self._online,
            pending=self._pending_total(),
            last_error=self._last_error,
            cache_available=self._cache.available,
            rejected=self._count(lambda j: j.rejected_count()),
        )

    def _pending_total(self) -> int:
        return self._count(lambda j: j.pending_count())

    def _count(self, counter: Callable[[JournalLike], int]) -> int:
        with self._journals_lock:
            journals = list(self._journals.values())
        total = 0
        for journal in journals:
            try:
                total += counter(journal)
            except RuntimeError:  # closed concurrently by stop()
                continue
        return total

    def _emit_status(self) -> None:
        callback = self.on_status
        current = self.status()
        if callback is None or current == self._last_emitted:
            return
        self._last_emitted = current
        try:
            callback(current)
        except Exception:
            log.exception("on_status callback failed")

    # -- reads (worker threads) ----------------------------------------------------------

    def recent_messages(self, profile_id: str, chat_id: str, limit: int) -> list[dict[str, Any]]:
        """Newest `limit` messages of a chat, oldest first: cache if complete, else the store.

        Blocks on MongoDB: call from a worker thread, never from the UI thread. Raises the store's
        error when MongoDB is unreachable and the cache cannot answer.
        """
        if limit <= 0:
            return []
        key = recent_key(profile_id, chat_id)
        state_key = recent_state_key(profile_id, chat_id)
        if limit <= self.recent_limit and self._cache.get_json(state_key) == _COMPLETE:
            cached = self._cache.recent_messages(key, limit)
            if cached:  # empty although complete: evicted, or a truly empty chat; ask the store
                return cached
        store = self._get_store()
        if limit > self.recent_limit:
            return store.recent_messages(profile_id, chat_id, limit)
        # Seed: announce first, so the writer keeps the list up to date while we read the store.
        self._cache.set_json(state_key, _SEEDING, self._state_ttl())
        rows = store.recent_messages(profile_id, chat_id, self.recent_limit)
        cached = {m.get("id"): m for m in self._cache.recent_messages(key, self.recent_limit)}
        merged = [_merge_ack(row, cached.get(row.get("id"))) for row in rows]
        self._cache.put_recent_messages(key, merged, self.recent_limit, self.recent_ttl)
        if self._cache.available:
            self._cache.set_json(state_key, _COMPLETE, self._state_ttl())
        return rows[-limit:]

    def _state_ttl(self) -> int | None:
        """The state marker must expire before its list (whose TTL is refreshed on writes)."""
        if self.recent_ttl is None:
            return None
        return max(1, self.recent_ttl - max(1, self.recent_ttl // 100))

    # -- writer --------------------------------------------------------------------------

    def _get_store(self) -> HistoryStore:
        with self._store_lock:
            if self._store is None:
                self._store = self._store_factory()
            return self._store

    def _run(self) -> None:
        log.debug("history writer started")
        try:
            self._loop()
        except Exception:  # never die silently: the journal would grow forever
            log.exception("history writer crashed")
            self._online = False
            self._last_error = "history writer crashed"
            self._emit_status()
        finally:
            self._notify_progress()
            log.debug("history writer stopped")

    def _loop(self) -> None:
        last_ok = 0.0
        while not self._stop.is_set():
            with self._cond:
                self._has_work = False
                self._kicked = False
            try:
                store = self._get_store()
                wrote = self._drain_once(store)
                idle_check = not wrote and time.monotonic() - last_ok >= self._idle_ping
                if idle_check and not store.ping():
                    raise ConnectionError("MongoDB does not answer ping")
                last_ok = time.monotonic()
            except Exception as exc:
                self._on_failure(exc)
                self._notify_progress()
                delay = self.retry_backoff[min(self._failures - 1, len(self.retry_backoff) - 1)]
                # Backoff: new entries do not cut it short (they are safe in the journal),
                # flush() and stop() do.
                self._wait(lambda: self._kicked, delay)
                continue
            self._on_success()
            self._notify_progress()
            if wrote:
                continue  # more may be waiting; loop without sleeping
            self._wait(lambda: self._has_work or self._kicked, self._idle_ping)

    def _wait(self, predicate: Callable[[], bool], timeout: float) -> None:
        """Sleep until `predicate` (checked under the condition) or stop, at most `timeout`."""
        with self._cond:
            self._cond.wait_for(lambda: self._stop.is_set() or predicate(), timeout)

    def _notify_progress(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _drain_once(self, store: HistoryStore) -> bool:
        """One batch per journal with pending entries; True if anything was written."""
        with self._journals_lock:
            journals = list(self._journals.values())
        wrote = False
        for journal in journals:
            if self._stop.is_set():
                break
            entries = journal.pending(self.batch_size)
            if not entries:
                continue
            rejected = self._apply_isolating(store, journal, entries)
            stored = [e for e in entries if e.seq not in rejected] if rejected else entries
            self._update_cache(journal.profile_id, stored)
            journal.mark_done(e.seq for e in stored)
            wrote = True
        return wrote

    def _apply_isolating(
        self, store: HistoryStore, journal: JournalLike, entries: Sequence[JournalEntry]
    ) -> set[int]:
        """Apply a batch; returns the seqs set aside because the store refused them.

        A failure while the store still answers ping is blamed on the data: the batch is split
        in halves (applies are idempotent, so re-applying the good half is harmless) until
        the refused entries are found and moved to the journal's ``rejected`` table. A failure
        while ping fails is an outage and propagates (the journal keeps everything).
        """
        try:
            store.apply(entries)
            return set()
        except Exception as exc:
            if not store.ping():
                raise
            if len(entries) == 1:
                entry = entries[0]
                reason = f"{type(exc).__name__}: {exc}"[:500]
                journal.reject([entry.seq], reason)
                log.error(
                    "MongoDB refused history entry seq=%d (%s, profile %s): %s",
                    entry.seq,
                    entry.kind,
                    entry.profile_id,
                    type(exc).__name__,
                )
                return {entry.seq}
        mid = len(entries) // 2
        return self._apply_isolating(store, journal, entries[:mid]) | self._apply_isolating(
            store, journal, entries[mid:]
        )

    def _on_success(self) -> None:
        if not self._online or self._failures:
            log.info("history store online")
        self._online = True
        self._failures = 0
        self._last_error = None
        self._retry_dirty_chats()
        self._emit_status()

    def _on_failure(self, exc: Exception) -> None:
        self._failures += 1
        message = f"{type(exc).__name__}: {exc}"[:500]
        if self._online or self._failures == 1:
            log.warning("history store unavailable, keeping entries in the journal: %s", message)
        else:
            log.debug("history store still unavailable (%d): %s", self._failures, message)
        self._online = False
        self._last_error = message
        if self._failures == 1 or self._failures % 5 == 0:
            # A store object whose connect() never succeeded is rebuilt on the next try.
            self._reset_store_if_broken()
        self._emit_status()

    def _reset_store_if_broken(self) -> None:
        with self._store_lock:
            store = self._store
            if store is None:
                return
            if store.ping():
                return
            self._store = None
        _close_quietly(store)

    # -- cache maintenance (writer thread) -----------------------------------------------

    def _update_cache(self, profile_id: str, entries: Sequence[JournalEntry]) -> None:
        """Bring the trusted recent lists of the chats in this batch up to date."""
        messages: dict[str, dict[str, dict[str, Any]]] = {}
        acks: dict[str, int] = {}
        for entry in entries:
            wa_id = entry.payload.get("id")
            if not isinstance(wa_id, str):
                continue
            if entry.kind == "message":
                view = cached_view(entry.payload)
                chat_id = view.get("chat_id")
                if not isinstance(chat_id, str) or "t" not in view:
                    continue
                chat = messages.setdefault(chat_id, {})
                chat[wa_id] = _merge_ack(view, chat.get(wa_id))
            elif entry.kind == "ack" and isinstance(entry.payload.get("ack"), int):
                acks[wa_id] = max(int(entry.payload["ack"]), acks.get(wa_id, -1))
        ack_only: dict[str, dict[str, int]] = {}
        for wa_id, ack in acks.items():
            chat_id = chat_of_message_id(wa_id)
            if chat_id is None:
                continue
            batch_msg = messages.get(chat_id, {}).get(wa_id)
            if batch_msg is not None:
                batch_msg["ack"] = max(ack, batch_msg.get("ack", ack))
            else:
                ack_only.setdefault(chat_id, {})[wa_id] = ack

        for chat_id in set(messages) | set(ack_only):
            key = recent_key(profile_id, chat_id)
            state = self._cache.get_json(recent_state_key(profile_id, chat_id))
            if not self._cache.available:
                self._dirty_chats.add((profile_id, chat_id))
                continue
            if state not in (_SEEDING, _COMPLETE):
                continue
            cached = {m.get("id"): m for m in self._cache.recent_messages(key, self.recent_limit)}
            if state == _COMPLETE and not cached:
                # The list was evicted but not its marker: adding only this batch would make a
                # "complete" list with a hole. Drop the marker; the next reader re-seeds.
                self._cache.delete(recent_state_key(profile_id, chat_id), key)
                continue
            puts = [_merge_ack(m, cached.get(i)) for i, m in messages.get(chat_id, {}).items()]
            for wa_id, ack in ack_only.get(chat_id, {}).items():
                old = cached.get(wa_id)
                if old is not None and (not isinstance(old.get("ack"), int) or ack > old["ack"]):
                    puts.append({**old, "ack": ack})
            if puts:
                self._cache.put_recent_messages(key, puts, self.recent_limit, self.recent_ttl)
            if not self._cache.available:
                self._dirty_chats.add((profile_id, chat_id))

    def _retry_dirty_chats(self) -> None:
        """Chats whose update hit a cache outage: forget their lists so readers re-seed them."""
        if not self._dirty_chats:
            return
        keys: list[str] = []
        for profile_id, chat_id in self._dirty_chats:
            keys += [recent_state_key(profile_id, chat_id), recent_key(profile_id, chat_id)]
        self._cache.delete(*keys)
        if self._cache.available:
            log.info("invalidated %d cached chats missed during a cache outage", len(keys) // 2)
            self._dirty_chats.clear()


def _merge_ack(new: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    """`new` with the higher of both acks (acks never go backwards)."""
    if old is None:
        return new
    old_ack, new_ack = old.get("ack"), new.get("ack")
    if isinstance(old_ack, int) and (not isinstance(new_ack, int) or old_ack > new_ack):
        return {**new, "ack": old_ack}
    return new


def _close_quietly(store: HistoryStore | None) -> None:
    close = getattr(store, "close", None)
    if close is None:
        return
    try:
        close()
    except Exception as exc:
        log.debug("closing the history store failed: %s", exc)
