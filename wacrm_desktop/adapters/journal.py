"""Durable local journal of history events (one SQLite file per WhatsApp profile).

Every captured message/ack is appended here *before* the bridge call returns, so nothing is lost
when MongoDB is down, slow or the app dies; a background writer later moves batches to MongoDB
and deletes them (`mark_done`) only after MongoDB acknowledged.

Durability choice — WAL + ``synchronous=NORMAL`` + group commit (the default):

* An append is one autocommit ``INSERT``: when `append` returns, the entry is in the WAL file
  (the OS page cache), so it survives a crash or SIGKILL of the app.
* A background "syncer" connection runs ``PRAGMA wal_checkpoint(PASSIVE)`` at most every
  ``sync_interval`` seconds after appends; with NORMAL, SQLite fsyncs the WAL before each
  checkpoint, so a power loss / kernel panic loses at most the last ``sync_interval`` (0.2 s)
  of appends. That is the group commit: one fsync for all the appends of an interval. The
  append connection never checkpoints itself (``wal_autocheckpoint=0``), so no append ever
  waits for an fsync (measured: a 160 ms UI stall when auto-checkpoints ran inside appends).
* ``synchronous="FULL"`` fsyncs on every commit instead (power-loss safe at once) and costs
  one fsync per append: ~540 appends/s on the development container's virtio disk, against
  ~25,000/s for NORMAL (see docs/performance.md).

LGPD erasure (`delete_where`) deletes the matching entries, then ``VACUUM``s (the file is rewritten
without free pages, which may still hold entries drained earlier) and truncates the WAL, so no
byte of the erased content stays in the journal's files.
"""

from __future__ import annotations

import functools
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from wacrm_desktop.core.ports import JournalEntry

log = logging.getLogger("wacrm.journal")

Synchronous = Literal["NORMAL", "FULL"]

_INSERT = "INSERT INTO entries(seq, kind, payload, created_at) VALUES (?, ?, ?, ?)"
#: Bound parameters per statement when SQLite cannot say (builds before 3.32 allow 999).
_DEFAULT_MAX_VARIABLES = 999
_SCHEMA = (
    # No AUTOINCREMENT (it costs a second b-tree write per append): the journal hands out
    # seqs from its own counter, which starts above every seq in the file and never goes
    # back while the journal is open, so a seq is never reused under a reader's feet.
    """
    CREATE TABLE IF NOT EXISTS entries (
        seq INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at REAL NOT NULL
    )
    """,
    # Entries the store refused although it was reachable (see `reject`): kept, not retried
    # in a loop, re-queued once per app start.
    """
    CREATE TABLE IF NOT EXISTS rejected (
        seq INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at REAL NOT NULL,
        rejected_at REAL NOT NULL,
        reason TEXT NOT NULL
    )
    """,
)


class JournalClosedError(RuntimeError):
    """The journal was closed; appends after close() would be silently lost otherwise."""


