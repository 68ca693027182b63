"""Fault tests with real processes: the app SIGKILLed mid-burst (and its orphaned embedded
SecantusDB), and LGPD erasure checked by scanning MongoDB, Redis and the journal files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pymongo
import pytest
import redis

from wacrm_desktop.adapters.cache import MemoryCache, RedisCache
from wacrm_desktop.adapters.embedded_mongo import PID_FILE, EmbeddedMongo, _pid_alive
from wacrm_desktop.adapters.journal import Journal
from wacrm_desktop.adapters.mongo import MongoHistoryStore
from wacrm_desktop.core.events import (
    AckEvent,
    EditEvent,
    LidPhoneEvent,
    MessageEvent,
    event_payload,
)
from wacrm_desktop.services.history import JOURNAL_FILE, HistoryService

pytestmark = pytest.mark.servers

ROOT = Path(__file__).resolve().parents[2]

_APP_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from wacrm_desktop.adapters.cache import MemoryCache
    from wacrm_desktop.adapters.embedded_mongo import EmbeddedMongo
    from wacrm_desktop.adapters.mongo import MongoHistoryStore
    from wacrm_desktop.core.events import MessageEvent
    from wacrm_desktop.services.history import HistoryService

    data, count = Path(sys.argv[1]), int(sys.argv[2])
    server = EmbeddedMongo(data / "embedded-mongodb", cache_size="64M").start()
    print("READY", server.pid, flush=True)
    service = HistoryService(
        lambda: MongoHistoryStore(server.uri, "wacrm").connect(),
        MemoryCache("x"),
        data / "journal",
        batch_size=100,
    )
    service.start()
    for i in range(count):
        chat = f"5511900{i % 13:06d}@c.us"
        event = MessageEvent(id=f"false_{chat}_3EB0{i:08X}", chat_id=chat, from_me=False,
                             type="chat", t=1_700_000_000 + i, body=f"msg {i}")
        service.record("perfil", event)
        print("OK", event.id, flush=True)  # acknowledged to the bridge
        if i % 25 == 0:
            time.sleep(0.003)
    time.sleep(120)
    """
)


