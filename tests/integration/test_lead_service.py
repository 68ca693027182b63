"""services.leads.LeadService against the CV CRM simulator, with a dict cache (and MemoryCache)."""

from __future__ import annotations

import copy
import json
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from wacrm_desktop.adapters.cvcrm import LEADS_PATH, CrmNotConfigured, CvCrmClient
from wacrm_desktop.core.leads import Lead
from wacrm_desktop.core.ports import Cache
from wacrm_desktop.services.leads import LeadService
from wacrm_desktop.simulators.cvcrm import DEFAULT_EMAIL, DEFAULT_TOKEN, CvCrmSimulator, load_seed

EMAIL, TOKEN = DEFAULT_EMAIL, DEFAULT_TOKEN  # the `server` fixture's (conftest.py)
PREFIX = "wacrm:test:lead:"
T0 = 1_780_000_000.0


class FakeClock:
    """Wall clock for the service and sleep for the client; moves only when told."""

    def __init__(self) -> None:
        self.now = T0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class DictCache:
    """In-test `core.ports.Cache`: a dict, TTLs recorded (not enforced), JSON round trip."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}
        self.ttls: dict[str, int | None] = {}
        self.recent: dict[str, list[dict[str, Any]]] = {}

    @property
    def available(self) -> bool:
        return True

    def get_json(self, key: str) -> Any | None:
        raw = self.data.get(key)
        return None if raw is None else json.loads(raw)

    def set_json(self, key: str, value: Any, ttl_seconds: int | None = None) -> None:
        self.data[key] = json.dumps(value)
        self.ttls[key] = ttl_seconds

    def delete(self, *keys: str) -> None:
        for key in keys:
            self.data.pop(key, None)

    def put_recent_messages(
        self, key: str, messages: Iterable[dict[str, Any]], limit: int, ttl_seconds: int | None
    ) -> None:
        merged = {m["id"]: m for m in [*self.recent.get(key, []), *messages]}
        self.recent[key] = sorted(merged.values(), key=lambda m: (m["t"], m["id"]))[-limit:]

    def recent_messages(self, key: str, count: int) -> list[dict[str, Any]]:
        return self.recent.get(key, [])[-count:] if count > 0 else []


def _memory_cache() -> Cache:
    cache_mod = pytest.importorskip("wacrm_desktop.adapters.cache")
    return cache_mod.MemoryCache("wacrm:test")  # type: ignore[no-any-return]


CACHE_FACTORIES: dict[str, Callable[[], Cache]] = {"dict": DictCache, "memory": _memory_cache}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=sorted(CACHE_FACTORIES))
def cache(request: pytest.FixtureRequest) -> Cache:
    return CACHE_FACTORIES[request.param]()


def _client(url: str, clock: FakeClock, token: str = TOKEN) -> CvCrmClient:
    return CvCrmClient(url, EMAIL, token, timeout=2, min_interval=0, sleep=clock.sleep)


@pytest.fixture
def client(sim: CvCrmSimulator, clock: FakeClock) -> CvCrmClient:
    return _client(sim.url, clock)


@pytest.fixture
def service(client: CvCrmClient, cache: Cache, clock: FakeClock) -> LeadService:
    return LeadService(lambda: client, cache, ttl_seconds=600, key_prefix=PREFIX, clock=clock)


def _crm_calls(sim: CvCrmSimulator) -> int:
    return sum(1 for _, path, _ in sim.requests_log if path == LEADS_PATH)


def _ids(leads: Iterable[Lead]) -> list[int]:
    return [lead.id for lead in leads]


# --------------------------------------------------------------------------- matching


def test_ninth_digit_missing_on_whatsapp(service: LeadService) -> None:
    # seed: Carlos is on WhatsApp as 551190010002, CV CRM stores +5511990010002
    result = service.lookup("551190010002@c.us", None)
    assert result.status == "found" and _ids(result.leads) == [1002]
    assert result.suffix_only is True
    assert "nono dígito" in result.message
    assert result.phone == "551190010002"
    assert not result.from_cache and not result.stale and result.fetched_at == T0


def test_ninth_digit_missing_in_crm(service: LeadService, client: CvCrmClient) -> None:
    reply = client.post_lead({"nome": "Sem Nono", "telefone": "+551190020002"})
    result = service.lookup("5511990020002", None)
    assert result.status == "found" and _ids(result.leads) == [reply["id"]]
    assert result.suffix_only is True


def test_exact_number(service: LeadService) -> None:
    result = service.lookup("5511990010001", None)
    assert result.status == "found" and _ids(result.leads) == [1001]
    assert result.suffix_only is False
    assert result.lead is not None and result.lead.name == "Mariana Souza"
    assert result.message == "Lead encontrado no CV CRM."


@pytest.mark.parametrize("typed", ["(11) 99001-0001", "+55 (11) 99001-0001", "11990010001"])
def test_masked_and_no_country_code(service: LeadService, typed: str) -> None:
    result = service.lookup(typed, None)
    assert result.status == "found" and _ids(result.leads) == [1001]
    assert result.phone == "5511990010001"


def test_suffix_collision_with_other_ddd_is_rejected(
    service: LeadService, sim: CvCrmSimulator
) -> None:
    # seed: 1003 (+5521990010003) and 1004 (+5511990010003) share the last 9 digits
    joana = service.lookup("5521990010003@c.us", None)
    assert joana.status == "found" and _ids(joana.leads) == [1003]
    assert sim.requests_log[-1][2]["telefone"] == "90010003"  # the CRM returned both
    other = service.lookup("5511990010003", None)
    assert _ids(other.leads) == [1004]


@pytest.mark.parametrize(
    ("stored", "suffix_only"),
    [
        ("(11) 3333-4444 / (11) 99001-0077", False),  # two numbers in one field
        ("11 3333-4444 ou 11 99001-0077", False),
        ("Cel: (11) 99001-0077 Fixo: (11) 3333-4444", False),
        ("(11) 99001-0077 ramal 2", False),
        ("(0xx11) 99001-0077", False),
        ("0055 11 99001-0077", False),
        ("11.99001.0077", False),
        (" +55 (11) 99001-0077 ", False),
        ("(11) 9001-0077", True),  # stored without the ninth digit
    ],
)
def test_odd_stored_phone_forms_are_matched(
    service: LeadService, sim: CvCrmSimulator, stored: str, suffix_only: bool
) -> None:
    sim.put_lead({"idlead": 1077, "nome": "Odd Form", "telefone": stored})
    result = service.lookup("5511990010077@c.us", None)
    assert result.status == "found" and _ids(result.leads) == [1077]
    assert result.suffix_only is suffix_only


def test_a_landline_is_never_the_lead_of_a_mobile_chat(
    service: LeadService, sim: CvCrmSimulator
) -> None:
    # Same DDD and last 8 digits, but (11) 3333-4444 is a landline: 9 3333-4444 is
    # another line, so showing this card would show a stranger's lead.
    sim.put_lead({"idlead": 1078, "nome": "Escritório", "telefone": "+551133334444"})
    assert service.lookup("5511933334444@c.us", None).status == "not_found"
    assert _ids(service.lookup("551133334444@c.us", None).leads) == [1078]


class _RowsClient:
    """A client whose search answers fixed rows (shapes the simulator does not produce)."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def search_leads(self, telefone: str | None = None, **_: Any) -> list[dict[str, Any]]:
        def digits(value: Any) -> str:
            return "".join(c for c in str(value or "") if c.isdigit())

        return [
            r
            for r in self.rows
            if telefone and any(telefone in digits(r.get(k)) for k in ("telefone", "celular"))
        ]


