"""The SQLite journal: order, durability across SIGKILL, thread safety."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from wacrm_desktop.adapters.journal import Journal, JournalClosedError
from wacrm_desktop.core.ports import JournalEntry


def _msg(i: int) -> dict[str, object]:
    return {"id": f"false_5511999990000@c.us_{i:06d}", "chat_id": "5511999990000@c.us", "t": i}


def test_append_pending_mark_done_in_order(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite3", "p1") as journal:
        seqs = [journal.append("message", _msg(i)) for i in range(5)]
        assert seqs == sorted(seqs) and len(set(seqs)) == 5
        assert journal.pending_count() == 5

        first = journal.pending(3)
        assert [e.seq for e in first] == seqs[:3]
        assert first[0] == JournalEntry(
            seq=seqs[0], profile_id="p1", kind="message", payload=_msg(0)
        )

        journal.mark_done([seqs[0], seqs[2]])
        assert [e.seq for e in journal.pending(10)] == [seqs[1], seqs[3], seqs[4]]
        journal.mark_done([seqs[1], seqs[3], seqs[4], 999_999])  # unknown seq: ignored
        assert journal.pending_count() == 0
        assert journal.pending(10) == []
        assert journal.pending(0) == []


def test_append_many_and_seq_never_reused(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    with Journal(path, "p1") as journal:
        seqs = journal.append_many(
            [("message", _msg(i)) for i in range(4)] + [("ack", {"id": "x", "ack": 2})]
        )
        assert len(seqs) == 5 and seqs == sorted(seqs)
        assert journal.append_many([]) == []
        journal.mark_done(seqs)
        # Everything done: the next number still grows, also after reopening.
        nxt = journal.append("ack", {"id": "y", "ack": 3})
        assert nxt > seqs[-1]
    with Journal(path, "p1") as reopened:
        assert [e.seq for e in reopened.pending(10)] == [nxt]
        assert reopened.append("ack", {"id": "z", "ack": 1}) > nxt


def test_pending_character_budget_and_large_mark_done(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite3", "p1") as journal:
        big = {"id": "x", "body": "b" * 1000}
        seqs = journal.append_many(
            [("message", big)] * 5 + [("message", _msg(i)) for i in range(1200)]
        )
        size = len(json.dumps(big, separators=(",", ":")))
        # Whole entries only, at least one even when the first is over budget.
        assert [e.seq for e in journal.pending(100, max_chars=size * 2 + 10)] == seqs[:2]
        assert [e.seq for e in journal.pending(100, max_chars=1)] == seqs[:1]
        assert len(journal.pending(3, max_chars=10**9)) == 3
        # More seqs than one DELETE statement takes, in any order, with unknown ones.
        done = seqs[::-1][:1100] + [10**9]
        journal.mark_done(done)
        assert [e.seq for e in journal.pending(10**4)] == seqs[:105]


def test_wal_mode_and_synchronous(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    with Journal(path, "p1") as journal:
        journal.append("message", _msg(1))
        assert journal.synchronous == "NORMAL"  # + group commit (periodic WAL fsync)
        journal.sync()
    other = sqlite3.connect(path)
    try:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        other.close()
    with Journal(tmp_path / "full.sqlite3", "p1", synchronous="FULL") as full:
        full.append("message", _msg(1))
        assert full.pending_count() == 1
    with pytest.raises(ValueError):
        Journal(tmp_path / "x.sqlite3", "p1", synchronous="OFF")  # type: ignore[arg-type]


def test_rejects_non_json_payload_without_writing(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite3", "p1") as journal:
        with pytest.raises(TypeError):
            journal.append("message", {"bad": object()})
        with pytest.raises(TypeError):
            journal.append_many([("message", _msg(1)), ("message", [1, 2])])  # type: ignore[list-item]
        assert journal.pending_count() == 0


def test_closed_journal_refuses_appends(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3", "p1")
    journal.close()
    journal.close()  # idempotent
    assert journal.closed
    with pytest.raises(JournalClosedError):
        journal.append("message", _msg(1))


def test_unicode_payload_round_trip(tmp_path: Path) -> None:
    payload = {"id": "a", "body": "olá 👋 — ação\u0000fim", "media": {"mimetype": "image/jpeg"}}
    with Journal(tmp_path / "j.sqlite3", "p1") as journal:
        journal.append("message", payload)
        assert journal.pending(1)[0].payload == payload


def test_thread_safe_concurrent_appends_and_drain(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3", "p1", synchronous="NORMAL")
    seen: list[int] = []
    errors: list[BaseException] = []

    def writer(base: int) -> None:
        try:
            for i in range(100):
                seen.append(journal.append("message", _msg(base + i)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    drained: list[int] = []
    stop = threading.Event()

    def drainer() -> None:
        while not stop.is_set() or journal.pending_count():
            batch = journal.pending(50)
            journal.mark_done(e.seq for e in batch)
            drained.extend(e.seq for e in batch)

    threads = [threading.Thread(target=writer, args=(k * 1000,)) for k in range(6)]
    drain = threading.Thread(target=drainer)
    drain.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    drain.join(timeout=30)
    journal.close()
    assert not errors
    assert len(seen) == len(set(seen)) == 600
    assert sorted(drained) == sorted(seen)


_KILL_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from wacrm_desktop.adapters.journal import Journal

    journal = Journal(Path(sys.argv[1]), "p1", synchronous=sys.argv[2])
    for i in range(200):
        journal.append("message", {"id": f"m{i}", "t": i})
    journal.append_many([("ack", {"id": f"m{i}", "ack": 2}) for i in range(50)])
    journal.mark_done(range(1, 11))
    print("written", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # no close(), no checkpoint, no atexit
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
@pytest.mark.parametrize("synchronous", ["FULL", "NORMAL"])
def test_entries_survive_sigkill(tmp_path: Path, synchronous: str) -> None:
    path = tmp_path / "killed" / "journal.sqlite3"
    proc = subprocess.run(
        [sys.executable, "-c", _KILL_SCRIPT, str(path), synchronous],
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    assert proc.stdout.decode().strip() == "written"
    assert (path.parent / "journal.sqlite3-wal").exists()  # the WAL was never checkpointed

    with Journal(path, "p1") as journal:
        assert journal.pending_count() == 240
        entries = journal.pending(1000)
        assert entries[0].seq == 11
        assert [e.payload["id"] for e in entries[:190]] == [f"m{i}" for i in range(10, 200)]
        assert [e.kind for e in entries[190:]] == ["ack"] * 50
        assert json.dumps(entries[-1].payload) == json.dumps({"id": "m49", "ack": 2})


def test_reject_and_requeue(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite3", "p1") as journal:
        seqs = journal.append_many([("message", _msg(i)) for i in range(3)])
        journal.reject([seqs[1]], "OverflowError: int too big")
        journal.reject([], "nothing")
        assert [e.seq for e in journal.pending(10)] == [seqs[0], seqs[2]]
        assert journal.rejected_count() == 1
        journal.mark_done([seqs[0], seqs[2]])
        assert journal.requeue_rejected() == 1
        assert journal.rejected_count() == 0
        requeued = journal.pending(10)[0]
        assert (requeued.kind, requeued.payload) == ("message", _msg(1))
        assert requeued.seq > seqs[-1]  # a fresh seq: never one a reader may still hold
