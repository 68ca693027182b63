"""`wacrm` command line: parse flags, set Qt up, run the event loop (qasync)."""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .core.settings import DEFAULT_WHATSAPP_URL

log = logging.getLogger("wacrm.app")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wacrm",
        description="WhatsApp Web por vendedor, com o lead do CV CRM ao lado da conversa.",
    )
    parser.add_argument("--version", action="version", version=f"WACRM Desktop {__version__}")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="abre dois perfis nos simuladores locais de WhatsApp Web e CV CRM (sem internet)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="guarda todo o estado (perfis, sessões, diário, banco embutido) nesta pasta",
    )
    parser.add_argument(
        "--whatsapp-url",
        help=f"endereço do WhatsApp Web (padrão {DEFAULT_WHATSAPP_URL})",
    )
    parser.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="NOME",
        help="abre este perfil ao iniciar, criando-o se preciso (pode repetir)",
    )
    parser.add_argument("--debug", action="store_true", help="log detalhado")
    parser.add_argument("--quit-after", type=int, metavar="MS", help=argparse.SUPPRESS)
    return parser


def _qt_argv(argv0: str) -> list[str]:
    args = [argv0]
    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        args += ["--webEngineArgs", "--disable-gpu"]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--embedded-mongo"]:
        # Frozen builds start the embedded SecantusDB by re-running this executable.
        from .adapters.embedded_mongo import run_embedded_server_main

        return run_embedded_server_main(argv[1:])
    options_ns = build_parser().parse_args(argv)

    from .app import Options, WacrmApp
    from .core.settings import Paths
    from .log import setup_logging

    data_dir = options_ns.data_dir
    paths = Paths.resolve(data_dir if data_dir or not options_ns.demo else None)
    setup_logging(paths.log_dir, debug=options_ns.debug)
    faulthandler.enable()
    if getattr(os, "geteuid", lambda: 1)() == 0:
        # Chromium refuses its sandbox as root (CI containers); never needed for normal users.
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")

    import qasync
    from PySide6.QtWidgets import QApplication

    qt_app = QApplication(_qt_argv(sys.argv[0]))
    qt_app.setApplicationName("WACRM Desktop")
    qt_app.setOrganizationName("wacrm")
    qt_app.setApplicationVersion(__version__)

    app = WacrmApp(
        Options(
            demo=options_ns.demo,
            data_dir=data_dir,
            whatsapp_url=options_ns.whatsapp_url,
            profiles=tuple(options_ns.profile),
            debug=options_ns.debug,
            quit_after_ms=options_ns.quit_after,
        )
    )
    window = app.start()
    window.show()

    loop = qasync.QEventLoop(qt_app)
    asyncio.set_event_loop(loop)
    closed = asyncio.Event()
    qt_app.aboutToQuit.connect(closed.set)
    qt_app.lastWindowClosed.connect(closed.set)
    try:
        with loop:
            loop.run_until_complete(closed.wait())
    finally:
        app.shutdown()
    log.info("bye")
    return 0
