"""The CV CRM simulator itself: the API quirks it reproduces and its test controls."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from wacrm_desktop.simulators.cvcrm import CvCrmSimulator, load_seed

AUTH = {"email": "demo@wacrm.local", "token": "demo-token", "Accept": "application/json"}
LEADS = "/api/v1/comercial/leads"


@pytest.fixture(scope="module")
def server() -> Iterator[CvCrmSimulator]:
    with CvCrmSimulator() as sim:
        yield sim


@pytest.fixture
def sim(server: CvCrmSimulator) -> Iterator[CvCrmSimulator]:
    server.reset()
    yield server
    server.reset()


def _get(sim: CvCrmSimulator, path: str, **params: Any) -> requests.Response:
    return requests.get(sim.url + path, params=params, headers=AUTH, timeout=5)


def _post(sim: CvCrmSimulator, body: dict[str, Any], origemcv: bool = True) -> dict[str, Any]:
    headers = {**AUTH, "Content-Type": "application/json"}
    if origemcv:
        headers["origemcv"] = "true"
    response = requests.post(sim.url + LEADS, json=body, headers=headers, timeout=5)
    return {"status": response.status_code, **response.json()}


def test_seed_comes_from_package_resources() -> None:
    seed = load_seed()
    assert {lead["idlead"] for lead in seed["leads"]} == {1001, 1002, 1003, 1004, 1005}
    assert len(seed["situacoes"]) == 8


def test_list_envelope_and_filters(sim: CvCrmSimulator) -> None:
    body = _get(sim, LEADS, limit=2, offset=1).json()
    assert {k: body[k] for k in ("codigo", "total", "limit", "offset", "totalConteudo")} == {
        "codigo": 200,
        "total": 5,
        "limit": 2,
        "offset": 1,
        "totalConteudo": 2,
    }
    assert [lead["idlead"] for lead in body["leads"]] == [1002, 1003]
    assert all("_note" not in lead for lead in body["leads"])
    assert [x["idlead"] for x in _get(sim, LEADS, idsituacao=8).json()["leads"]] == [1004]
    by_email = _get(sim, LEADS, email="JOANA.PRADO@example.com").json()["leads"]
    assert [x["idlead"] for x in by_email] == [1003]
    masked = _get(sim, LEADS, telefone="(21) 99001-0003").json()["leads"]
    assert [x["idlead"] for x in masked] == [1003]
    assert _get(sim, LEADS, telefone="00000000").status_code == 204


def test_lead_by_id_route_answers_405(sim: CvCrmSimulator) -> None:
    response = _get(sim, LEADS + "/1001")
    assert response.status_code == 405 and response.json()["codigo"] == 405


def test_name_change_without_origemcv_is_silently_ignored(sim: CvCrmSimulator) -> None:
    body = {"idlead": 1001, "permitir_alteracao": True, "email": "mariana.souza@example.com"}
    reply = _post(sim, {**body, "nome": "Outro Nome"}, origemcv=False)
    assert reply["sucesso"] is True
    assert _get(sim, LEADS, idlead=1001).json()["leads"][0]["nome"] == "Mariana Souza"
    _post(sim, {**body, "nome": "Outro Nome"}, origemcv=True)
    assert _get(sim, LEADS, idlead=1001).json()["leads"][0]["nome"] == "Outro Nome"


def test_post_rules(sim: CvCrmSimulator) -> None:
    assert _post(sim, {"nome": "x"}) == {
        "status": 400,
        "sucesso": False,
        "codigo": 400,
        "mensagem": "email_telefone_vazio",
    }
    bad_interaction = _post(
        sim,
        {"idlead": 1001, "permitir_alteracao": True, "email": "a@b.c", "interacoes": [{}]},
    )
    assert bad_interaction["status"] == 200 and bad_interaction["sucesso"] is False
    assert sim.interactions_of(1001) == []  # a bad interaction fails the whole POST
    unknown = _post(sim, {"idlead": 5555, "permitir_alteracao": True, "email": "a@b.c"})
    assert unknown["sucesso"] is False
    bad_situation = _post(sim, {"email": "new@example.com", "idsituacao": 99})
    assert bad_situation["sucesso"] is False
    created = _post(sim, {"email": "novo@example.com"})
    assert created["sucesso"] is True and created["id"] == 1006
    assert set(created) >= {"id", "codigo", "mensagem", "idsituacao", "idcorretor", "idimobiliaria"}
    lead = _get(sim, LEADS, idlead=1006).json()["leads"][0]
    assert lead["nome"] == "Sem nome" and lead["situacao"]["nome"] == "Novo Lead"


def test_interactions_pagination_and_204(sim: CvCrmSimulator) -> None:
    path = LEADS + "/interacoes"
    assert _get(sim, path, idlead=1003).status_code == 204
    notes = [{"tipo": "A", "descricao": f"nota {i}"} for i in range(3)]
    _post(
        sim,
        {
            "idlead": 1003,
            "permitir_alteracao": True,
            "email": "joana.prado@example.com",
            "interacoes": notes,
        },
    )
    page = _get(sim, path, idlead=1003, pagina=2, registros_por_pagina=2).json()
    assert (page["pagina"], page["registros"], page["total_de_registros"]) == (2, 1, 3)
    assert page["total_de_paginas"] == 2 and len(page["dados"]) == 1


def test_catalogs(sim: CvCrmSimulator) -> None:
    assert [s["idsituacao"] for s in _get(sim, "/api/v1/cv/workflow/leads").json()] == list(
        range(1, 9)
    )
    reasons = _get(sim, "/api/v1/comercial/motivos-cancelamento-lead").json()
    assert reasons and all("nome" in r for r in reasons)


def test_controls_and_log(sim: CvCrmSimulator) -> None:
    sim.fail_next(503, count=2, retry_after=3, path_prefix="/api/v1/cv/")
    assert _get(sim, LEADS).status_code == 200  # other prefix: untouched
    first = _get(sim, "/api/v1/cv/workflow/leads")
    assert first.status_code == 503 and first.headers["Retry-After"] == "3"
    assert _get(sim, "/api/v1/cv/workflow/leads").status_code == 503
    assert _get(sim, "/api/v1/cv/workflow/leads").status_code == 200
    assert sim.requests_log[0] == ("GET", LEADS, {})
    assert all(len(row) == 3 for row in sim.requests_log)
    assert "demo-token" not in repr(sim.requests_log)
    sim.reset()
    assert sim.requests_log == []


def test_http_control_routes(sim: CvCrmSimulator) -> None:
    assert requests.post(sim.url + "/__sim/fail", json={"status": 500}, timeout=5).ok
    assert _get(sim, LEADS).status_code == 500
    assert requests.post(sim.url + "/__sim/offline", json={"offline": True}, timeout=5).ok
    with pytest.raises(requests.ConnectionError):
        _get(sim, LEADS)
    assert requests.post(sim.url + "/__sim/reset", timeout=5).ok
    assert _get(sim, LEADS).status_code == 200
    log_rows = requests.get(sim.url + "/__sim/requests", timeout=5).json()
    assert log_rows == [{"method": "GET", "path": LEADS, "query": {}}]


def test_module_entry_point() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "wacrm_desktop.simulators.cvcrm", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        response = requests.get(url + LEADS, headers=AUTH, params={"idlead": 1002}, timeout=5)
        assert response.json()["leads"][0]["nome"] == "Carlos Lima"
    finally:
        proc.terminate()
        proc.wait(timeout=5)
