"""Lead panel services (catalog, actions, search, interactions, prefetch, choices, stale reads)
against the CV CRM simulator over real HTTP."""

from __future__ import annotations

import copy
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from wacrm_desktop.adapters.cache import MemoryCache
from wacrm_desktop.adapters.cvcrm import (
    CANCEL_REASONS_PATHS,
    DEFAULT_LEAD_URL_TEMPLATE,
    INTERACTIONS_PATH,
    LEADS_PATH,
    WORKFLOW_LEADS_PATH,
    CrmRejected,
    CrmRouteNotAllowed,
    CvCrmClient,
)
from wacrm_desktop.adapters.state_store import JsonStateStore
from wacrm_desktop.core.leads import Lead, Situation
from wacrm_desktop.services.crm_actions import LeadActions
from wacrm_desktop.services.crm_backoff import CrmBackoff
from wacrm_desktop.services.crm_catalog import CANCELLED_COLOR, START_COLOR, CrmCatalog
from wacrm_desktop.services.crm_choices import DEFAULT_SECTIONS, LeadChoices, PanelLayout
from wacrm_desktop.services.crm_prefetch import LeadPrefetcher
from wacrm_desktop.services.leads import LeadService
from wacrm_desktop.simulators.cvcrm import DEFAULT_EMAIL, DEFAULT_TOKEN, CvCrmSimulator, load_seed

EMAIL, TOKEN = DEFAULT_EMAIL, DEFAULT_TOKEN  # the `server` fixture's (conftest.py)
T0 = 1_780_000_000.0
MARIANA = "5511990010001"
LUCAS = "5511990010004"  # on WhatsApp, no lead in CV CRM


class FakeClock:
    def __init__(self) -> None:
        self.now = T0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client(sim: CvCrmSimulator, clock: FakeClock) -> CvCrmClient:
    return CvCrmClient(sim.url, EMAIL, TOKEN, timeout=2, min_interval=0, sleep=clock.sleep)


@pytest.fixture
def cache() -> MemoryCache:
    return MemoryCache("wacrm:test")


@pytest.fixture
def leads(client: CvCrmClient, cache: MemoryCache, clock: FakeClock) -> LeadService:
    return LeadService(lambda: client, cache, ttl_seconds=600, key_prefix="lead:", clock=clock)


@pytest.fixture
def actions(
    client: CvCrmClient, leads: LeadService, cache: MemoryCache, clock: FakeClock
) -> LeadActions:
    return LeadActions(lambda: client, leads, cache, clock=clock)


def _calls(sim: CvCrmSimulator, path: str, method: str = "GET") -> int:
    return sum(1 for m, p, _ in sim.requests_log if p == path and m == method)


def _lead(actions: LeadActions, idlead: int) -> Lead:
    lead = actions.get(idlead)
    assert lead is not None
    return lead


# --------------------------------------------------------------------------- cache: peek / SWR


def test_peek_miss_then_fresh_then_stale(
    leads: LeadService, sim: CvCrmSimulator, clock: FakeClock
) -> None:
    assert leads.peek(MARIANA) is None  # miss: nothing cached, no HTTP call
    assert _calls(sim, LEADS_PATH) == 0
    leads.lookup(MARIANA)
    hit = leads.peek(MARIANA)
    assert hit is not None and hit.from_cache and not hit.stale and hit.lead.id == 1001
    assert leads.is_fresh(MARIANA)
    clock.now += 601
    stale = leads.peek(MARIANA)
    assert stale is not None and stale.stale and stale.lead.id == 1001
    assert not leads.is_fresh(MARIANA)
    assert _calls(sim, LEADS_PATH) == 1  # peeking never calls CV CRM


def test_old_not_found_is_not_peeked(leads: LeadService, clock: FakeClock) -> None:
    assert leads.lookup(LUCAS).status == "not_found"
    assert leads.peek(LUCAS) is not None
    clock.now += 61  # not-found TTL
    assert leads.peek(LUCAS) is None


def test_replace_lead_refreshes_the_cached_card(
    leads: LeadService, actions: LeadActions, sim: CvCrmSimulator, clock: FakeClock
) -> None:
    leads.lookup(MARIANA)
    clock.now += 500
    lead = _lead(actions, 1001)
    renamed = Lead(**{**{f: getattr(lead, f) for f in lead.__slots__}, "score": 99})
    leads.replace_lead(MARIANA, renamed)
    found = leads.peek(MARIANA)
    assert found is not None and found.lead.score == 99 and found.fetched_at == clock.now


