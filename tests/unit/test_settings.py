"""settings.json: a value that cannot work falls back to the default with a warning.

The defect: `"mongodb_db": ""` passed the type check and left the history offline for good
(pymongo's InvalidName). The same kind, field by field: strings that cannot be what they
name (database name, subdomain, URL, URL template, language, region), list items of the
wrong type, the retention kept under `extra` (`true` read as 1 day), and numbers out of range.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from wacrm_desktop.core.settings import Settings, load_settings, mongodb_db_problem

DEFAULTS = Settings()


def _load(caplog: pytest.LogCaptureFixture, **values: Any) -> Settings:
    caplog.set_level(logging.WARNING, logger="wacrm.config")
    return Settings.from_mapping(values)


def _warned(caplog: pytest.LogCaptureFixture, key: str) -> bool:
    return any(key in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


# --------------------------------------------------------------------------- mongodb_db


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "wa/crm",
        "wa\\crm",
        "wa.crm",
        "wa crm",
        'wa"crm',
        "wa$crm",
        "wa\x00crm",
        "wa*crm",  # refused by MongoDB on Windows, where the app also runs
        "wa:crm",
        "x" * 64,
        "ç" * 32,  # 64 bytes in UTF-8
    ],
)
def test_invalid_database_name_falls_back_to_the_default(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert mongodb_db_problem(name) is not None
    settings = _load(caplog, mongodb_db=name)
    assert settings.mongodb_db == DEFAULTS.mongodb_db == "wacrm"
    assert _warned(caplog, "mongodb_db")


@pytest.mark.parametrize("name", ["wacrm", "wacrm_prod", "WACRM-2", "x" * 63, "ç" * 31])
def test_valid_database_names_are_kept(name: str, caplog: pytest.LogCaptureFixture) -> None:
    assert mongodb_db_problem(name) is None
    assert _load(caplog, mongodb_db=name).mongodb_db == name
    assert not caplog.records


def test_surrounding_spaces_are_trimmed(caplog: pytest.LogCaptureFixture) -> None:
    assert _load(caplog, mongodb_db=" wacrm_prod ").mongodb_db == "wacrm_prod"


def test_settings_file_with_empty_database_name_gives_the_default(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="wacrm.config")
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"mongodb_db": "", "cvcrm_email": "a@b.c"}), encoding="utf-8")
    settings = load_settings(path)
    assert settings.mongodb_db == "wacrm" and settings.cvcrm_email == "a@b.c"
    assert _warned(caplog, "mongodb_db")


def test_the_problem_names_what_is_wrong() -> None:
    assert mongodb_db_problem("") != mongodb_db_problem("a/b")
    assert "/" in (mongodb_db_problem("a/b") or "")  # names the offending character
    assert "63" in (mongodb_db_problem("x" * 64) or "")


# --------------------------------------------------------------------------- other fields


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("language", "klingon", "pt_BR"),
        ("language", "", "pt_BR"),
        ("language", "en_US", "en"),  # normalised, like WACRM_LANGUAGE
        ("phone_region", "", "BR"),
        ("phone_region", "XX", "BR"),
        ("phone_region", "pt", "PT"),
        ("cvcrm_subdomain", "minha empresa", ""),
        ("cvcrm_subdomain", "ação", ""),
        (
            "cvcrm_subdomain",
            " https://Acme.cvcrm.com.br/gestor ",
            "https://Acme.cvcrm.com.br/gestor",
        ),
        ("cvcrm_base_url", "http://exa mple.com", ""),
        ("cvcrm_base_url", "ftp://example.com", ""),
        ("cvcrm_base_url", "http://127.0.0.1:8765/", "http://127.0.0.1:8765/"),
        ("cvcrm_base_url", "acme", "acme"),
        ("cvcrm_lead_url_template", "{base}/leads/{idlead}", ""),
        ("cvcrm_lead_url_template", "{base}/leads/{id", ""),
        ("cvcrm_lead_url_template", "{base}/leads", ""),
        ("cvcrm_lead_url_template", "{base}/leads/{id}/detalhes", "{base}/leads/{id}/detalhes"),
        ("cvcrm_lead_origin", " rf ", "RF"),
        ("lead_quick_replies", ["Oi {nome}", 3, "", None, "Tchau"], ["Oi {nome}", "Tchau"]),
        ("lead_cache_ttl_seconds", True, 600),
        ("lead_cache_ttl_seconds", 10, 600),
        ("lead_cache_ttl_seconds", 600.0, 600),
        ("lead_prefetch_interval_ms", 0, 400),
        ("recent_messages_limit", -5, 200),
        ("capture_status_and_newsletters", "yes", False),
    ],
)
def test_each_field_falls_back_when_unusable(
    key: str, value: Any, expected: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _load(caplog, **{key: value})
    assert getattr(settings, key) == expected
    if expected == getattr(DEFAULTS, key) and value != expected:
        assert _warned(caplog, key)


@pytest.mark.parametrize("value", [True, -1, 40_000, "30", 3.5, None])
def test_retention_days_under_extra_is_checked_too(
    value: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _load(caplog, history_retention_days=value)
    assert "history_retention_days" not in settings.extra
    assert _warned(caplog, "history_retention_days")


def test_retention_days_and_unknown_keys_are_kept(caplog: pytest.LogCaptureFixture) -> None:
    settings = _load(caplog, history_retention_days=30, someone_elses_key=[1, 2])
    assert settings.extra == {"history_retention_days": 30, "someone_elses_key": [1, 2]}
    assert not caplog.records


def test_defaults_round_trip_without_warnings(caplog: pytest.LogCaptureFixture) -> None:
    assert _load(caplog, **DEFAULTS.to_mapping()) == DEFAULTS
    assert not caplog.records


# --------------------------------------------------------------------------- the file itself


@pytest.mark.parametrize("content", ["{not json", "[1, 2, 3]", '"text"', "null", "42"])
def test_an_unusable_file_is_kept_aside_never_over_an_earlier_copy(
    tmp_path: Path, content: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="wacrm.config")
    path = tmp_path / "settings.json"
    path.write_text(content, encoding="utf-8")
    assert load_settings(path) == DEFAULTS
    assert (tmp_path / "settings.broken.json").read_text(encoding="utf-8") == content
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and "settings.broken.json" in errors[0].getMessage()

    # broken again: a new copy, the earlier one untouched
    path.write_text('["again"]', encoding="utf-8")
    assert load_settings(path) == DEFAULTS
    assert (tmp_path / "settings.broken.json").read_text(encoding="utf-8") == content
    assert (tmp_path / "settings.broken-2.json").read_text(encoding="utf-8") == '["again"]'
    assert not path.exists()


def test_a_byte_order_mark_is_no_damage(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"mongodb_db": "vendas"}).encode())
    assert load_settings(path).mongodb_db == "vendas"
    assert not (tmp_path / "settings.broken.json").exists()
