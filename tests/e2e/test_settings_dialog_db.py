"""Configurações: the MongoDB database name is edited there and refused when MongoDB would
refuse it (settings.json would otherwise fall back to the default at the next start)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from wacrm_desktop.ui.settings_dialog import SettingsDialog, SettingsValues
from wacrm_desktop.ui.tasks import TaskRunner


@pytest.fixture
def tasks(qapp: Any) -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.shutdown()


def _dialog(qtbot: QtBot, tasks: TaskRunner, saved: list[SettingsValues]) -> SettingsDialog:
    initial = SettingsValues("empresa", "a@b.c", "", "", "", mongodb_db="wacrm_team")
    dialog = SettingsDialog(
        initial,
        tasks=tasks,
        test_connection=lambda _v: "",
        save=saved.append,
        token_stored=True,
    )
    qtbot.addWidget(dialog)
    return dialog


@pytest.mark.parametrize(
    ("name", "shown"), [("", ""), ("wa.crm", "."), ("a b", ""), ("x" * 64, "63")]
)
def test_an_invalid_database_name_is_refused_with_a_message(
    qtbot: QtBot, tasks: TaskRunner, name: str, shown: str
) -> None:
    saved: list[SettingsValues] = []
    dialog = _dialog(qtbot, tasks, saved)
    assert dialog.mongodb_db.text() == "wacrm_team"
    dialog.mongodb_db.setText(name)
    dialog._on_save()
    assert dialog.result.text().startswith("⚠") and shown in dialog.result.text()
    qtbot.wait(100)
    assert saved == [] and dialog.result.text().startswith("⚠")


def test_a_valid_database_name_is_saved(qtbot: QtBot, tasks: TaskRunner) -> None:
    saved: list[SettingsValues] = []
    dialog = _dialog(qtbot, tasks, saved)
    dialog.mongodb_db.setText(" wacrm_prod ")
    dialog._on_save()
    qtbot.waitUntil(lambda: len(saved) == 1, timeout=5000)
    assert saved[0].mongodb_db == "wacrm_prod"
