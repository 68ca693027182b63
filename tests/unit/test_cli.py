"""Bad command lines end with a clear message and exit code 2, before anything starts."""

from __future__ import annotations

import faulthandler
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from wacrm_desktop.cli import main


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--profile", ""], "vazio"),
        (["--profile", "x" * 61], "60"),
        (["--profile", "\u202e\u200b"], "vazio"),
        (["--whatsapp-url", "web.whatsapp.com"], "https://"),
    ],
)
def test_bad_flags_exit_2_with_message(
    argv: list[str], fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("wacrm: ") and fragment in err
    assert "Traceback" not in err


def test_a_long_profile_name_is_echoed_only_in_part(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--profile", "Ana" + "x" * 4997, "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "60" in err and "Anaxxx" in err and "…" in err
    assert len(err) < 200


def test_data_dir_that_is_a_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x", encoding="utf-8")
    assert main(["--data-dir", str(not_a_dir / "sub")]) == 2
    assert "--data-dir" in capsys.readouterr().err


def test_empty_data_dir_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", ""]) == 2
    assert "vazio" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert "WACRM Desktop" in capsys.readouterr().out


# ------------------------------------------------------------------ errors a desktop user sees


@pytest.fixture
def dialogs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Pretend a display is there; record the dialogs instead of waiting for a click."""
    from wacrm_desktop import cli

    shown: list[str] = []
    monkeypatch.delenv("WACRM_NO_ERROR_DIALOGS", raising=False)
    monkeypatch.setattr(cli, "_can_show_dialogs", lambda env: True)
    monkeypatch.setattr(cli, "_show_error_dialog", shown.append)
    return shown


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """main() sets the process's logging up (handlers on the root logger): undo it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def test_unusable_data_dir_is_also_shown_in_a_dialog(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dialogs: list[str]
) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x", encoding="utf-8")
    assert main(["--data-dir", str(not_a_dir / "sub")]) == 2
    err = capsys.readouterr().err
    assert dialogs and f"wacrm: {dialogs[0]}\n" == err  # same text on stderr and on screen
    # the OS error in the app's language, not the C library's English
    assert "uma parte do caminho é um arquivo" in err and "Not a directory" not in err


def test_second_start_on_the_same_data_folder_says_so_in_a_dialog(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    dialogs: list[str],
    monkeypatch: pytest.MonkeyPatch,
    restore_logging: None,
) -> None:
    from PySide6.QtCore import QLockFile

    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setattr(faulthandler, "enable", lambda: None)  # pytest captures stderr
    held = QLockFile(str(tmp_path / "wacrm.lock"))
    assert held.tryLock(100)
    try:
        assert main(["--data-dir", str(tmp_path)]) == 2
    finally:
        held.unlock()
    err = capsys.readouterr().err
    assert "já está aberto" in err and dialogs and dialogs[0] in err


@pytest.mark.parametrize(
    ("env", "platform", "ok"),
    [
        ({}, "linux", False),
        ({"DISPLAY": ":0"}, "linux", True),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
        ({"DISPLAY": "  "}, "linux", False),
        ({"QT_QPA_PLATFORM": "offscreen"}, "linux", True),
        ({"QT_QPA_PLATFORM": "xcb"}, "linux", False),
        ({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"}, "linux", False),
        ({"QT_QPA_PLATFORM": "wayland;xcb", "DISPLAY": ":1"}, "linux", True),
        ({"QT_QPA_PLATFORM": "eglfs"}, "linux", True),
        ({}, "freebsd14", False),
        ({}, "win32", True),
        ({}, "darwin", True),
    ],
)
def test_display_check(env: dict[str, str], platform: str, ok: bool) -> None:
    from wacrm_desktop.cli import display_problem

    problem = display_problem(env, platform)
    assert (problem is None) is ok
    if problem is not None:
        assert "xvfb-run" in problem and "QT_QPA_PLATFORM=offscreen" in problem


def test_dialogs_only_on_a_display_someone_sees() -> None:
    from wacrm_desktop.cli import _can_show_dialogs

    assert _can_show_dialogs({"DISPLAY": ":0"})
    assert not _can_show_dialogs({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"})
    assert not _can_show_dialogs({"DISPLAY": ":0", "WACRM_NO_ERROR_DIALOGS": "1"})


def test_no_display_exits_2_with_a_message_and_no_lock(tmp_path: Path) -> None:
    """Without a display Qt would abort (SIGABRT) and leave the lock: the app stops first."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    data = tmp_path / "data"
    done = subprocess.run(
        [sys.executable, "-m", "wacrm_desktop", "--data-dir", str(data)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if not sys.platform.startswith("linux"):
        pytest.skip("the display check is for Linux")
    assert done.returncode == 2, done.stderr
    assert "xvfb-run" in done.stderr and "QT_QPA_PLATFORM=offscreen" in done.stderr
    assert not (data / "wacrm.lock").exists()
    assert "no display" in (data / "logs" / "wacrm.log").read_text(encoding="utf-8")
