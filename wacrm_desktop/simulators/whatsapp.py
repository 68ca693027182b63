"""WhatsApp Web simulator: a local page that looks like WhatsApp Web to an injected bridge.

Test equipment for the end-to-end tests and `wacrm --demo`; nothing else in the app imports it.
The page (resources/simulator/whatsapp/) mirrors what /work/shared/whatsapp-web-bridge.md
describes: the Meta-style module system (`__d`/`require`, progressive registration), the
`WAWeb*` modules and collections, Wid/MsgKey ids, the QR login flow and a session kept in
IndexedDB + localStorage. A test-only control API (`window.__waSimControl`) plays the phone and
the contacts; `?controls=1` shows it as a bar at the bottom of the page.

This module only serves the files (read as package resources) and the shared seed.

Run it alone: `python -m wacrm_desktop.simulators.whatsapp --port 8766`.
"""

from __future__ import annotations

import argparse
import importlib.resources
import logging
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources.abc import Traversable
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

__all__ = ["PAGE_FILES", "WhatsAppSimulator", "main"]

log = logging.getLogger("wacrm.sim.whatsapp")

_CONTENT_TYPES: Mapping[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
}

#: Files of the page, served at "/<name>" ("/" is index.html).
PAGE_FILES: tuple[str, ...] = (
    "index.html",
    "sim.css",
    "wa_loader.js",
    "wa_core.js",
    "wa_sim.js",
    "wa_ui.js",
    "wa_control.js",
)

# Like WhatsApp's own CSP, script tags from anywhere but the page's origin are refused, and so is
# eval; scripts injected by the browser engine (QWebEngineScript, runJavaScript) are not affected.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)


def _resource_dir() -> Traversable:
    return importlib.resources.files("wacrm_desktop.resources") / "simulator"


def _read_resource(name: str) -> bytes:
    """A page file (or "seed.json") read as a package resource."""
    base = _resource_dir()
    resource = base / "seed.json" if name == "seed.json" else base / "whatsapp" / name
    return resource.read_bytes()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "WhatsAppSimulator/1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Request lines go to logging at DEBUG."""
        log.debug("%s " + format, self.client_address[0], *args)

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _serve(self, *, head: bool) -> None:
        path = urlsplit(self.path).path
        name = "index.html" if path in ("", "/", "/index.html") else path.lstrip("/")
        if name == "favicon.ico":
            self._send(204, b"", None, head=head)
            return
        if name != "seed.json" and name not in PAGE_FILES:
            self._send(404, b"Not found\n", "text/plain; charset=utf-8", head=head)
            return
        try:
            body = _read_resource(name)
        except OSError:
            log.exception("simulator resource missing: %s", name)
            self._send(500, b"Resource missing\n", "text/plain; charset=utf-8", head=head)
            return
        suffix = name[name.rfind(".") :]
        self._send(200, body, _CONTENT_TYPES.get(suffix, "application/octet-stream"), head=head)

    def _send(self, status: int, body: bytes, content_type: str | None, *, head: bool) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if content_type and content_type.startswith("text/html"):
            self.send_header("Content-Security-Policy", _CSP)
        self.end_headers()
        if body and not head:
            self.wfile.write(body)


class WhatsAppSimulator:
    """Serves the simulated WhatsApp Web page on 127.0.0.1 from a daemon thread.

    `url` is the page ("http://127.0.0.1:PORT/"); append query parameters as needed
    (`controls=1`, `nokeyser=1`, `mode=modules-missing|renamed|state-renamed`, `cold=1`, `qrms=N`,
    `lang=pt`).
    The simulated WhatsApp state lives in the page (and the browser profile), not here.
    """

    def __init__(self, port: int = 0, *, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        state = self.url if self._server is not None else "stopped"
        return f"<WhatsAppSimulator {state}>"

    def start(self) -> WhatsAppSimulator:
        """Bind (port 0 = any free port) and serve; a second call does nothing."""
        if self._server is not None:
            return self
        server = _Server((self.host, self.port), _Handler)
        self._server = server
        self.port = int(server.server_address[1])
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="whatsapp-simulator",
            daemon=True,
        )
        self._thread.start()
        log.info("WhatsApp simulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        log.info("WhatsApp simulator stopped")

    def __enter__(self) -> WhatsAppSimulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """True between start() and stop()."""
        return self._server is not None

    @property
    def url(self) -> str:
        """The page URL, e.g. "http://127.0.0.1:8766/"."""
        if self._server is None:
            raise RuntimeError("WhatsAppSimulator is not running: call start() first")
        return f"http://{self.host}:{self.port}/"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator in the foreground until Ctrl+C; prints the page URL on stdout."""
    parser = argparse.ArgumentParser(description="WhatsApp Web simulator for WACRM Desktop")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    sim = WhatsAppSimulator(args.port, host=args.host)
    sim.start()
    log.info("open %s?controls=1 for the test controls; Ctrl+C stops", sim.url)
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
