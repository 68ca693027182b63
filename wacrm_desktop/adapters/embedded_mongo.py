"""Embedded MongoDB-compatible server (SecantusDB) for installs without a MongoDB URI.

SecantusDB is pure Python on top of WiredTiger. It runs as a **subprocess**, never in-process:
in-process it would share the GIL with the Qt UI and every bulk upsert would stutter scrolling
and typing; a subprocess also keeps a WiredTiger crash from taking the UI down with it.

Command line:

* from a checkout/wheel: ``[sys.executable, "-m", "secantus", ...]``;
* from a PyInstaller build (``sys.frozen``) there is no separate interpreter, so the app re-runs
  its own executable as ``[sys.executable, "--embedded-mongo", ...]``; the app's CLI must
  forward everything after that hidden flag to :func:`run_embedded_server_main`, which calls
  ``secantus.cli.main``. (PyInstaller also needs ``--collect-all secantus``.)

WiredTiger locks its directory: two servers on one ``data_dir`` are impossible, and the second
one fails with :class:`EmbeddedMongoLockedError`
("o banco embutido já está aberto por outro processo").

Orphans. If the app dies without stopping the server (SIGKILL, crash, power button) the child
would keep running and keep the WiredTiger lock, and the next start would fail. Two guards:

1. **Parent-death watchdog** (``--watch-stdin``): the server's stdin is a pipe the app never
   writes to. When the app dies, the OS closes the pipe, the server's watchdog thread reads EOF
   and shuts the server down cleanly (SIGTERM to itself; SecantusDB closes WiredTiger). Works on
   every OS, needs no polling.
2. **Pid file** (``<data_dir>/embedded-mongo.json``: pid, port, storage path, app pid):
   written after a start, removed after a stop. A start that finds it with a dead app pid and
   a live server process that is provably ours (Linux: its command line names our storage
   path; elsewhere: it still answers MongoDB ``ping`` on the recorded port) terminates that
   process first (SIGTERM, then SIGKILL after ``stop_timeout``) — never an unrelated process
   that happens to reuse the pid.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from ..core.i18n import N_, _

log = logging.getLogger("wacrm.store")

EMBEDDED_FLAG = "--embedded-mongo"
WATCH_STDIN_FLAG = "--watch-stdin"
PID_FILE = "embedded-mongo.json"
LOCKED_MESSAGE = N_("o banco embutido já está aberto por outro processo")  # pt-BR source
_LOCK_MARKERS = ("already being managed by another process", "WiredTiger.lock")
_PORT_MARKERS = ("Address already in use", "address already in use", "Errno 98", "Errno 48")


class EmbeddedMongoError(RuntimeError):
    """The embedded server could not be started."""


class EmbeddedMongoLockedError(EmbeddedMongoError):
    """Another process already serves this data directory."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def run_embedded_server_main(argv: list[str]) -> int:
    """Entry point of the server process (``<frozen app> --embedded-mongo <args>`` or
    ``python -m wacrm_desktop.adapters.embedded_mongo <args>``); returns the exit code."""
    args = list(argv)
    if WATCH_STDIN_FLAG in args:
        args.remove(WATCH_STDIN_FLAG)
        threading.Thread(target=_watch_parent, name="parent-watchdog", daemon=True).start()
    from secantus.cli import main as secantus_main  # heavy import: only in the server process

    _wait_in_slices()
    return int(secantus_main(args) or 0)


def _wait_in_slices() -> None:
    """WORKAROUND (SecantusDB 0.7, CPython): the server's main thread waits on an Event without
    a timeout. A SIGTERM the kernel hands to one of its other threads sets CPython's pending
    flag but never wakes that wait, so the stop handler did not run and the app had to kill
    the server after 10 s (about one stop in ten, reproduced with py-spy: main thread idle in
    ``SecantusDBServer.wait``). Waiting in 0.2 s slices lets the main thread run the handler.
    """
    try:
        from secantus.server import SecantusDBServer
    except ImportError:
        return
    original = getattr(SecantusDBServer, "wait", None)
    if original is None:
        return

    def wait(self: Any) -> None:
        event = getattr(self, "_stop_event", None)
        if not isinstance(event, threading.Event):
            original(self)  # a SecantusDB whose internals changed: its own wait
            return
        while not event.wait(0.2):
            pass

    SecantusDBServer.wait = wait  # type: ignore[method-assign]


