"""Phones in logs, the whole class: any number of 8+ digits, whatever its separators
(Unicode spaces and dashes, dots, slashes, parentheses), its length ("00 55…", two numbers
run together) or its neighbours (letters glued to it), shows at most its last 4 digits;
what only looks like digits (versions, dates, UUIDs, hex ids, pids, ports, durations) stays.
"""

from __future__ import annotations

import logging
import re
import sys
import unicodedata

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from wacrm_desktop.core.phones import VALID_DDDS, redact_phones
from wacrm_desktop.log import PhoneRedactingFilter


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


# ----------------------------------------------------------------- the tester's findings

LEAKS = [
    "+55 11 99001\u20130001",  # EN DASH
    "+55 11 99001\u20140001",  # EM DASH
    "+55 11 99001\u22120001",  # MINUS SIGN
    "+55 11 99001\u20100001",  # HYPHEN
    "+55 11 99001\u20110001",  # NON-BREAKING HYPHEN
    "+55 11 99001\u20120001",  # FIGURE DASH
    "+55 11 99001\u2e3a0001",  # TWO-EM DASH
    "+55 11 99001\ufe630001",  # SMALL HYPHEN-MINUS
    "+55 11 99001\uff0d0001",  # FULLWIDTH HYPHEN-MINUS
    "55119900100015511990010001",  # two numbers run together
    "00551199001000199",  # "00" international prefix, glued extension digits
    "0055 11 99001-0001",
    "1199001.0001",
    "11.990010001",
    "11.990.010.001",
    "11.99001000111.990010001",  # two dotted numbers run together
    "Cel11990010001",
    "11990010001x",
    "Tel:+5511990010001ok",
    "+55\u00a011\u00a099001-0001",  # NO-BREAK SPACE
    "+55\u202f11\u202f99001-0001",  # NARROW NO-BREAK SPACE
    "+55\u200911\u200999001-0001",  # THIN SPACE
    "+55\u300011\u300099001-0001",  # IDEOGRAPHIC SPACE
    "+55\u200b11\u200b99001\u200b0001",  # ZERO WIDTH SPACE
    "+55 11 99001\u00ad0001",  # SOFT HYPHEN
    "11/99001-0001",
    "(11)99001/0001",
    "(11) 9 9001 0001",
    "11 99001.0001",
    "11.99001-0001",
    "55-11-3333-4444",  # not a dd-mm-yyyy date
    "+55 (11) \u2013 99001-0001",
    "11990010001.0",  # a spreadsheet's float
]


@pytest.mark.parametrize("spelled", LEAKS)
def test_reported_leaks_show_at_most_4_digits(spelled: str) -> None:
    out = redact_phones(f"lead {spelled} said hi")
    visible = _digits(out)
    assert len(visible) <= 4, out
    assert "99001" not in visible and "3333" not in visible, out
    assert not re.search(r"\d{5}", out), out


def test_examples_show_exactly_the_last_4_digits() -> None:
    assert redact_phones("+55 11 99001\u20130001") == "+*********0001"
    assert redact_phones("55119900100015511990010001") == "*" * 22 + "0001"
    assert redact_phones("00551199001000199") == "*" * 13 + "0199"
    assert redact_phones("1199001.0001") == "*******0001"
    assert redact_phones("Cel11990010001") == "Cel*******0001"
    assert redact_phones("11990010001x") == "*******0001x"
    assert redact_phones("+55\u00a011\u00a099001-0001") == "+*********0001"
    assert redact_phones("11/99001-0001") == "*******0001"
    assert redact_phones("5.511990010001e+12") == "*********0001e+12"  # a spreadsheet's float


# ------------------------------------------------------------------ what must stay as is

