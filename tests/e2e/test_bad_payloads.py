"""Bad input from the page is dropped with a log line; the app keeps running; nothing is written.

Each payload goes the whole way a real one goes: dispatched as a `wacrm:event` DOM event from
the page's main world (with the page's real token), relayed by the isolated-world script over
QWebChannel, validated in Python.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymongo
import pytest
from helpers import CRM_EMAIL, CRM_TOKEN, build_app, close_app, run_js
from pytestqt.qtbot import QtBot

from wacrm_desktop.app import WacrmApp
from wacrm_desktop.simulators.cvcrm import CvCrmSimulator
from wacrm_desktop.simulators.whatsapp import WhatsAppSimulator
from wacrm_desktop.ui.profile_tab import ProfileTab

CHAT = "5511990010009@c.us"


def good_message(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "false_5511990010009@c.us_3EB0BADBAD0001",
        "chat_id": CHAT,
        "from_me": False,
        "type": "chat",
        "t": 1764790000,
        "body": "ok",
        "is_new": True,
    }
    data.update(overrides)
    return data


@pytest.fixture
def running(
    qtbot: QtBot, tmp_path: Path, mongo_uri: str, mongo_db_name: str
) -> Iterator[tuple[WacrmApp, ProfileTab]]:
    with WhatsAppSimulator() as wa, CvCrmSimulator(email=CRM_EMAIL, token=CRM_TOKEN) as crm:
        data_dir = tmp_path / "data"
        data_dir.mkdir()
        app = build_app(
            data_dir,
            profiles=("Ana",),
            whatsapp_url=wa.url,
            crm_url=crm.url,
            mongo_uri=mongo_uri,
            db_name=mongo_db_name,
            redis_url=None,
        )
        window = app.start()
        window.show()
        (tab,) = window.profile_tabs()
        qtbot.waitUntil(lambda: tab.state == "qr", timeout=20_000)
        yield app, tab
        close_app(qtbot, app)


def dispatch(qtbot: QtBot, tab: ProfileTab, detail: str) -> None:
    """Fire a wacrm:event from WhatsApp's world, as a buggy or hostile script could."""
    code = "document.dispatchEvent(new CustomEvent('wacrm:event', {detail: %s})); 1"
    run_js(qtbot, tab, code.replace("%s", json.dumps(detail)))


def envelope(token: str, kind: str, data: Any) -> str:
    return json.dumps({"v": 1, "token": token, "kind": kind, "data": data})


CASES = {
    "malformed": lambda t: '{"v": 1, "token": "' + t + '", "kind": "message", "data": {',
    "oversized": lambda t: envelope(t, "message", good_message(body="x" * 300_000)),
    "wrong_types": lambda t: envelope(t, "message", good_message(t="ontem", from_me="sim")),
    "unknown_kind": lambda t: envelope(t, "teleport", good_message()),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_payload_dropped_logged_nothing_written(
    case: str,
    running: tuple[WacrmApp, ProfileTab],
    qtbot: QtBot,
    caplog: pytest.LogCaptureFixture,
    mongo_uri: str,
    mongo_db_name: str,
) -> None:
    app, tab = running
    bridge = tab.page.bridge
    rejected = bridge.rejected
    caplog.set_level(logging.WARNING, logger="wacrm.bridge")
    dispatch(qtbot, tab, CASES[case](bridge.token))
    qtbot.waitUntil(lambda: bridge.rejected == rejected + 1, timeout=10_000)
    assert any(
        r.name == "wacrm.bridge" and "payload dropped" in r.getMessage() for r in caplog.records
    )
    # Nothing reached the journal or MongoDB.
    assert app.history is not None
    assert app.history.status().pending == 0
    assert app.history.flush(5)
    client: pymongo.MongoClient = pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=5000)
    try:
        assert client[mongo_db_name]["messages"].count_documents({"chat_id": CHAT}) == 0
    finally:
        client.close()
    # The app still runs: the page answers and a good payload still goes through.
    assert run_js(qtbot, tab, "1 + 1") == 2
    accepted = bridge.accepted
    dispatch(qtbot, tab, envelope(bridge.token, "message", good_message()))
    qtbot.waitUntil(lambda: bridge.accepted == accepted + 1, timeout=10_000)
    assert app.history.flush(10)
    client = pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=5000)
    try:
        assert client[mongo_db_name]["messages"].count_documents({"chat_id": CHAT}) == 1
    finally:
        client.close()


def test_body_over_64k_is_stored_truncated_and_flagged(
    running: tuple[WacrmApp, ProfileTab], qtbot: QtBot, mongo_uri: str, mongo_db_name: str
) -> None:
    app, tab = running
    bridge = tab.page.bridge
    accepted = bridge.accepted
    dispatch(qtbot, tab, envelope(bridge.token, "message", good_message(body="y" * 100_000)))
    qtbot.waitUntil(lambda: bridge.accepted == accepted + 1, timeout=10_000)
    assert app.history is not None and app.history.flush(10)
    client: pymongo.MongoClient = pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=5000)
    try:
        doc = client[mongo_db_name]["messages"].find_one({"chat_id": CHAT})
    finally:
        client.close()
    assert doc is not None
    assert doc["truncated"] is True
    assert len(doc["body"]) == 64 * 1024