def test_the_celular_field_is_matched_too(cache: Cache, clock: FakeClock) -> None:
    # [UNCERTAIN] notes §5: `celular` was never seen on a lead; if a tenant sends it, a
    # landline in `telefone` must not hide the WhatsApp mobile in `celular`.
    rows = [{"idlead": 7, "telefone": "(11) 3333-4444", "celular": "(11) 99001-0088"}]
    client = _RowsClient(rows)
    service = LeadService(lambda: client, cache, key_prefix=PREFIX, clock=clock)
    result = service.lookup("5511990010088@c.us", None)
    assert result.status == "found" and _ids(result.leads) == [7]
    assert result.suffix_only is False
    assert result.lead is not None and result.lead.phone == "(11) 3333-4444"
    # from the cache as well (the card keeps every number)
    again = service.lookup("5511990010088", None)
    assert again.from_cache and _ids(again.leads) == [7] and again.suffix_only is False


def test_two_candidates_latest_conversion_first(cache: Cache, clock: FakeClock) -> None:
    seed = load_seed()
    extra = copy.deepcopy(next(lead for lead in seed["leads"] if lead["idlead"] == 1001))
    extra.update(
        idlead=1099,
        nome="Mariana S. (segundo cadastro)",
        email="mari.2@example.com",
        ultima_data_conversao="2026-12-01 08:00:00",
    )
    seed["leads"].append(extra)
    with CvCrmSimulator(EMAIL, TOKEN, seed=seed) as sim:
        client = _client(sim.url, clock)
        service = LeadService(lambda: client, cache, key_prefix=PREFIX, clock=clock)
        result = service.lookup("5511990010001@c.us", None)
        assert result.status == "several" and _ids(result.leads) == [1099, 1001]
        assert result.message.startswith("2 leads")
        # An exact e-mail wins (served from the cache: same phone, no new CRM call).
        chosen = service.lookup("5511990010001", None, email="Mariana.Souza@example.com")
        assert chosen.status == "found" and _ids(chosen.leads) == [1001]
        assert chosen.from_cache
        # An unknown e-mail does not hide the phone matches.
        assert service.lookup("5511990010001", None, email="x@y.z").status == "several"
        assert _crm_calls(sim) == 1


