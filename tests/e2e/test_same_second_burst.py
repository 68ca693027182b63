"""A contact's burst of messages within one second shows in the order it was written.

Through real QtWebEngine, the injected bridge, the journal, SecantusDB and the side panel: the
simulator delivers eight messages that share one ``t`` (WhatsApp's whole seconds) and whose
random ids sort in another order; the panel, the stored timeline and the export must all follow
WhatsApp's order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from bridge_env import BridgeEnv, bridge_env
from helpers import run_js
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