KEPT = [
    "WhatsApp 2.3000.1030123496 ok",
    "WhatsApp Web v2.3000.1030123496",
    "version 2.2412.54 loaded",
    "Qt 6.10.0, Python 3.11.7",
    "Chrome/124.0.6367.207 Safari/537.36",
    "peer 192.168.100.200",
    "2026-12-04 08:48:36,123 INFO started",
    "at 2026-12-04T08:48:36.123Z",
    "04-12-2026 08:48",
    "04/12/2026 08:48",
    "04.12.2026",
    "2026/12/04",
    "lead 1001 on 2026-12-04 ok",
    "ids 12345 08:48:36",
    "pid 123456 port 27017",
    "mongodb://127.0.0.1:27017/wacrm",
    "[17960203:228282:1204/084836.123456:ERROR:foo.cc(12)] bad",
    "took 1234 ms, 12.5 s, 0.35 s, 123.4 ms, 1234567.8 ms",
    "message 3EB0C431D4B2D1A6A2B4 and ABCDEF1234567890",
    "BAE5F2D1C0A91234 3A1B2C3D4E5F60718293",
    "ObjectId('65a1b2c3d4e5f60718293a4b')",
    "profile wacrm-1bebf015-4b2c-4e7a-9c1d-409351234572 ok",
    "uuid 12345678-1234-4abc-8def-123456789012",
    "group 120363025246125486@g.us",
    "newsletter 120363025246125486@newsletter",
    "lead 1001 situacao 3 codigo=401 page 2/7",
    "x86_64 1920x1080",
]


@pytest.mark.parametrize("text", KEPT)
def test_what_only_looks_like_a_phone_is_left_alone(text: str) -> None:
    assert redact_phones(text) == text


def test_wids_keep_their_server_and_device_and_show_4_digits() -> None:
    out = redact_phones("5511990010001:12@s.whatsapp.net 204617782394561@lid 551190010002@c.us")
    assert out == "*********0001:12@s.whatsapp.net ***********4561@lid ********0002@c.us"
    out = redact_phones("false_5511990010001@c.us_3EB0C431D4B2D1A6A2B4")
    assert out == "false_*********0001@c.us_3EB0C431D4B2D1A6A2B4"


# Every Unicode dash and space is a separator (guards the hand-written character classes).
_ALL_DASHES = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Pd"]
_ALL_SPACES = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Zs"]


@pytest.mark.parametrize("sep", _ALL_DASHES + _ALL_SPACES + ["\u2212", "\t"])
def test_every_unicode_dash_and_space_separates_a_phone(sep: str) -> None:
    out = redact_phones(f"x 11{sep}99001{sep}0001 y")
    assert _digits(out) == "0001", (hex(ord(sep)), out)


# --------------------------------------------------------------------- property tests

_SEPARATORS = [
    "",
    " ",
    "  ",
    "-",
    " - ",
    ".",
    "/",
    "\t",
    "\u00a0",
    "\u202f",
    "\u2009",
    "\u2007",
    "\u3000",
    "\u2010",
    "\u2011",
    "\u2013",
    "\u2014",
    "\u2212",
    "\ufe63",
    "\uff0d",
    "\u200b",
    "\u00ad",
    " \u2013 ",
]
_sep = st.sampled_from(_SEPARATORS)
_ddd = st.sampled_from(sorted(VALID_DDDS))
_mobile = st.from_regex(r"\A9[0-9]{8}\Z")
_landline_or_old = st.from_regex(r"\A[2-9][0-9]{7}\Z")
_subscriber = st.one_of(_mobile, _landline_or_old)
# Letters glued to a number: labels people type, and random letters. A glued prefix made
# only of 4+ hex letters can form a hex id ("cafe5511…", a documented limit): not drawn.
_glue = st.one_of(
    st.sampled_from(["", "Cel", "cel:", "Tel", "Fone", "WhatsApp", "Whats:", "nº", "x", "ok"]),
    st.text(alphabet="ghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZçãé", max_size=4),
)
# Text around the number: never digits, so every digit in the output comes from the number.
_context = st.text(alphabet=st.characters(categories=["L", "P", "Zs"]), max_size=12).filter(
    lambda s: not any(ch.isdigit() for ch in s)
)


