"""core.leads: lenient parsing of CV CRM lead items, cache cards, situations and CRM errors."""

from __future__ import annotations

import dataclasses
import importlib.resources
import json
from typing import Any

import pytest

from wacrm_desktop.core.leads import (
    CrmAuthError,
    CrmBadResponse,
    CrmError,
    CrmNotConfigured,
    CrmRejected,
    CrmRouteNotAllowed,
    CrmUnavailable,
    Lead,
    Situation,
)


def _seed() -> dict[str, Any]:
    resource = importlib.resources.files("wacrm_desktop.resources") / "simulator" / "seed.json"
    return json.loads(resource.read_text(encoding="utf-8"))


def _seed_lead(idlead: int) -> dict[str, Any]:
    return next(lead for lead in _seed()["leads"] if lead["idlead"] == idlead)


def test_from_api_full_seed_lead() -> None:
    lead = Lead.from_api(_seed_lead(1001))
    assert lead.id == 1001
    assert lead.name == "Mariana Souza"
    assert lead.email == "mariana.souza@example.com"
    assert lead.phone == "+5511990010001"
    assert (lead.situation_id, lead.situation_name) == (3, "Em Atendimento")
    assert (lead.broker_name, lead.broker_email) == ("Paulo Andrade", "paulo@example.com")
    assert lead.agency_name == "Imobiliária Horizonte"
    assert lead.manager_name == "Fernanda Reis"
    assert lead.developments == ("Residencial Jardim das Flores",)
    assert (lead.origin, lead.media) == ("WebSite", "google")
    assert lead.created_at == "2026-10-02 09:14:00"
    assert lead.last_conversion_at == "2026-11-28 18:40:00"
    assert lead.score == 72
    assert lead.tags == ("quente",)


def test_from_api_null_nested_objects() -> None:
    lead = Lead.from_api(_seed_lead(1003))
    assert lead.broker_name is None and lead.broker_email is None
    assert lead.agency_name is None and lead.manager_name is None
    assert lead.developments == ("Residencial Jardim das Flores", "Vila Serena")


def test_from_api_is_lenient() -> None:
    lead = Lead.from_api(
        {
            "idlead": " 42 ",
            "nome": "",
            "email": "  ",
            "telefone": 5511990010001,
            "situacao": {"id": "5", "nome": "Em Negociação"},
            "corretor": [],
            "imobiliaria": {"id": 3, "nome_fantasia": "Imob X"},
            "gestor": None,
            "empreendimento": {"id": "7", "nome": "Torre"},
            "midias": [{"nome": "zap"}],
            "score": "72,5",
            "tags": "quente, vip ,",
        }
    )
    assert lead.id == 42
    assert lead.name == "Sem nome"
    assert lead.email is None
    assert lead.phone == "5511990010001"
    assert (lead.situation_id, lead.situation_name) == (5, "Em Negociação")
    assert lead.broker_name is None
    assert lead.agency_name == "Imob X"
    assert lead.developments == ("Torre",)
    assert lead.media == "zap"
    assert lead.score == 72
    assert lead.tags == ("quente", "vip")


def test_from_api_flat_cvdw_style_row() -> None:
    lead = Lead.from_api(
        {"idlead": 9, "idsituacao": "2", "situacao": "Aguardando", "corretor": "Bia", "tags": None}
    )
    assert (lead.situation_id, lead.situation_name) == (2, "Aguardando")
    assert lead.broker_name == "Bia"
    assert lead.tags == ()
    assert lead.score is None


@pytest.mark.parametrize("item", [{}, {"idlead": None}, {"idlead": "abc"}, {"nome": "x"}, []])
def test_from_api_requires_an_id(item: Any) -> None:
    with pytest.raises(ValueError):
        Lead.from_api(item)


def test_lead_is_frozen() -> None:
    lead = Lead(id=1, name="A")
    with pytest.raises(dataclasses.FrozenInstanceError):
        lead.name = "B"  # type: ignore[misc]


@pytest.mark.parametrize("idlead", [1001, 1002, 1003, 1004, 1005])
def test_card_round_trip_through_json(idlead: int) -> None:
    lead = Lead.from_api(_seed_lead(idlead))
    card = json.loads(json.dumps(lead.to_card()))
    assert Lead.from_card(card) == lead


@pytest.mark.parametrize("card", [{}, {"v": 999, "id": 1}, {"v": 1}, {"v": 1, "id": "x"}, None])
def test_from_card_refuses_foreign_cards(card: Any) -> None:
    with pytest.raises(ValueError):
        Lead.from_card(card)


def test_situations_from_seed_catalog() -> None:
    situations = [Situation.from_api(s) for s in _seed()["situacoes"]]
    assert [s.id for s in situations] == list(range(1, 9))
    start = [s for s in situations if s.is_start]
    cancelled = [s for s in situations if s.is_cancelled]
    assert [s.name for s in start] == ["Novo Lead"]
    assert [s.name for s in cancelled] == ["Descartado"]
    assert situations[2].order == 3 and situations[2].color == "#0275d8"


def test_situation_lenient_and_requires_id() -> None:
    s = Situation.from_api({"id": "4", "flags": None})
    assert (s.id, s.name, s.is_start) == (4, "Situação 4", False)
    with pytest.raises(ValueError):
        Situation.from_api({"nome": "sem id"})


def test_crm_errors_carry_pt_br_messages() -> None:
    for cls in (
        CrmNotConfigured,
        CrmAuthError,
        CrmRouteNotAllowed,
        CrmRejected,
        CrmUnavailable,
        CrmBadResponse,
    ):
        err = cls()
        assert isinstance(err, CrmError)
        assert str(err) == err.message and "CV CRM" in err.message
    assert "interface" in str(CrmRouteNotAllowed())
    rejected = CrmRejected(mensagem="Lead não encontrado", codigo=404)
    assert rejected.mensagem == "Lead não encontrado" and "Lead não encontrado" in str(rejected)
    assert CrmUnavailable(retry_after=3.0).retry_after == 3.0
