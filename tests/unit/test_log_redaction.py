"""Phones in logs: one policy everywhere — at most the last 4 digits of a number are visible.

Both directions: every way the app meets a phone is masked (raw digits, typed masks, WhatsApp
ids, @lid ids, message ids, the CV CRM search fragment, foreign numbers), and what only looks
like digits is left alone (versions, ISO timestamps, pids, ports, UUIDs, Chromium stamps).
Masked forms of the same number from different lines never combine into more than 4 digits.
"""

from __future__ import annotations

import logging
import re
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wacrm_desktop.core.phones import VALID_DDDS, mask, redact_phones, search_fragment
from wacrm_desktop.log import PhoneRedactingFilter
from wacrm_desktop.log import redact_phones as log_redact_phones


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


# (spelling in a log line, the 4 digits that may stay)
PHONES = [
    ("5511990010001", "0001"),
    ("551190010002", "0002"),  # WhatsApp's spelling without the ninth digit
    ("11990010001", "0001"),
    ("1133334444", "4444"),
    ("990010001", "0001"),
    ("90010001", "0001"),  # the CV CRM search fragment
    ("+5511990010001", "0001"),
    ("+55 (11) 99001-0001", "0001"),
    ("+55 11 99001-0001", "0001"),
    ("+55 11 99001 0001", "0001"),
    ("+55(11)99001-0001", "0001"),
    ("(11) 99001-0001", "0001"),
    ("(11) 9 9001-0001", "0001"),
    ("11 99001-0001", "0001"),
    ("99001-0001", "0001"),
    ("9001-0002", "0002"),
    ("99001.0001", "0001"),
    ("11.99001.0001", "0001"),
    ("5511990010001@c.us", "0001"),
    ("551190010002@s.whatsapp.net", "0002"),
    ("204617782394561@lid", "4561"),  # not a phone, but WhatsApp links it to one
    ("false_5511990010001@c.us_ABCDEF", "0001"),
    ("true_120363025246125486@g.us_ABCDEF_5511990010001@c.us", "0001"),
    ("?telefone=90010001&nome=x", "0001"),
    ('{"phone": "5511990010001"}', "0001"),
    ("+1 (415) 555-2671", "2671"),
    ("+44 20 7946 0958", "0958"),
    ("+351 912 345 678", "5678"),
]


@pytest.mark.parametrize(("spelled", "tail"), PHONES)
def test_every_spelling_of_a_phone_keeps_at_most_its_last_4_digits(spelled: str, tail: str) -> None:
    out = redact_phones(f"chat {spelled} said hi.")
    visible = _digits(out)
    if "120363025246125486@g.us" in spelled:  # a group id is no phone: it stays
        visible = visible.replace("120363025246125486", "", 1)
    assert visible == tail, out


def test_device_suffix_and_old_group_id() -> None:
    out = redact_phones("from 5511990010001:12@s.whatsapp.net in 5511990010001-1612345678@g.us")
    assert "5511990010001" not in out and "99001" not in out and "1612345678" not in out
    assert ":12@s.whatsapp.net" in out and out.count("*") >= 9 + 19


@pytest.mark.parametrize(
    "text",
    [
        "WhatsApp 2.3000.1030123496 ok",
        "version 2.2412.54 loaded",
        "2026-12-04 08:48:36,123 INFO started",
        "at 2026-12-04T08:48:36.123Z",
        "04-12-2026 08:48",
        "pid 123456 port 27017",
        "mongodb://127.0.0.1:27017/wacrm",
        "http://127.0.0.1:45678/api/v1/comercial/leads?limit=50&offset=0",
        "profile wacrm-1bebf015-4b2c-4e7a-9c1d-409351234572 ok",
        "[17960203:228282:1204/084836.123456:ERROR:foo.cc(12)] bad",
        "took 1234 ms, 12.5 s, 0.35 s",
        "message 3EB0C431D4B2D1A6A2B4 and ABCDEF1234567890",
        "group 120363025246125486@g.us",
        "lead 1001 situacao 3 codigo=401",
    ],
)
def test_what_only_looks_like_digits_is_left_alone(text: str) -> None:
    assert redact_phones(text) == text


def test_log_module_re_exports_the_same_redaction() -> None:
    assert log_redact_phones is redact_phones


_ddd = st.sampled_from(sorted(VALID_DDDS))
_subscriber = st.one_of(st.from_regex(r"\A9[0-9]{8}\Z"), st.from_regex(r"\A[2-9][0-9]{7}\Z"))


@given(_ddd, _subscriber)
def test_property_lines_about_one_number_never_combine_beyond_4_digits(ddd: str, sub: str) -> None:
    """Every masked form the app writes of one number shows the same last 4 digits and
    nothing else: the defect was `55119****0001` plus `telefone=90****01`."""
    number = f"55{ddd}{sub}"
    head, tail = sub[:-4], sub[-4:]
    lines = [
        f"lead lookup {mask(number)}: found",
        f"GET /leads telefone={mask(search_fragment(number))}: ConnectionError",
        redact_phones(f"chat {number}@c.us opened"),
        redact_phones(f"telefone={search_fragment(number)}"),
        redact_phones(f"typed +55 ({ddd}) {head}-{tail}."),
        redact_phones(f"id false_{number}@c.us_ABCD"),
    ]
    for line in lines:
        assert _digits(line) == tail, line


def test_filter_masks_args_and_tracebacks() -> None:
    logger = logging.getLogger("wacrm.test.redact")
    try:
        raise ValueError("duplicate key p1/5511990010001@c.us")
    except ValueError:
        exc_info = sys.exc_info()
    record = logger.makeRecord(
        logger.name, logging.ERROR, __file__, 1, "lookup %s", ("5511990010001",), exc_info
    )
    PhoneRedactingFilter().filter(record)
    text = logging.Formatter("%(message)s").format(record)
    assert "5511990010001" not in text and "99001" not in text
    assert "*********0001@c.us" in text and "ValueError" in text