class Journal:
    """Append-only SQLite queue of one profile's history events; thread-safe.

    One connection guarded by a lock (SQLite serialises writers anyway), plus the syncer's own
    connection for the periodic checkpoint (see the module docstring).
    """

    def __init__(
        self,
        path: Path,
        profile_id: str,
        *,
        synchronous: Synchronous = "NORMAL",
        sync_interval: float = 0.2,
    ) -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be NORMAL or FULL, not {synchronous!r}")
        self.path = Path(path)
        self.profile_id = profile_id
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # isolation_level=None: we issue BEGIN/COMMIT ourselves (explicit, no implicit txns).
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            str(self.path), check_same_thread=False, isolation_level=None, timeout=10.0
        )
        conn = self._conn
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            log.warning("journal %s: WAL unavailable (journal_mode=%s)", self.path, mode)
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA secure_delete=OFF")  # on only while erasing (see delete_where)
        # Checkpoints (which fsync) never run inside an append: the syncer does them on its own
        # connection, so a capture burst on the UI thread never waits for the disk.
        conn.execute(f"PRAGMA wal_autocheckpoint={0 if sync_interval > 0 else 1000}")
        for statement in _SCHEMA:
            conn.execute(statement)
        # Few statements per call: every sqlite3 step lets go of the GIL and must win it back,
        # which takes up to the switch interval when another thread is busy (the history writer
        # encoding a batch): 50 one-row INSERTs took 10-40 ms on the UI thread that way.
        try:
            max_variables = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        except (AttributeError, sqlite3.Error):
            max_variables = _DEFAULT_MAX_VARIABLES
        self._max_variables = max(4, min(max_variables, 32_766))
        # The writer thread's reads (`pending`) use their own connection (WAL: readers never wait
        # for the writer and the other way round), so an append never waits for a batch read.
        self._reader: sqlite3.Connection | None = sqlite3.connect(
            str(self.path), check_same_thread=False, isolation_level=None, timeout=10.0
        )
        self._reader.execute("PRAGMA busy_timeout=10000")
        self._read_lock = threading.Lock()
        self.synchronous: Synchronous = synchronous
        self._next_seq = self._highest_seq(conn) + 1
        self.sync_interval = sync_interval
        self._dirty = threading.Event()
        self._closing = threading.Event()
        self._syncer: threading.Thread | None = None
        if synchronous == "NORMAL" and sync_interval > 0:
            self._syncer = threading.Thread(
                target=self._sync_loop, name=f"journal-sync-{profile_id}", daemon=True
            )
            self._syncer.start()

    @staticmethod
    def _highest_seq(conn: sqlite3.Connection) -> int:
        highest = 0
        for query in (
            "SELECT MAX(seq) FROM entries",
            "SELECT MAX(seq) FROM rejected",
            # Journals created before seqs were counted here used AUTOINCREMENT.
            "SELECT seq FROM sqlite_sequence WHERE name = 'entries'",
        ):
            try:
                row = conn.execute(query).fetchone()
            except sqlite3.OperationalError:  # no sqlite_sequence table
                continue
            if row and row[0] is not None:
                highest = max(highest, int(row[0]))
        return highest

    def _take_seqs(self, n: int) -> range:
        """Reserve `n` new seqs (caller holds the lock)."""
        first = self._next_seq
        self._next_seq += n
        return range(first, first + n)

    def _sync_loop(self) -> None:
        """Group commit: one checkpoint (= WAL fsync, then DB fsync) per interval with appends.

        Runs on its own connection: a PASSIVE checkpoint never blocks appends.
        """
        conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout=1000")
            while not self._closing.is_set():
                if not self._dirty.wait(0.5):
                    continue
                self._closing.wait(self.sync_interval)
                self._dirty.clear()
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:
                    log.debug("journal %s: periodic checkpoint failed: %s", self.path, exc)
        finally:
            conn.close()

    def sync(self) -> None:
        """Make every append so far power-loss durable now (a checkpoint fsyncs the WAL)."""
        with self._lock:
            conn = self._require_open()
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    # -- writing -------------------------------------------------------------------------

    def append(self, kind: str, payload: dict[str, Any]) -> int:
        """Append one event (one autocommit INSERT); returns its sequence number."""
        return self._append_row(kind, _encode(payload), time.time())

    def _append_row(self, kind: str, data: str, now: float) -> int:
        with self._lock:
            conn = self._require_open()
            seq = self._next_seq
            conn.execute(_INSERT, (seq, kind, data, now))
            self._next_seq = seq + 1
        if not self._dirty.is_set():
            self._dirty.set()
        return seq

    def append_many(self, items: Iterable[tuple[str, dict[str, Any]]]) -> list[int]:
        """Append several events in one transaction (one fsync); returns their sequence numbers."""
        # Encoded before the lock (a bad payload raises before anything is written); one
        # timestamp for the transaction's entries.
        rows = [(kind, _encode(payload)) for kind, payload in items]
        if not rows:
            return []
        now = time.time()
        per_statement = self._max_variables // 4
        with self._lock:
            conn = self._require_open()
            seqs = self._take_seqs(len(rows))
            values: list[Any] = []
            for seq, (kind, data) in zip(seqs, rows, strict=True):
                values += (seq, kind, data, now)
            if len(rows) <= per_statement:
                # One multi-row INSERT: atomic on its own, and one step (see __init__).
                conn.execute(_insert_rows(len(rows)), values)
            else:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for lo in range(0, len(rows), per_statement):
                        chunk = values[lo * 4 : (lo + per_statement) * 4]
                        conn.execute(_insert_rows(len(chunk) // 4), chunk)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
        self._dirty.set()
        return list(seqs)

    def mark_done(self, seqs: Iterable[int]) -> None:
        """Delete entries the store has acknowledged (unknown seqs are ignored)."""
        values = [int(s) for s in seqs]
        if not values:
            return
        with self._lock:
            conn = self._require_open()
            conn.execute("BEGIN IMMEDIATE")
            try:
                # `seq IN (…)`: a third of the time of one DELETE per seq, and few steps (see
                # __init__), so the lock the bridge's appends wait for is held that much shorter.
                for lo in range(0, len(values), self._max_variables):
                    chunk = values[lo : lo + self._max_variables]
                    marks = ",".join("?" * len(chunk))
                    conn.execute(f"DELETE FROM entries WHERE seq IN ({marks})", chunk)  # noqa: S608
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def reject(self, seqs: Iterable[int], reason: str) -> None:
        """Move entries the store refuses (bad data, not an outage) out of the queue.

        One poisoned entry must not block every later one forever; it is kept in the
        ``rejected`` table (with a reason, no content in logs) and re-queued by
        `requeue_rejected` on the next start, in case the refusal was transient after all.
        """
        values = [(time.time(), reason[:500], int(s)) for s in seqs]
        if not values:
            return
        with self._lock:
            conn = self._require_open()
            conn.execute("BEGIN IMMEDIATE")
            try:
                for rejected_at, why, seq in values:
                    conn.execute(
                        "INSERT OR REPLACE INTO rejected(seq, kind, payload, created_at,"
                        " rejected_at, reason) SELECT seq, kind, payload, created_at, ?, ?"
                        " FROM entries WHERE seq = ?",
                        (rejected_at, why, seq),
                    )
                    conn.execute("DELETE FROM entries WHERE seq = ?", (seq,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def requeue_rejected(self) -> int:
        """Put every rejected entry back in the queue (with a new seq); returns how many."""
        with self._lock:
            conn = self._require_open()
            rows = conn.execute(
                "SELECT kind, payload, created_at FROM rejected ORDER BY seq"
            ).fetchall()
            seqs = self._take_seqs(len(rows))
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    _INSERT, [(seq, *row) for seq, row in zip(seqs, rows, strict=True)]
                )
                moved = len(rows)
                conn.execute("DELETE FROM rejected")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return moved

    def rejected_count(self) -> int:
        """Entries currently set aside by `reject`."""
        with self._lock:
            conn = self._require_open()
            return int(conn.execute("SELECT COUNT(*) FROM rejected").fetchone()[0])

    def delete_where(self, match: Callable[[str, dict[str, Any]], bool]) -> int:
        """Erase every entry (pending or rejected) whose (kind, payload) matches; returns how
        many. Deleted content is overwritten (secure_delete) and the WAL truncated, so no copy
        of it stays in the journal's files."""
        removed = 0
        with self._lock:
            conn = self._require_open()
            conn.execute("BEGIN IMMEDIATE")
            try:
                for table in ("entries", "rejected"):
                    doomed: list[tuple[int]] = []
                    for seq, kind, payload in conn.execute(
                        f"SELECT seq, kind, payload FROM {table}"  # noqa: S608 (fixed names)
                    ):
                        try:
                            data = json.loads(payload)
                        except ValueError:
                            data = {}
                        if match(kind, data) or not isinstance(data, dict):
                            doomed.append((seq,))
                    conn.executemany(f"DELETE FROM {table} WHERE seq = ?", doomed)
                    removed += len(doomed)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            # Always (entries drained long ago may still sit in free pages): rewrite the file
            # without free pages and empty the WAL, so no byte of erased content stays on disk.
            conn.execute("VACUUM")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        return removed

    # -- reading -------------------------------------------------------------------------

    def pending(self, limit: int, max_chars: int | None = None) -> list[JournalEntry]:
        """Oldest `limit` entries not yet marked done; with `max_chars`, only as many as fit in
        that many payload characters (at least one), so a batch of long texts stays small."""
        if limit <= 0:
            return []
        with self._read_lock:
            self._require_open()
            reader = self._reader
            if reader is None:
                raise JournalClosedError(f"journal {self.path} is closed")
            cursor = reader.execute(
                "SELECT seq, kind, payload FROM entries ORDER BY seq LIMIT ?", (limit,)
            )
            if max_chars is None:
                rows = cursor.fetchall()
            else:
                rows = []
                total = 0
                for row in cursor:
                    total += len(row[2])
                    if rows and total > max_chars:
                        break
                    rows.append(row)
                cursor.close()
        out: list[JournalEntry] = []
        for seq, kind, payload in rows:
            try:
                data = json.loads(payload)
            except ValueError:
                # Cannot happen for rows we wrote; never let one bad row block the queue forever.
                log.error("journal %s: dropping undecodable entry seq=%s", self.path, seq)
                self.mark_done([seq])
                continue
            out.append(JournalEntry(seq=seq, profile_id=self.profile_id, kind=kind, payload=data))
        return out

    def pending_count(self) -> int:
        """Number of entries waiting for the store."""
        with self._lock:
            conn = self._require_open()
            return int(conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0])

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._conn is None

    def close(self) -> None:
        """Checkpoint and close; idempotent."""
        self._closing.set()
        self._dirty.set()
        if self._syncer is not None and self._syncer is not threading.current_thread():
            self._syncer.join(timeout=5)
        with self._lock:
            conn, self._conn = self._conn, None
        with self._read_lock:
            reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()
        if conn is None:
            return
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:  # another process/connection may hold a read lock
            log.debug("journal %s: checkpoint at close failed: %s", self.path, exc)
        conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _require_open(self) -> sqlite3.Connection:
        if self._conn is None:
            raise JournalClosedError(f"journal {self.path} is closed")
        return self._conn

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r}, profile_id={self.profile_id!r})"


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _encode(payload: dict[str, Any]) -> str:
    """Compact JSON; raises TypeError for non-JSON payloads before anything is written."""
    if not isinstance(payload, dict):
        raise TypeError(f"journal payload must be a dict, not {type(payload).__name__}")
    return _ENCODER.encode(payload)


@functools.lru_cache(maxsize=64)
def _insert_rows(n: int) -> str:
    """INSERT of `n` entries in one statement."""
    return _INSERT.replace("(?, ?, ?, ?)", ",".join(["(?,?,?,?)"] * n))


def seqs_of(entries: Sequence[JournalEntry]) -> list[int]:
    """Sequence numbers of a batch (convenience for mark_done)."""
    return [e.seq for e in entries]
