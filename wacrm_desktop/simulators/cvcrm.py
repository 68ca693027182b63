"""CV CRM simulator: a small local HTTP server with the API shapes the app relies on.

Test equipment for the integration tests and `--demo`; nothing else in the app imports it.
It implements what /work/shared/cvcrm-api.md (the notes) describes, including the odd parts:
204 for empty results, 405 on GET /leads/{id}, HTTP 200 + `sucesso:false` for logical
rejections, a "contains" phone filter, and a name change silently ignored without the
`origemcv` header. Data come from the seed shared with the WhatsApp simulator.

Run it alone: `python -m wacrm_desktop.simulators.cvcrm --port 8765`.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib.resources
import json
import logging
import re
import socket
import sys
import threading
import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from wacrm_desktop.core.phones import normalize

__all__ = ["DEFAULT_EMAIL", "DEFAULT_TOKEN", "CvCrmSimulator", "load_seed", "main"]

log = logging.getLogger("wacrm.sim.cvcrm")

DEFAULT_EMAIL = "demo@wacrm.local"
DEFAULT_TOKEN = "demo-token"

_LEADS = "/api/v1/comercial/leads"
_INTERACTIONS = "/api/v1/comercial/leads/interacoes"
_WORKFLOW = "/api/v1/cv/workflow/leads"
_REASONS = "/api/v1/comercial/motivos-cancelamento-lead"
_REASONS_CV = "/api/v1/cv/motivos_cancelamento_lead"  # S1's spelling [UNCERTAIN which is current]
_LEAD_BY_ID = re.compile(r"^/api/v1/comercial/leads/[^/]+(/.*)?$")
_GET_ROUTES = frozenset({_LEADS, _INTERACTIONS, _WORKFLOW, _REASONS, _REASONS_CV})
_BRASILIA = timezone(timedelta(hours=-3))  # no daylight saving time since 2019
_DEFAULT_LIMIT = 30  # notes §2: S10 echoes limit 30 when none is given

# Made-up catalog. [UNCERTAIN] notes §3: S1 shows /api/v1/cv/motivos_cancelamento_lead
# instead of this route (S6), and the real field names were not seen.
_CANCEL_REASONS: tuple[dict[str, Any], ...] = (
    {"idmotivo_cancelamento": 1, "nome": "Sem interesse"},
    {"idmotivo_cancelamento": 2, "nome": "Comprou com outra empresa"},
    {"idmotivo_cancelamento": 3, "nome": "Sem retorno do cliente"},
    {"idmotivo_cancelamento": 4, "nome": "Dados de contato inválidos"},
)

_STATUS_TEXT = {
    400: "Requisição inválida",
    401: "Acesso negado: e-mail ou token inválido",
    403: "Acesso negado",
    404: "Rota não encontrada",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Erro interno",
    502: "Bad Gateway",
    503: "Serviço indisponível",
    504: "Gateway Timeout",
}


def load_seed() -> dict[str, Any]:
    """The shared seed, read as a package resource (works from a checkout, wheel or bundle)."""
    resource = importlib.resources.files("wacrm_desktop.resources") / "simulator" / "seed.json"
    return json.loads(resource.read_text(encoding="utf-8"))


def _now_text() -> str:
    """CV CRM date format: "YYYY-MM-DD HH:MM:SS", Brasília time, no offset (notes §1)."""
    return datetime.now(_BRASILIA).strftime("%Y-%m-%d %H:%M:%S")


def _digits(value: Any) -> str:
    return re.sub(r"\D", "", str(value or ""))


def _as_int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "s", "sim"}
    return bool(value)


def _fold(text: Any) -> str:
    """Lower case without accents, for the (uncertain) `nome` filter."""
    decomposed = unicodedata.normalize("NFKD", str(text or ""))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _public(lead: Mapping[str, Any]) -> dict[str, Any]:
    """A lead as the API shows it: without the seed's "_note"-style comments."""
    return {k: copy.deepcopy(v) for k, v in lead.items() if not k.startswith("_")}


