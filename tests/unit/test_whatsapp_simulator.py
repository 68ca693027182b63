"""The WhatsApp Web simulator's HTTP side: files, headers, seed, lifecycle (plain HTTP, no Qt)."""

from __future__ import annotations

import ast
import http.client
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import pytest

from wacrm_desktop.simulators import whatsapp
from wacrm_desktop.simulators.whatsapp import PAGE_FILES, WhatsAppSimulator

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sim() -> Iterator[WhatsAppSimulator]:
    with WhatsAppSimulator() as s:
        yield s


def _get(sim: WhatsAppSimulator, path: str, method: str = "GET") -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
    conn.request(method, path)
    resp = conn.getresponse()
    resp.body = resp.read()  # type: ignore[attr-defined]
    conn.close()
    return resp


def test_url_is_loopback_with_the_bound_port(sim: WhatsAppSimulator) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", sim.url)
    assert sim.port > 0
    assert sim.running


@pytest.mark.parametrize("path", ["/", "/index.html", "/?controls=1&nokeyser=1", "/?post_logout=1"])
def test_index_is_served_for_any_query(sim: WhatsAppSimulator, path: str) -> None:
    resp = _get(sim, path)
    assert resp.status == 200
    assert resp.getheader("Content-Type") == "text/html; charset=utf-8"
    assert resp.getheader("Cache-Control") == "no-store"
    assert "script-src 'self'" in (resp.getheader("Content-Security-Policy") or "")
    html = resp.body.decode("utf-8")  # type: ignore[attr-defined]
    assert '<div id="app">' in html
    # JavaScript only in .js files, all of which the server knows.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    for src in re.findall(r'<script src="/([^"]+)"', html):
        assert src in PAGE_FILES
    loader_pos = html.index("wa_loader.js")
    assert loader_pos < html.index("wa_sim.js") < html.index("wa_control.js")


@pytest.mark.parametrize("name", [n for n in PAGE_FILES if n != "index.html"])
def test_page_files_match_the_package_resources(sim: WhatsAppSimulator, name: str) -> None:
    resp = _get(sim, "/" + name)
    assert resp.status == 200
    assert resp.getheader("Cache-Control") == "no-store"
    expected = (files("wacrm_desktop.resources") / "simulator" / "whatsapp" / name).read_bytes()
    assert resp.body == expected  # type: ignore[attr-defined]
    kind = "text/javascript" if name.endswith(".js") else "text/css"
    assert resp.getheader("Content-Type").startswith(kind)


def test_every_page_file_is_served_and_listed() -> None:
    folder = files("wacrm_desktop.resources") / "simulator" / "whatsapp"
    present = {p.name for p in folder.iterdir() if p.name.endswith((".js", ".css", ".html"))}
    assert present == set(PAGE_FILES)


def test_seed_is_the_shared_seed(sim: WhatsAppSimulator) -> None:
    resp = _get(sim, "/seed.json")
    assert resp.status == 200
    assert resp.getheader("Content-Type").startswith("application/json")
    seed = json.loads(resp.body)  # type: ignore[attr-defined]
    keys = {c["key"] for c in seed["contacts"]}
    assert {"mariana", "lid_known", "lid_unknown"} <= keys
    assert seed["groups"][0]["key"] == "plantao"


@pytest.mark.parametrize(
    "path",
    [
        "/nope.js",
        "/../seed.json",
        "/whatsapp/wa_sim.js",
        "/%2e%2e/pyproject.toml",
        "/js/wa_bridge.js",
    ],
)
def test_unknown_paths_are_404(sim: WhatsAppSimulator, path: str) -> None:
    resp = _get(sim, path)
    assert resp.status == 404
    assert resp.getheader("Cache-Control") == "no-store"


def test_head_and_favicon(sim: WhatsAppSimulator) -> None:
    head = _get(sim, "/wa_sim.js", "HEAD")
    assert head.status == 200 and head.body == b""  # type: ignore[attr-defined]
    assert int(head.getheader("Content-Length")) > 1000
    assert _get(sim, "/favicon.ico").status == 204


def test_start_stop_are_idempotent_and_free_the_port() -> None:
    sim = WhatsAppSimulator()
    with pytest.raises(RuntimeError):
        _ = sim.url
    sim.start()
    port = sim.port
    assert sim.start() is sim and sim.port == port
    assert _get(sim, "/").status == 200
    sim.stop()
    sim.stop()
    assert not sim.running
    with pytest.raises(OSError):
        http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/")
    # The same port can be bound again (allow_reuse_address).
    with WhatsAppSimulator(port) as again:
        assert again.port == port
        assert _get(again, "/seed.json").status == 200


def test_module_imports_no_qt_and_no_app_layers() -> None:
    tree = ast.parse(Path(whatsapp.__file__).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    assert not any(m.startswith(("PySide6", "shiboken6", "wacrm_desktop")) for m in imported)
    source = Path(whatsapp.__file__).read_text(encoding="utf-8")
    assert "__file__" not in source and "print(" not in source


def test_page_javascript_has_no_eval_and_no_external_urls() -> None:
    page = files("wacrm_desktop.resources") / "simulator" / "whatsapp"
    for name in PAGE_FILES:
        text = (page / name).read_text(encoding="utf-8")
        assert not re.search(r"\beval\(|new Function\(", text), name
        assert not re.search(r"https?://(?!127\.0\.0\.1)[\w.-]+\.\w+/", text), name


def test_standalone_command_prints_the_url() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "wacrm_desktop.simulators.whatsapp", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line
        conn = http.client.HTTPConnection("127.0.0.1", int(match.group(1)), timeout=5)
        conn.request("GET", "/seed.json")
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
