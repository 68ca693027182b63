"""The demo keeps its WhatsApp simulator's origin between runs, so "scan the QR once" holds."""

from __future__ import annotations

import socket
from pathlib import Path

from wacrm_desktop.app import Options, WacrmApp


def _start_stop(data_dir: Path) -> str:
    app = WacrmApp(Options(demo=True, data_dir=data_dir, env={}))
    app._start_demo_simulators()
    try:
        return app.whatsapp_url
    finally:
        app._stop_simulators()


def test_demo_reuses_the_simulator_port(tmp_path: Path) -> None:
    first = _start_stop(tmp_path)
    second = _start_stop(tmp_path)
    assert first == second  # same origin: the browser finds the same WhatsApp session


def test_demo_port_taken_falls_back_and_is_remembered(tmp_path: Path) -> None:
    first = _start_stop(tmp_path)
    port = int(first.split(":")[2].split("/")[0])
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
        second = _start_stop(tmp_path)
    assert second != first
    assert _start_stop(tmp_path) == second  # the new port is the one kept from now on


def test_unreadable_port_file_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "demo-simulator.json").write_text("{not json", encoding="utf-8")
    assert _start_stop(tmp_path).startswith("http://127.0.0.1:")
