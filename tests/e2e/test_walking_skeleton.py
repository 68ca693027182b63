"""The user's story of the walking skeleton, on real QtWebEngine, MongoDB (wire) and Redis.

Ana adds her profile, scans the QR, opens a chat, sees the lead; messages reach MongoDB once
each and Redis holds the chat's recent messages; after a restart she is still logged in; Bruno's
tab has its own storage and never sees Ana's session.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pymongo
import pytest
import redis
from helpers import (
    APPLICATION_WORLD,
    CRM_EMAIL,
    CRM_TOKEN,
    build_app,
    close_app,
    run_js,
    sim,
    sim_json,
)
from pytestqt.qtbot import QtBot

from wacrm_desktop.core.events import MessageEvent
from wacrm_desktop.simulators.cvcrm import CvCrmSimulator
from wacrm_desktop.simulators.whatsapp import WhatsAppSimulator
from wacrm_desktop.ui.profile_tab import ProfileTab

MARIANA = "5511990010001@c.us"


@pytest.fixture
def wa_sim() -> Iterator[WhatsAppSimulator]:
    with WhatsAppSimulator() as server:
        yield server


@pytest.fixture
def crm_sim() -> Iterator[CvCrmSimulator]:
    with CvCrmSimulator(email=CRM_EMAIL, token=CRM_TOKEN) as server:
        yield server


def wait_state(qtbot: QtBot, tab: ProfileTab, state: str, timeout: int = 20_000) -> None:
    qtbot.waitUntil(lambda: tab.state == state, timeout=timeout)


def message_docs(mongo_uri: str, db: str, **query: object) -> list[dict]:
    client: pymongo.MongoClient = pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=5000)
    try:
        return list(client[db]["messages"].find(query))
    finally:
        client.close()


def test_two_salespeople_end_to_end(
    qtbot: QtBot,
    tmp_path: Path,
    wa_sim: WhatsAppSimulator,
    crm_sim: CvCrmSimulator,
    mongo_uri: str,
    mongo_db_name: str,
    redis_url: str,
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    common = dict(
        whatsapp_url=wa_sim.url,
        crm_url=crm_sim.url,
        mongo_uri=mongo_uri,
        db_name=mongo_db_name,
        redis_url=redis_url,
    )

    # --- first run: Ana and Bruno, each in a tab --------------------------------------------
    app = build_app(data_dir, profiles=("Ana", "Bruno"), **common)
    window = app.start()
    window.show()
    tabs = window.profile_tabs()
    assert [t.profile.name for t in tabs] == ["Ana", "Bruno"]
    ana, bruno = tabs
    assert ana.web_profile.persistentStoragePath() != bruno.web_profile.persistentStoragePath()
    assert not ana.web_profile.isOffTheRecord()

    wait_state(qtbot, ana, "qr")
    wait_state(qtbot, bruno, "qr")
    sim(qtbot, ana, "scanQr()")
    wait_state(qtbot, ana, "connected")
    ana_me = sim_json(qtbot, ana, "info()")["me"]
    assert ana_me and ana_me["pn"].endswith("@c.us")

    captured: list[MessageEvent] = []
    ana.page.bridge.eventReceived.connect(
        lambda e: captured.append(e) if isinstance(e, MessageEvent) else None
    )

    # She opens Mariana's chat: the panel shows the lead from the CV CRM simulator.
    sim(qtbot, ana, "openChat('mariana')")
    qtbot.waitUntil(lambda: ana.panel.f_situation.text() == "Em Atendimento", timeout=15_000)
    assert ana.panel.f_name.text() == "Mariana Souza"
    assert ana.panel.f_broker.text() == "Paulo Andrade"
    assert "Residencial Jardim das Flores" in ana.panel.f_development.text()

    # Older messages WhatsApp had loaded are backfilled; let that settle first.
    assert app.history is not None
    qtbot.waitUntil(lambda: app.history.flush(0.1), timeout=15_000)
    qtbot.wait(500)
    assert app.history.flush(10)
    before = len(message_docs(mongo_uri, mongo_db_name, chat_id=MARIANA))

    ids = [sim(qtbot, ana, f"receive('mariana', 'Oi, é a Mariana {i}')") for i in range(3)]
    ids += [sim(qtbot, ana, f"sendFromPhone('mariana', 'Resposta {i}')") for i in range(2)]
    ids = [json.loads(i) for i in ids]
    assert len(set(ids)) == 5
    qtbot.waitUntil(lambda: {e.id for e in captured} >= set(ids), timeout=15_000)
    assert app.history.flush(15)

    docs = message_docs(mongo_uri, mongo_db_name, chat_id=MARIANA)
    assert len(docs) == before + 5
    by_id = {d["wa_id"]: d for d in docs}
    assert sorted(by_id[i]["from_me"] for i in ids) == [False, False, False, True, True]
    assert by_id[ids[0]]["body"] == "Oi, é a Mariana 0"

    # The chat's recent messages are in the real Redis, under this database's namespace.
    r = redis.Redis.from_url(redis_url)
    keys = [k.decode() for k in r.scan_iter(f"wacrm:{mongo_db_name}:*")]
    assert keys, "nothing cached in Redis"
    recent = app.history.recent_messages(ana.profile.id, MARIANA, 50)
    assert set(ids) <= {m["id"] for m in recent}
    qtbot.waitUntil(lambda: ana.panel.history.count() >= 5, timeout=10_000)

    # The same 5 events delivered again (through the bridge's receive path) leave 5.
    token = ana.page.bridge.token
    again = [e for e in captured if e.id in ids]
    for event in again:
        data = {k: v for k, v in event.to_document().items() if k != "truncated"}
        ana.page.bridge.receive(
            json.dumps({"v": 1, "token": token, "kind": "message", "data": data})
        )
    assert app.history.flush(15)
    assert len(message_docs(mongo_uri, mongo_db_name, chat_id=MARIANA)) == before + 5

    # Bruno's tab never saw Ana's session or messages.
    assert sim_json(qtbot, bruno, "info()")["me"] is None
    assert not message_docs(mongo_uri, mongo_db_name, profile_id=bruno.profile.id)

    close_app(qtbot, app)

    # --- second run on the same data dir: tabs restored, Ana still logged in -------------------
    app2 = build_app(data_dir, **common)
    window2 = app2.start()
    window2.show()
    ana2, bruno2 = window2.profile_tabs()
    assert (ana2.profile.id, bruno2.profile.id) == (ana.profile.id, bruno.profile.id)
    wait_state(qtbot, ana2, "connected")
    assert sim_json(qtbot, ana2, "info()")["me"] == ana_me  # same linked device, no new QR
    wait_state(qtbot, bruno2, "qr")
    assert run_js(qtbot, bruno2, "localStorage.length") == 0
    close_app(qtbot, app2)


def test_main_world_cannot_reach_python(
    qtbot: QtBot,
    tmp_path: Path,
    wa_sim: WhatsAppSimulator,
    crm_sim: CvCrmSimulator,
    mongo_uri: str,
    mongo_db_name: str,
) -> None:
    app = build_app(
        tmp_path / "d",
        profiles=("Ana",),
        whatsapp_url=wa_sim.url,
        crm_url=crm_sim.url,
        mongo_uri=mongo_uri,
        db_name=mongo_db_name,
        redis_url=None,
    )
    (tmp_path / "d").mkdir(exist_ok=True)
    window = app.start()
    (tab,) = window.profile_tabs()
    wait_state(qtbot, tab, "qr")
    # WhatsApp's world has no `qt`, no QWebChannel, no bridge object...
    assert run_js(qtbot, tab, "typeof qt") == "undefined"
    assert run_js(qtbot, tab, "typeof QWebChannel") == "undefined"
    assert run_js(qtbot, tab, "typeof wacrmBridge") == "undefined"
    # ...while our isolated world has them.
    assert run_js(qtbot, tab, "typeof qt.webChannelTransport", APPLICATION_WORLD) == "object"
    # A page script forging an event without the page's token reaches nothing. (The token is a
    # guard against stray or foreign events, not a secret from WhatsApp's own scripts: it
    # travels in DOM events they could observe — see docs/architecture.md.)
    accepted = tab.page.bridge.accepted
    forged = {
        "v": 1,
        "token": "0" * 32,
        "kind": "message",
        "data": {
            "id": "false_5511990010001@c.us_FORGED1",
            "chat_id": MARIANA,
            "from_me": False,
            "type": "chat",
            "t": 1764790000,
            "body": "x",
        },
    }
    detail = json.dumps(json.dumps(forged))
    run_js(
        qtbot,
        tab,
        f"document.dispatchEvent(new CustomEvent('wacrm:event', {{detail: {detail}}})); 1",
    )
    qtbot.wait(500)
    assert tab.page.bridge.accepted == accepted
    assert app.history is not None and app.history.flush(5)
    assert not message_docs(mongo_uri, mongo_db_name, wa_id="false_5511990010001@c.us_FORGED1")
    close_app(qtbot, app)
