"""`wacrm` command line: parse flags, set Qt up, run the event loop (qasync)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import faulthandler
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from . import __version__
from .core.i18n import _, set_language
from .core.os_errors import describe_os_error
from .core.settings import DEFAULT_WHATSAPP_URL, ENV_LANGUAGE

log = logging.getLogger("wacrm.app")

ENV_NO_ERROR_DIALOGS = "WACRM_NO_ERROR_DIALOGS"  # "1": start-up errors on stderr only
# Qt platforms that draw no window anyone can see (tests, servers): no dialog there.
_HEADLESS_PLATFORMS = frozenset({"offscreen", "minimal", "vnc"})


def build_parser() -> argparse.ArgumentParser:
    # argparse's own words ("usage:", "options:", its error messages) stay in English;
    # -h and --version get their help from here.
    parser = argparse.ArgumentParser(
        prog="wacrm",
        description=_("WhatsApp Web por vendedor, com o lead do CV CRM ao lado da conversa."),
        add_help=False,
    )
    parser.add_argument("-h", "--help", action="help", help=_("mostra esta ajuda e sai"))
    parser.add_argument(
        "--version",
        action="version",
        version=f"WACRM Desktop {__version__}",
        help=_("mostra a versão e sai"),
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help=_("abre dois perfis nos simuladores locais de WhatsApp Web e CV CRM (sem internet)"),
    )
    parser.add_argument(
        "--data-dir",
        type=str,
        help=_("guarda todo o estado (perfis, sessões, diário, banco embutido) nesta pasta"),
    )
    parser.add_argument(
        "--whatsapp-url",
        help=_("endereço do WhatsApp Web (padrão {url})").format(url=DEFAULT_WHATSAPP_URL),
    )
    parser.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar=_("NOME"),
        help=_("abre este perfil ao iniciar, criando-o se preciso (pode repetir)"),
    )
    parser.add_argument("--debug", action="store_true", help=_("log detalhado"))
    parser.add_argument("--quit-after", type=int, metavar="MS", help=argparse.SUPPRESS)
    return parser


def _qt_argv(argv0: str) -> list[str]:
    args = [argv0]
    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        args += ["--webEngineArgs", "--disable-gpu"]
    return args


def _early_language(argv: Sequence[str], env: Mapping[str, str]) -> str:
    """The language of the command line's own texts, set before the parser is built.

    Same precedence as the app: WACRM_LANGUAGE, then settings.json of the data folder the
    command line names (or the default one), then pt-BR. Reads only; never fails.
    """
    from .core.settings import Paths, stored_language

    value: str | None = (env.get(ENV_LANGUAGE) or "").strip() or None
    if value is None:
        pre = argparse.ArgumentParser(add_help=False)
        pre.add_argument("--data-dir")
        pre.add_argument("--demo", action="store_true")
        try:
            known, _rest = pre.parse_known_args(list(argv))
            data_dir = Path(known.data_dir) if known.data_dir and known.data_dir.strip() else None
            paths = Paths.resolve(data_dir)
            if known.demo and data_dir is None:
                paths = Paths.resolve(paths.data_dir / "demo")
            value = stored_language(paths.settings_file)
        except (OSError, ValueError, SystemExit):
            value = None
    return set_language(value or "pt_BR")


def _qpa_platforms(env: Mapping[str, str]) -> list[str]:
    """The platform plugin names QT_QPA_PLATFORM asks for ("wayland;xcb" is a fallback list)."""
    value = (env.get("QT_QPA_PLATFORM") or "").strip()
    return [part.split(":")[0].strip().lower() for part in value.split(";") if part.strip()]


def display_problem(env: Mapping[str, str], platform: str = sys.platform) -> str | None:
    """Why Qt could not open a window here, or None; checked before the QApplication exists.

    On Linux (and the BSDs) without a display, Qt aborts the process (SIGABRT, "could not
    connect to display") before anything can be logged or cleaned up. Windows and macOS
    always have their own platform.
    """
    if not platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return None
    has_x11 = bool((env.get("DISPLAY") or "").strip())
    has_wayland = bool((env.get("WAYLAND_DISPLAY") or "").strip())
    wanted = _qpa_platforms(env)
    if not wanted:
        usable = has_x11 or has_wayland
    else:
        usable = any(
            (name == "xcb" and has_x11)
            or (name.startswith("wayland") and has_wayland)
            # offscreen, eglfs, linuxfb… need no display server; unknown names: Qt decides
            or (name != "xcb" and not name.startswith("wayland"))
            for name in wanted
        )
    if usable:
        return None
    return _(
        "não há tela para abrir a janela (DISPLAY e WAYLAND_DISPLAY não estão definidas). "
        "Em um servidor sem tela, rode no Xvfb: xvfb-run -a wacrm … (o README lista os "
        "pacotes a instalar), ou sem janela visível: QT_QPA_PLATFORM=offscreen wacrm …"
    )


def _can_show_dialogs(env: Mapping[str, str]) -> bool:
    """A window someone can see and close: a real display, not offscreen, not opted out."""
    if (env.get(ENV_NO_ERROR_DIALOGS) or "").strip() not in ("", "0"):
        return False
    if any(name in _HEADLESS_PLATFORMS for name in _qpa_platforms(env)):
        return False
    return display_problem(env) is None


def _show_error_dialog(message: str) -> None:
    """The same message in a dialog, for whoever started the app from a desktop icon."""
    try:
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QApplication, QMessageBox

        app = QApplication.instance() or QApplication(_qt_argv(sys.argv[0]))
        # The stderr line reads "wacrm: o WACRM…"; alone in a dialog it starts as a sentence.
        sentence = message[:1].upper() + message[1:]
        box = QMessageBox(QMessageBox.Icon.Critical, "WACRM Desktop", sentence)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # copy a path
        box.exec()
        app.processEvents()
    except Exception:  # the message is on stderr already; a dialog problem must not hide it
        log.exception("could not show the error dialog")


def _fail(message: str, *, dialog: bool = True) -> int:
    """A clear message (app's language) on stderr and exit code 2 (usage error), no traceback.

    With a display, also in a dialog: a desktop user who double-clicked never sees stderr.
    """
    sys.stderr.write(f"wacrm: {message}\n")
    if dialog and _can_show_dialogs(os.environ):
        _show_error_dialog(message)
    return 2


def _check_options(ns: argparse.Namespace) -> str | None:
    """Refuse bad flags before anything starts (no half-started database left behind)."""
    from .core.profiles import ProfileError, clean_profile_name, name_for_message

    for name in ns.profile:
        try:
            clean_profile_name(name)
        except ProfileError as exc:
            return f"--profile {name_for_message(name)!r}: {exc}"
    if ns.data_dir is not None:
        if not ns.data_dir.strip():
            return _("--data-dir não pode ser vazio.")
        ns.data_dir = Path(ns.data_dir)
        target = ns.data_dir.expanduser()
        try:
            target.mkdir(parents=True, exist_ok=True)
            probe = target / ".wacrm-write-test"
            probe.write_text("ok", encoding="utf-8")
            probe.unlink()
        except OSError as exc:
            return _("--data-dir {path}: a pasta não pode ser usada ({error}).").format(
                path=repr(str(ns.data_dir)), error=describe_os_error(exc)
            )
    if ns.whatsapp_url is not None and not ns.whatsapp_url.startswith(("https://", "http://")):
        return _("--whatsapp-url precisa começar com https:// ou http://")
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--embedded-mongo"]:
        # Frozen builds start the embedded SecantusDB by re-running this executable.
        from .adapters.embedded_mongo import run_embedded_server_main

        return run_embedded_server_main(argv[1:])
    _early_language(argv, os.environ)
    options_ns = build_parser().parse_args(argv)
    problem = _check_options(options_ns)
    if problem:
        return _fail(problem)

    from .app import Options, WacrmApp
    from .core.settings import Paths
    from .interpreter import tune_for_ui
    from .log import setup_logging

    data_dir = options_ns.data_dir
    paths = Paths.resolve(data_dir if data_dir or not options_ns.demo else None)
    if options_ns.demo and data_dir is None:
        paths = Paths.resolve(paths.data_dir / "demo")
    try:
        paths.ensure()
    except OSError as exc:
        return _fail(
            _("não foi possível criar as pastas do app ({error}): {path}").format(
                error=describe_os_error(exc), path=exc.filename
            )
        )
    setup_logging(paths.log_dir, debug=options_ns.debug)
    faulthandler.enable()
    # Before the lock and the QApplication: without a display Qt aborts the whole process.
    no_display = display_problem(os.environ)
    if no_display:
        log.error(
            "no display (DISPLAY and WAYLAND_DISPLAY unset, QT_QPA_PLATFORM=%r); not starting Qt",
            os.environ.get("QT_QPA_PLATFORM", ""),
        )
        return _fail(no_display, dialog=False)
    if getattr(os, "geteuid", lambda: 1)() == 0:
        # Chromium refuses its sandbox as root (CI containers); never needed for normal users.
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")

    import qasync
    from PySide6.QtCore import QLockFile
    from PySide6.QtWidgets import QApplication

    # One app per data folder: two would open the same WhatsApp sessions and journals.
    lock_path = str(paths.data_dir / "wacrm.lock")
    lock = QLockFile(lock_path)
    lock.setStaleLockTime(0)
    if not lock.tryLock(100):
        log.warning("another instance holds %s", lock_path)
        return _fail(
            _(
                "o WACRM Desktop já está aberto com a pasta de dados {path} "
                "(feche a outra janela ou use outra --data-dir)."
            ).format(path=paths.data_dir)
        )

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
    try:
        window = app.start()
    except Exception as exc:
        log.exception("start-up failed")
        app.shutdown()
        lock.unlock()
        message = _(
            "o WACRM Desktop não conseguiu iniciar ({error}). Os detalhes estão no log: {path}"
        ).format(error=f"{type(exc).__name__}: {exc}"[:300], path=paths.log_dir)
        _fail(message)
        return 1
    window.show()
    tune_for_ui()

    loop = qasync.QEventLoop(qt_app)
    asyncio.set_event_loop(loop)
    closed = asyncio.Event()
    qt_app.aboutToQuit.connect(closed.set)
    qt_app.lastWindowClosed.connect(closed.set)
    # Ctrl+C / SIGTERM close the window like the user would (journal drained, servers stopped).
    for signame in ("SIGINT", "SIGTERM"):
        if hasattr(signal, signame):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(getattr(signal, signame), window.close)
    try:
        with loop:
            loop.run_until_complete(closed.wait())
    finally:
        app.shutdown()
        lock.unlock()
    log.info("bye")
    return 0
