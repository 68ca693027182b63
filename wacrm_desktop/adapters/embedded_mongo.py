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
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

log = logging.getLogger("wacrm.store")

EMBEDDED_FLAG = "--embedded-mongo"
LOCKED_MESSAGE = "o banco embutido já está aberto por outro processo"
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
    """Entry point for ``<frozen app> --embedded-mongo <secantus args>``; returns the exit code."""
    from secantus.cli import main as secantus_main  # heavy import: only in the server process

    return int(secantus_main(list(argv)) or 0)


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
    ) -> None:
        self.data_dir = Path(data_dir)
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
        if getattr(sys, "frozen", False):
            return [sys.executable, EMBEDDED_FLAG, *self.server_args(port)]
        return [sys.executable, "-m", "secantus", *self.server_args(port)]

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> EmbeddedMongo:
        """Start the server and wait until it answers ``ping``; idempotent while running."""
        with self._lock:
            if self.running:
                return self
            self.data_dir.mkdir(parents=True, exist_ok=True)
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
            stdin=subprocess.DEVNULL,
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
                    raise EmbeddedMongoLockedError(f"{LOCKED_MESSAGE} ({self.storage_path})")
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
            log.info("embedded MongoDB stopped (pid %d, exit %s)", proc.pid, proc.returncode)

    def _terminate(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                log.warning("embedded MongoDB did not stop in %.0fs; killing it", self.stop_timeout)
                proc.kill()
                proc.wait(timeout=5)
        self._join_stderr()

    def kill(self) -> None:
        """SIGKILL without cleanup (crash tests); WiredTiger recovers from its log on restart."""
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is None:
                return
            proc.kill()
            proc.wait(timeout=5)
            self._join_stderr()

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


def _level_of(line: str) -> int:
    if " CRITICAL " in line or "Traceback" in line or "[ERROR]" in line or " ERROR " in line:
        return logging.ERROR
    if " WARNING " in line:
        return logging.WARNING
    return logging.INFO
