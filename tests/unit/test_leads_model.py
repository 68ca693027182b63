"""core.leads: lenient parsing of CV CRM lead items, cache cards, situations and CRM errors."""

from __future__ import annotations

import dataclasses
import importlib.resources
import json
from typing import Any

import pytest

from wacrm_desktop.core.leads import (
    CancelReason,
    CrmAuthError,
    CrmBadResponse,
    CrmError,
    CrmNotConfigured,
    CrmRejected,
    CrmRouteNotAllowed,
    CrmUnavailable,
    Interaction,
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


# --------------------------------------------------------------------------- odd real-world shapes


def test_html_entities_in_crm_text_are_decoded() -> None:
    # A PHP back end may send htmlentities()-encoded text; the card and the quick replies
    # must show "João", not "Jo&atilde;o". A bare "&" (no entity) stays as it is.
    lead = Lead.from_api(
        {
            "idlead": 1,
            "nome": "Jo&atilde;o &amp; Maria D&#39;Avila",
            "situacao": {"id": 2, "nome": "Em Negocia&ccedil;&atilde;o"},
            "corretor": {"nome": "Andr&eacute; &#x4C;ima"},
            "imobiliaria": {"nome": "M&M Im&oacute;veis"},
            "empreendimento": [{"id": 1, "nome": "Edif&iacute;cio Sol &amp; Mar"}],
            "tags": ["&quot;vip&quot;"],
        }
    )
    assert lead.name == "João & Maria D'Avila"
    assert lead.situation_name == "Em Negociação"
    assert lead.broker_name == "André Lima"
    assert lead.agency_name == "M&M Imóveis"
    assert lead.developments == ("Edifício Sol & Mar",)
    assert lead.tags == ('"vip"',)


def test_interaction_description_from_html_becomes_plain_text() -> None:
    item = Interaction.from_api(
        {
            "idinteracao": 5,
            "descricao": (
                "<p>Cliente ligou.<br />Quer visita &agrave;s 10h.</p><p>Valor &lt; 500 mil</p>"
            ),
            "tipo": "L",
        }
    )
    assert item.description == "Cliente ligou.\nQuer visita às 10h.\nValor < 500 mil"
    plain = Interaction.from_api({"idinteracao": 6, "descricao": "valor < 500 e > 300"})
    assert plain.description == "valor < 500 e > 300"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([{"id": 1, "nome": "A"}, {"id": 2, "nome": "B"}], ("A", "B")),
        ({"id": 1, "nome": "A"}, ("A",)),
        ({"43": {"id": 43, "nome": "A"}, "44": {"id": 44, "nome": "B"}}, ("A", "B")),  # PHP
        ({}, ()),
        ([], ()),
        (None, ()),
        ("A, B", ("A", "B")),
        ([None, {"nome": None}, {"id": 3}], ()),
    ],
)
def test_empreendimento_shapes(value: Any, expected: tuple[str, ...]) -> None:
    assert Lead.from_api({"idlead": 1, "empreendimento": value}).developments == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-28 18:40:00", "2026-11-28 18:40:00"),  # the documented form (Brasília)
        ("0000-00-00 00:00:00", None),  # MySQL "zero date" = no date
        ("0000-00-00", None),
        ("", None),
        ("2026-11-28", "2026-11-28"),
        ("2026-11-28T18:40:00", "2026-11-28 18:40:00"),
        ("2026-11-28T21:40:00Z", "2026-11-28 18:40:00"),  # UTC shown in Brasília time
        ("2026-11-28T18:40:00-03:00", "2026-11-28 18:40:00"),
        ("2026-11-28 18:40:00.123456", "2026-11-28 18:40:00"),
        ("28/11/2026 18:40", "2026-11-28 18:40:00"),
        ("28/11/2026 18:40:05", "2026-11-28 18:40:05"),
        ("28/11/2026", "2026-11-28"),
    ],
)
def test_crm_dates_are_normalised(raw: str, expected: str | None) -> None:
    lead = Lead.from_api({"idlead": 1, "data_cad": raw, "ultima_data_conversao": raw})
    assert lead.created_at == expected and lead.last_conversion_at == expected
    assert Interaction.from_api({"idinteracao": 1, "data_cad": raw}).created_at == expected


def test_zero_dates_do_not_win_the_latest_conversion_order() -> None:
    older = Lead.from_api({"idlead": 1, "ultima_data_conversao": "2020-01-01 00:00:00"})
    zero = Lead.from_api({"idlead": 2, "ultima_data_conversao": "0000-00-00 00:00:00"})
    assert zero.last_conversion_at is None and older.last_conversion_at == "2020-01-01 00:00:00"


def test_every_phone_of_the_lead_is_matched() -> None:
    # telefone a landline, celular the WhatsApp mobile; or several numbers in telefone.
    lead = Lead.from_api({"idlead": 1, "telefone": "(11) 3333-4444", "celular": "(11) 99001-0001"})
    assert lead.phone == "(11) 3333-4444"  # resent as it is on edits
    assert lead.phone_match("5511990010001") == "exact"
    assert lead.phone_match("551190010001") == "suffix"
    assert lead.phone_match("551133334444") == "exact"
    assert lead.phone_match("5511990010009") is None
    several = Lead.from_api({"idlead": 2, "telefone": "11 3333-4444 / 11 99001-0001"})
    assert several.phone_match("5511990010001") == "exact"
    only_cell = Lead.from_api({"idlead": 3, "telefone": None, "celular": "+5511990010001"})
    assert only_cell.phone == "+5511990010001"
    assert only_cell.phone_match("5511990010001") == "exact"
    assert Lead.from_api({"idlead": 4}).phone_match("5511990010001") is None
    # The cache card keeps every number (and reads a card written before this field).
    assert Lead.from_card(json.loads(json.dumps(lead.to_card()))) == lead
    old_card = lead.to_card()
    old_card.pop("phones")
    assert Lead.from_card(old_card).phone_match("551133334444") == "exact"


def test_cancel_reason_name_is_sent_back_exactly_and_shown_decoded() -> None:
    reason = CancelReason.from_api({"idmotivo_cancelamento": 3, "nome": "Im&oacute;vel vendido"})
    assert reason.name == "Im&oacute;vel vendido"  # the write must match the catalog
    assert reason.label == "Imóvel vendido"


@pytest.mark.parametrize("raw", ["1.001", "1,001", "1.000", "12a", "-5", "1e3"])
def test_ids_are_read_strictly(raw: str) -> None:
    # A lenient number reader turned "1.001" (pt-BR thousands) into lead 1: a write would
    # then go to another lead. Ids are whole numbers or digit strings only.
    with pytest.raises(ValueError):
        Lead.from_api({"idlead": raw})
    assert Lead.from_api({"idlead": 5, "situacao": {"id": raw}}).situation_id is None
    assert Situation.from_api({"idsituacao": 7, "ordem": raw}).id == 7


def test_ids_accept_ints_digit_strings_and_whole_floats() -> None:
    assert Lead.from_api({"idlead": " 1001 "}).id == 1001
    assert Lead.from_api({"idlead": 1001.0}).id == 1001
    assert Lead.from_api({"idlead": 7, "situacao": {"id": "3"}}).situation_id == 3


def test_origem_and_midia_as_objects() -> None:
    # One public integration reads `origem` as {nome} as well as a plain label.
    lead = Lead.from_api(
        {"idlead": 1, "origem": {"id": 3, "nome": "Chat"}, "midia_principal": {"nome": "Zap"}}
    )
    assert (lead.origin, lead.media) == ("Chat", "Zap")