# --------------------------------------------------------------------------- catalog


def test_situations_fetched_once_and_coloured_from_the_catalog(
    client: CvCrmClient, cache: MemoryCache, sim: CvCrmSimulator, clock: FakeClock
) -> None:
    catalog = CrmCatalog(lambda: client, cache, clock=clock)
    assert catalog.cached_situations() == ()
    situations = catalog.situations()
    assert [s.name for s in situations][:3] == [
        "Novo Lead",
        "Aguardando Atendimento Corretor",
        "Em Atendimento",
    ]
    assert catalog.situations() == situations
    assert _calls(sim, WORKFLOW_LEADS_PATH) == 1  # second read from memory
    # the seed's tenant sends `cor`: it is used as-is
    assert catalog.color_for(3) == "#0275d8"
    # a fresh service reads the shared cache, not CV CRM
    again = CrmCatalog(lambda: client, cache, clock=clock)
    assert again.situations() == situations and _calls(sim, WORKFLOW_LEADS_PATH) == 1


def test_catalog_without_colours_uses_flags_and_position(
    cache: MemoryCache, clock: FakeClock
) -> None:
    seed = load_seed()
    for sit in seed["situacoes"]:
        sit.pop("cor", None)
        sit["idsituacao"] += 100  # ids are the tenant's, never assumed
    with CvCrmSimulator(EMAIL, TOKEN, seed=seed) as other:
        client = CvCrmClient(other.url, EMAIL, TOKEN, min_interval=0)
        catalog = CrmCatalog(lambda: client, cache, key_prefix="other:", clock=clock)
        items = catalog.situations()
    start = next(s for s in items if s.is_start)
    cancelled = next(s for s in items if s.is_cancelled)
    assert catalog.color_for(start.id) == START_COLOR
    assert catalog.color_for(cancelled.id) == CANCELLED_COLOR
    others = {catalog.color_for(s.id) for s in items if not (s.is_start or s.is_cancelled)}
    assert len(others) >= 5  # distinct colours by position
    assert catalog.color_for(999_999) == "#adb5bd"  # unknown situation: neutral grey


def test_catalog_failure_keeps_the_last_known_one(
    client: CvCrmClient, cache: MemoryCache, sim: CvCrmSimulator, clock: FakeClock
) -> None:
    catalog = CrmCatalog(lambda: client, cache, ttl_seconds=60, clock=clock)
    first = catalog.situations()
    clock.now += 61
    sim.fail_next(503, count=10, path_prefix=WORKFLOW_LEADS_PATH)
    assert catalog.situations() == first
    sim.reset()
    broken = CrmCatalog(lambda: client, MemoryCache("wacrm:empty"), clock=clock)
    sim.fail_next(401, path_prefix=WORKFLOW_LEADS_PATH)
    assert broken.situations() == ()


def test_cancel_reasons_from_either_route(
    client: CvCrmClient, cache: MemoryCache, sim: CvCrmSimulator, clock: FakeClock
) -> None:
    names = [r.name for r in CrmCatalog(lambda: client, cache, clock=clock).cancel_reasons()]
    assert "Sem interesse" in names
    sim.reasons_route = "cv"  # the tenant only has S1's route: the first answers 404
    reasons = client.cancel_reasons()
    assert [r["nome"] for r in reasons] == names
    assert [p for m, p, _ in sim.requests_log if "motivo" in p][-2:] == list(CANCEL_REASONS_PATHS)
    sim.reasons_route = "none"
    with pytest.raises(CrmRejected) as info:
        client.cancel_reasons()
    assert info.value.status == 404


def test_cancel_reasons_405_is_route_not_allowed(client: CvCrmClient, sim: CvCrmSimulator) -> None:
    sim.fail_next(405, count=2, path_prefix="/api/v1/")
    with pytest.raises(CrmRouteNotAllowed):
        client.cancel_reasons()


# --------------------------------------------------------------------------- writes


