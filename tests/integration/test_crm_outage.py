"""CV CRM down or refusing the credentials: background lead prefetch backs off, the user does not.

The defect: with CV CRM unreachable, the paced prefetch retried the first visible chat's phone
every time the panel polled the chat list (2.5 s), forever, with one WARNING per attempt.
Kinds covered here: unreachable (closed port, a server dropping connections, timeouts) and
refused credentials (401), each against the real client over HTTP (a closed port or the CV CRM
simulator); timing on a fake clock, so nothing sleeps.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

import pytest
from servers import free_port

from wacrm_desktop.adapters.cache import MemoryCache
from wacrm_desktop.adapters.cvcrm import CvCrmClient
from wacrm_desktop.services.crm_backoff import CrmBackoff
from wacrm_desktop.services.crm_prefetch import LeadPrefetcher
from wacrm_desktop.services.leads import LeadService
from wacrm_desktop.simulators.cvcrm import DEFAULT_EMAIL, DEFAULT_TOKEN, CvCrmSimulator

EMAIL, TOKEN = DEFAULT_EMAIL, DEFAULT_TOKEN  # the `server` fixture's (conftest.py)
MARIANA = "5511990010001"
CARLOS = "5511990010002"
JOANA = "5521990010003"
VISIBLE = ["+" + MARIANA, CARLOS + "@c.us", "+" + JOANA]
POLL_S = 2.5  # the panel asks for the visible chat rows this often


class FakeClock:
    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class CountingClient:
    """The real client, with a record of (time, telefone) of every search that reached it."""

    def __init__(self, client: CvCrmClient, clock: FakeClock) -> None:
        self.client = client
        self.clock = clock
        self.searches: list[tuple[float, str | None]] = []

    def search_leads(self, telefone: str | None = None, **kwargs: Any) -> list[dict[str, Any]]:
        self.searches.append((self.clock.now, telefone))
        return self.client.search_leads(telefone=telefone, **kwargs)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _client(url: str, clock: FakeClock, token: str = TOKEN, timeout: float = 2.0) -> CvCrmClient:
    return CvCrmClient(
        url, EMAIL, token, timeout=timeout, min_interval=0, clock=clock, sleep=clock.sleep
    )


def _service(crm: Any, clock: FakeClock) -> LeadService:
    return LeadService(
        lambda: crm,
        MemoryCache("wacrm:test"),
        key_prefix="lead:",
        clock=clock,
        backoff=CrmBackoff(clock=clock),
    )


def _prefetcher(service: LeadService, clock: FakeClock) -> LeadPrefetcher:
    return LeadPrefetcher(service, interval=0.4, clock=clock, sleep=clock.sleep)


def _drive(
    prefetcher: LeadPrefetcher, clock: FakeClock, phones: Sequence[str], seconds: float
) -> None:
    """`seconds` of the app: the panel's poll every 2.5 s, the worker doing what is due."""
    end = clock.now + seconds
    next_poll = clock.now
    while clock.now < end:
        if clock.now >= next_poll:
            prefetcher.request(phones)
            next_poll += POLL_S
        delay = prefetcher.step()
        if delay == 0:
            continue
        wake = next_poll if delay is None else min(next_poll, clock.now + delay)
        clock.now = min(max(wake, clock.now), end)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("wacrm")
    ]


# --------------------------------------------------------------------------- backoff itself


def test_backoff_doubles_from_5_s_to_5_min_and_a_success_or_reset_ends_it() -> None:
    clock = FakeClock()
    backoff = CrmBackoff(clock=clock)
    assert backoff.remaining() == 0 and backoff.kind is None
    delays = [backoff.failed("unreachable") for _ in range(9)]
    assert delays == [5, 10, 20, 40, 80, 160, 300, 300, 300]
    assert backoff.remaining() == 300 and backoff.kind == "unreachable"
    clock.now += 120
    assert backoff.remaining() == 180
    backoff.succeeded()
    assert backoff.remaining() == 0 and backoff.kind is None and backoff.failures == 0
    assert backoff.failed("credentials") == 5  # starts over after a success
    backoff.reset()
    assert backoff.remaining() == 0 and backoff.failed("unreachable") == 5


def test_backoff_honours_a_longer_retry_after() -> None:
    clock = FakeClock()
    backoff = CrmBackoff(clock=clock)
    assert backoff.failed("unavailable", retry_after=120) == 120
    assert backoff.failed("unavailable", retry_after=1) == 10
    assert backoff.failed("unavailable", retry_after=3600) == 300  # capped too


# --------------------------------------------------------------------------- prefetch


