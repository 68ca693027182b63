"""Shared fixtures: real Redis and MongoDB (SecantusDB, or a mongod from WACRM_TEST_MONGODB_URI).

No Qt here (tests/e2e/conftest.py owns that). Per-test isolation is by database name / key
namespace, so the session servers are shared; tests that stop a server get a private one.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `servers` works in any import mode
from servers import RedisServer, SecantusServer, free_port, redis_server_binary  # noqa: E402

MONGODB_URI_ENV = "WACRM_TEST_MONGODB_URI"


@pytest.fixture(autouse=True)
def _pt_br_texts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests assert pt-BR texts: no WACRM_LANGUAGE from the shell, and the app's language
    (process-wide, core.i18n) back to pt-BR after a test that switched it."""
    from wacrm_desktop.core import i18n

    monkeypatch.delenv("WACRM_LANGUAGE", raising=False)
    yield
    if i18n.current_language() != i18n.DEFAULT_LANGUAGE:
        i18n.set_language(i18n.DEFAULT_LANGUAGE)


@pytest.fixture(autouse=True)
def _no_error_dialogs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A start-up error never waits for a click in a test (cli shows dialogs on a display)."""
    monkeypatch.setenv("WACRM_NO_ERROR_DIALOGS", "1")


def _require_redis_binary() -> str:
    binary = redis_server_binary()
    if binary is None:
        pytest.skip(
            "redis-server binary not found on PATH: install it (apt-get install redis-server; "
            ".ci/run installs it) to run the Redis tests"
        )
    return binary


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A session redis-server (no persistence); tests isolate themselves by key namespace."""
    _require_redis_binary()
    with RedisServer() as server:
        yield server.url


@pytest.fixture
def redis_server_factory() -> Iterator[Callable[[], RedisServer]]:
    """Private, started redis-servers a test may stop and restart (outage tests)."""
    _require_redis_binary()
    servers: list[RedisServer] = []

    def make() -> RedisServer:
        server = RedisServer().start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """$WACRM_TEST_MONGODB_URI if set, else a session SecantusDB subprocess."""
    env_uri = os.environ.get(MONGODB_URI_ENV)
    if env_uri:
        yield env_uri
        return
    server = SecantusServer(tmp_path_factory.mktemp("secantus-session")).start()
    try:
        yield server.uri
    finally:
        server.kill()  # throw-away data: skip SecantusDB's ~2 s graceful shutdown


@pytest.fixture
def secantus_server_factory(
    tmp_path: Path,
) -> Iterator[Callable[..., SecantusServer]]:
    """Private SecantusDB servers (not started unless start=True) for outage tests."""
    servers: list[SecantusServer] = []

    def make(start: bool = True) -> SecantusServer:
        server = SecantusServer(tmp_path / f"secantus-{len(servers)}", port=free_port())
        servers.append(server)
        return server.start() if start else server

    yield make
    for server in servers:
        server.kill()  # throw-away data: skip SecantusDB's ~2 s graceful shutdown


@pytest.fixture
def mongo_db_name(mongo_uri: str) -> Iterator[str]:
    """A database name unique to this test, dropped afterwards."""
    name = f"wacrm_test_{uuid.uuid4().hex[:12]}"
    yield name
    import pymongo

    client: pymongo.MongoClient = pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=2000)
    try:
        client.drop_database(name)
    except pymongo.errors.PyMongoError:
        pass  # the server may be gone already; the session teardown removes it anyway
    finally:
        client.close()


@pytest.fixture
def unique_alias() -> str:
    """A mongoengine connection alias unique to this test (stores register it globally)."""
    return f"wacrm_test_{uuid.uuid4().hex[:8]}"
