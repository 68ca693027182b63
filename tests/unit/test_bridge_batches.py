"""`BridgeObject.receiveBatch`: the relay's batched delivery (one page task → one call).

Each envelope of a batch is validated on its own (a bad one is dropped, the rest kept, in
order); a batch that is not a JSON list of at most MAX_BATCH_ENVELOPES strings is dropped
whole; `deliveryDone` follows the events of every call, so the tab can journal them in one
transaction before the call returns (checked here with the real journal).
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
from wacrm_desktop.core.events import HISTORY_EVENTS, AckEvent, BridgeEvent, StateEvent
from wacrm_desktop.services.history import HistoryService
from wacrm_desktop.web.bridge import MAX_BATCH_CHARS, MAX_BATCH_ENVELOPES, BridgeObject

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TOKEN = "cd" * 16
PROFILE = "batchprofile"


def ack(i: int, token: str = TOKEN) -> str:
    data = {"id": f"true_5511990010001@c.us_3EB0{i:08X}", "ack": 2}
    return json.dumps({"v": 1, "token": token, "kind": "ack", "data": data})


def state(value: str = "connected") -> str:
    return json.dumps({"v": 1, "token": TOKEN, "kind": "state", "data": {"state": value}})


class Wired:
    """A bridge wired like ui/profile_tab.py: history events gathered, journalled per delivery."""

    def __init__(self, journal_dir: Path) -> None:
        self.history = HistoryService(_no_store, MemoryCache("batches"), journal_dir)
        self.bridge = BridgeObject(token=TOKEN)
        self.events: list[BridgeEvent] = []
        self.deliveries: list[int] = []  # journal rows present at each deliveryDone
        self._buffer: list[Any] = []
        self.bridge.eventReceived.connect(self._on_event)
        self.bridge.deliveryDone.connect(self._on_done)

    def _on_event(self, event: BridgeEvent) -> None:
        self.events.append(event)
        if isinstance(event, HISTORY_EVENTS):
            self._buffer.append(event)

    def _on_done(self) -> None:
        batch, self._buffer = self._buffer, []
        if batch:
            self.history.record_many(PROFILE, batch)
        self.deliveries.append(self.rows())

    def rows(self) -> int:
        return self.history.journal_for(PROFILE).pending_count()


def _no_store() -> Any:
    raise RuntimeError("no MongoDB here (the writer is never started)")


@pytest.fixture
def wired(qapp: object, tmp_path: Path) -> Any:
    w = Wired(tmp_path / "journal")
    yield w
    w.history.stop(timeout=1)


def test_batch_keeps_order_drops_only_the_bad_envelopes(wired: Wired) -> None:
    batch = [ack(1), "{not json", ack(2, token="wrong"), state(), ack(3), 42]
    taken = wired.bridge.receiveBatch(json.dumps(batch))
    assert taken == 3
    assert wired.bridge.rejected == 3
    assert [type(e) for e in wired.events] == [AckEvent, StateEvent, AckEvent]
    assert [e.id for e in wired.events if isinstance(e, AckEvent)] == [
        "true_5511990010001@c.us_3EB000000001",
        "true_5511990010001@c.us_3EB000000003",
    ]
    # journalled before receiveBatch returned, in one delivery
    assert wired.deliveries == [2]


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("{broken", "batch is not JSON"),
        (json.dumps({"a": 1}), "batch is not a list"),
        (json.dumps([ack(i) for i in range(MAX_BATCH_ENVELOPES + 1)]), "more than"),
        ("[" + " " * (MAX_BATCH_CHARS + 1) + "]", "larger than"),
    ],
)
def test_malformed_batch_is_dropped_whole_with_a_reason(
    wired: Wired, raw: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    reasons: list[str] = []
    wired.bridge.payloadRejected.connect(reasons.append)
    assert wired.bridge.receiveBatch(raw) == 0
    assert wired.events == []
    assert wired.rows() == 0
    assert len(reasons) == 1 and reason in reasons[0]
    assert reason in caplog.text


def test_single_receive_is_a_delivery_of_one(wired: Wired) -> None:
    wired.bridge.receive(ack(7))
    wired.bridge.receive("junk")
    assert wired.deliveries == [1, 1]


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(0, 120))
def test_batch_fuzz_every_valid_envelope_journalled_once(
    qapp: object, tmp_path_factory: pytest.TempPathFactory, seed: int, size: int
) -> None:
    w = Wired(tmp_path_factory.mktemp("fuzzbatch"))
    try:
        rng = random.Random(seed)
        batch: list[object] = []
        valid = 0
        for i in range(size):
            pick = rng.random()
            if pick < 0.5:
                batch.append(ack(i))
                valid += 1
            elif pick < 0.6:
                batch.append(ack(i, token=""))
            elif pick < 0.7:
                batch.append(rng.choice([None, 1, [], {}, "", "[]", "{}"]))
            else:
                raw = ack(i)
                cut = rng.randrange(len(raw))
                junk = rng.choice(['"', "}", "\\", "\ud800", ""])
                batch.append(raw[:cut] + junk + raw[cut + 1 :])
        taken = w.bridge.receiveBatch(json.dumps(batch))
        journalled = w.rows()
        history_events = sum(isinstance(e, HISTORY_EVENTS) for e in w.events)
        assert taken == len(w.events) >= valid
        assert journalled == history_events
        assert w.deliveries == [journalled]
    finally:
        w.history.stop(timeout=1)
