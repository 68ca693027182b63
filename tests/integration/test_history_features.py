"""History features on real servers: pre-load, cache updates on edits/revokes, team view,
search, export, retention, profiles, schema migration."""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymongo
import pytest

from wacrm_desktop.adapters.cache import MemoryCache, RedisCache
from wacrm_desktop.adapters.mongo import SCHEMA_VERSION, MongoHistoryStore
from wacrm_desktop.core.events import EditEvent, MessageEvent, ReactionEvent, RevokeEvent
from wacrm_desktop.core.ports import SearchQuery
from wacrm_desktop.services.history import HistoryService, recent_key, recent_state_key
from wacrm_desktop.services.history_export import csv_row

pytestmark = pytest.mark.servers

T0 = 1_700_000_000


def msg(
    i: int, chat: str, *, body: str | None = None, t: int | None = None, name: str = "Mariana"
) -> MessageEvent:
    return MessageEvent(
        id=f"false_{chat}_3EB0{i:08X}",
        chat_id=chat,
        from_me=i % 2 == 0,
        type="chat",
        t=t if t is not None else T0 + i,
        body=body if body is not None else f"mensagem {i}",
        chat_name=name,
        notify_name=name,
    )


class Factory:
    def __init__(self, uri: str, db: str) -> None:
        self.uri, self.db = uri, db

    def __call__(self) -> MongoHistoryStore:
        return MongoHistoryStore(self.uri, self.db, alias=f"f_{uuid.uuid4().hex[:8]}").connect()


@pytest.fixture
def raw_db(mongo_uri: str, mongo_db_name: str) -> Iterator[pymongo.database.Database]:
    client: pymongo.MongoClient = pymongo.MongoClient(mongo_uri)
    yield client[mongo_db_name]
    client.close()


@pytest.fixture
def service(mongo_uri: str, mongo_db_name: str, tmp_path: Path) -> Iterator[HistoryService]:
    svc = HistoryService(
        Factory(mongo_uri, mongo_db_name),
        MemoryCache(f"wacrm:{mongo_db_name}"),
        tmp_path / "journal",
        retry_backoff=(0.05,),
    )
    svc.start()
    yield svc
    svc.stop()


def test_preload_then_edits_revokes_reactions_update_the_cache(
    mongo_uri: str, mongo_db_name: str, redis_url: str, tmp_path: Path
) -> None:
    cache = RedisCache(redis_url, f"wacrm:{mongo_db_name}")
    svc = HistoryService(Factory(mongo_uri, mongo_db_name), cache, tmp_path / "j")
    svc.start()
    try:
        chats = [f"55119000000{k:02d}@c.us" for k in range(5)]
        svc.record_many(
            "p1", [msg(i, c, t=T0 + 10 * k + i) for k, c in enumerate(chats) for i in range(3)]
        )
        assert svc.flush(20)
        assert svc.preload("p1", chats=3) == 3
        # The three newest chats are cached and trusted; the others are not.
        for chat in chats[2:]:
            assert cache.get_json(recent_state_key("p1", chat)) == "complete"
            assert len(cache.recent_messages(recent_key("p1", chat), 10)) == 3
        assert cache.get_json(recent_state_key("p1", chats[0])) is None

        target = msg(1, chats[4], t=T0 + 41)
        svc.record("p1", EditEvent(id=target.id, body="editada", caption=None, edited_at_ms=5))
        svc.record("p1", RevokeEvent(id=msg(2, chats[4]).id, revoked_at=T0 + 60))
        svc.record("p1", ReactionEvent(id=target.id, sender="1@lid", emoji="👍", t_ms=1))
        assert svc.flush(20)
        cached = {m["id"]: m for m in cache.recent_messages(recent_key("p1", chats[4]), 10)}
        assert cached[target.id]["body"] == "editada"
        assert cached[target.id]["edits"] == [{"at_ms": 0, "body": "mensagem 1"}]
        assert cached[target.id]["reactions"][0]["emoji"] == "👍"
        assert cached[msg(2, chats[4]).id]["revoked"] is True
        assert cached[msg(2, chats[4]).id]["body"] == "mensagem 2"  # the original stays
        assert "words" not in cached[target.id]
        # Reads come from the cache and equal the store.
        assert svc.recent_messages("p1", chats[4], 10) == list(cached.values())
    finally:
        svc.stop()
        cache.close()