# --------------------------------------------------------------------------- cache


def test_fresh_cache_hit_then_expiry(
    service: LeadService, sim: CvCrmSimulator, clock: FakeClock
) -> None:
    first = service.lookup("5511990010001", None)
    clock.now += 599
    second = service.lookup("5511990010001@c.us", None)
    assert second.from_cache and not second.stale
    assert second.leads == first.leads and second.fetched_at == T0
    assert _crm_calls(sim) == 1
    clock.now += 2  # past ttl_seconds
    third = service.lookup("5511990010001", None)
    assert not third.from_cache and third.fetched_at == T0 + 601
    assert _crm_calls(sim) == 2


def test_cache_keys_and_ttls(client: CvCrmClient, clock: FakeClock, sim: CvCrmSimulator) -> None:
    cache = DictCache()
    service = LeadService(lambda: client, cache, ttl_seconds=600, clock=clock)
    service.lookup("5511990010001", None)
    service.lookup("5511990010004", None)  # seed: Lucas has no lead
    assert set(cache.data) == {"wacrm:lead:5511990010001", "wacrm:lead:5511990010004"}
    assert cache.ttls["wacrm:lead:5511990010004"] == 60
    ttl_found = cache.ttls["wacrm:lead:5511990010001"]
    assert ttl_found is not None and ttl_found > 600  # kept for stale-while-revalidate


def test_not_found_is_cached_briefly(
    service: LeadService, sim: CvCrmSimulator, clock: FakeClock
) -> None:
    result = service.lookup("5511990010004@c.us", None)  # seed: Lucas (sem lead)
    assert result.status == "not_found" and result.leads == ()
    assert result.message == "Nenhum lead com este telefone no CV CRM."
    clock.now += 59
    assert service.lookup("5511990010004", None).from_cache
    assert _crm_calls(sim) == 1
    clock.now += 2
    assert not service.lookup("5511990010004", None).from_cache
    assert _crm_calls(sim) == 2


def test_redis_configured_but_down_still_caches_cards_and_not_found(
    client: CvCrmClient, sim: CvCrmSimulator, clock: FakeClock
) -> None:
    """A real RedisCache on a port nothing listens on: found cards and "not found" answers
    stay in the process's memory, so switching chats does not ask CV CRM each time."""
    from wacrm_desktop.adapters.cache import RedisCache
    from wacrm_desktop.core.ports import Cache as CachePort

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down: CachePort = RedisCache(f"redis://127.0.0.1:{port}/0", "wacrm:down", socket_timeout=0.2)
    service = LeadService(lambda: client, down, ttl_seconds=600, key_prefix=PREFIX, clock=clock)
    for _ in range(3):
        assert service.lookup("5511990010001@c.us", None).status == "found"  # seed: Mariana
        assert service.lookup("5511990010004@c.us", None).status == "not_found"  # Lucas
        clock.now += 10
    assert not down.available
    assert _crm_calls(sim) == 2
    clock.now += 60  # "not found" lives 60 s, a card 10 min
    service.lookup("5511990010001@c.us", None)
    service.lookup("5511990010004@c.us", None)
    assert _crm_calls(sim) == 3


def test_force_refresh_and_invalidate(service: LeadService, sim: CvCrmSimulator) -> None:
    service.lookup("5511990010001", None)
    assert not service.lookup("5511990010001", None, force_refresh=True).from_cache
    service.invalidate("(11) 99001-0001")
    assert not service.lookup("5511990010001", None).from_cache
    assert _crm_calls(sim) == 3


def test_garbage_in_cache_is_a_miss(client: CvCrmClient, clock: FakeClock) -> None:
    cache = DictCache()
    cache.set_json(PREFIX + "5511990010001", {"v": 1, "leads": "nope"})
    service = LeadService(lambda: client, cache, key_prefix=PREFIX, clock=clock)
    result = service.lookup("5511990010001", None)
    assert result.status == "found" and not result.from_cache


def test_same_phone_from_many_threads_makes_one_call(
    service: LeadService, sim: CvCrmSimulator
) -> None:
    sim.set_latency(0.05)
    results: list[str] = []

    def worker() -> None:
        results.append(service.lookup("5511990010001", None).status)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert results == ["found"] * 6
    assert _crm_calls(sim) == 1


# --------------------------------------------------------------------------- failures


