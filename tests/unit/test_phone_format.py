"""core.phone_format: the full number as the UI shows it (masking is for logs only)."""

from __future__ import annotations

import pytest

from wacrm_desktop.core.phone_format import display_phone


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("5511990010001", "+55 11 99001-0001"),
        ("+5511990010001", "+55 11 99001-0001"),
        ("5521990010003", "+55 21 99001-0003"),
        ("5511990010001@c.us", "+55 11 99001-0001"),
        ("5511990010001:12@s.whatsapp.net", "+55 11 99001-0001"),
        ("551190010002", "+55 11 9001-0002"),  # WhatsApp's id without the ninth digit
        ("551133334444", "+55 11 3333-4444"),  # landline
        ("14155552671", "+1 415-555-2671"),
        ("447911123456", "+44 7911 123456"),
        ("999", "+999"),
    ],
)
def test_display_phone(raw: str, shown: str) -> None:
    assert display_phone(raw) == shown


@pytest.mark.parametrize("raw", [None, "", "123456789012345@lid", "1203630@g.us", "abc"])
def test_not_a_phone_shows_nothing(raw: str | None) -> None:
    assert display_phone(raw) == ""
