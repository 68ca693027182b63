from __future__ import annotations

import logging

import pytest

from wacrm_desktop.log import PhoneRedactingFilter, redact_phones


def test_redacts_phone_runs_and_wids() -> None:
    text = "chat 5511990010001@c.us from +5511990010001 lid 204617782394561@lid"
    out = redact_phones(text)
    assert "5511990010001" not in out
    assert "204617782394561" not in out
    assert "5511*******01@c.us" in out


def test_filter_applies_to_args(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("wacrm.test.redact")
    handler_filter = PhoneRedactingFilter()
    record = logger.makeRecord(
        logger.name, logging.INFO, __file__, 1, "lookup %s", ("5511990010001",), None
    )
    handler_filter.filter(record)
    assert "5511990010001" not in record.getMessage()


def test_uuids_and_chromium_stamps_are_left_alone() -> None:
    text = "profile wacrm-1bebf015-4b2c-4e7a-9c1d-409351234572 [17960203:228282] ok"
    assert redact_phones(text) == text


def test_phone_inside_message_id_and_query_is_masked() -> None:
    out = redact_phones("id=false_5511990010001@c.us_3EB0AA telefone=90010001 +5511990010001.")
    assert "5511990010001" not in out
    assert "90010001" not in out
