"""What the CV CRM client logs about a request: parameter names and sizes, never a value a
person typed (a manual search by name, e-mail or phone, possibly mistyped)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest

from wacrm_desktop.adapters.cache import MemoryCache
from wacrm_desktop.adapters.cvcrm import CvCrmClient
from wacrm_desktop.services.crm_actions import LeadActions
from wacrm_desktop.services.leads import LeadService
from wacrm_desktop.simulators.cvcrm import CvCrmSimulator

EMAIL = "demo@wacrm.local"
TOKEN = "s3cr3t-T0KEN-privacy"


@pytest.fixture(scope="module")
def server() -> Iterator[CvCrmSimulator]:
    with CvCrmSimulator(EMAIL, TOKEN) as sim:
        yield sim


@pytest.fixture
def client(server: CvCrmSimulator) -> Iterator[CvCrmClient]:
    server.reset()
    yield CvCrmClient(server.url, EMAIL, TOKEN, timeout=2, min_interval=0)
    server.reset()


def _crm_log(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.name == "wacrm.crm")


@pytest.mark.parametrize(
    "query",
    [
        "Carlos Lima",
        "11 9900l-0001",  # a phone with a letter typed for a digit: no filter spots it
        "carlos.lima@example.com",
        "(11) 99001-0001",
        "+55 11 99001\u20130001",
    ],
)
def test_a_manual_search_logs_no_value(
    client: CvCrmClient, query: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    actions = LeadActions(
        lambda: client, LeadService(lambda: client, MemoryCache("t")), MemoryCache("t")
    )
    actions.search(query)
    text = _crm_log(caplog)
    assert "GET" in text  # the request was logged…
    # …without any piece of what was typed (a phone's last 4 digits are allowed, as in
    # every log line: "telefone=****0001").
    words = [w for w in re.findall(r"[^\W_]{4,}", query) if not (w.isdigit() and len(w) <= 4)]
    for word in words:
        assert word not in text, text
    assert "99001" not in text and "Lima" not in text and "example" not in text


def test_search_params_are_named_with_their_size(
    client: CvCrmClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client.search_leads(nome="Carlos Lima")
    client.search_leads(email="carlos.lima@example.com")
    client.search_leads(telefone="90010002")
    client.search_leads(telefone="9001O002")  # not the app's digits: redacted like a name
    client.search_leads(idlead=1002)
    text = _crm_log(caplog)
    assert "nome=<11 chars>" in text and "Carlos" not in text
    assert "email=<23 chars>" in text and "carlos" not in text and "example.com" not in text
    assert "telefone=****0002" in text and "90010002" not in text
    assert "telefone=<8 chars>" in text and "9001O002" not in text
    # A lead id is the CRM's key, not personal data: kept for support.
    assert "idlead=1002" in text and "limit=" in text and "offset=0" in text


def test_interactions_log_the_lead_id_and_paging(
    client: CvCrmClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client.interactions(1002)
    text = _crm_log(caplog)
    assert "idlead=1002" in text and "pagina=" in text