def test_create_lead_from_chat(
    leads: LeadService, actions: LeadActions, sim: CvCrmSimulator
) -> None:
    assert leads.lookup(LUCAS).status == "not_found"  # cached "not found"
    result = actions.create_lead(
        name="Lucas Pereira", phone="+" + LUCAS, origin="CH", media="whatsapp"
    )
    assert result.ok and result.error == ""
    assert result.message == "CV CRM: Lead cadastrado com sucesso"
    assert result.lead is not None and result.lead.name == "Lucas Pereira"
    assert result.lead.origin == "CH" and result.lead.media == "whatsapp"
    assert result.lead.situation_name == "Novo Lead"  # CV's "Início" situation
    # re-read after the write, and the panel's next lookup finds it without asking again
    assert any(q.get("idlead") == str(result.lead.id) for _, _, q in sim.requests_log)
    after = leads.lookup(LUCAS)
    assert after.status == "found" and after.lead.id == result.lead.id and after.from_cache


def test_create_existing_contact_answers_already_registered(actions: LeadActions) -> None:
    result = actions.create_lead(name="Mariana", phone="+" + MARIANA)
    assert result.ok and "Lead já cadastrado" in result.message
    assert (
        result.lead is not None and result.lead.id == 1001 and result.lead.name == "Mariana Souza"
    )


def test_create_requires_a_contact(actions: LeadActions, sim: CvCrmSimulator) -> None:
    assert actions.create_lead(name="X", phone=None).error == "rejected"
    assert actions.create_lead(name="X", phone="abc").error == "rejected"
    assert _calls(sim, LEADS_PATH, "POST") == 0


def test_change_situation_rereads_the_lead(
    leads: LeadService, actions: LeadActions, client: CvCrmClient, cache: MemoryCache
) -> None:
    leads.lookup(MARIANA)
    catalog = CrmCatalog(lambda: client, cache)
    target = next(s for s in catalog.situations() if s.name == "Lead Qualificado")
    result = actions.change_situation(_lead(actions, 1001), target, phone=MARIANA)
    assert result.ok and result.lead is not None
    assert result.lead.situation_id == target.id and result.message.startswith("CV CRM:")
    cached = leads.peek(MARIANA)
    assert cached is not None and cached.lead.situation_name == "Lead Qualificado"


def test_cancel_needs_a_reason_from_the_list(
    actions: LeadActions, client: CvCrmClient, cache: MemoryCache, sim: CvCrmSimulator
) -> None:
    catalog = CrmCatalog(lambda: client, cache)
    cancel = next(s for s in catalog.situations() if s.is_cancelled)
    lead = _lead(actions, 1001)
    refused = actions.change_situation(lead, cancel)
    assert not refused.ok and refused.error == "rejected" and "motivo" in refused.message
    assert _calls(sim, LEADS_PATH, "POST") == 0  # refused before calling CV CRM
    reason = catalog.cancel_reasons()[0].name
    done = actions.change_situation(lead, cancel, reason=reason, reason_text="não atende mais")
    assert done.ok and done.lead is not None and done.lead.situation_name == "Descartado"
    stored = next(x for x in sim.leads() if x["idlead"] == 1001)
    assert stored["motivo_cancelamento"] == {"nome": reason}


def test_sucesso_false_is_an_error_with_crm_message(
    actions: LeadActions, sim: CvCrmSimulator
) -> None:
    sim.reject_next_post("Lead bloqueado para edição")
    result = actions.add_note(_lead(actions, 1001), "ligar amanhã")
    assert not result.ok and result.error == "rejected"
    assert "Lead bloqueado para edição" in result.message
    assert sim.interactions_of(1001) == []


def test_add_note_and_read_interactions(actions: LeadActions, sim: CvCrmSimulator) -> None:
    assert actions.interactions(1001).items == ()  # 204: no interactions yet
    result = actions.add_note(_lead(actions, 1001), "Cliente pediu planta do 2 quartos")
    assert result.ok and result.message == "CV CRM: Lead alterado com sucesso"
    items = actions.interactions(1001).items  # the write dropped the cached list
    assert [(i.kind, i.kind_label, i.description) for i in items] == [
        ("A", "Anotação", "Cliente pediu planta do 2 quartos")
    ]
    # the edit resent the situation, so the lead did not move
    assert next(x for x in sim.leads() if x["idlead"] == 1001)["situacao"]["id"] == 3