@dataclass
class _Failure:
    status: int
    remaining: int
    retry_after: float | None
    path_prefix: str
    body: str | None
    headers: dict[str, str] = field(default_factory=dict)
    method: str | None = None
    body_bytes: bytes | None = None
    content_type: str | None = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a request sleeping in set_latency must not delay stop()
    allow_reuse_address = True
    sim: CvCrmSimulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout test, offline) is normal here, not a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            log.debug("client %s went away", client_address[0])
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    server_version = "CvCrmSimulator/1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: avoid 40 ms stalls

    def log_message(self, format: str, *args: Any) -> None:
        """Request lines go to logging at DEBUG, without their query string (a search's text is
        a contact's data, like the app's own CV CRM log lines) and never headers (the token)."""
        safe = [re.sub(r"\?\S*", "?…", a) if isinstance(a, str) else a for a in args]
        log.debug("%s " + format, self.client_address[0], *safe)

    def do_GET(self) -> None:
        self.server.sim._handle(self, "GET")

    def do_POST(self) -> None:
        self.server.sim._handle(self, "POST")

    def do_PUT(self) -> None:
        self.server.sim._handle(self, "PUT")

    def do_DELETE(self) -> None:
        self.server.sim._handle(self, "DELETE")

    def do_PATCH(self) -> None:
        self.server.sim._handle(self, "PATCH")

    def send_json(
        self, status: int, payload: Any, headers: Mapping[str, str] | None = None
    ) -> None:
        self.send_body(
            status,
            json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            "application/json; charset=utf-8",
            headers,
        )

    def send_body(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0" if status == 204 else str(len(body)))
        self.end_headers()
        if status != 204 and self.command != "HEAD":
            self.wfile.write(body)

    def drop(self) -> None:
        """Close the socket without answering: what a dead network looks like to the client."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class CvCrmSimulator:
    """In-process CV CRM on 127.0.0.1 with thread-safe controls for tests.

    Use as a context manager; `url` is the base URL to give `CvCrmClient`.
    """

    def __init__(
        self,
        email: str = DEFAULT_EMAIL,
        token: str = DEFAULT_TOKEN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: Mapping[str, Any] | None = None,
        empty_as_204: bool = True,
    ) -> None:
        self.email = email
        self._token = token
        self.host = host
        self.port = port
        # notes §8: 204 marks an empty result; False answers 200 with "leads": [] instead.
        self.empty_as_204 = empty_as_204
        # [UNCERTAIN] notes §2: no documented maximum page size (S10 echoes limit 30 when
        # none is given). A number here caps `limit` and echoes the effective one.
        self.max_page_size: int | None = None
        # Interactions come newest first here; the real order is not documented, so tests
        # also run them oldest first.
        self.interactions_oldest_first = False
        self._seed = copy.deepcopy(dict(seed)) if seed is not None else load_seed()
        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._log: list[tuple[str, str, dict[str, str]]] = []
        self._failures: list[_Failure] = []
        self._latency = 0.0
        self._offline = False
        self._leads: dict[int, dict[str, Any]] = {}
        self._interactions: dict[int, list[dict[str, Any]]] = {}
        self._next_interaction = 1
        self._post_rejections: list[tuple[str, Any]] = []
        # Which cancellation-reasons route answers: "comercial" (S6), "cv" (S1) or "none".
        self.reasons_route = "comercial"
        self.reset()

    def __repr__(self) -> str:
        return f"CvCrmSimulator(url={self._url_or_none()!r})"

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> CvCrmSimulator:
        """Bind (port 0 = any free port) and serve from a daemon thread."""
        if self._server is not None:
            return self
        server = _Server((self.host, self.port), _Handler)
        server.sim = self
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="cvcrm-simulator",
            daemon=True,
        )
        self._thread.start()
        log.info("CV CRM simulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def __enter__(self) -> CvCrmSimulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _url_or_none(self) -> str | None:
        return f"http://{self.host}:{self.port}" if self._server is not None else None

    @property
    def url(self) -> str:
        """Base URL (no trailing slash); only while started."""
        url = self._url_or_none()
        if url is None:
            raise RuntimeError("simulator not started")
        return url

    # ------------------------------------------------------------------ test controls

    def reset(self) -> None:
        """Back to the seed: leads, interactions, failures, latency, offline flag and log."""
        with self._lock:
            self._leads = {
                int(lead["idlead"]): copy.deepcopy(lead) for lead in self._seed.get("leads", [])
            }
            self._interactions = {}
            self._next_interaction = 1
            self._post_rejections = []
            self.reasons_route = "comercial"
            self.max_page_size = None
            self.interactions_oldest_first = False
            self._failures.clear()
            self._latency = 0.0
            self._offline = False
            self._log.clear()

    def set_latency(self, seconds: float) -> None:
        """Delay every API answer (use it with a short client timeout to provoke timeouts)."""
        with self._lock:
            self._latency = max(0.0, float(seconds))

    def fail_next(
        self,
        status: int,
        count: int = 1,
        retry_after: float | None = None,
        path_prefix: str = "",
        *,
        body: str | None = None,
        headers: Mapping[str, str] | None = None,
        method: str | None = None,
        body_bytes: bytes | None = None,
        content_type: str | None = None,
    ) -> None:
        """Answer the next `count` API requests under `path_prefix` with `status`.

        `method` ("GET"/"POST") limits the failure to that method.

        The body is `{"codigo", "mensagem"}` JSON unless `body` gives raw text (sent as UTF-8
        labelled text/html, like a PHP page) or `body_bytes` exact bytes (Latin-1, a BOM…)
        labelled `content_type`; `retry_after` adds a Retry-After header; `headers` adds
        others.
        """
        with self._lock:
            self._failures.append(
                _Failure(
                    status,
                    max(1, count),
                    retry_after,
                    path_prefix,
                    body,
                    dict(headers or {}),
                    method.upper() if method else None,
                    body_bytes,
                    content_type,
                )
            )

    def reject_next_post(self, mensagem: str, codigo: Any = 400) -> None:
        """The next POST /leads answers HTTP 200 `sucesso:false` with this `mensagem` (§8)."""
        with self._lock:
            self._post_rejections.append((mensagem, codigo))

    def add_generated_leads(self, count: int, *, first_phone: int = 5521980000000) -> list[int]:
        """Add `count` synthetic leads with distinct mobile phones (benchmarks); their ids."""
        situations = [s for s in self._seed.get("situacoes", []) if s.get("idsituacao")]
        ids: list[int] = []
        with self._lock:
            for i in range(count):
                new_id = max(self._leads, default=1000) + 1
                sit = situations[i % len(situations)] if situations else None
                self._leads[new_id] = {
                    "idlead": new_id,
                    "nome": f"Cliente Sintético {i + 1:03d}",
                    "email": f"cliente{i + 1:03d}@example.com",
                    "telefone": f"+{first_phone + i}",
                    "situacao": {"id": sit["idsituacao"], "nome": sit["nome"]} if sit else None,
                    "corretor": {"id": 71, "nome": "Paulo Andrade", "email": "paulo@example.com"},
                    "imobiliaria": {"id": 5, "nome": "Imobiliária Horizonte"},
                    "gestor": None,
                    "empreendimento": [{"id": 43, "nome": "Residencial Jardim das Flores"}],
                    "empreendimentosId": "43",
                    "origem": "SI",
                    "midia_principal": "google",
                    "data_cad": "2026-09-01 10:00:00",
                    "ultima_data_conversao": "2026-11-01 10:00:00",
                    "score": i % 100,
                    "tags": [],
                }
                ids.append(new_id)
        return ids

    def put_lead(self, lead: Mapping[str, Any]) -> int:
        """Store a lead exactly as given (odd shapes seen in real tenants: phones typed as
        "(11) 3333-4444 / …", null objects, PHP-keyed objects); returns its `idlead`."""
        row = copy.deepcopy(dict(lead))
        lead_id = _as_int(row.get("idlead"))
        if lead_id is None:
            raise ValueError("lead without idlead")
        with self._lock:
            self._leads[lead_id] = row
        return lead_id

    def set_offline(self, offline: bool) -> None:
        """While offline, API connections are closed without an answer."""
        with self._lock:
            self._offline = bool(offline)

    @property
    def requests_log(self) -> list[tuple[str, str, dict[str, str]]]:
        """(method, path, query) of every API request, oldest first; headers never kept."""
        with self._lock:
            return [(m, p, dict(q)) for m, p, q in self._log]

    def leads(self) -> list[dict[str, Any]]:
        """Current leads (copies), for assertions."""
        with self._lock:
            return [_public(lead) for lead in self._leads.values()]

    def interactions_of(self, idlead: int) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._interactions.get(int(idlead), []))

    # ------------------------------------------------------------------ request handling

    def _handle(self, h: _Handler, method: str) -> None:
        parts = urlsplit(h.path)
        path = parts.path.rstrip("/") or "/"
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = _as_int(h.headers.get("Content-Length")) or 0
        raw = h.rfile.read(length) if length > 0 else b""
        if path.startswith("/__sim/"):
            self._control(h, method, path, raw)
            return
        # Everything is decided on arrival, before the latency sleep, so a slow request left
        # over from one test cannot consume a failure queued by the next one.
        with self._lock:
            self._log.append((method, path, query))
            latency, offline = self._latency, self._offline
            failure = None if offline else self._take_failure(path, method)
        if latency:
            time.sleep(latency)
        if offline:
            h.drop()
            return
        if failure is not None:
            self._send_failure(h, failure)
            return
        if h.headers.get("email") != self.email or h.headers.get("token") != self._token:
            # [UNCERTAIN] notes §8: the real 401 body was never observed.
            h.send_json(401, {"codigo": 401, "mensagem": _STATUS_TEXT[401]})
            return
        self._route(h, method, path, query, raw)

    def _take_failure(self, path: str, method: str = "GET") -> _Failure | None:
        with self._lock:
            for failure in self._failures:
                if path.startswith(failure.path_prefix) and failure.method in (None, method):
                    failure.remaining -= 1
                    if failure.remaining <= 0:
                        self._failures.remove(failure)
                    return failure
        return None

    @staticmethod
    def _send_failure(h: _Handler, failure: _Failure) -> None:
        headers = dict(failure.headers)
        if failure.retry_after is not None:
            headers["Retry-After"] = f"{failure.retry_after:g}"
        if failure.body_bytes is not None:
            content_type = failure.content_type or "application/json"
            h.send_body(failure.status, failure.body_bytes, content_type, headers)
            return
        if failure.body is not None:
            content_type = failure.content_type or "text/html"
            h.send_body(failure.status, failure.body.encode("utf-8"), content_type, headers)
            return
        text = _STATUS_TEXT.get(failure.status, "Falha simulada")
        h.send_json(failure.status, {"codigo": failure.status, "mensagem": text}, headers)

    def _route(
        self, h: _Handler, method: str, path: str, query: dict[str, str], raw: bytes
    ) -> None:
        if method == "GET" and path == _LEADS:
            self._list_leads(h, query)
        elif method == "GET" and path == _INTERACTIONS:
            self._list_interactions(h, query)
        elif method == "GET" and path == _WORKFLOW:
            h.send_json(200, copy.deepcopy(self._seed.get("situacoes", [])))
        elif method == "GET" and path in (_REASONS, _REASONS_CV):
            wanted = {"comercial": _REASONS, "cv": _REASONS_CV}.get(self.reasons_route)
            if path != wanted:
                h.send_json(404, {"codigo": 404, "mensagem": _STATUS_TEXT[404]})
            else:
                h.send_json(200, [dict(r) for r in _CANCEL_REASONS])
        elif method == "POST" and path == _LEADS:
            origemcv = (h.headers.get("origemcv") or "").strip().lower() == "true"
            status, payload = self._post_lead(raw, origemcv=origemcv)
            h.send_json(status, payload)
        elif path in _GET_ROUTES or _LEAD_BY_ID.match(path):
            # notes §2: GET /leads/{id} answers 405; so does any other method on these routes.
            h.send_json(405, {"codigo": 405, "mensagem": _STATUS_TEXT[405]})
        else:
            h.send_json(404, {"codigo": 404, "mensagem": _STATUS_TEXT[404]})

    def _list_leads(self, h: _Handler, q: dict[str, str]) -> None:
        limit = _as_int(q.get("limit", _DEFAULT_LIMIT))
        offset = _as_int(q.get("offset", 0))
        if limit is None or offset is None or limit < 1 or offset < 0:
            h.send_json(400, {"codigo": 400, "mensagem": "limit/offset inválido"})
            return
        if self.max_page_size is not None:
            limit = min(limit, self.max_page_size)
        with self._lock:
            rows = list(self._leads.values())
        if "idlead" in q:
            wanted = _as_int(q["idlead"])
            rows = [r for r in rows if _as_int(r.get("idlead")) == wanted]
        if q.get("email"):
            wanted_email = q["email"].strip().lower()
            rows = [r for r in rows if str(r.get("email") or "").lower() == wanted_email]
        fragment = _digits(q.get("telefone"))
        if fragment:  # [single] notes §2: a "contains" match on the stored digits
            rows = [r for r in rows if fragment in _digits(r.get("telefone"))]
        if q.get("nome"):  # [UNCERTAIN] not a confirmed filter; simulated as accent-free "contains"
            wanted_name = _fold(q["nome"]).strip()
            rows = [r for r in rows if wanted_name in _fold(r.get("nome"))]
        if "idsituacao" in q:
            wanted_sit = _as_int(q["idsituacao"])
            rows = [r for r in rows if _as_int((r.get("situacao") or {}).get("id")) == wanted_sit]
        page = [_public(r) for r in rows[offset : offset + limit]]
        if not page and self.empty_as_204:
            h.send_body(204, b"", "application/json")
            return
        h.send_json(
            200,
            {
                "codigo": 200,
                "total": len(rows),
                "limit": limit,
                "offset": offset,
                "totalConteudo": len(page),
                "leads": page,
            },
        )

    def _list_interactions(self, h: _Handler, q: dict[str, str]) -> None:
        idlead = _as_int(q.get("idlead"))
        if idlead is None:
            h.send_json(400, {"codigo": 400, "mensagem": "idlead obrigatório"})
            return
        page = max(1, _as_int(q.get("pagina", 1)) or 1)
        per_page = max(1, _as_int(q.get("registros_por_pagina", 50)) or 50)
        with self._lock:
            rows = sorted(
                copy.deepcopy(self._interactions.get(idlead, [])),
                key=lambda r: (r["data_cad"], r["idinteracao"]),
                reverse=not self.interactions_oldest_first,
            )
        chunk = rows[(page - 1) * per_page : page * per_page]
        if not chunk:  # notes §3: 204 when empty
            h.send_body(204, b"", "application/json")
            return
        h.send_json(
            200,
            {
                "pagina": page,
                "registros": len(chunk),
                "total_de_registros": len(rows),
                "total_de_paginas": (len(rows) + per_page - 1) // per_page,
                "dados": chunk,
            },
        )

    # ------------------------------------------------------------------ POST /leads

    def _post_lead(self, raw: bytes, *, origemcv: bool) -> tuple[int, dict[str, Any]]:
        """Create / update / change situation / add interactions, as the notes §3 describe."""
        try:
            body = json.loads(raw.decode("utf-8") or "{}")
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = None
        if not isinstance(body, dict):
            return 400, {"sucesso": False, "codigo": 400, "mensagem": "json_invalido"}
        with self._lock:
            rejection = self._post_rejections.pop(0) if self._post_rejections else None
        if rejection is not None:
            return 200, {"sucesso": False, "codigo": rejection[1], "mensagem": rejection[0]}
        email = str(body.get("email") or "").strip()
        telefone = str(body.get("telefone") or "").strip()
        if not email and not telefone:
            return 400, {"sucesso": False, "codigo": 400, "mensagem": "email_telefone_vazio"}
        interactions = body.get("interacoes") or []
        if not isinstance(interactions, list) or not all(
            isinstance(i, dict)
            and str(i.get("tipo") or "").strip()
            and str(i.get("descricao") or "").strip()
            for i in interactions
        ):
            # notes §3: tipo + descricao are mandatory and a bad interaction fails the POST.
            return 200, {
                "sucesso": False,
                "codigo": 400,
                "mensagem": "interacoes: tipo e descricao são obrigatórios",
            }
        situation: dict[str, Any] | None = None
        if body.get("idsituacao") is not None:
            situation = self._situation(_as_int(body.get("idsituacao")))
            if situation is None:
                return 200, {"sucesso": False, "codigo": 400, "mensagem": "Situação inválida"}
            if situation.get("_cancelada") and not str(body.get("motivo_cancelamento") or ""):
                # Simulator's own strictness (not documented): a cancel needs its reason.
                return 200, {
                    "sucesso": False,
                    "codigo": 400,
                    "mensagem": "Informe o motivo do cancelamento",
                }
        with self._lock:
            if body.get("idlead") is not None:
                lead = self._leads.get(_as_int(body.get("idlead")) or -1)
                if lead is None:
                    return 200, {"sucesso": False, "codigo": 404, "mensagem": "Lead não encontrado"}
            else:
                lead = self._find_duplicate(email, telefone)
            if lead is not None and not _truthy(body.get("permitir_alteracao")):
                return 200, self._reply(lead, "Lead já cadastrado")
            if lead is None:
                lead = self._create(body, email, telefone, situation)
                message = "Lead cadastrado com sucesso"
            else:
                self._update(lead, body, email, telefone, situation, origemcv=origemcv)
                message = "Lead alterado com sucesso"
            for item in interactions:
                self._add_interaction(lead, item)
            return 200, self._reply(lead, message)

    def _situation(self, situation_id: int | None) -> dict[str, Any] | None:
        for s in self._seed.get("situacoes", []):
            if situation_id is not None and _as_int(s.get("idsituacao")) == situation_id:
                cancelled = (s.get("flags") or {}).get("cancelada") == "S"
                return {"id": situation_id, "nome": s.get("nome"), "_cancelada": cancelled}
        return None

    def _start_situation(self) -> dict[str, Any] | None:
        for s in self._seed.get("situacoes", []):
            if (s.get("flags") or {}).get("inicio") == "S":
                return {"id": _as_int(s.get("idsituacao")), "nome": s.get("nome")}
        return None

    def _development_name(self, dev_id: int) -> str:
        for lead in self._leads.values():
            for dev in lead.get("empreendimento") or []:
                if _as_int(dev.get("id")) == dev_id:
                    return str(dev.get("nome"))
        return f"Empreendimento {dev_id}"

    @staticmethod
    def _stored_phone(telefone: str) -> str:
        """CV CRM stores "+<country><DDD><number>", digits only (notes §6)."""
        digits = normalize(telefone) or _digits(telefone)
        return f"+{digits}" if digits else ""

    def _find_duplicate(self, email: str, telefone: str) -> dict[str, Any] | None:
        """CV de-duplicates on e-mail/telefone (notes §3)."""
        wanted_phone = normalize(telefone) if telefone else None
        for lead in self._leads.values():
            if email and str(lead.get("email") or "").lower() == email.lower():
                return lead
            if wanted_phone and normalize(str(lead.get("telefone") or "")) == wanted_phone:
                return lead
        return None

    def _add_developments(self, lead: dict[str, Any], ids: Any) -> None:
        """`idempreendimento` is an array and additive: it never replaces (notes §3)."""
        ids = ids if isinstance(ids, list) else [ids]
        devs = lead.setdefault("empreendimento", [])
        for raw_id in ids:
            dev_id = _as_int(raw_id)
            if dev_id is not None and all(_as_int(d.get("id")) != dev_id for d in devs):
                devs.append({"id": dev_id, "nome": self._development_name(dev_id)})
        lead["empreendimentosId"] = ",".join(str(d["id"]) for d in devs)

    def _create(
        self,
        body: Mapping[str, Any],
        email: str,
        telefone: str,
        situation: dict[str, Any] | None,
    ) -> dict[str, Any]:
        new_id = max(self._leads, default=1000) + 1
        now = _now_text()
        lead: dict[str, Any] = {
            "idlead": new_id,
            "nome": str(body.get("nome") or "").strip() or "Sem nome",
            "email": email or None,
            "telefone": self._stored_phone(telefone) or None,
            "situacao": (
                {"id": situation["id"], "nome": situation["nome"]}
                if situation
                else self._start_situation()
            ),
            "corretor": None,
            "imobiliaria": None,
            "gestor": None,
            "empreendimento": [],
            "empreendimentosId": "",
            "origem": body.get("origem") or "ND",
            "midia_principal": body.get("midia"),
            "data_cad": now,
            "ultima_data_conversao": now,
            "score": 0,
            "tags": list(body.get("tags") or []),
        }
        if body.get("idempreendimento") is not None:
            self._add_developments(lead, body.get("idempreendimento"))
        self._leads[new_id] = lead
        return lead

    def _update(
        self,
        lead: dict[str, Any],
        body: Mapping[str, Any],
        email: str,
        telefone: str,
        situation: dict[str, Any] | None,
        *,
        origemcv: bool,
    ) -> None:
        if body.get("nome"):
            if origemcv:
                lead["nome"] = str(body["nome"]).strip()
            else:
                # [single] notes §1 (S6): answered sucesso:true, change silently ignored.
                log.debug("name change on lead %s ignored (no origemcv header)", lead["idlead"])
        if email:
            lead["email"] = email
        if telefone:
            lead["telefone"] = self._stored_phone(telefone)
        if situation is not None:
            cancelled = situation.get("_cancelada")
            lead["situacao"] = {"id": situation["id"], "nome": situation["nome"]}
            if cancelled and body.get("motivo_cancelamento"):
                lead["motivo_cancelamento"] = {"nome": str(body["motivo_cancelamento"])}
                lead["descricao_motivo_cancelamento"] = body.get("descricao_motivo_cancelamento")
                lead["data_cancelamento"] = _now_text()
        if body.get("idempreendimento") is not None:
            self._add_developments(lead, body.get("idempreendimento"))

    def _add_interaction(self, lead: Mapping[str, Any], item: Mapping[str, Any]) -> None:
        corretor = lead.get("corretor") or {}
        imobiliaria = lead.get("imobiliaria") or {}
        gestor = lead.get("gestor") or {}
        now = _now_text()
        row = {
            "idinteracao": self._next_interaction,
            "idlead": lead["idlead"],
            "data_cad": now,
            "tipo": str(item["tipo"]).strip(),
            "descricao": str(item["descricao"]),
            "situacao": (lead.get("situacao") or {}).get("nome"),
            "idcorretor": corretor.get("id"),
            "corretor": corretor.get("nome"),
            "idimobiliaria": imobiliaria.get("id"),
            "imobiliaria": imobiliaria.get("nome"),
            "idgestor": gestor.get("id"),
            "gestor_interacao": None,
            "corretor_interacao": None,
            "referencia": f"{lead['idlead']}-{self._next_interaction}",
            "referencia_data": now,
            "ativo": "S",
        }
        self._next_interaction += 1
        self._interactions.setdefault(int(lead["idlead"]), []).append(row)

    @staticmethod
    def _reply(lead: Mapping[str, Any], message: str) -> dict[str, Any]:
        """notes §3: {sucesso, id, codigo, mensagem, idsituacao, idcorretor, idimobiliaria}."""
        return {
            "sucesso": True,
            "id": lead["idlead"],
            "codigo": 200,
            "mensagem": message,
            "idsituacao": (lead.get("situacao") or {}).get("id"),
            "idcorretor": (lead.get("corretor") or {}).get("id"),
            "idimobiliaria": (lead.get("imobiliaria") or {}).get("id"),
        }

    # ------------------------------------------------------------------ HTTP controls

    def _control(self, h: _Handler, method: str, path: str, raw: bytes) -> None:
        """/__sim/ routes so a simulator in another process can be steered by e2e tests."""
        try:
            body = json.loads(raw.decode("utf-8") or "{}") if raw else {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = None
        if not isinstance(body, dict):
            h.send_json(400, {"ok": False, "error": "JSON object expected"})
            return
        try:
            if method == "GET" and path == "/__sim/requests":
                log_rows = [{"method": m, "path": p, "query": q} for m, p, q in self.requests_log]
                h.send_json(200, log_rows)
                return
            if method != "POST":
                h.send_json(405, {"ok": False})
                return
            if path == "/__sim/reset":
                self.reset()
            elif path == "/__sim/latency":
                self.set_latency(float(body.get("seconds", 0)))
            elif path == "/__sim/offline":
                self.set_offline(bool(body.get("offline", True)))
            elif path == "/__sim/fail":
                retry_after = body.get("retry_after")
                self.fail_next(
                    int(body["status"]),
                    int(body.get("count", 1)),
                    float(retry_after) if retry_after is not None else None,
                    str(body.get("path_prefix", "")),
                )
            else:
                h.send_json(404, {"ok": False})
                return
        except (KeyError, TypeError, ValueError) as exc:
            h.send_json(400, {"ok": False, "error": type(exc).__name__})
            return
        h.send_json(200, {"ok": True})


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator in the foreground until Ctrl+C."""
    parser = argparse.ArgumentParser(description="CV CRM simulator for WACRM Desktop")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--email", default=DEFAULT_EMAIL)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per answer")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    sim = CvCrmSimulator(args.email, args.token, host=args.host, port=args.port)
    sim.set_latency(args.latency)
    sim.start()
    token_note = "demo-token" if args.token == DEFAULT_TOKEN else "<the --token given>"
    log.info("credentials: email %s, token %s; Ctrl+C stops", args.email, token_note)
    sys.stdout.write(sim.url + "\n")  # machine-readable: scripts read the URL from stdout
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
