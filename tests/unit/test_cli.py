"""Bad command lines end with a clear message and exit code 2, before anything starts."""

from __future__ import annotations

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