def test_register_conversation_as_whatsapp_interaction(
    actions: LeadActions, sim: CvCrmSimulator
) -> None:
    messages = [
        {"id": "a", "t": 1_764_500_000, "from_me": False, "type": "chat", "body": "Oi, tem vaga?"},
        {"id": "b", "t": 1_764_500_060, "from_me": True, "type": "chat", "body": "Tem sim!"},
        {"id": "c", "t": 1_764_500_120, "from_me": False, "type": "image", "caption": "planta"},
    ]
    result = actions.register_conversation(
        _lead(actions, 1001), messages, contact_name="Mariana", me_label="Paulo"
    )
    assert result.ok
    [row] = sim.interactions_of(1001)
    assert row["tipo"] == "W"
    assert "Mariana: Oi, tem vaga?" in row["descricao"]
    assert "Paulo: Tem sim!" in row["descricao"]
    assert "[image] planta" in row["descricao"]
    assert actions.register_conversation(_lead(actions, 1001), []).error == "rejected"


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, "auth"), (403, "auth"), (405, "auth"), (503, "unavailable"), (404, "rejected")],
)
def test_write_http_errors(
    actions: LeadActions, sim: CvCrmSimulator, status: int, error: str
) -> None:
    lead = _lead(actions, 1001)
    sim.fail_next(status, path_prefix=LEADS_PATH)
    result = actions.add_note(lead, "x")
    assert not result.ok and result.error == error and result.message
    posts = _calls(sim, LEADS_PATH, "POST")
    assert posts == 1  # a write is never retried on 4xx/5xx (5xx: it may have been stored)


def test_write_timeout_is_unavailable(sim: CvCrmSimulator, cache: MemoryCache) -> None:
    slow = CvCrmClient(sim.url, EMAIL, TOKEN, timeout=0.2, min_interval=0)
    service = LeadService(lambda: slow, cache)
    acts = LeadActions(lambda: slow, service, cache)
    lead = Lead(id=1001, name="Mariana Souza", phone="+" + MARIANA, situation_id=3)
    sim.set_latency(0.5)
    result = acts.add_note(lead, "x")
    assert not result.ok and result.error == "unavailable"
    # The POST left; CV CRM may have stored the note after the client gave up.
    assert "pode ou não ter sido gravada" in result.message


def test_reread_failure_still_reports_the_accepted_write(
    actions: LeadActions, sim: CvCrmSimulator
) -> None:
    lead = _lead(actions, 1001)
    sim.fail_next(503, count=10, path_prefix=LEADS_PATH, method="GET")  # only the re-read
    result = actions.add_note(lead, "anotação")
    assert result.ok and result.lead is None
    assert "Lead alterado com sucesso" in result.message
    assert "não foi possível reler o lead" in result.message
    assert len(sim.interactions_of(1001)) == 1


def test_not_configured(leads: LeadService, cache: MemoryCache) -> None:
    acts = LeadActions(lambda: None, leads, cache)
    result = acts.add_note(Lead(id=1, name="x", phone="+5511990010001"), "x")
    assert not result.ok and result.error == "not_configured"
    assert acts.lead_url(1) is None


# --------------------------------------------------------------------------- reads


def test_manual_search_by_email_phone_and_name(actions: LeadActions) -> None:
    by_email = actions.search("carlos.lima@example.com")
    assert [x.id for x in by_email.leads] == [1002]
    by_phone = actions.search("(11) 99001-0005")
    assert [x.id for x in by_phone.leads] == [1005]
    by_name = actions.search("joana prado")  # accent/case-insensitive, re-checked locally
    assert sorted(x.id for x in by_name.leads) == [1003, 1004]
    assert "nome" in by_name.message  # says the name filter is not documented
    assert actions.search("ninguém assim").leads == ()
    assert actions.search("  ").message.startswith("Digite")


def test_manual_search_errors(actions: LeadActions, sim: CvCrmSimulator) -> None:
    sim.fail_next(401)
    result = actions.search("Mariana")
    assert result.error == "auth" and result.leads == ()