def _watch_parent() -> None:
    """Block on stdin (a pipe from the app); EOF means the app is gone: shut down cleanly."""
    # The raw fd, not sys.stdin.buffer: a daemon thread blocked inside a buffered reader holds
    # its lock, and CPython aborts at interpreter shutdown ("could not acquire lock for
    # <stdin>", exit -6) when the server stops for another reason (SIGTERM from the app).
    fd = sys.stdin.fileno() if sys.stdin is not None else -1
    with contextlib.suppress(OSError, ValueError):
        while fd >= 0 and os.read(fd, 4096):
            pass
    log.info("embedded MongoDB: the app is gone; shutting down")
    if os.name == "nt":
        import _thread

        _thread.interrupt_main(signal.SIGINT)
    else:
        os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(30)  # SecantusDB's handler exits well before; never linger as an orphan
    os._exit(0)


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # type: ignore[attr-defined]
        if not handle:
            return False
        code = ctypes.c_ulong()
        ctypes.windll.kernel32.GetExitCodeProcess(handle, ctypes.byref(code))  # type: ignore[attr-defined]
        ctypes.windll.kernel32.CloseHandle(handle)  # type: ignore[attr-defined]
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class EmbeddedMongo:
    """Start/stop one SecantusDB subprocess serving ``data_dir`` on 127.0.0.1.

    ``port=0`` picks a free port on the first start and keeps it for later restarts, so clients
    holding ``uri`` reconnect by themselves after ``stop()``/``start()``.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        start_timeout: float = 20.0,
        stop_timeout: float = 10.0,
        cache_size: str | None = "256M",
        watchdog: bool = True,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.watchdog = watchdog
        self.host = host
        self.port = int(port)
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.cache_size = cache_size
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr_thread: threading.Thread | None = None
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=40)
        self._lock = threading.Lock()

    # -- paths / command -----------------------------------------------------------------

    @property
    def storage_path(self) -> Path:
        """WiredTiger home (a subfolder, so other files may live next to it)."""
        return self.data_dir / "secantus"

    @property
    def config_path(self) -> Path:
        """An explicit (empty) config file disables SecantusDB's config auto-discovery."""
        return self.data_dir / "secantusd.toml"

    @property
    def uri(self) -> str:
        if not self.port:
            raise EmbeddedMongoError("embedded MongoDB was never started (no port yet)")
        return f"mongodb://{self.host}:{self.port}/?directConnection=true"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / PID_FILE

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def server_args(self, port: int) -> list[str]:
        """Arguments understood by ``secantus.cli.main``."""
        args = [
            "--config",
            str(self.config_path),
            "--host",
            self.host,
            "--port",
            str(port),
            "--storage-path",
            str(self.storage_path),
            "--log-level",
            "WARNING",
        ]
        if self.cache_size:
            args += ["--cache-size", self.cache_size]
        return args

    def command(self, port: int) -> list[str]:
        """Full command line; see the module docstring for the frozen (PyInstaller) case."""
        args = [*self.server_args(port)]
        if self.watchdog:
            args.insert(0, WATCH_STDIN_FLAG)
        if getattr(sys, "frozen", False):
            return [sys.executable, EMBEDDED_FLAG, *args]
        return [sys.executable, "-m", __name__, *args]

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> EmbeddedMongo:
        """Start the server and wait until it answers ``ping``; idempotent while running."""
        with self._lock:
            if self.running:
                return self
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._reap_orphan()
            if not self.config_path.exists():
                self.config_path.write_text("# generated by WACRM Desktop; intentionally empty\n")
            fixed_port = self.port != 0
            attempts = 1 if fixed_port else 3
            for attempt in range(attempts):
                port = self.port if fixed_port else free_port(self.host)
                try:
                    self._start_once(port)
                except _PortTakenError:
                    if attempt + 1 >= attempts:
                        raise EmbeddedMongoError(
                            f"embedded MongoDB: port {port} is already in use"
                        ) from None
                    continue
                self.port = port
                return self
        raise AssertionError("unreachable")

    def _start_once(self, port: int) -> None:
        self._stderr_tail.clear()
        cmd = self.command(port)
        creationflags = 0
        if sys.platform == "win32":
            creationflags = subprocess.CREATE_NO_WINDOW  # type: ignore[attr-defined]
        env = dict(os.environ)
        env.setdefault("PYTHONUNBUFFERED", "1")
        started = time.monotonic()
        proc = subprocess.Popen(
            cmd,
            # The watchdog's pipe: never written, closed by the OS when this process dies.
            stdin=subprocess.PIPE if self.watchdog else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=str(self.data_dir),
            env=env,
            creationflags=creationflags,
        )
        self._proc = proc
        assert proc.stderr is not None
        self._stderr_thread = threading.Thread(
            target=self._pump_stderr,
            args=(proc.stderr,),
            name=f"embedded-mongo-stderr-{proc.pid}",
            daemon=True,
        )
        self._stderr_thread.start()
        try:
            self._wait_ready(proc, port, started)
        except BaseException:
            self._terminate(proc)
            raise
        self._write_pid_file(proc.pid, port)
        log.info(
            "embedded MongoDB up on %s:%d (pid %d, %.1fs)",
            self.host,
            port,
            proc.pid,
            time.monotonic() - started,
        )

    def _wait_ready(self, proc: subprocess.Popen[bytes], port: int, started: float) -> None:
        import pymongo  # local: keeps the module import cheap

        deadline = started + self.start_timeout
        uri = f"mongodb://{self.host}:{port}/?directConnection=true"
        while True:
            code = proc.poll()
            if code is not None:
                self._join_stderr()
                tail = "\n".join(self._stderr_tail)
                if any(marker in tail for marker in _LOCK_MARKERS):
                    raise EmbeddedMongoLockedError(f"{_(LOCKED_MESSAGE)} ({self.storage_path})")
                if any(marker in tail for marker in _PORT_MARKERS):
                    raise _PortTakenError(port)
                raise EmbeddedMongoError(
                    f"embedded MongoDB exited with code {code} during start-up: "
                    f"{tail[-2000:] or '(no output)'}"
                )
            if time.monotonic() >= deadline:
                raise EmbeddedMongoError(
                    f"embedded MongoDB did not answer ping within {self.start_timeout:.0f}s "
                    f"on {self.host}:{port}"
                )
            if _port_open(self.host, port):
                client: pymongo.MongoClient = pymongo.MongoClient(
                    uri, serverSelectionTimeoutMS=500, connectTimeoutMS=500
                )
                try:
                    client.admin.command("ping")
                    return
                except Exception as exc:  # not ready yet (or a different server on the port)
                    log.debug("embedded MongoDB not ready yet: %s", exc)
                finally:
                    client.close()
            time.sleep(0.05)

    def stop(self) -> None:
        """Terminate (SIGTERM: SecantusDB closes WiredTiger cleanly), kill after stop_timeout."""
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is None:
                return
            self._terminate(proc)
            self._remove_pid_file()
            log.info("embedded MongoDB stopped (pid %d, exit %s)", proc.pid, proc.returncode)

    # -- orphans ---------------------------------------------------------------------------

    def _write_pid_file(self, pid: int, port: int) -> None:
        data = {
            "pid": pid,
            "port": port,
            "storage_path": str(self.storage_path),
            "app_pid": os.getpid(),
        }
        with contextlib.suppress(OSError):
            self.pid_file.write_text(json.dumps(data), encoding="utf-8")

    def _remove_pid_file(self) -> None:
        with contextlib.suppress(OSError):
            self.pid_file.unlink()

    def _is_ours(self, pid: int, port: int) -> bool:
        cmdline = Path(f"/proc/{pid}/cmdline")
        if cmdline.exists():
            with contextlib.suppress(OSError):
                return str(self.storage_path).encode() in cmdline.read_bytes()
            return False
        return bool(port) and _answers_ping(self.host, port)

    def _reap_orphan(self) -> None:
        """Stop a server left running by an app that died (see the module docstring)."""
        try:
            data = json.loads(self.pid_file.read_text(encoding="utf-8"))
            pid, port = int(data["pid"]), int(data.get("port") or 0)
            app_pid = int(data.get("app_pid") or 0)
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError):
            self._remove_pid_file()
            return
        if self._proc is not None and self._proc.pid == pid:
            return
        if app_pid and _pid_alive(app_pid):
            return  # another running app owns it: not an orphan (the lock error says so)
        if not _pid_alive(pid) or not self._is_ours(pid, port):
            self._remove_pid_file()
            return
        log.warning(
            "embedded MongoDB: stopping the server (pid %d) a previous run left behind", pid
        )
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _pid_alive(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
            deadline = time.monotonic() + 5
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
        self._remove_pid_file()

    def _terminate(self, proc: subprocess.Popen[bytes]) -> None:
        # One stop signal only. Closing the watchdog pipe first made the server signal itself
        # as well: a second SIGTERM that lands while SecantusDB's handler is still stopping
        # re-enters it and can wedge the shutdown until the kill below (seen: 2 stops in 12).
        # The pipe is closed once the process is gone (or if it ignores the signal).
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                log.warning("embedded MongoDB did not stop in %.0fs; killing it", self.stop_timeout)
                proc.kill()
                proc.wait(timeout=5)
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        self._join_stderr()

    def kill(self) -> None:
        """SIGKILL without cleanup (crash tests); WiredTiger recovers from its log on restart."""
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is None:
                return
            proc.kill()
            proc.wait(timeout=5)
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
            self._join_stderr()
            self._remove_pid_file()

    def _join_stderr(self) -> None:
        thread = self._stderr_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2)

    def _pump_stderr(self, stream: IO[bytes]) -> None:
        """Forward the server's stderr to ``wacrm.store`` (levels parsed, lines capped)."""
        with contextlib.suppress(ValueError, OSError):
            for raw in stream:
                line = raw.decode("utf-8", "replace").rstrip()
                if not line:
                    continue
                self._stderr_tail.append(line)
                log.log(_level_of(line), "secantus: %s", line[:500])
        with contextlib.suppress(OSError):
            stream.close()

    def __enter__(self) -> EmbeddedMongo:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"EmbeddedMongo({str(self.data_dir)!r}, port={self.port}, running={self.running})"


class _PortTakenError(EmbeddedMongoError):
    """The chosen port was taken between picking it and the server binding it."""


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def _answers_ping(host: str, port: int) -> bool:
    if not _port_open(host, port):
        return False
    import pymongo

    client: pymongo.MongoClient = pymongo.MongoClient(
        f"mongodb://{host}:{port}/?directConnection=true",
        serverSelectionTimeoutMS=500,
        connectTimeoutMS=500,
    )
    try:
        client.admin.command("ping")
        return True
    except Exception:
        return False
    finally:
        client.close()


def _level_of(line: str) -> int:
    if " CRITICAL " in line or "Traceback" in line or "[ERROR]" in line or " ERROR " in line:
        return logging.ERROR
    if " WARNING " in line:
        return logging.WARNING
    return logging.INFO


if __name__ == "__main__":
    sys.exit(run_embedded_server_main(sys.argv[1:]))