def test_team_view_search_and_export(
    service: HistoryService, raw_db: pymongo.database.Database, tmp_path: Path
) -> None:
    ana_chat = "5511987654321@c.us"  # Ana talks to the number with the ninth digit
    bruno_chat = "551187654321@c.us"  # Bruno's WhatsApp spells it without
    service.record_many(
        "ana", [msg(i, ana_chat, body=f"proposta apartamento {i}") for i in range(3)]
    )
    service.record_many(
        "bruno", [msg(10 + i, bruno_chat, body=f"visita amanhã {i}") for i in range(2)]
    )
    service.record("bruno", msg(20, "5521911112222@c.us", body="outro cliente", name="Zeca"))
    service.record(
        "ana", EditEvent(id=msg(0, ana_chat).id, body="proposta nova", caption=None, edited_at_ms=9)
    )
    assert service.flush(20)

    timeline = service.contact_timeline("ana", ana_chat)
    assert [m["profile_id"] for m in timeline] == ["ana"] * 3 + ["bruno"] * 2
    assert timeline[0]["body"] == "proposta nova" and timeline[0]["edits"][0]["body"].startswith(
        "proposta apartamento"
    )
    assert len(service.contact_timeline("ana", ana_chat, before_t=T0 + 2, limit=10)) == 2

    def search(text: str, **kw: Any) -> list[str]:
        return [m["id"] for m in service.search(SearchQuery(text=text, **kw))]

    assert len(search("Amanha")) == 2  # accents and case ignored
    assert len(search("apartamento")) == 3  # also finds the text before the edit
    assert search("apartamento", profile_id="bruno") == []
    assert search("cliente zeca") == [msg(20, "5521911112222@c.us").id]  # body + contact name
    assert len(search("87654321")) == 5  # a phone fragment finds both spellings' chats
    assert len(search("mariana", chat_id=bruno_chat)) == 2
    assert len(search("mariana", since_t=T0 + 2, until_t=T0 + 11)) == 2  # t = T0+2, T0+10
    assert search("") == []

    out_json = tmp_path / "out" / "conversa.json"
    out_csv = tmp_path / "out" / "conversa.csv"
    assert service.export_chat("ana", ana_chat, out_json) == 5
    assert service.export_chat("ana", ana_chat, out_csv, fmt="csv") == 5
    data = json.loads(out_json.read_text(encoding="utf-8"))
    assert len(data["messages"]) == 5 and data["messages"][0]["edits"]
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8-sig")))
    assert rows[0]["texto"] == "proposta nova" and rows[0]["editada"] == "sim"
    assert rows[0]["texto_cortado"] == "não" and rows[0]["apagada"] == "não"
    cut = csv_row({"id": "x", "t": 1, "body": "a" * 10, "truncated": True, "revoked": True})
    assert cut["texto_cortado"] == "sim" and cut["apagada"] == "sim"
    assert {r["perfil"] for r in rows} == {"ana", "bruno"}


def test_retention_deletes_old_messages_and_their_cached_lists(
    mongo_uri: str, mongo_db_name: str, raw_db: pymongo.database.Database, tmp_path: Path
) -> None:
    cache = MemoryCache("wacrm:ret")
    now = float(T0 + 100 * 86400)
    svc = HistoryService(
        Factory(mongo_uri, mongo_db_name),
        cache,
        tmp_path / "j",
        retention_days=30,
        retention_interval=0.0,
        clock=lambda: now,
    )
    chat = "5511911110000@c.us"
    svc.record_many("p", [msg(1, chat, t=T0), msg(2, chat, t=int(now) - 86400)])
    svc.start()
    try:
        assert svc.flush(20)
        svc.recent_messages("p", chat, 10)
        assert svc.apply_retention() in (0, 1)  # the writer may have run it already
        assert [d["t"] for d in raw_db.messages.find()] == [int(now) - 86400]
        # The cached list never serves a deleted message: either retention dropped the list
        # (re-seeded on the next read) or the writer's own retention ran before the read above
        # seeded it, from a store that no longer had the message.
        kept = [int(now) - 86400]
        state = cache.get_json(recent_state_key("p", chat))
        cached = cache.recent_messages(recent_key("p", chat), 10)
        assert state is None or [m["t"] for m in cached] == kept
        assert [m["t"] for m in svc.recent_messages("p", chat, 10)] == kept
    finally:
        svc.stop()


def test_profiles_documents_and_schema_migration_from_v1(
    mongo_uri: str, mongo_db_name: str, raw_db: pymongo.database.Database, service: HistoryService
) -> None:
    service.register_profile("ana", "Ana Souza")
    assert service.flush(20)
    profile = raw_db.profiles.find_one({"_id": "ana"})
    assert profile is not None and profile["name"] == "Ana Souza" and profile["last_seen_at"]

    # A v1 database (first release): no meta, old-shaped documents.
    v1 = raw_db.client[mongo_db_name + "_v1"]
    try:
        v1.messages.insert_one(
            {"_id": "p/false_5511922223333@c.us_X", "profile_id": "p",
             "wa_id": "false_5511922223333@c.us_X", "chat_id": "5511922223333@c.us",
             "t": T0, "body": "Olá, tudo bem?", "ack": 2, "schema_version": 1}
        )  # fmt: skip
        v1.chats.insert_one(
            {"_id": "p/5511922223333@c.us", "profile_id": "p", "chat_id": "5511922223333@c.us",
             "name": "Joana", "last_t": T0}
        )  # fmt: skip
        with MongoHistoryStore(mongo_uri, mongo_db_name + "_v1", alias="mig") as store:
            assert store.schema_version() == SCHEMA_VERSION
        doc = v1.messages.find_one()
        assert doc is not None and doc["schema_version"] == SCHEMA_VERSION
        assert doc["words"] == ["ola", "tudo", "bem"] and doc["phone"] == "5511922223333"
        assert doc["edits"] == [] and doc["revoked"] is False and doc["body"] == "Olá, tudo bem?"
        chat = v1.chats.find_one()
        assert chat is not None and chat["phone"] == "5511922223333" and chat["rev"] == 1
        assert v1.meta.find_one({"_id": "schema"})["version"] == SCHEMA_VERSION  # type: ignore[index]
    finally:
        raw_db.client.drop_database(mongo_db_name + "_v1")