def test_interactions_cache_hit_miss_and_stale(
    actions: LeadActions, sim: CvCrmSimulator, clock: FakeClock
) -> None:
    actions.add_note(_lead(actions, 1001), "nota")
    first = actions.interactions(1001)
    second = actions.interactions(1001)
    assert second == first and _calls(sim, INTERACTIONS_PATH) == 1  # hit
    clock.now += 601
    sim.set_offline(True)
    stale = actions.interactions(1001)
    assert stale.stale and stale.items == first.items and stale.message  # stale + why
    sim.set_offline(False)
    assert not actions.interactions(1001, force_refresh=True).stale


@pytest.mark.parametrize("oldest_first", [False, True])
def test_latest_interactions_whatever_the_api_order(
    actions: LeadActions, client: CvCrmClient, sim: CvCrmSimulator, oldest_first: bool
) -> None:
    # The API's page order is not documented: with 25 interactions and 10 per page, the
    # newest 10 are on the first page or on the last one.
    sim.interactions_oldest_first = oldest_first
    notes = [{"tipo": "A", "descricao": f"nota {n:02d}"} for n in range(1, 26)]
    lead = _lead(actions, 1001)
    client.post_lead(
        {"idlead": 1001, "permitir_alteracao": True, "email": lead.email, "interacoes": notes}
    )
    items = actions.interactions(1001, force_refresh=True).items
    assert [i.description for i in items] == [f"nota {n:02d}" for n in range(25, 15, -1)]
    assert _calls(sim, INTERACTIONS_PATH) <= 3


def test_lead_web_url_template(client: CvCrmClient, actions: LeadActions) -> None:
    assert DEFAULT_LEAD_URL_TEMPLATE.endswith("/gestor/comercial/leads/{id}/administrar")
    assert actions.lead_url(1001) == f"{client.base_url}/gestor/comercial/leads/1001/administrar"
    custom = CvCrmClient(
        "https://x.cvcrm.com.br", EMAIL, TOKEN, lead_url_template="{base}/l/{id}/detalhes"
    )
    assert custom.lead_web_url(7) == "https://x.cvcrm.com.br/l/7/detalhes"


def test_write_bodies_resend_contact_name_and_situation(
    sim: CvCrmSimulator, client: CvCrmClient
) -> None:
    class Spy:
        body: dict[str, Any] = {}

    original = client.post_lead

    def spy(body: Any) -> dict[str, Any]:
        Spy.body = dict(body)
        return original(body)

    client.post_lead = spy  # type: ignore[method-assign]
    client.add_interaction(
        1001,
        email="mariana.souza@example.com",
        telefone="+5511990010001",
        nome="Mariana Souza",
        idsituacao=3,
        tipo="A",
        descricao="x",
    )
    body = Spy.body
    assert body["permitir_alteracao"] is True and body["idsituacao"] == 3
    assert body["nome"] == "Mariana Souza" and body["telefone"] == "+5511990010001"
    assert body["converter"] is False and body["reativar_lead"] is False
    assert body["interacoes"] == [{"tipo": "A", "descricao": "x"}]


# --------------------------------------------------------------------------- prefetch


def test_prefetch_is_paced_and_skips_fresh_cards(
    leads: LeadService, sim: CvCrmSimulator, clock: FakeClock
) -> None:
    done = threading.Event()
    seen: list[str] = []

    def on_result(result: Any) -> None:
        seen.append(result.phone)
        if len(seen) == 3:
            done.set()

    leads.lookup(MARIANA)  # already fresh: must be skipped without a call or a pause
    prefetcher = LeadPrefetcher(
        leads, interval=0.4, on_result=on_result, clock=clock, sleep=clock.sleep
    )
    prefetcher.request(
        ["+" + MARIANA, "551190010002@c.us", "(21) 99001-0003", "5511990010005", None, "x"]
    )
    prefetcher.start()
    try:
        assert done.wait(5)
    finally:
        prefetcher.stop()
    assert seen == ["551190010002", "5521990010003", "5511990010005"]
    assert prefetcher.stats.skipped_fresh == 1 and prefetcher.stats.fetched == 3
    assert clock.sleeps[:2] == pytest.approx([0.4, 0.4])  # one interval after each CV CRM call
    assert all(leads.is_fresh(p) for p in seen)