@st.composite
def _written_number(draw: st.DrawFn) -> tuple[str, str]:
    """(a Brazilian number as a person might write it, its national number)."""
    ddd, sub = draw(_ddd), draw(_subscriber)
    country = draw(st.sampled_from(["", "55", "+55", "+ 55", "0055", "+(55)", "0"]))
    ddd_written = draw(st.sampled_from([ddd, f"({ddd})", f"( {ddd} )"]))
    cut = draw(st.sampled_from([0, len(sub) - 4, 1] if len(sub) == 9 else [0, 4]))
    if cut == 1 and len(sub) == 9:  # "9 9001-0001": the ninth digit apart
        subscriber = sub[0] + draw(_sep) + sub[1:5] + draw(_sep) + sub[5:]
    elif cut:
        subscriber = sub[:cut] + draw(_sep) + sub[cut:]
    else:
        subscriber = sub
    written = country + (draw(_sep) if country else "") + ddd_written + draw(_sep) + subscriber
    return written, ddd + sub


def _no_window_of(national: str, visible: str, size: int = 5) -> bool:
    """No `size` consecutive digits of the national number appear, in order, among the
    visible digits (what a reader could put back together from the line)."""
    return not any(national[i : i + size] in visible for i in range(len(national) - size + 1))


@settings(max_examples=400, deadline=None)
@given(_written_number(), _glue, _glue, _context, _context)
@example(("+55 11 99001\u20130001", "11990010001"), "", "", "", "")
@example(("11/99001-0001", "11990010001"), "Cel", "x", "", "")
def test_property_a_written_number_shows_only_its_last_4_digits(
    number: tuple[str, str], before: str, after: str, left: str, right: str
) -> None:
    written, national = number
    glued = before + written + after
    assume(not re.fullmatch(r"[0-9A-Fa-f]{16,}", glued))  # a hex id (documented limit)
    out = redact_phones(f"{left} {glued} {right}")
    visible = _digits(out)
    assert _no_window_of(national, visible), out
    assert visible == national[-4:], out  # stronger: exactly the last 4, nothing else


_joiner = st.sampled_from(["", " ", "-", "/", ", ", "; ", " ou ", "\n", " | ", "\u00a0"])


@settings(max_examples=200, deadline=None)
@given(_written_number(), _written_number(), _joiner)
def test_property_two_numbers_in_one_line_never_combine(
    first: tuple[str, str], second: tuple[str, str], joiner: str
) -> None:
    """Run together or side by side, two numbers show at most the last 4 digits of each."""
    (w1, n1), (w2, n2) = first, second
    out = redact_phones(f"fones {w1}{joiner}{w2}.")
    visible = _digits(out)
    assert visible in (n2[-4:], n1[-4:] + n2[-4:]), out
    assert all(len(run) <= 4 for run in re.findall(r"\d+", out)), out


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60), st.text(max_size=60))
def test_property_a_number_is_masked_whatever_else_the_line_holds(left: str, right: str) -> None:
    out = redact_phones(f"{left}\n11990010001\n{right}")
    assert "\n*******0001\n" in out, out


def test_filter_applies_the_rule_to_every_log_line() -> None:
    logger = logging.getLogger("wacrm.test.redact.unicode")
    record = logger.makeRecord(
        logger.name,
        logging.INFO,
        __file__,
        1,
        "typed %s",
        ("Cel+55\u00a011\u00a099001\u20130001",),
        None,
    )
    PhoneRedactingFilter().filter(record)
    assert record.getMessage() == "typed Cel+*********0001"


def test_a_version_in_parentheses_stays() -> None:
    """The bridge logs "capture attached (<WhatsApp version>)"."""
    line = "capture attached (2.3000.1030125896)"
    assert redact_phones(line) == line
    assert redact_phones("(1199001.0001)") == "*******0001)"  # a phone: masked
