"""A chat that WhatsApp moved from the phone number to the LID between two page loads: every
message stays one stored document (issue 5 "nothing twice"; whatsapp-web-bridge.md §3.2).

Through real QtWebEngine: the simulator's `migrateToLid` keys the chat and its messages by the
contact's LID from the next load on (same raw ids), so the new document's bridge — which
remembers nothing of the first — sends them again under the LID id. The store must recognise
them, and acks and edits addressed to the LID id must reach the stored message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from bridge_env import BridgeEnv, bridge_env
from PySide6.QtCore import QUrl
from pytestqt.qtbot import QtBot

LUCAS_PN = "5511990010004@c.us"  # seed "lucas"


@pytest.fixture(scope="module")
def env(
    qapp: object, mongo_uri: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BridgeEnv]:
    yield from bridge_env(tmp_path_factory.mktemp("pn_lid"), mongo_uri, ("Ana",))


def test_chat_migrated_to_lid_between_page_loads(qtbot: QtBot, env: BridgeEnv) -> None:
    tab = env.tabs["Ana"]
    profile_id = tab.profile.id
    # First session: the chat is addressed by phone number.
    incoming = env.sim(qtbot, "Ana", "receive('lucas', 'Oi, ainda tem unidade no térreo?')")
    ours = env.sim(qtbot, "Ana", "sendFromPhone('lucas', 'Tem sim, duas.')")
    assert incoming.startswith(f"false_{LUCAS_PN}_") and ours.startswith(f"true_{LUCAS_PN}_")
    env.wait_message(qtbot, incoming)
    env.wait_message(qtbot, ours)

    # WhatsApp moves the chat to Lucas' LID; the page is loaded again (a new document).
    lid = env.sim(qtbot, "Ana", "migrateToLid('lucas')")
    assert lid.endswith("@lid")
    tab.page.load(QUrl(env.wa.url))
    qtbot.waitUntil(lambda: tab.state != "connected", timeout=15_000)
    qtbot.waitUntil(lambda: tab.state == "connected" and env.synced(qtbot, "Ana"), timeout=30_000)
    loaded = env.sim(qtbot, "Ana", "messages('lucas')")
    raw_in, raw_out = incoming.split("_")[2], ours.split("_")[2]
    lid_in, lid_out = f"false_{lid}_{raw_in}", f"true_{lid}_{raw_out}"
    assert {m["id"] for m in loaded} >= {lid_in, lid_out}  # the same messages, LID-keyed

    # Opening the chat backfills its loaded messages: now under the LID ids.
    env.sim(qtbot, "Ana", "openChat('lucas')")
    qtbot.waitUntil(
        lambda: any(
            getattr(e, "id", None) == lid_in and getattr(e, "chat_phone", None)
            for e in env.events["Ana"]
        ),
        timeout=15_000,
    )
    doc = env.wait_message(qtbot, incoming, lambda d: lid_in in d.get("aliases", []))
    assert doc["chat_id"] == LUCAS_PN and doc["alias_chats"] == [lid]
    env.wait_message(qtbot, ours, lambda d: lid_out in d.get("aliases", []))

    # Events addressed to the LID ids land on the stored messages.
    env.sim(qtbot, "Ana", f"setAck({json.dumps(lid_out)}, 3)")
    env.sim(qtbot, "Ana", f"editMessage({json.dumps(lid_in)}, 'Ainda tem unidade no 1º andar?')")
    env.wait_message(qtbot, ours, lambda d: d.get("ack") == 3)
    doc = env.wait_message(qtbot, incoming, lambda d: d.get("body", "").endswith("1º andar?"))
    assert [e["body"] for e in doc["edits"]] == ["Oi, ainda tem unidade no térreo?"]

    # Nothing twice: no document under a LID id of these messages, and the LID chat's history
    # (what the side panel shows for the open chat) lists each message once.
    env.flush()
    assert env.db["messages"].count_documents({"wa_id": {"$in": [lid_in, lid_out]}}) == 0
    assert env.app.history is not None
    shown = [m["id"] for m in env.app.history.recent_messages(profile_id, lid, 50)]
    assert shown.count(incoming) == 1 and shown.count(ours) == 1
    assert lid_in not in shown and lid_out not in shown
    lid_chat = env.db["chats"].find_one({"_id": f"{profile_id}/{lid}"})
    assert lid_chat is not None and lid_chat.get("phone") == LUCAS_PN.split("@")[0]
    # Also the seeded history WhatsApp loaded in both sessions: one document per raw id.
    raws = [
        d["wa_id"].split("_")[2]
        for d in env.db["messages"].find(
            {"profile_id": profile_id, "chat_id": {"$in": [LUCAS_PN, lid]}}
        )
    ]
    assert len(raws) == len(set(raws)) >= 2
