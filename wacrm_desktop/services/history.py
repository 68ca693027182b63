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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from wacrm_desktop.adapters.journal import Journal
from wacrm_desktop.core.events import JOURNAL_KINDS, HistoryEvent, event_payload
from wacrm_desktop.core.history_model import timeline_key
from wacrm_desktop.core.phones import mask, ninth_digit_variants
from wacrm_desktop.core.ports import Cache, HistoryQueries, HistoryStore, JournalEntry, SearchQuery
from wacrm_desktop.core.whatsapp import chat_of_message_id, parse_message_id
from wacrm_desktop.services.history_export import export_csv, export_json

log = logging.getLogger("wacrm.store")

JOURNAL_FILE = "journal.sqlite3"
_PROFILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

#: Keys never kept in a cached message (the search words are only useful inside MongoDB).
_UNCACHED_FIELDS = frozenset({"words", "_id", "first_seen_at", "updated_at"})
_SEEDING = "seeding"
_COMPLETE = "complete"
_IDLE_PING_SECONDS = 30.0
#: Journal entries per MongoDB batch (a cap: the writer takes what is pending). Each chat in a
#: batch costs one update statement whatever the batch size, so larger batches cut that cost when
#: a burst spans many chats: 10,000 messages over 200 chats reached ~48 % of SecantusDB's
#: insert_many ceiling with 500, ~75 % with 2,000, ~85-95 % with 5,000 (bench/bench_history.py).
#: `BATCH_CHARS` keeps a batch of long texts small in memory.
BATCH_SIZE = 5000
BATCH_CHARS = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class HistoryStatus:
    """What the UI shows about the history pipeline."""

    online: bool
    pending: int
    last_error: str | None
    cache_available: bool
    rejected: int = 0  # entries MongoDB refused although reachable; re-queued on next start


@dataclass(frozen=True, slots=True)
class ErasureReport:
    """What "apagar contato" removed (this is also what the audit entry keeps)."""

    phone_masked: str
    messages: int
    chats: int
    journal_entries: int
    cache_keys: int
    actor: str
    at: datetime


class JournalLike(Protocol):
    """What the service needs from a journal (`adapters.journal.Journal`; tests may pass fakes)."""

    profile_id: str

    def append(self, kind: str, payload: dict[str, Any]) -> int: ...

    def append_many(self, items: Iterable[tuple[str, dict[str, Any]]]) -> list[int]: ...

    def pending(self, limit: int, max_chars: int | None = None) -> list[JournalEntry]: ...

    def mark_done(self, seqs: Iterable[int]) -> None: ...

    def pending_count(self) -> int: ...

    def reject(self, seqs: Iterable[int], reason: str) -> None: ...

    def requeue_rejected(self) -> int: ...

    def rejected_count(self) -> int: ...

    def delete_where(self, match: Callable[[str, dict[str, Any]], bool]) -> int: ...

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


def cached_view(view: dict[str, Any]) -> dict[str, Any]:
    """A stored message view as kept in the cache (no None values, no search words)."""
    return {k: v for k, v in view.items() if v is not None and k not in _UNCACHED_FIELDS}


def _kind_and_payload(event: HistoryEvent) -> tuple[str, dict[str, Any]]:
    kind = JOURNAL_KINDS.get(type(event))
    if kind is None:
        raise TypeError(f"not a history event: {type(event).__name__}")
    return kind, event_payload(event)