def test_app_sigkilled_mid_burst_replays_its_journal_once(tmp_path: Path) -> None:
    """SIGKILL while capturing and writing; the next start on the same data dir (whose
    embedded server the dead app left running) stores every acknowledged message once."""
    child = subprocess.Popen(
        [sys.executable, "-c", _APP_SCRIPT, str(tmp_path), "3000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
        text=True,
    )
    acknowledged: list[str] = []
    server_pid = 0
    assert child.stdout is not None
    try:
        for line in child.stdout:
            if line.startswith("READY"):
                server_pid = int(line.split()[1])
            elif line.startswith("OK"):
                acknowledged.append(line.split()[1])
                if len(acknowledged) == 1200:
                    break
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        acknowledged += [ln.split()[1] for ln in child.stdout.read().splitlines() if ln[:2] == "OK"]
    finally:
        if child.poll() is None:
            child.kill()
    assert server_pid and 1200 <= len(acknowledged) < 3000, "the kill did not land mid-burst"

    # The orphaned server notices its app is gone (stdin watchdog) and shuts down by itself.
    deadline = time.monotonic() + 20
    while _pid_alive(server_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _pid_alive(server_pid)

    server = EmbeddedMongo(tmp_path / "embedded-mongodb", cache_size="64M").start()
    try:
        service = HistoryService(
            lambda: MongoHistoryStore(
                server.uri, "wacrm", alias=f"k_{uuid.uuid4().hex[:6]}"
            ).connect(),
            MemoryCache("x"),
            tmp_path / "journal",
        )
        service.start()
        assert service.flush(timeout=60)
        service.stop()
        client: pymongo.MongoClient = pymongo.MongoClient(server.uri)
        stored = [d["wa_id"] for d in client["wacrm"].messages.find({}, {"wa_id": 1})]
        client.close()
    finally:
        server.kill()
    assert len(stored) == len(set(stored))  # once
    assert set(acknowledged) <= set(stored)  # every acknowledged message
    assert len(stored) <= 3000


def test_orphan_without_watchdog_is_reaped_through_the_pid_file(tmp_path: Path) -> None:
    """Even when the watchdog could not act, the next start stops the orphan and starts."""
    script = textwrap.dedent(
        """
        import sys, time
        from pathlib import Path
        from wacrm_desktop.adapters.embedded_mongo import EmbeddedMongo
        s = EmbeddedMongo(Path(sys.argv[1]), cache_size="64M", watchdog=False).start()
        print(s.pid, flush=True)
        time.sleep(120)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "db")],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        text=True,
    )
    assert child.stdout is not None
    orphan = int(child.stdout.readline())
    child.kill()
    child.wait(timeout=10)
    try:
        time.sleep(0.5)
        assert _pid_alive(orphan)  # nobody stopped it: it holds the WiredTiger lock
        assert json.loads((tmp_path / "db" / PID_FILE).read_text())["pid"] == orphan
        server = EmbeddedMongo(tmp_path / "db", cache_size="64M").start()
        try:
            assert not _pid_alive(orphan)
            assert json.loads((tmp_path / "db" / PID_FILE).read_text())["pid"] == server.pid
        finally:
            server.kill()
        assert not (tmp_path / "db" / PID_FILE).exists()
    finally:
        if _pid_alive(orphan):
            os.kill(orphan, signal.SIGKILL)


PHONE = "5511987650000"
PHONE_OLD = "551187650000"  # the same line without the ninth digit
OTHER = "5521933334444"


def test_erase_contact_leaves_no_trace_in_mongodb_redis_or_journal(
    mongo_uri: str, mongo_db_name: str, redis_url: str, tmp_path: Path
) -> None:
    namespace = f"wacrm:{mongo_db_name}"
    cache = RedisCache(redis_url, namespace)
    journal_dir = tmp_path / "journal"
    service = HistoryService(
        lambda: MongoHistoryStore(
            mongo_uri, mongo_db_name, alias=f"e_{uuid.uuid4().hex[:6]}"
        ).connect(),
        cache,
        journal_dir,
    )
    chat, lid, group = f"{PHONE}@c.us", "98765432100@lid", "120363000000000001@g.us"

    def m(i: int, chat_id: str, **kw: object) -> MessageEvent:
        base: dict[str, object] = {"from_me": False, "type": "chat", "t": 1_700_000_000 + i}
        base.update(kw)
        return MessageEvent(id=f"false_{chat_id}_3EB0{i:06d}", chat_id=chat_id, **base)  # type: ignore[arg-type]

    events_ana = [
        m(i, chat, body=f"oi {i}", chat_phone=PHONE, chat_name="Cliente") for i in range(5)
    ]
    events_ana += [
        EditEvent(id=events_ana[0].id, body="corrigido", caption=None, edited_at_ms=7),
        m(10, f"{OTHER}@c.us", body="outro contato", chat_phone=OTHER),
        m(11, group, body="no grupo", is_group=True, author=f"{PHONE}@c.us"),
        m(12, group, body="de outra pessoa", is_group=True, author=f"{OTHER}@c.us"),
    ]
    # Bruno's WhatsApp knows the contact only by @lid, without the ninth digit.
    events_bruno = [m(20 + i, lid, body=f"olá {i}", chat_lid=lid) for i in range(3)]
    events_bruno.append(LidPhoneEvent(lid=lid, phone=PHONE_OLD))
    service.record_many("ana", events_ana)
    service.record_many("bruno", events_bruno)
    service.start()
    try:
        assert service.flush(20)
        for profile, chat_id in (("ana", chat), ("bruno", lid), ("ana", f"{OTHER}@c.us")):
            assert service.recent_messages(profile, chat_id, 50)  # seeds Redis
        cache.set_json(f"lead:{PHONE}", {"nome": "Cliente"}, 600)

        # Entries a crashed earlier run left in a journal the writer has not opened yet.
        with Journal(journal_dir / "carla" / JOURNAL_FILE, "carla") as left_over:
            left_over.append(
                "message", event_payload(m(30, chat, body="pendente", chat_phone=PHONE))
            )
            left_over.append("ack", event_payload(AckEvent(id=m(31, chat).id, ack=3)))
            left_over.append("message", event_payload(m(32, f"{OTHER}@c.us", body="fica")))

        report = service.erase_contact(PHONE, actor="gestor@empresa")
        assert report.messages == 9 and report.chats == 2 and report.journal_entries == 2
        assert report.phone_masked != PHONE and PHONE not in report.phone_masked
        assert service.flush(20)
    finally:
        service.stop()

    needles = (PHONE, PHONE_OLD, lid.split("@")[0])
    client: pymongo.MongoClient = pymongo.MongoClient(mongo_uri)
    db = client[mongo_db_name]
    try:
        texts = []
        for name in db.list_collection_names():
            texts += [json.dumps(d, default=str, ensure_ascii=False) for d in db[name].find()]
        assert not [t for t in texts if any(n in t for n in needles)]
        # The other contact's messages stay (incl. the left-over journal entry, drained since).
        assert db.messages.count_documents({}) == 3
        audit = list(db.audit.find())
        assert len(audit) == 1 and audit[0]["actor"] == "gestor@empresa"
        assert audit[0]["messages"] == 9 and "body" not in audit[0]
    finally:
        client.close()

    r = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        dump: list[str] = []
        for key in r.scan_iter(f"{namespace}:*"):
            kind = r.type(key)
            value: object = None
            if kind == "string":
                value = r.get(key)
            elif kind == "hash":
                value = r.hgetall(key)
            elif kind == "zset":
                value = r.zrange(key, 0, -1)
            dump.append(f"{key} {value}")
        assert dump  # the other contact is still cached
        assert not [d for d in dump if any(n in d for n in needles)]
    finally:
        r.close()

    raw = b"".join(p.read_bytes() for p in journal_dir.rglob("*") if p.is_file())
    assert not [n for n in needles if n.encode() in raw]
    cache.close()