def test_unreachable_crm_is_probed_with_backoff_rotating_phones(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    crm = CountingClient(_client(f"http://127.0.0.1:{free_port()}", clock), clock)
    prefetcher = _prefetcher(_service(crm, clock), clock)
    start = clock.now

    _drive(prefetcher, clock, VISIBLE, 60)

    times = [round(t - start, 1) for t, _ in crm.searches]
    assert times == [0, 5, 15, 35]  # was 26 attempts in 60 s, the same phone each time
    fragments = [fragment for _, fragment in crm.searches]
    assert fragments == ["90010001", "90010002", "90010003", "90010001"]  # each chat in turn

    _drive(prefetcher, clock, VISIBLE, 3600 - 60)
    gaps = [b - a for (a, _), (b, _) in zip(crm.searches, crm.searches[1:], strict=False)]
    assert max(gaps) == pytest.approx(300) and len(crm.searches) <= 20  # was ~1,400 an hour
    warnings = _warnings(caplog)
    assert len(warnings) == 1 and "unreachable" in warnings[0], warnings


def test_credentials_refused_back_off_the_same_way(
    sim: CvCrmSimulator, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    crm = CountingClient(_client(sim.url, clock, token="wrong"), clock)
    prefetcher = _prefetcher(_service(crm, clock), clock)

    _drive(prefetcher, clock, VISIBLE, 60)

    assert len(crm.searches) == 4
    assert len(sim.requests_log) == 4
    warnings = _warnings(caplog)
    assert len(warnings) == 1 and "credentials" in warnings[0], warnings


def test_explicit_lookup_goes_at_once_and_its_success_resumes_prefetch(
    sim: CvCrmSimulator, clock: FakeClock
) -> None:
    crm = CountingClient(_client(sim.url, clock), clock)
    service = _service(crm, clock)
    prefetcher = _prefetcher(service, clock)
    sim.set_offline(True)  # connections dropped without an answer
    _drive(prefetcher, clock, VISIBLE, 20)
    assert len(crm.searches) == 3 and service.backoff.remaining() > 0

    sim.set_offline(False)
    opened = service.lookup(JOANA)  # the user opens a chat: no waiting for the backoff
    assert opened.status == "found" and len(crm.searches) == 4
    assert service.backoff.remaining() == 0

    prefetcher.request(VISIBLE)
    while (delay := prefetcher.step()) is not None:
        assert delay <= 0.4  # the normal pace again
        clock.now += delay
    assert {fragment for _, fragment in crm.searches[4:]} == {"90010001", "90010002"}
    assert all(service.is_fresh(phone) for phone in VISIBLE)


def test_refresh_during_backoff_calls_crm_and_serves_the_stale_card(
    sim: CvCrmSimulator, clock: FakeClock
) -> None:
    crm = CountingClient(_client(sim.url, clock), clock)
    service = _service(crm, clock)
    assert service.lookup(MARIANA).status == "found"
    sim.set_offline(True)
    clock.now += 3600  # the card is stale now
    first = service.lookup(MARIANA, force_refresh=True)
    second = service.lookup(MARIANA, force_refresh=True)  # ⟳ again, during the backoff
    assert len(crm.searches) == 3
    assert first.stale and second.stale and second.lead is not None


def test_settings_change_ends_the_backoff(sim: CvCrmSimulator, clock: FakeClock) -> None:
    crm = CountingClient(_client(sim.url, clock, token="wrong"), clock)
    service = _service(crm, clock)
    prefetcher = _prefetcher(service, clock)
    _drive(prefetcher, clock, VISIBLE, 1)
    assert len(crm.searches) == 1 and service.backoff.remaining() > 0

    crm.client = _client(sim.url, clock)  # the right token now
    service.crm_settings_changed()
    assert service.backoff.remaining() == 0
    prefetcher.request(VISIBLE)
    assert prefetcher.step() == 0 and len(crm.searches) == 2


def test_a_new_client_from_the_factory_ends_the_backoff(
    sim: CvCrmSimulator, clock: FakeClock
) -> None:
    current = {"client": _client(sim.url, clock, token="wrong")}
    service = LeadService(
        lambda: current["client"],
        MemoryCache("wacrm:test"),
        clock=clock,
        backoff=CrmBackoff(clock=clock),
    )
    assert service.lookup(MARIANA).status == "auth_error"
    assert service.backoff.remaining() == 5
    current["client"] = _client(sim.url, clock)  # settings saved elsewhere: a new client
    assert service.lookup(CARLOS).status == "found"
    assert service.backoff.remaining() == 0 and service.backoff.failures == 0


# --------------------------------------------------------------------------- client log


def test_client_logs_unreachable_once_per_state_change(
    sim: CvCrmSimulator, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="wacrm.crm")
    client = _client(sim.url, clock)
    sim.set_offline(True)
    for _ in range(5):
        with pytest.raises(Exception, match="conectar"):
            client.search_leads(telefone="90010001")
    sim.set_offline(False)
    client.search_leads(telefone="90010001")
    client.search_leads(telefone="90010002")
    sim.set_offline(True)
    with pytest.raises(Exception, match="conectar"):
        client.search_leads(telefone="90010001")

    crm = [r for r in caplog.records if r.name == "wacrm.crm"]
    warnings = [r.getMessage() for r in crm if r.levelno >= logging.WARNING]
    assert len(warnings) == 2 and all("unreachable" in w for w in warnings), warnings
    infos = [r.getMessage() for r in crm if r.levelno == logging.INFO]
    assert len(infos) == 1 and "again" in infos[0] and "5 failed" in infos[0], infos
    assert sum(r.levelno == logging.DEBUG and "still" in r.getMessage() for r in crm) == 4


def test_client_summarises_a_long_outage_every_30_min(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="wacrm.crm")
    client = _client(f"http://127.0.0.1:{free_port()}", clock)
    for _ in range(13):  # one probe every 5 min for an hour
        with pytest.raises(Exception, match="conectar"):
            client.search_leads(telefone="90010001")
        clock.now += 300
    lines = [r.getMessage() for r in caplog.records if r.name == "wacrm.crm"]
    assert len(lines) == 3, lines  # the change, then a summary at 30 min and at 60 min
    assert re.search(r"still unreachable: 7 failed calls in 30 min", lines[1]), lines


def test_client_logs_timeouts_once_too(
    sim: CvCrmSimulator, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="wacrm.crm")
    client = _client(sim.url, clock, timeout=0.2)
    sim.set_latency(1.0)
    for _ in range(3):
        with pytest.raises(Exception, match="indisponível"):
            client.search_leads(telefone="90010001")
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.name == "wacrm.crm" and r.levelno >= logging.WARNING
    ]
    assert len(warnings) == 1 and "timeout" in warnings[0], warnings
