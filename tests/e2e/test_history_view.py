"""The history window on real servers, and Redis stopped/started under a working UI."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from wacrm_desktop.adapters.cache import RedisCache
from wacrm_desktop.adapters.mongo import MongoHistoryStore
from wacrm_desktop.core.events import EditEvent, MessageEvent, RevokeEvent
from wacrm_desktop.services.history import HistoryService, recent_key
from wacrm_desktop.ui.history_view import HistoryDialog
from wacrm_desktop.ui.tasks import TaskRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from servers import RedisServer  # noqa: E402

pytestmark = pytest.mark.servers
CHAT = "5511955554444@c.us"


def msg(i: int, chat: str = CHAT, body: str | None = None) -> MessageEvent:
    return MessageEvent(
        id=f"false_{chat}_3EB0{i:06d}", chat_id=chat, from_me=i % 2 == 1, type="chat",
        t=1_700_000_000 + i * 60, body=body or f"mensagem {i}", chat_name="Joana",
        notify_name="Joana", chat_phone=chat.split("@")[0],
    )  # fmt: skip


@pytest.fixture
def runner(qtbot: QtBot) -> Iterator[TaskRunner]:
    tasks = TaskRunner()
    yield tasks
    tasks.shutdown()


def make_service(uri: str, db: str, cache: Any, journal: Path) -> HistoryService:
    service = HistoryService(
        lambda: MongoHistoryStore(uri, db, alias=f"v_{uuid.uuid4().hex[:6]}").connect(),
        cache,
        journal,
        retry_backoff=(0.05,),
    )
    service.start()
    return service


def test_history_window_team_view_search_export_erase(
    qtbot: QtBot, runner: TaskRunner, mongo_uri: str, mongo_db_name: str, redis_url: str,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    cache = RedisCache(redis_url, f"wacrm:{mongo_db_name}")
    service = make_service(mongo_uri, mongo_db_name, cache, tmp_path / "j")
    try:
        service.record_many("ana", [msg(i) for i in range(4)])
        service.record_many("bruno", [msg(10, body="contrato assinado amanhã")])
        service.record(
            "ana", EditEvent(id=msg(1).id, body="corrigida", caption=None, edited_at_ms=5)
        )
        service.record("ana", RevokeEvent(id=msg(2).id, revoked_at=1))
        service.record("ana", msg(50, "5521900000000@c.us", body="outra conversa"))
        assert service.flush(20)
        dialog = HistoryDialog(
            service, runner, profiles=[("ana", "Ana"), ("bruno", "Bruno")],
            profile_id="ana", chat_id=CHAT, chat_name="Joana", phone=CHAT.split("@")[0],
            actor="gestor",
        )  # fmt: skip
        qtbot.addWidget(dialog)
        qtbot.waitUntil(lambda: dialog.timeline.count() == 5, timeout=10_000)
        lines = [dialog.timeline.item(r).text() for r in range(dialog.timeline.count())]
        assert "Bruno" in lines[-1] and "contrato assinado" in lines[-1]  # team view
        assert "✎ editada; antes: “mensagem 1”" in lines[1] and "corrigida" in lines[1]
        assert "apagada para todos" in lines[2] and "mensagem 2" in lines[2]
        assert "· Você: " in lines[1] and "· Eu: " not in lines[1]  # as in the side panel
        # the full, formatted number (masking is for logs): the user checks whose history it is
        assert "+55 11 95555-4444" in dialog.title.text() and "*" not in dialog.title.text()

        dialog.search_box.setText("CONTRATO")
        dialog.run_search()
        qtbot.waitUntil(lambda: dialog.results.count() == 1, timeout=10_000)
        dialog._open_result(dialog.results.item(0))
        qtbot.waitUntil(
            lambda: (
                dialog.timeline.currentItem() is not None
                and "contrato" in dialog.timeline.currentItem().text()
            ),
            timeout=10_000,
        )

        out = tmp_path / "conversa.csv"
        dialog.export_to(out, "csv")
        qtbot.waitUntil(lambda: "exportadas" in dialog.status.text(), timeout=10_000)
        assert out.read_text(encoding="utf-8-sig").count("\n") == 6

        # The irreversible confirmation names the number in full; "No" erases nothing.
        asked: list[str] = []

        def answer_no(box: QMessageBox) -> int:
            asked.append(box.text())
            return QMessageBox.StandardButton.No

        monkeypatch.setattr(QMessageBox, "exec", answer_no)
        dialog.ask_erase()
        assert len(asked) == 1 and "+55 11 95555-4444" in asked[0] and "*" not in asked[0]
        assert dialog.timeline.count() == 5 and dialog.erase_button.isEnabled()

        dialog.erase(tmp_path / "antes.json")
        qtbot.waitUntil(lambda: "apagado" in dialog.status.text(), timeout=20_000)
        assert "+55 11 95555-4444" in dialog.status.text()
        assert (tmp_path / "antes.json").exists()
        assert dialog.timeline.count() == 0
        assert service.contact_timeline("ana", CHAT) == []
        assert len(service.contact_timeline("ana", "5521900000000@c.us")) == 1
    finally:
        service.stop()
        cache.close()


def test_redis_stopped_and_started_never_reaches_the_ui(
    qtbot: QtBot, runner: TaskRunner, mongo_uri: str, mongo_db_name: str,
    redis_server_factory: Callable[[], RedisServer], tmp_path: Path,
) -> None:  # fmt: skip
    redis = redis_server_factory()
    cache = RedisCache(redis.url, f"wacrm:{mongo_db_name}", retry_interval=0.1)
    service = make_service(mongo_uri, mongo_db_name, cache, tmp_path / "j")
    unhandled: list[BaseException] = []
    old_hook = sys.excepthook
    sys.excepthook = lambda t, e, tb: unhandled.append(e)
    results: list[list[dict[str, Any]]] = []
    errors: list[BaseException] = []

    def read() -> None:  # what the lead panel and the history window do
        n = len(results)
        runner.submit(
            lambda: service.recent_messages("ana", CHAT, 50), results.append, errors.append
        )
        qtbot.waitUntil(lambda: len(results) > n or bool(errors), timeout=10_000)

    try:
        service.record_many("ana", [msg(i) for i in range(3)])
        assert service.flush(20)
        read()
        redis.stop()
        service.record("ana", msg(3))
        service.record("ana", EditEvent(id=msg(0).id, body="editada", caption=None, edited_at_ms=1))
        assert service.flush(20)
        read()
        assert service.status().cache_available is False  # the status bar says so
        assert [m["body"] for m in results[-1]] == [
            "editada",
            "mensagem 1",
            "mensagem 2",
            "mensagem 3",
        ]

        redis.start()
        qtbot.wait(150)
        service.record("ana", msg(4))
        assert service.flush(20)
        read()
        assert service.status().cache_available is True
        read()  # served by the repopulated cache
        assert len(cache.recent_messages(recent_key("ana", CHAT), 50)) == 5
        assert results[-1] == results[-2] and results[-1][0]["body"] == "editada"
        assert not errors and not unhandled
    finally:
        sys.excepthook = old_hook
        service.stop()
        cache.close()


def test_status_bar_shows_the_live_history_status(
    qtbot: QtBot, secantus_server_factory: Callable[..., Any], tmp_path: Path
) -> None:
    """MongoDB down: "histórico offline — N pendentes"; back: drained, "histórico: online"."""
    from wacrm_desktop.adapters.cache import MemoryCache
    from wacrm_desktop.core.profiles import ProfileRegistry
    from wacrm_desktop.ui.main_window import MainWindow

    window = MainWindow(ProfileRegistry(tmp_path / "profiles.json"), lambda p: None)  # type: ignore[arg-type,return-value]
    qtbot.addWidget(window)
    server = secantus_server_factory(start=False)  # its port is fixed; nothing listens yet
    service = HistoryService(
        lambda: MongoHistoryStore(
            server.uri, "st", alias=f"s_{uuid.uuid4().hex[:6]}", server_selection_timeout_ms=300
        ).connect(),
        MemoryCache("x"),
        tmp_path / "j",
        retry_backoff=(0.1,),
    )

    def shows(text: str) -> bool:  # what app.py's status relay does, on the UI thread
        window.show_history_status(service.status())
        return window.history_status.text() == text

    try:
        service.record_many("ana", [msg(i) for i in range(3)])
        service.start()
        qtbot.waitUntil(lambda: shows("histórico offline — 3 pendentes"), timeout=10_000)
        server.start()
        qtbot.waitUntil(lambda: shows("histórico: online"), timeout=30_000)
    finally:
        service.stop()