def test_prefetch_waits_for_interactive_hold_and_backs_off_on_auth(
    cache: MemoryCache, sim: CvCrmSimulator, clock: FakeClock
) -> None:
    bad = CvCrmClient(sim.url, EMAIL, "wrong", min_interval=0)
    service = LeadService(lambda: bad, cache, clock=clock, backoff=CrmBackoff(clock=clock))
    finished = threading.Event()
    prefetcher = LeadPrefetcher(
        service, interval=0.1, on_result=lambda _r: finished.set(), clock=clock, sleep=clock.sleep
    )
    prefetcher.hold(2.0)
    prefetcher.request(["+" + MARIANA, "+5511990010005"])
    prefetcher.start()
    try:
        assert finished.wait(5)
    finally:
        prefetcher.stop()
    assert clock.sleeps[0] == pytest.approx(2.0)  # held first
    assert clock.sleeps[1] == pytest.approx(5.0)  # credentials refused: backoff, not the pace
    assert service.backoff.kind == "credentials"


def test_prefetch_backs_off_when_crm_unavailable(
    cache: MemoryCache, client: CvCrmClient, sim: CvCrmSimulator, clock: FakeClock
) -> None:
    service = LeadService(lambda: client, cache, clock=clock, backoff=CrmBackoff(clock=clock))
    prefetcher = LeadPrefetcher(service, interval=0.1, clock=clock, sleep=clock.sleep)
    sim.set_offline(True)
    prefetcher.request(["+" + MARIANA, "+5511990010005", "+5521990010003"])
    prefetcher.start()
    try:
        for _ in range(500):
            if len(clock.sleeps) >= 2:
                break
            threading.Event().wait(0.01)
    finally:
        prefetcher.stop()
    assert clock.sleeps[:2] == pytest.approx([5.0, 10.0])  # doubling, never the 0.1 s pace


# --------------------------------------------------------------------------- choices & layout


def test_choice_per_chat_persists_and_can_be_undone(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    LeadChoices(JsonStateStore(path)).choose("p1", "5511990010001@c.us", 1006)
    again = LeadChoices(JsonStateStore(path))  # a restart
    assert again.chosen("p1", "5511990010001@c.us") == 1006
    assert again.chosen("p2", "5511990010001@c.us") is None  # per profile
    assert again.chosen("p1", None) is None
    again.forget("p1", "5511990010001@c.us")
    assert LeadChoices(JsonStateStore(path)).chosen("p1", "5511990010001@c.us") is None
    assert json.loads(path.read_text()) == {}


def test_panel_layout_roundtrip_and_garbage(tmp_path: Path) -> None:
    store = JsonStateStore(tmp_path / "state.json")
    layout = PanelLayout(store)
    assert layout.load() == (list(DEFAULT_SECTIONS), dict.fromkeys(DEFAULT_SECTIONS, True))
    layout.save(["interacoes", "resumo"], {"acoes": False})
    order, opened = PanelLayout(JsonStateStore(tmp_path / "state.json")).load()
    assert order[:2] == ["interacoes", "resumo"] and set(order) == set(DEFAULT_SECTIONS)
    assert opened["acoes"] is False and opened["resumo"] is True
    (tmp_path / "broken.json").write_text("{not json")
    assert PanelLayout(JsonStateStore(tmp_path / "broken.json")).load()[0] == list(DEFAULT_SECTIONS)


def test_two_candidates_for_one_phone(cache: MemoryCache, clock: FakeClock) -> None:
    seed = load_seed()
    twin = copy.deepcopy(next(x for x in seed["leads"] if x["idlead"] == 1001))
    twin.update(idlead=1006, email="mariana.trabalho@example.com")
    twin["ultima_data_conversao"] = "2026-12-01 10:00:00"
    seed["leads"].append(twin)
    with CvCrmSimulator(EMAIL, TOKEN, seed=seed) as other:
        client = CvCrmClient(other.url, EMAIL, TOKEN, min_interval=0)
        service = LeadService(lambda: client, cache, clock=clock)
        result = service.lookup(MARIANA)
        assert result.status == "several" and [x.id for x in result.leads] == [1006, 1001]
        narrowed = service.lookup(MARIANA, email="mariana.souza@example.com")
        assert narrowed.status == "found" and narrowed.lead.id == 1001  # e-mail wins


def test_situation_parsing_from_catalog_rows() -> None:
    sit = Situation.from_api({"idsituacao": "8", "nome": "Descartado", "flags": {"cancelada": "S"}})
    assert sit.id == 8 and sit.is_cancelled and not sit.is_start
