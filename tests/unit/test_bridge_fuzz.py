"""Fuzz of the bridge receiver: 10,000 generated payloads through `BridgeObject.receive`, wired
to the real `HistoryService` with a real SQLite journal. Zero crashes; invalid payloads write
nothing; every accepted history event writes exactly one journal entry.

Payloads are built cheaply: hypothesis draws a seed, a mutation and small values per example,
and each example sends a batch of 50 payloads (200 examples × 50 = 10,000).
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wacrm_desktop.adapters.cache import MemoryCache
from wacrm_desktop.core.events import HISTORY_EVENTS, BridgeEvent
from wacrm_desktop.services.history import HistoryService
from wacrm_desktop.web.bridge import BridgeObject

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TOKEN = "ab" * 16
PROFILE = "fuzzprofile"
BATCH = 50
EXAMPLES = 200

VALID: dict[str, dict[str, Any]] = {
    "message": {
        "id": "false_5511990010001@c.us_3EB0AAAA",
        "chat_id": "5511990010001@c.us",
        "from_me": False,
        "type": "chat",
        "t": 1764790000,
        "body": "oi",
    },
    "ack": {"id": "true_5511990010001@c.us_3EB0BBBB", "ack": 2},
    "edit": {"id": "false_5511990010001@c.us_3EB0AAAA", "body": "novo", "edited_at_ms": 1},
    "revoke": {"id": "false_5511990010001@c.us_3EB0AAAA", "by_admin": False},
    "reaction": {
        "id": "false_5511990010001@c.us_3EB0AAAA",
        "sender": "5511990010001@c.us",
        "emoji": "👍",
        "t_ms": 1764790000000,
    },
    "lid_phone": {"lid": "204617782394561@lid", "phone": "5511990010005"},
    "state": {"state": "connected"},
    "active_chat": {"chat_id": None},
}

JUNK_VALUES: list[Any] = [
    None, True, -1, 2**70, 1.5, "", "x" * 300, [], {}, [1, "a"], {"a": {"b": []}}, "\ud800",
    "5511@lid", "false_x_y", "a b@c.us", float("nan"),
]  # fmt: skip


def _envelope(kind: str, data: Any, token: str = TOKEN, v: Any = 1) -> str:
    return json.dumps({"v": v, "token": token, "kind": kind, "data": data})


def invalid_payload(rng: random.Random) -> str:
    """A payload that breaks at least one schema rule (so it must never be journalled)."""
    kind = rng.choice(list(VALID))
    data = dict(VALID[kind])
    field = rng.choice(sorted(data)) if data else "x"
    choice = rng.randrange(12)
    if choice == 0:
        return _envelope(kind, data, token=rng.choice(["", "00" * 16, TOKEN[:-1] + "c"]))
    if choice == 1:
        return _envelope(kind, data, v=rng.choice([0, 2, "1", None]))
    if choice == 2:
        return _envelope(rng.choice(["messages", "", "MESSAGE", "eval"]), data)
    if choice == 3:
        return _envelope(kind, rng.choice([None, [], "data", 7]))
    if choice == 4:
        data["unexpected_" + str(rng.randrange(100))] = 1
        return _envelope(kind, data)
    if choice == 5:
        return _envelope(kind, data)[: rng.randrange(1, 40)]  # truncated JSON
    if choice == 6:
        return rng.choice(["", "null", "[]", "42", '"x"', "{", "\x00", "nan"])
    if choice == 7:
        return "{" + '"a":' * 5 + '"' + "x" * (256 * 1024) + '"}'  # oversize
    if kind == "message" and choice == 8:
        data["t"] = rng.choice([-5, "1764790000", True, 2**51, 1.5])  # ms up to 2**50 are read as s
        return _envelope(kind, data)
    if kind == "message" and choice == 9:
        data["media"] = rng.choice([{"evil": 1}, {"size": -1}, {"mimetype": 3}, "jpeg"])
        return _envelope(kind, data)
    if kind == "edit" and choice == 10:
        data.pop("body")
        return _envelope(kind, data)
    # a required or typed field replaced by something the schema refuses
    bad = {
        "id": ["", "not-an-id", "true_x@c.us_" + "A" * 300, 5],
        "chat_id": ["5511", "x@evil.com", 1],
        "from_me": ["false", 0, None],
        "type": ["Chat!", "", None, 1],
        "ack": [7, -2, "2", None],
        "edited_at_ms": [-1, "1", None],
        "by_admin": ["yes", 1],
        "sender": ["me", None, "1@g.us x"],
        "emoji": ["x" * 33, None, 1],
        "t_ms": [None, -1, "1"],
        "lid": ["5511990010005@c.us", None],
        "phone": ["+5511990010005", "12", None],
        "state": ["online", None],
        "chat_id_active": [],
        "body": [1, [], {}],
    }.get(field, [["x"]])
    if not bad or kind == "active_chat":
        return _envelope(kind, data, token="")
    data[field] = rng.choice(bad)
    return _envelope(kind, data)


def random_payload(rng: random.Random) -> str:
    """Anything: a valid envelope with random values swapped in, or a junk structure."""
    kind = rng.choice(list(VALID) + ["health", "log", "command_result"])
    data = dict(VALID.get(kind, {}))
    for _ in range(rng.randrange(3)):
        key = rng.choice(sorted(data) + ["body", "caption", "media", "poll", "location"])
        data[key] = rng.choice(JUNK_VALUES)
    try:
        return _envelope(kind, data, token=rng.choice([TOKEN, TOKEN, ""]))
    except ValueError:
        return "junk"


@pytest.fixture(scope="module")
def wired(tmp_path_factory: pytest.TempPathFactory) -> Any:
    journal_dir: Path = tmp_path_factory.mktemp("fuzz_journal")

    def no_store() -> Any:
        raise RuntimeError("no MongoDB in the fuzz test (the writer is never started)")

    history = HistoryService(no_store, MemoryCache("fuzz"), journal_dir)
    bridge = BridgeObject(token=TOKEN)
    recorded: list[BridgeEvent] = []

    def on_event(event: BridgeEvent) -> None:
        if isinstance(event, HISTORY_EVENTS):
            history.record(PROFILE, event)  # type: ignore[arg-type]
            recorded.append(event)

    bridge.eventReceived.connect(on_event)
    yield bridge, history, recorded
    history.stop(timeout=1)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), mix=st.integers(0, 3))
def test_receiver_fuzz(qapp: object, wired: Any, seed: int, mix: int) -> None:
    bridge, history, recorded = wired
    journal = history.journal_for(PROFILE)
    rng = random.Random(seed)
    for i in range(BATCH):
        payload = invalid_payload(rng) if (i + mix) % 2 == 0 else random_payload(rng)
        before_rows = journal.pending_count()
        before_events = len(recorded)
        before_rejected = bridge.rejected
        bridge.receive(payload)  # never raises
        wrote = journal.pending_count() - before_rows
        if (i + mix) % 2 == 0:
            assert bridge.rejected == before_rejected + 1, payload[:200]
            assert wrote == 0, payload[:200]
        else:
            assert wrote == len(recorded) - before_events
