"""The side panel's saved history shows what the chat showed.

Through real QtWebEngine, the injected bridge, the journal, SecantusDB and the side panel:
- a burst of eight messages that share one ``t`` (WhatsApp's whole seconds) and whose random ids
  sort in another order: the panel, the stored timeline and the export follow WhatsApp's order;
- a message deleted for everyone, an edited one and one over 64 KiB are marked as such (the
  text a contact deleted never reads as a plain message).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from bridge_env import BridgeEnv, bridge_env
from helpers import run_js
from PySide6.QtWidgets import QListWidgetItem
from pytestqt.qtbot import QtBot

LUCAS_PN = "5511990010004@c.us"  # seed "lucas"
TEXTS = ["Oi", "tudo bem?", "vi o anúncio", "do residencial", "ainda tem",
         "unidade de 2 quartos", "com varanda?", "obrigado!"]  # fmt: skip


@pytest.fixture(scope="module")
def env(
    qapp: object, mongo_uri: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BridgeEnv]:
    yield from bridge_env(tmp_path_factory.mktemp("burst"), mongo_uri, ("Ana",))


def test_a_burst_in_one_second_keeps_whatsapps_order(
    qtbot: QtBot, env: BridgeEnv, tmp_path: Path
) -> None:
    tab = env.tabs["Ana"]
    env.sim(qtbot, "Ana", "openChat('lucas')")
    qtbot.waitUntil(lambda: tab.active_chat is not None, timeout=15_000)
    t = 1_765_000_000
    ids = json.loads(
        run_js(
            qtbot,
            tab,
            "JSON.stringify(" + json.dumps(TEXTS) + ".map(text => "
            f"window.__waSimControl.receive('lucas', text, {{t: {t}}})))",
        )
    )
    assert len(ids) == 8 and all(i.startswith(f"false_{LUCAS_PN}_") for i in ids)
    assert sorted(ids) != ids  # random raw ids: the id order is not the order written
    for wa_id in ids:
        env.wait_message(qtbot, wa_id)

    # The side panel's saved history (read again after the capture).
    def panel_texts() -> list[str]:
        rows = [tab.panel.history.item(i).text() for i in range(tab.panel.history.count())]
        return [r.split(": ", 1)[1] for r in rows if ": " in r and r.split(": ", 1)[1] in TEXTS]

    qtbot.waitUntil(lambda: len(panel_texts()) == 8, timeout=15_000)
    assert panel_texts() == TEXTS

    history = env.app.history
    assert history is not None
    recent = history.recent_messages(tab.profile.id, LUCAS_PN, 200)
    assert [m["body"] for m in recent if m["t"] == t] == TEXTS
    timeline = history.contact_timeline(tab.profile.id, LUCAS_PN, before_t=t + 1, limit=3)
    assert [m["body"] for m in timeline] == TEXTS  # a page keeps its whole second
    path = tmp_path / "chat.json"
    history.export_chat(tab.profile.id, LUCAS_PN, path)
    exported = json.loads(path.read_text(encoding="utf-8"))["messages"]
    assert [m["body"] for m in exported if m["t"] == t] == TEXTS


def test_deleted_edited_and_cut_messages_are_marked_in_the_panel(
    qtbot: QtBot, env: BridgeEnv
) -> None:
    tab = env.tabs["Ana"]
    env.sim(qtbot, "Ana", "openChat('lucas')")
    gone = env.sim(qtbot, "Ana", "receive('lucas', 'vou apagar isto')")
    edited = env.sim(qtbot, "Ana", "receive('lucas', 'texto original')")
    huge = env.sim(qtbot, "Ana", "receive('lucas', 'a'.repeat(70000) + 'fim')")
    env.wait_message(qtbot, gone)
    env.wait_message(qtbot, edited)
    env.wait_message(qtbot, huge, lambda d: d.get("truncated") is True)
    env.sim(qtbot, "Ana", f"revokeMessage({json.dumps(gone)})")
    env.sim(qtbot, "Ana", f"editMessage({json.dumps(edited)}, 'texto EDITADO')")
    env.wait_message(qtbot, gone, lambda d: d.get("revoked") is True)
    env.wait_message(qtbot, edited, lambda d: bool(d.get("edits")))

    def item(wa_id: str) -> QListWidgetItem | None:
        for i in range(tab.panel.history.count()):
            found = tab.panel.history.item(i)
            if found.data(0x0100) == wa_id:  # Qt.UserRole
                return found
        return None

    def shown() -> bool:
        a, b, c = item(gone), item(edited), item(huge)
        return bool(
            a and "apagada para todos" in a.text() and b and "editada" in b.text()
            and c and "cortada" in c.text()
        )  # fmt: skip

    qtbot.waitUntil(shown, timeout=15_000)
    a, b, c = item(gone), item(edited), item(huge)
    assert a is not None and b is not None and c is not None
    assert "vou apagar isto" in a.text() and "mantido no histórico" in a.toolTip()
    assert "texto EDITADO" in b.text() and "“texto original”" in b.toolTip()
    assert "64 KiB" in c.text() and "WhatsApp" in c.toolTip()