class HistoryService:
    """Owns the per-profile journals and the background writer; see the module docstring."""

    def __init__(
        self,
        store_factory: StoreFactory,
        cache: Cache,
        journal_dir: Path,
        *,
        batch_size: int = BATCH_SIZE,
        batch_chars: int = BATCH_CHARS,
        recent_limit: int = 200,
        recent_ttl: int = 7 * 86400,
        retry_backoff: Sequence[float] = (0.5, 1, 2, 5, 10),
        on_status: Callable[[HistoryStatus], None] | None = None,
        idle_ping_seconds: float = _IDLE_PING_SECONDS,
        journal_factory: JournalFactory | None = None,
        retention_days: int = 0,
        retention_interval: float = 6 * 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if batch_size <= 0 or batch_chars <= 0 or recent_limit <= 0:
            raise ValueError("batch_size, batch_chars and recent_limit must be positive")
        self._store_factory = store_factory
        self._cache = cache
        self.journal_dir = Path(journal_dir)
        self.batch_size = batch_size
        self.batch_chars = batch_chars
        self.recent_limit = recent_limit
        self.recent_ttl = recent_ttl
        self.retry_backoff: tuple[float, ...] = tuple(retry_backoff) or (1.0,)
        self.on_status = on_status
        self._idle_ping = idle_ping_seconds
        self._journal_factory = journal_factory or _default_journal_factory
        #: Prefix of the lead cards in the cache (LeadService's `key_prefix`), erased too.
        self.lead_key_prefix = "lead:"

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
        self._capture_lock = threading.Lock()
        self._last_captured_us = 0
        #: The store whose left-over work (`HistoryStore.apply` of an empty batch: PN/LID merges
        #: a migration or an interrupted batch left) was done; once per connected store.
        self._housekept: HistoryStore | None = None
        # Held by the writer around each round and by erasure/retention, so an erasure never
        # races a batch that still carries the erased contact.
        self._write_lock = threading.RLock()
        self.retention_days = retention_days
        self.retention_interval = retention_interval
        self._clock = clock
        self._last_retention = 0.0

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

    def record(self, profile_id: str, event: HistoryEvent) -> int:
        """Durably journal one history event and wake the writer; returns its sequence number.

        Accepts every kind of `core.events.JOURNAL_KINDS` (message, ack, edit, revoke,
        reaction, lid_phone). Runs on the caller's (bridge/UI) thread: a local SQLite append,
        no network I/O.
        """
        kind, payload = self._stamped(event)
        seq = self.journal_for(profile_id).append(kind, payload)
        self._signal_work()
        return seq

    def record_many(self, profile_id: str, events: Iterable[HistoryEvent]) -> list[int]:
        """Like `record` for a backfill burst: one journal transaction (one fsync)."""
        items = [self._stamped(event) for event in events]
        seqs = self.journal_for(profile_id).append_many(items)
        if seqs:
            self._signal_work()
        return seqs

    def _stamped(self, event: HistoryEvent) -> tuple[str, dict[str, Any]]:
        """Journal kind and payload; a message gets ``captured_us``, strictly increasing, so
        messages of the same second keep the order they were captured in
        (`core.history_model.timeline_key`)."""
        kind, payload = _kind_and_payload(event)
        if kind == "message":
            with self._capture_lock:
                now_us = time.time_ns() // 1000
                self._last_captured_us = max(now_us, self._last_captured_us + 1)
                payload["captured_us"] = self._last_captured_us
        return kind, payload

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
            self._housekept = None
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
        if limit <= self.recent_limit:
            cached = self._cache.recent_messages_if(state_key, _COMPLETE, key, limit)
            if cached:  # empty although complete: evicted, or a truly empty chat; ask the store
                return cached
        store = self._get_store()
        if limit > self.recent_limit:
            return store.recent_messages(profile_id, chat_id, limit)
        # Seed: announce first, so the writer keeps the list up to date while we read the store.
        self._cache.set_json(state_key, _SEEDING, self._state_ttl())
        rows = store.recent_messages(profile_id, chat_id, self.recent_limit)
        cached = {m.get("id"): m for m in self._cache.recent_messages(key, self.recent_limit)}
        merged = [_newer(cached_view(row), cached.get(row.get("id"))) for row in rows]
        self._cache.put_recent_messages(key, merged, self.recent_limit, self.recent_ttl)
        if self._cache.available:
            self._cache.set_json(state_key, _COMPLETE, self._state_ttl())
        return rows[-limit:]

    def _state_ttl(self) -> int | None:
        """The state marker must expire before its list (whose TTL is refreshed on writes)."""
        if self.recent_ttl is None:
            return None
        return max(1, self.recent_ttl - max(1, self.recent_ttl // 100))

    # -- profiles, team view, search (worker threads) --------------------------------------

    def register_profile(self, profile_id: str, name: str) -> None:
        """Journal the profile's document (name, last seen); written with the next batch."""
        self.journal_for(profile_id).append(
            "profile", {"name": name, "at": int(self._clock() * 1000)}
        )
        self._signal_work()

    def _queries(self) -> HistoryQueries:
        store = self._get_store()
        return store  # type: ignore[return-value]  # MongoHistoryStore implements both

    def preload(self, profile_id: str, chats: int = 20) -> int:
        """Seed the cache with the recent messages of the profile's `chats` newest chats.

        Called at start and when a profile connects, so opening those chats shows their
        history at once. Returns how many chats were loaded. Blocks on MongoDB (worker thread).
        """
        loaded = 0
        for chat in self._queries().recent_chats(profile_id, chats):
            chat_id = chat.get("chat_id")
            if isinstance(chat_id, str):
                self.recent_messages(profile_id, chat_id, self.recent_limit)
                loaded += 1
        log.debug("pre-loaded %d chats of profile %s", loaded, profile_id)
        return loaded

    def contact_timeline(
        self,
        profile_id: str,
        chat_id: str,
        *,
        phone: str | None = None,
        before_t: int | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """The chat's full stored timeline across every profile that talked to the same phone."""
        return self._queries().contact_timeline(
            profile_id, chat_id, phone=phone, before_t=before_t, limit=limit
        )

    def search(self, query: SearchQuery) -> list[dict[str, Any]]:
        return self._queries().search(query)

    def export_chat(self, profile_id: str, chat_id: str, path: Path, *, fmt: str = "json") -> int:
        """Write the chat's whole team timeline to `path` ("json" or "csv"); returns the count."""
        messages = self.contact_timeline(profile_id, chat_id, limit=0)
        if fmt == "csv":
            return export_csv(messages, path)
        if fmt != "json":
            raise ValueError(f"unknown export format {fmt!r}")
        meta = {"profile_id": profile_id, "chat_id": chat_id}
        return export_json(messages, path, meta)

    def export_contact(self, phone: str, path: Path) -> int:
        """JSON of everything stored about one phone (every profile): LGPD export."""
        digits = "".join(ch for ch in phone if ch.isdigit())
        store = self._queries()
        messages: dict[tuple[str, str], dict[str, Any]] = {}
        for profile_id, chat_id in store.contact_chats(digits) or []:
            for m in store.contact_timeline(profile_id, chat_id, phone=digits, limit=0):
                messages[(m.get("profile_id", ""), m["id"])] = m
        ordered = sorted(messages.values(), key=timeline_key)
        return export_json(ordered, path, {"phone_masked": mask(digits)})

    def chat_info(self, profile_id: str, chat_id: str) -> dict[str, Any] | None:
        return self._queries().get_chat(profile_id, chat_id)

    def link_lead(self, profile_id: str, chat_id: str, lead_id: str | None) -> None:
        """Remember the chat's CV CRM lead (messages get it too: per-lead timeline)."""
        self._queries().link_lead(profile_id, chat_id, lead_id)
        self._cache.delete(recent_state_key(profile_id, chat_id), recent_key(profile_id, chat_id))

    # -- LGPD erasure and retention --------------------------------------------------------

    def erase_contact(self, phone: str, *, actor: str) -> ErasureReport:
        """ "Apagar contato": every trace of one phone in MongoDB, the cache and the journals.

        Holds the writer's lock, so no batch carrying the contact is in flight. Records an audit
        entry (who, when, masked phone, counts; never content). Raises when MongoDB is
        unreachable: a partial erasure must not be reported as done.
        """
        digits = "".join(ch for ch in phone if ch.isdigit())
        if len(digits) < 8:
            raise ValueError("not a phone number")
        variants = phone_variants(digits)
        with self._write_lock:
            store = self._queries()
            refs = store.contact_chats(digits)
            wids = {f"{v}@c.us" for v in variants} | set(store.contact_lids(digits))
            chat_ids = {c for _, c in refs} | wids
            matcher = _journal_matcher(variants, chat_ids)
            journal_count = 0
            for journal in self._all_journals():
                journal_count += journal.delete_where(matcher)
            counts = store.erase_contact(digits)
            keys: list[str] = []
            for profile_id, chat_id in refs:
                keys += [recent_state_key(profile_id, chat_id), recent_key(profile_id, chat_id)]
            for variant in variants:
                keys += [f"{self.lead_key_prefix}{variant}", f"{self.lead_key_prefix}+{variant}"]
            self._cache.delete(*keys)
            at = datetime.fromtimestamp(self._clock(), UTC)
            report = ErasureReport(
                phone_masked=mask(digits),
                messages=counts.get("messages", 0),
                chats=counts.get("chats", 0),
                journal_entries=journal_count,
                cache_keys=len(keys),
                actor=actor,
                at=at,
            )
            store.record_audit(
                {
                    "action": "erase_contact",
                    "actor": actor,
                    "at": at,
                    "phone_masked": report.phone_masked,
                    "messages": report.messages,
                    "chats": report.chats,
                    "journal_entries": report.journal_entries,
                    "cache_keys": report.cache_keys,
                }
            )
        log.info(
            "erased contact %s: %d messages, %d chats, %d journal entries",
            report.phone_masked,
            report.messages,
            report.chats,
            report.journal_entries,
        )
        return report

    def _all_journals(self) -> list[JournalLike]:
        self._open_existing_journals()
        with self._journals_lock:
            return list(self._journals.values())

    def apply_retention(self, now: float | None = None) -> int:
        """Delete messages older than `retention_days` (0 = keep forever); returns how many."""
        if self.retention_days <= 0:
            return 0
        cutoff = int((now if now is not None else self._clock()) - self.retention_days * 86400)
        with self._write_lock:
            deleted, refs = self._queries().delete_older_than(cutoff)
            keys: list[str] = []
            for profile_id, chat_id in refs:
                keys += [recent_state_key(profile_id, chat_id), recent_key(profile_id, chat_id)]
            if keys:
                self._cache.delete(*keys)
        if deleted:
            log.info(
                "retention: deleted %d messages older than %d days", deleted, self.retention_days
            )
        return deleted

    def _maybe_retention(self, store: HistoryStore) -> None:
        if self.retention_days <= 0:
            return
        now = self._clock()
        if now - self._last_retention < self.retention_interval:
            return
        self._last_retention = now
        try:
            self.apply_retention(now)
        except Exception as exc:  # next interval retries; never stop the writer for this
            log.warning("retention run failed: %s", type(exc).__name__)

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
                with self._write_lock:
                    wrote = self._drain_once(store)
                if not wrote:
                    self._maybe_retention(store)
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
        if self._housekept is not store:
            views = store.apply([])
            self._housekept = store
            if views:
                self._update_cache("", views, [])
        with self._journals_lock:
            journals = list(self._journals.values())
        wrote = False
        for journal in journals:
            if self._stop.is_set():
                break
            entries = journal.pending(self.batch_size, max_chars=self.batch_chars)
            if not entries:
                continue
            rejected, views = self._apply_isolating(store, journal, entries)
            stored = [e for e in entries if e.seq not in rejected] if rejected else entries
            self._update_cache(journal.profile_id, views, stored)
            journal.mark_done(e.seq for e in stored)
            wrote = True
        return wrote

    def _apply_isolating(
        self, store: HistoryStore, journal: JournalLike, entries: Sequence[JournalEntry]
    ) -> tuple[set[int], list[dict[str, Any]] | None]:
        """Apply a batch; returns the seqs set aside because the store refused them.

        A failure while the store still answers ping is blamed on the data: the batch is split
        in halves (applies are idempotent, so re-applying the good half is harmless) until
        the refused entries are found and moved to the journal's ``rejected`` table. A failure
        while ping fails is an outage and propagates (the journal keeps everything).
        """
        try:
            views = store.apply(entries)
            return set(), (list(views) if views is not None else None)
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
                return {entry.seq}, []
        mid = len(entries) // 2
        rejected_a, views_a = self._apply_isolating(store, journal, entries[:mid])
        rejected_b, views_b = self._apply_isolating(store, journal, entries[mid:])
        views = None if views_a is None or views_b is None else [*views_a, *views_b]
        return rejected_a | rejected_b, views

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

    def _update_cache(
        self,
        profile_id: str,
        views: Sequence[dict[str, Any]] | None,
        entries: Sequence[JournalEntry],
    ) -> None:
        """Bring the trusted recent lists of the chats in this batch up to date.

        `views` are the stored documents after the batch (the store's own join), so edits,
        revokes, reactions and acks reach the cache exactly as they are in MongoDB. A message
        is put into the list of its chat and of every chat a PN/LID copy of it arrived in
        (``alias_chats``). A store that returns no views makes the affected lists untrusted
        instead (readers re-seed them), and so does a merge marker (a stored copy became an
        alias of another document: the lists may still hold it under its old id).
        """
        by_chat: dict[tuple[str, str], list[dict[str, Any]]] = {}
        stale: set[tuple[str, str]] = set()
        if views is None:
            for entry in entries:
                wa_id = entry.payload.get("id")
                chat_id = entry.payload.get("chat_id") or (
                    chat_of_message_id(wa_id) if isinstance(wa_id, str) else None
                )
                if isinstance(chat_id, str):
                    stale.add((profile_id, chat_id))
        else:
            for view in views:
                owner = view.get("profile_id")
                owner = owner if isinstance(owner, str) else profile_id
                if "merged_into" in view:
                    stale |= {(owner, c) for c in view.get("chats") or () if isinstance(c, str)}
                    continue
                chat_id = view.get("chat_id")
                if not isinstance(chat_id, str) or not isinstance(view.get("t"), int):
                    continue
                item = cached_view(view)
                for chat in (chat_id, *(view.get("alias_chats") or ())):
                    if isinstance(chat, str):
                        by_chat.setdefault((owner, chat), []).append(item)
        if stale:
            keys: list[str] = []
            for owner, chat_id in sorted(stale):
                keys += [recent_state_key(owner, chat_id), recent_key(owner, chat_id)]
            self._cache.delete(*keys)
            if not self._cache.available:
                self._dirty_chats |= stale
        for (owner, chat_id), items in by_chat.items():
            if (owner, chat_id) in stale:
                continue
            key = recent_key(owner, chat_id)
            state_key = recent_state_key(owner, chat_id)
            state = self._cache.get_json(state_key)
            if not self._cache.available:
                self._dirty_chats.add((owner, chat_id))
                continue
            if state not in (_SEEDING, _COMPLETE):
                continue
            if state == _COMPLETE and not self._cache.recent_messages(key, 1):
                # The list was evicted but not its marker: adding only this batch would make
                # a "complete" list with a hole. Drop it; the next reader re-seeds.
                self._cache.delete(state_key, key)
                continue
            self._cache.put_recent_messages(key, items, self.recent_limit, self.recent_ttl)
            if not self._cache.available:
                self._dirty_chats.add((owner, chat_id))

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


def phone_variants(digits: str) -> list[str]:
    """The phone and its other Brazilian spelling (with/without the ninth digit)."""
    return sorted(ninth_digit_variants(digits) | {digits})


def _journal_matcher(
    variants: Sequence[str], chat_ids: set[str]
) -> Callable[[str, dict[str, Any]], bool]:
    """Does a journal entry belong to the contact? (its chat, its phone, its ids)."""
    needles = tuple(variants)

    def match(kind: str, payload: dict[str, Any]) -> bool:
        if payload.get("chat_id") in chat_ids or payload.get("chat_lid") in chat_ids:
            return True
        if payload.get("author") in chat_ids or payload.get("sender") in chat_ids:
            return True  # also the contact's @lid in groups
        wa_id = payload.get("id")
        key = parse_message_id(wa_id) if isinstance(wa_id, str) else None
        if key is not None and (key.remote in chat_ids or key.participant in chat_ids):
            return True
        for name in ("chat_phone", "phone", "author", "sender", "lid"):
            value = payload.get(name)
            if isinstance(value, str) and any(n in value for n in needles):
                return True
        return False

    return match


def _newer(a: dict[str, Any], b: dict[str, Any] | None) -> dict[str, Any]:
    """The later of two views of one message (by the store's ``rev``; `a` on a tie)."""
    if b is None:
        return a
    rev_a, rev_b = a.get("rev"), b.get("rev")
    if isinstance(rev_b, int) and (not isinstance(rev_a, int) or rev_b > rev_a):
        return b
    return a


def _close_quietly(store: HistoryStore | None) -> None:
    close = getattr(store, "close", None)
    if close is None:
        return
    try:
        close()
    except Exception as exc:
        log.debug("closing the history store failed: %s", exc)