def test_unreachable_crm_serves_stale_card(
    service: LeadService, sim: CvCrmSimulator, clock: FakeClock
) -> None:
    service.lookup("551190010002@c.us", None)
    clock.now += 3600
    sim.set_offline(True)
    result = service.lookup("551190010002@c.us", None)
    assert result.status == "found" and _ids(result.leads) == [1002]
    assert result.stale and result.from_cache and result.suffix_only
    assert result.fetched_at == T0
    assert "indisponível" in result.message and "desatualizados" in result.message


def test_stale_card_survives_a_new_service_from_the_shared_cache(
    client: CvCrmClient, cache: Cache, sim: CvCrmSimulator, clock: FakeClock
) -> None:
    LeadService(lambda: client, cache, key_prefix=PREFIX, clock=clock).lookup("5511990010001", None)
    clock.now += 3600
    sim.fail_next(503, count=10)  # 5xx after the retries: unavailable
    fresh_process = LeadService(lambda: client, cache, key_prefix=PREFIX, clock=clock)
    result = fresh_process.lookup("5511990010001", None)
    assert result.status == "found" and result.stale
    assert clock.sleeps == [2.0, 4.0, 8.0]  # the client's backoff, on the fake clock


def test_stale_card_from_memory_when_the_cache_lost_it(
    client: CvCrmClient, sim: CvCrmSimulator, clock: FakeClock
) -> None:
    cache = DictCache()
    service = LeadService(lambda: client, cache, key_prefix=PREFIX, clock=clock)
    service.lookup("5511990010001", None)
    cache.data.clear()  # e.g. Redis flushed or down
    clock.now += 3600
    sim.set_offline(True)
    result = service.lookup("5511990010001", None)
    assert result.status == "found" and result.stale


def test_unreachable_crm_without_card(service: LeadService, sim: CvCrmSimulator) -> None:
    sim.set_offline(True)
    result = service.lookup("5511990010001", None)
    assert result.status == "unavailable" and result.leads == ()
    assert "conectar" in result.message


def test_unreachable_crm_does_not_replay_not_found(
    service: LeadService, sim: CvCrmSimulator, clock: FakeClock
) -> None:
    service.lookup("5511990010004", None)
    clock.now += 120
    sim.set_offline(True)
    assert service.lookup("5511990010004", None).status == "unavailable"


def test_429_is_retried_inside_a_lookup(
    service: LeadService, sim: CvCrmSimulator, clock: FakeClock
) -> None:
    sim.fail_next(429, count=2, retry_after=1)
    assert service.lookup("5511990010001", None).status == "found"
    assert clock.sleeps == [1, 1]


def test_wrong_token_is_auth_error(cache: Cache, sim: CvCrmSimulator, clock: FakeClock) -> None:
    bad = _client(sim.url, clock, token="wrong")
    result = LeadService(lambda: bad, cache, key_prefix=PREFIX, clock=clock).lookup(
        "5511990010001", None
    )
    assert result.status == "auth_error" and result.leads == ()
    assert "token" in result.message


def test_405_is_auth_error(service: LeadService, sim: CvCrmSimulator) -> None:
    sim.fail_next(405)
    result = service.lookup("5511990010001", None)
    assert result.status == "auth_error" and "interface" in result.message


def test_bad_response_is_error(service: LeadService, sim: CvCrmSimulator) -> None:
    sim.fail_next(200, body="<html>manutenção</html>")
    assert service.lookup("5511990010001", None).status == "error"


def test_not_configured(cache: Cache, clock: FakeClock) -> None:
    assert LeadService(lambda: None, cache, clock=clock).lookup("5511990010001", None).status == (
        "not_configured"
    )

    def unconfigured() -> CvCrmClient:
        return CvCrmClient("", "", "")

    result = LeadService(unconfigured, cache, clock=clock).lookup("5511990010001", None)
    assert result.status == "not_configured"
    assert result.message == CrmNotConfigured.default_message


def test_unexpected_client_error_is_contained(cache: Cache, clock: FakeClock) -> None:
    class Broken:
        def search_leads(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
            raise RuntimeError("boom")

    result = LeadService(lambda: Broken(), cache, clock=clock).lookup("5511990010001", None)
    assert result.status == "error"


# --------------------------------------------------------------------------- no phone


@pytest.mark.parametrize("phone", [None, ""])
def test_no_phone_uses_the_reason(service: LeadService, phone: str | None) -> None:
    result = service.lookup(phone, "Contato sem número (@lid)")
    assert result.status == "no_phone" and result.message == "Contato sem número (@lid)"


@pytest.mark.parametrize("phone", ["204617782394561@lid", "120363041122334455@g.us", "abc"])
def test_non_phone_ids_never_reach_the_crm(
    service: LeadService, sim: CvCrmSimulator, phone: str
) -> None:
    result = service.lookup(phone, None)
    assert result.status == "no_phone" and result.message
    assert sim.requests_log == []
