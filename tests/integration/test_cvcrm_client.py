"""adapters.cvcrm.CvCrmClient against the CV CRM simulator, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import datetime
import email.utils
import json
import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from wacrm_desktop.adapters.cvcrm import (
    LEADS_PATH,
    CrmAuthError,
    CrmBadResponse,
    CrmError,
    CrmNotConfigured,
    CrmRejected,
    CrmRouteNotAllowed,
    CrmUnavailable,
    CvCrmClient,
)
from wacrm_desktop.simulators.cvcrm import CvCrmSimulator

EMAIL = "demo@wacrm.local"
TOKEN = "s3cr3t-T0KEN-do-teste"


class FakeClock:
    """Monotonic clock + sleep that only advance when slept: backoff without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


class RecordingSession(requests.Session):
    """Keeps the keyword arguments of every request (headers included) for inspection."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.calls.append((method, url, kwargs))
        return super().request(method, url, *args, **kwargs)


@pytest.fixture(scope="module")
def server() -> Iterator[CvCrmSimulator]:
    with CvCrmSimulator(EMAIL, TOKEN) as sim:
        yield sim


@pytest.fixture
def sim(server: CvCrmSimulator) -> Iterator[CvCrmSimulator]:
    server.reset()
    server.empty_as_204 = True
    yield server
    server.reset()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def session() -> Iterator[RecordingSession]:
    s = RecordingSession()
    yield s
    s.close()


@pytest.fixture
def client(sim: CvCrmSimulator, clock: FakeClock, session: RecordingSession) -> CvCrmClient:
    return CvCrmClient(
        sim.url,
        EMAIL,
        TOKEN,
        timeout=2.0,
        session=session,
        min_interval=0.0,
        clock=clock.clock,
        sleep=clock.sleep,
    )


def _paths(sim: CvCrmSimulator) -> list[str]:
    return [path for _, path, _ in sim.requests_log]


# --------------------------------------------------------------------------- happy paths


def test_headers_on_get_and_post(client: CvCrmClient, session: RecordingSession) -> None:
    client.search_leads(email="mariana.souza@example.com")
    client.post_lead({"idlead": 1001, "permitir_alteracao": True, "email": "m@example.com"})
    (_, _, get_kwargs), (_, _, post_kwargs) = session.calls
    assert get_kwargs["headers"] == {"email": EMAIL, "token": TOKEN, "Accept": "application/json"}
    assert get_kwargs["allow_redirects"] is False
    assert post_kwargs["headers"]["Content-Type"] == "application/json"
    assert post_kwargs["headers"]["origemcv"] == "true"
    assert post_kwargs["headers"]["token"] == TOKEN


def test_search_by_phone_fragment_is_a_contains_match(
    client: CvCrmClient, sim: CvCrmSimulator
) -> None:
    rows = client.search_leads(telefone="90010003")
    assert sorted(r["idlead"] for r in rows) == [1003, 1004]
    assert sim.requests_log[-1] == (
        "GET",
        LEADS_PATH,
        {"limit": "50", "offset": "0", "telefone": "90010003"},
    )


@pytest.mark.parametrize("empty_as_204", [True, False])
def test_search_without_hits_is_empty(
    client: CvCrmClient, sim: CvCrmSimulator, empty_as_204: bool
) -> None:
    sim.empty_as_204 = empty_as_204
    assert client.search_leads(telefone="77777777") == []


def test_limit_is_capped(client: CvCrmClient, sim: CvCrmSimulator) -> None:
    client.search_leads(limit=100_000)
    assert sim.requests_log[-1][2]["limit"] == "500"


def test_get_lead_uses_the_idlead_filter(client: CvCrmClient, sim: CvCrmSimulator) -> None:
    lead = client.get_lead("1002")
    assert lead is not None and lead["nome"] == "Carlos Lima"
    assert client.get_lead(999_999) is None
    assert _paths(sim) == [LEADS_PATH, LEADS_PATH]  # never /leads/{id}
    assert [q["idlead"] for _, _, q in sim.requests_log] == ["1002", "999999"]


def test_situations(client: CvCrmClient) -> None:
    names = [s["nome"] for s in client.situations()]
    assert names[0] == "Novo Lead" and "Descartado" in names


def test_post_create_then_read_back(client: CvCrmClient) -> None:
    reply = client.post_lead(
        {"nome": "Teste Novo", "telefone": "(11) 99001-0099", "idempreendimento": [43]}
    )
    assert reply["sucesso"] is True and reply["mensagem"] == "Lead cadastrado com sucesso"
    assert reply["idsituacao"] == 1  # the "início" situation
    lead = client.get_lead(reply["id"])
    assert lead is not None
    assert lead["telefone"] == "+5511990010099"
    assert [d["nome"] for d in lead["empreendimento"]] == ["Residencial Jardim das Flores"]


def test_post_existing_contact_without_permitir_alteracao(client: CvCrmClient) -> None:
    reply = client.post_lead({"email": "carlos.lima@example.com", "nome": "Outro"})
    assert reply["id"] == 1002 and reply["mensagem"] == "Lead já cadastrado"
    assert client.get_lead(1002)["nome"] == "Carlos Lima"  # type: ignore[index]


def test_change_situation_and_add_interaction(client: CvCrmClient) -> None:
    assert client.interactions(1002) == []  # 204
    reply = client.post_lead(
        {
            "idlead": 1002,
            "permitir_alteracao": True,
            "email": "carlos.lima@example.com",
            "idsituacao": 6,
            "interacoes": [{"tipo": "W", "descricao": "Cliente pediu a tabela"}],
        }
    )
    assert reply["idsituacao"] == 6
    rows = client.interactions(1002)
    assert [(r["tipo"], r["descricao"], r["idlead"]) for r in rows] == [
        ("W", "Cliente pediu a tabela", 1002)
    ]
    assert client.get_lead(1002)["situacao"] == {"id": 6, "nome": "Com Reserva"}  # type: ignore[index]


def test_test_connection(client: CvCrmClient) -> None:
    text = client.test_connection()
    assert "Conectado" in text and "5 leads" in text and TOKEN not in text


# --------------------------------------------------------------------------- error mapping


def test_wrong_token_is_auth_error(sim: CvCrmSimulator) -> None:
    bad = CvCrmClient(sim.url, EMAIL, "wrong-token", min_interval=0)
    with pytest.raises(CrmAuthError) as info:
        bad.search_leads()
    assert info.value.status == 401
    assert len(sim.requests_log) == 1  # never retried


def test_missing_email_header_is_auth_error(sim: CvCrmSimulator) -> None:
    response = requests.get(sim.url + LEADS_PATH, headers={"token": TOKEN}, timeout=5)
    assert response.status_code == 401 and response.json()["codigo"] == 401


def test_403_is_auth_error(client: CvCrmClient, sim: CvCrmSimulator) -> None:
    sim.fail_next(403)
    with pytest.raises(CrmAuthError) as info:
        client.search_leads()
    assert info.value.status == 403


def test_405_route_not_allowed(client: CvCrmClient, sim: CvCrmSimulator) -> None:
    with pytest.raises(CrmRouteNotAllowed) as info:
        client._request("GET", LEADS_PATH + "/1001")  # the route the notes say answers 405
    assert "interface" in info.value.message
    sim.fail_next(405, path_prefix="/api/v1/cv/workflow")
    with pytest.raises(CrmRouteNotAllowed):
        client.situations()
    assert len(sim.requests_log) == 2  # neither was retried


def test_400_email_telefone_vazio_is_rejected(client: CvCrmClient, sim: CvCrmSimulator) -> None:
    with pytest.raises(CrmRejected) as info:
        client.post_lead({"nome": "Sem contato"})
    assert info.value.status == 400
    assert info.value.mensagem == "email_telefone_vazio"
    assert "e-mail ou o telefone" in info.value.message
    assert len(sim.requests_log) == 1


def test_sucesso_false_is_rejected_with_mensagem(client: CvCrmClient) -> None:
    with pytest.raises(CrmRejected) as info:
        client.post_lead(
            {
                "idlead": 1001,
                "permitir_alteracao": True,
                "email": "mariana.souza@example.com",
                "interacoes": [{"tipo": "A"}],  # no descricao
            }
        )
    assert info.value.status == 200
    assert info.value.mensagem is not None and "descricao" in info.value.mensagem


def test_other_4xx_rejected_and_not_retried(client: CvCrmClient, sim: CvCrmSimulator) -> None:
    sim.fail_next(404)
    with pytest.raises(CrmRejected):
        client.search_leads()
    assert len(sim.requests_log) == 1


def test_non_json_is_bad_response(client: CvCrmClient, sim: CvCrmSimulator) -> None:
    sim.fail_next(200, body="<html>Em manutenção</html>")
    with pytest.raises(CrmBadResponse):
        client.search_leads()


def test_unexpected_shape_is_bad_response(client: CvCrmClient, sim: CvCrmSimulator) -> None:
    sim.fail_next(200, body='{"codigo": 200, "total": 3}')
    with pytest.raises(CrmBadResponse):
        client.search_leads()


def test_redirect_is_not_followed(client: CvCrmClient, sim: CvCrmSimulator) -> None:
    sim.fail_next(302, headers={"Location": "https://elsewhere.example/api"})
    with pytest.raises(CrmBadResponse) as info:
        client.search_leads()
    assert info.value.status == 302
    assert len(sim.requests_log) == 1


# --------------------------------------------------------------------------- retries


def test_5xx_backoff_then_success(
    client: CvCrmClient, sim: CvCrmSimulator, clock: FakeClock
) -> None:
    sim.fail_next(500, count=2)
    assert len(client.search_leads(telefone="90010001")) == 1
    assert clock.sleeps == [2.0, 4.0]
    assert len(sim.requests_log) == 3


def test_503_gives_up_after_three_retries(
    client: CvCrmClient, sim: CvCrmSimulator, clock: FakeClock
) -> None:
    sim.fail_next(503, count=10)
    with pytest.raises(CrmUnavailable) as info:
        client.search_leads()
    assert clock.sleeps == [2.0, 4.0, 8.0]
    assert len(sim.requests_log) == 4
    assert info.value.status == 503


def test_429_honours_retry_after(
    client: CvCrmClient, sim: CvCrmSimulator, clock: FakeClock
) -> None:
    sim.fail_next(429, count=2, retry_after=1)
    assert client.situations()
    assert clock.sleeps == [1.0, 1.0]


def test_429_with_long_retry_after_is_not_waited(
    client: CvCrmClient, sim: CvCrmSimulator, clock: FakeClock
) -> None:
    sim.fail_next(429, retry_after=120)
    with pytest.raises(CrmUnavailable) as info:
        client.search_leads()
    assert info.value.retry_after == 120
    assert clock.sleeps == []
    assert "429" in info.value.message


def test_retries_are_configurable(sim: CvCrmSimulator, clock: FakeClock) -> None:
    c = CvCrmClient(
        sim.url, EMAIL, TOKEN, min_interval=0, max_retries=1, backoff_base=0.5,
        clock=clock.clock, sleep=clock.sleep,
    )  # fmt: skip
    sim.fail_next(502, count=5)
    with pytest.raises(CrmUnavailable):
        c.search_leads()
    assert clock.sleeps == [0.5]


def test_post_is_retried_on_429_but_not_on_500(
    client: CvCrmClient, sim: CvCrmSimulator, clock: FakeClock
) -> None:
    body = {"idlead": 1001, "permitir_alteracao": True, "email": "mariana.souza@example.com"}
    sim.fail_next(429, retry_after=0.5)
    assert client.post_lead(body)["sucesso"] is True
    assert clock.sleeps == [0.5]
    sim.fail_next(500)
    with pytest.raises(CrmUnavailable) as info:
        client.post_lead(body)
    assert "pode ou não ter sido gravada" in info.value.message
    assert [m for m, _, _ in sim.requests_log] == ["POST", "POST", "POST"]


def test_calls_are_spaced_by_min_interval(sim: CvCrmSimulator, clock: FakeClock) -> None:
    c = CvCrmClient(sim.url, EMAIL, TOKEN, min_interval=0.35, clock=clock.clock, sleep=clock.sleep)
    c.situations()
    c.situations()
    clock.now += 10  # long pause: no wait needed
    c.situations()
    assert clock.sleeps == [0.35]


# --------------------------------------------------------------------------- network trouble


def test_timeout_is_unavailable_and_not_retried(sim: CvCrmSimulator, clock: FakeClock) -> None:
    c = CvCrmClient(sim.url, EMAIL, TOKEN, timeout=0.1, min_interval=0, sleep=clock.sleep)
    sim.set_latency(0.3)
    with pytest.raises(CrmUnavailable):
        c.search_leads()
    assert clock.sleeps == []


def test_offline_is_unavailable(client: CvCrmClient, sim: CvCrmSimulator) -> None:
    sim.set_offline(True)
    with pytest.raises(CrmUnavailable) as info:
        client.search_leads(telefone="90010001")
    assert "conectar" in info.value.message
    assert info.value.__cause__ is None  # the URL (with a phone fragment) is not chained
    sim.set_offline(False)
    assert client.search_leads(telefone="90010001")


def test_connection_refused_is_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = CvCrmClient(f"http://127.0.0.1:{port}", EMAIL, TOKEN, timeout=1, min_interval=0)
    with pytest.raises(CrmUnavailable):
        c.test_connection()


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("url", "email", "token"),
    [
        ("", EMAIL, TOKEN),
        ("https://x.cvcrm.com.br", "", TOKEN),
        ("https://x.cvcrm.com.br", EMAIL, ""),
        ("x.cvcrm.com.br", EMAIL, TOKEN),  # no scheme
        ("http://x.cvcrm.com.br", EMAIL, TOKEN),  # the token would travel in clear text
        ("ftp://x.cvcrm.com.br", EMAIL, TOKEN),
    ],
)
def test_not_configured(url: str, email: str, token: str) -> None:
    with pytest.raises(CrmNotConfigured) as info:
        CvCrmClient(url, email, token)
    assert isinstance(info.value, CrmError)


def test_base_url_and_tenant_url() -> None:
    c = CvCrmClient("https://acme.cvcrm.com.br/", EMAIL, TOKEN)
    assert c.base_url == "https://acme.cvcrm.com.br"
    assert CvCrmClient.tenant_url("acme") == "https://acme.cvcrm.com.br"


# --------------------------------------------------------------------------- secrets in logs


def test_token_never_in_logs_errors_or_repr(
    sim: CvCrmSimulator, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    c = CvCrmClient(sim.url, EMAIL, TOKEN, min_interval=0, clock=clock.clock, sleep=clock.sleep)
    errors: list[CrmError] = []
    c.search_leads(telefone="90010002")
    c.post_lead({"idlead": 1002, "permitir_alteracao": True, "email": "carlos.lima@example.com"})
    sim.fail_next(429, count=4, retry_after=1)
    sim.fail_next(400, body='{"codigo": 400, "mensagem": "token ' + TOKEN + ' expirado"}')
    sim.set_offline(False)
    for call in (c.search_leads, c.search_leads, lambda: c.post_lead({"nome": "x"})):
        with pytest.raises(CrmError) as info:
            call()
        errors.append(info.value)
    sim.set_offline(True)
    with pytest.raises(CrmError) as info:
        c.situations()
    errors.append(info.value)
    sim.set_offline(False)
    with pytest.raises(CrmError) as info:
        CvCrmClient(sim.url, EMAIL, "wrong", min_interval=0).search_leads()
    errors.append(info.value)

    assert len(errors) == 5
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(c) and TOKEN not in str(vars(c))
    for err in errors:
        assert TOKEN not in str(err) and TOKEN not in err.detail and TOKEN not in repr(err.args)
        assert TOKEN not in str(getattr(err, "mensagem", ""))
    # Phones are masked in the client's own log lines.
    crm_lines = " ".join(r.getMessage() for r in caplog.records if r.name == "wacrm.crm")
    assert "telefone=****0002" in crm_lines and "90010002" not in crm_lines


# --------------------------------------------------------------------------- odd answers
# Kinds of faults seen with PHP back ends and in other CV CRM integrations: JSON labelled
# text/html (requests then decodes it as ISO-8859-1: "JoÃ£o"), Latin-1 bodies, a BOM,
# HTTP 200 with sucesso:false on a read, a reply with `codigo` but no `sucesso` (one public
# integration checks only `codigo`), PHP objects keyed by id, servers capping page sizes.


def _one_lead_json(name: str = "João Ação") -> str:
    return json.dumps(
        {"codigo": 200, "total": 1, "leads": [{"idlead": 7, "nome": name}]}, ensure_ascii=False
    )


def test_json_labelled_text_html_is_read_as_utf8(client: CvCrmClient, sim: CvCrmSimulator) -> None:
    sim.fail_next(200, body=_one_lead_json())  # sent as text/html without a charset
    assert [r["nome"] for r in client.search_leads()] == ["João Ação"]


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (_one_lead_json().encode("latin-1"), "application/json"),  # Latin-1, says nothing
        (_one_lead_json().encode("cp1252"), "application/json; charset=utf-8"),  # lies
        (_one_lead_json().encode("latin-1"), "text/html; charset=ISO-8859-1"),
        (b"\xef\xbb\xbf" + _one_lead_json().encode("utf-8"), "application/json"),  # BOM
    ],
)
def test_non_utf8_and_bom_bodies(
    client: CvCrmClient, sim: CvCrmSimulator, raw: bytes, content_type: str
) -> None:
    sim.fail_next(200, body_bytes=raw, content_type=content_type)
    assert [r["nome"] for r in client.search_leads()] == ["João Ação"]


def test_maintenance_page_with_200_says_so(client: CvCrmClient, sim: CvCrmSimulator) -> None:
    sim.fail_next(200, body="<!DOCTYPE html><html><body>Sistema em manutenção</body></html>")
    with pytest.raises(CrmBadResponse) as info:
        client.search_leads()
    assert "página" in info.value.message


def test_read_answered_200_sucesso_false_carries_the_crm_message(
    client: CvCrmClient, sim: CvCrmSimulator
) -> None:
    sim.fail_next(200, body='{"sucesso": false, "codigo": 400, "mensagem": "Filtro inválido"}')
    with pytest.raises(CrmRejected) as info:
        client.search_leads(telefone="90010001")
    assert info.value.mensagem == "Filtro inválido" and "Filtro inválido" in info.value.message


@pytest.mark.parametrize("codigo", [401, "403"])
def test_read_answered_200_with_an_auth_codigo_is_an_auth_error(
    client: CvCrmClient, sim: CvCrmSimulator, codigo: Any
) -> None:
    body = json.dumps({"sucesso": False, "codigo": codigo, "mensagem": "Token inválido"})
    sim.fail_next(200, body=body)
    with pytest.raises(CrmAuthError):
        client.search_leads(telefone="90010001")


def test_read_not_found_as_json_is_no_lead(client: CvCrmClient, sim: CvCrmSimulator) -> None:
    # S1 documents 404 "lead não encontrado" on the older route; read it as "no lead".
    sim.fail_next(404, body='{"codigo": 404, "mensagem": "Lead não encontrado"}')
    assert client.search_leads(telefone="90010099") == []
    sim.fail_next(200, body='{"sucesso": false, "codigo": 404, "mensagem": "Nenhum lead"}')
    assert client.search_leads(telefone="90010099") == []
    sim.fail_next(404, body="<html>Not Found</html>")  # a wrong address is not "no lead"
    with pytest.raises(CrmRejected):
        client.search_leads(telefone="90010099")


def test_write_reply_with_codigo_but_no_sucesso(client: CvCrmClient, sim: CvCrmSimulator) -> None:
    sim.fail_next(200, body='{"codigo": 200, "id": 1001, "mensagem": "Lead alterado"}')
    assert client.post_lead({"idlead": 1001, "email": "m@example.com"})["id"] == 1001
    sim.fail_next(200, body='{"codigo": "400", "mensagem": "email_telefone_vazio"}')
    with pytest.raises(CrmRejected) as info:
        client.post_lead({"idlead": 1001})
    assert "e-mail ou o telefone" in info.value.message


def test_leads_as_an_object_keyed_by_id(client: CvCrmClient, sim: CvCrmSimulator) -> None:
    body = {"total": 2, "leads": {"12": {"idlead": 12}, "13": {"idlead": 13}}}
    sim.fail_next(200, body=json.dumps(body))
    assert [r["idlead"] for r in client.search_leads()] == [12, 13]
    sim.fail_next(200, body='{"total": 0, "leads": {}}')
    assert client.search_leads() == []


def test_pages_are_followed_when_the_server_caps_the_page_size(
    client: CvCrmClient, sim: CvCrmSimulator
) -> None:
    sim.max_page_size = 30
    sim.add_generated_leads(45, first_phone=5521970000000)
    rows = client.search_leads(telefone="2197000", limit=50)
    assert len(rows) == 45 and len({r["idlead"] for r in rows}) == 45
    offsets = [q.get("offset") for _, path, q in sim.requests_log if path == LEADS_PATH]
    assert offsets == ["0", "30"]
    # Never more than asked for, and never past `total`.
    assert len(client.search_leads(telefone="2197000", limit=40)) == 40


def test_a_server_ignoring_offset_does_not_loop(client: CvCrmClient, sim: CvCrmSimulator) -> None:
    page = {"total": 500, "leads": [{"idlead": i} for i in range(1, 31)]}
    sim.fail_next(200, count=10, body=json.dumps(page))
    rows = client.search_leads(limit=100)
    assert len(rows) == 30
    assert sum(1 for _, path, _ in sim.requests_log if path == LEADS_PATH) == 2


def test_retry_after_as_http_date(
    client: CvCrmClient, sim: CvCrmSimulator, clock: FakeClock
) -> None:
    when = email.utils.format_datetime(
        datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=4), usegmt=True
    )
    sim.fail_next(429, headers={"Retry-After": when})
    assert client.situations()
    assert len(clock.sleeps) == 1 and 2.0 <= clock.sleeps[0] <= 4.0


@pytest.mark.parametrize("value", ["inf", "nan", "1e999", "Wed, 99 Foo 2026"])
def test_garbled_retry_after_falls_back_to_backoff(
    client: CvCrmClient, sim: CvCrmSimulator, clock: FakeClock, value: str
) -> None:
    sim.fail_next(429, headers={"Retry-After": value})
    assert client.situations()
    assert clock.sleeps == [2.0]


def test_connection_reset_mid_body_is_unavailable() -> None:
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        port = srv.getsockname()[1]

        def answer() -> None:
            conn, _ = srv.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{"leads": [')

        worker = threading.Thread(target=answer, daemon=True)
        worker.start()
        c = CvCrmClient(f"http://127.0.0.1:{port}", EMAIL, TOKEN, timeout=2, min_interval=0)
        with pytest.raises(CrmUnavailable):
            c.search_leads(telefone="90010001")
        worker.join(2)


@pytest.mark.parametrize(
    ("email_value", "token_value"),
    [
        (f"  {EMAIL}\n", f"\t{TOKEN} \r\n"),
        (EMAIL, f"\ufeff{TOKEN}\u200b"),  # BOM / zero-width space copied from a web page
        (EMAIL, f"\xa0{TOKEN}\xa0"),  # non-breaking spaces
    ],
)
def test_credentials_with_surrounding_whitespace_work(
    sim: CvCrmSimulator, email_value: str, token_value: str
) -> None:
    c = CvCrmClient(sim.url, email_value, token_value, min_interval=0)
    assert c.search_leads(telefone="90010001")


@pytest.mark.parametrize(
    ("email_value", "token_value", "word"),
    [
        (EMAIL, "abc def", "token"),
        (EMAIL, "abc\ndef", "token"),
        (EMAIL, "tok€n", "token"),
        ("demo wacrm.local", TOKEN, "e-mail"),
        ("demo@wacrm.local\nX-Evil: 1", TOKEN, "e-mail"),
    ],
)
def test_unusable_credentials_are_not_configured(
    email_value: str, token_value: str, word: str
) -> None:
    with pytest.raises(CrmNotConfigured) as info:
        CvCrmClient("https://acme.cvcrm.com.br", email_value, token_value)
    assert word in info.value.message
    assert token_value not in info.value.message and token_value not in info.value.detail


def test_phones_in_crm_messages_are_masked_in_logs(
    client: CvCrmClient, sim: CvCrmSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    # CV CRM's `mensagem` may echo a typed phone; the adapter masks it itself with the same
    # policy as the log handlers' filter (which pytest's caplog does not apply).
    caplog.set_level(logging.DEBUG)
    sim.reject_next_post("Telefone (11) 99001-0001 já pertence a outro lead")
    with pytest.raises(CrmRejected) as info:
        client.post_lead({"nome": "x", "telefone": "+5511990010001"})
    assert "(11) 99001-0001" in info.value.message  # the user still reads CV CRM's text
    sim.fail_next(401, body='{"mensagem": "Usuário +55 11 99001-0001 sem acesso"}')
    with pytest.raises(CrmAuthError):
        client.search_leads()
    assert "99001-0001" not in caplog.text and "99001" not in caplog.text


@pytest.mark.parametrize(
    ("status", "body"),
    [(204, None), (200, "<html><body>Em manutenção</body></html>"), (200, '{"ok": 1}')],
)
def test_a_write_answered_oddly_may_have_been_stored(
    client: CvCrmClient, sim: CvCrmSimulator, status: int, body: str | None
) -> None:
    # Nothing can be undone through the API (notes §3): an answer that says neither yes nor
    # no must not read as "nothing happened", or the salesperson repeats the note.
    sim.fail_next(status, body=body, method="POST")
    with pytest.raises(CrmBadResponse) as info:
        client.post_lead({"idlead": 1001, "email": "m@example.com", "interacoes": []})
    assert "pode ou não ter sido gravada" in info.value.message


@pytest.mark.parametrize("raw_id", [1001, "1001", 1001.0, " 1001 "])
def test_get_lead_matches_the_id_however_it_is_typed(
    client: CvCrmClient, sim: CvCrmSimulator, raw_id: Any
) -> None:
    sim.fail_next(200, body=json.dumps({"total": 1, "leads": [{"idlead": raw_id, "nome": "M"}]}))
    row = client.get_lead(1001)
    assert row is not None and row["nome"] == "M"


def test_catalogs_as_php_objects_keyed_by_id(client: CvCrmClient, sim: CvCrmSimulator) -> None:
    body = {"1": {"idsituacao": 1, "nome": "Novo"}, "2": {"idsituacao": 2, "nome": "Fim"}}
    sim.fail_next(200, body=json.dumps(body))
    assert [s["nome"] for s in client.situations()] == ["Novo", "Fim"]
    reasons = {"dados": {"4": {"idmotivo": 4, "nome": "Sem interesse"}}}
    sim.fail_next(200, body=json.dumps(reasons))
    assert [r["nome"] for r in client.cancel_reasons()] == ["Sem interesse"]


def test_a_write_that_never_left_says_so() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = CvCrmClient(f"http://127.0.0.1:{port}", EMAIL, TOKEN, timeout=1, min_interval=0)
    with pytest.raises(CrmUnavailable) as info:
        c.post_lead({"nome": "x", "telefone": "+5511990010001"})
    assert "conectar" in info.value.message and "pode ou não" not in info.value.message


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, '{"sucesso": false, "mensagem": "Nenhuma interação encontrada"}'),
        (404, '{"codigo": 404, "mensagem": "Interações não encontradas"}'),
    ],
)
def test_no_interactions_said_in_words_is_no_interactions(
    client: CvCrmClient, sim: CvCrmSimulator, status: int, body: str
) -> None:
    sim.fail_next(status, body=body, path_prefix="/api/v1/comercial/leads/interacoes")
    assert client.interactions(1001) == []
    sim.fail_next(
        404,
        body='{"mensagem": "Rota não encontrada"}',
        path_prefix="/api/v1/comercial/leads/interacoes",
    )
    with pytest.raises(CrmRejected):
        client.interactions(1001)
