"""core.phones: normalising WhatsApp ids / typed numbers and the ninth-digit-tolerant match."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wacrm_desktop.core.phones import (
    VALID_DDDS,
    br_match_key,
    mask,
    ninth_digit_variants,
    normalize,
    same_person,
    search_fragment,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("5511990010001@c.us", "5511990010001"),
        ("551190010002@c.us", "551190010002"),  # WhatsApp id without the ninth digit
        ("5511990010001:12@s.whatsapp.net", "5511990010001"),  # multi-device suffix
        ("+5511990010001", "5511990010001"),
        ("5511990010001", "5511990010001"),
        ("+55 (11) 99001-0001", "5511990010001"),
        ("(11) 99001-0001", "5511990010001"),
        ("11 99001 0001", "5511990010001"),
        ("11990010001", "5511990010001"),  # no +55
        ("1190010002", "551190010002"),  # no +55, no ninth digit
        ("011 99001-0001", "5511990010001"),  # trunk prefix
        ("0 15 11 99001-0001", "5511990010001"),  # trunk + carrier code
        ("tel:+55 11 99001-0001", "5511990010001"),
        ("(11) 3333-4444", "551133334444"),  # landline
        ("55991234567", "5555991234567"),  # DDD 55 (RS) without country code
        ("+351 912 345 678", "351912345678"),
        ("12025550123", "12025550123"),  # not Brazilian, so read as international
    ],
)
def test_normalize_accepts_the_usual_spellings(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "   ",
        "204617782394561@lid",  # LID digits are never a phone
        "5511990010001@lid",  # even when they look like one
        "120363041122334455@g.us",
        "status@broadcast",
        "123456789@newsletter",
        "Carlos Lima",
        "1-800-FLOWERS",  # vanity letters are not read as digits
        "12345",
        "(10) 99001-0001",  # DDD 10 does not exist
        "(11) 19001-0001",  # 9-digit subscriber must start with 9
        "0800 123 4567",  # toll-free, not a person
        "abc@c.us",
    ],
)
def test_normalize_rejects_non_phones(raw: str | None) -> None:
    assert normalize(raw) is None


def test_normalize_region_is_configurable() -> None:
    assert normalize("(212) 555-0123", region="US") == "12125550123"
    assert normalize("+55 11 99001-0001", region="US") == "5511990010001"


def test_br_match_key() -> None:
    assert br_match_key("5511990010002") == ("11", "90010002")
    assert br_match_key("551190010002") == ("11", "90010002")
    assert br_match_key("+55 21 99001-0003") == ("21", "90010003")
    assert br_match_key("351912345678") is None
    assert br_match_key("204617782394561@lid") is None
    assert br_match_key("") is None


def test_ninth_digit_variants() -> None:
    both = {"5511990010002", "551190010002"}
    assert ninth_digit_variants("5511990010002") == both
    assert ninth_digit_variants("551190010002@c.us") == both
    assert ninth_digit_variants("551133334444") == {"551133334444"}  # landline
    assert ninth_digit_variants("351912345678") == {"351912345678"}
    assert ninth_digit_variants("204617782394561@lid") == set()


def test_search_fragment_is_a_substring_of_both_spellings() -> None:
    crm_with_ninth = "+5511990010002"
    crm_without_ninth = "+551190010002"
    for wa in ("551190010002", "5511990010002"):
        fragment = search_fragment(wa)
        assert fragment == "90010002"
        assert fragment in crm_with_ninth and fragment in crm_without_ninth
    # Why not "DDD + last 8": the 9 sits between the DDD and the last 8 digits.
    assert "1190010002" not in crm_with_ninth


def test_search_fragment_foreign_and_invalid() -> None:
    assert search_fragment("351912345678") == "912345678"
    with pytest.raises(ValueError):
        search_fragment("204617782394561@lid")


def test_same_person() -> None:
    assert same_person("551190010002@c.us", "+5511990010002")  # seed: Carlos
    assert same_person("+5511990010002", "551190010002")
    assert same_person("(11) 99001-0002", "5511990010002")
    assert not same_person("5521990010003", "+5511990010003")  # seed: 1003 vs 1004
    assert not same_person("5511990010002", "5511990010003")
    assert same_person("+351912345678", "351912345678")
    assert not same_person("+351912345678", "+5511912345678")
    assert not same_person("204617782394561@lid", "204617782394561@lid")
    assert not same_person(None, "5511990010002")
    assert not same_person("5511990010002", "")


def test_mask_examples() -> None:
    assert mask("5511990010001") == "55119****0001"
    assert mask("551190010002") == "5511****0002"
    assert mask("5511990010001@c.us") == "55119****0001@c.us"
    assert mask("204617782394561@lid") == "20461******4561@lid"
    assert mask("+55 (11) 99001-0001") == "55119****0001"
    assert mask("90010002") == "90****02"
    assert mask("Carlos") == "***"
    assert mask("") == "-"
    assert mask(None) == "-"


# --------------------------------------------------------------------------- properties

_ddd = st.sampled_from(sorted(VALID_DDDS))
_subscriber = st.one_of(
    st.from_regex(r"\A9[0-9]{8}\Z"),  # mobile
    st.from_regex(r"\A[6-9][0-9]{7}\Z"),  # mobile without the ninth digit
    st.from_regex(r"\A[2-5][0-9]{7}\Z"),  # landline
)


def _spell(ddd: str, sub: str, style: int) -> str:
    head, tail = sub[:-4], sub[-4:]
    return [
        f"55{ddd}{sub}",
        f"+55{ddd}{sub}",
        f"+55 ({ddd}) {head}-{tail}",
        f"({ddd}) {head}-{tail}",
        f"{ddd}{sub}",
        f"0{ddd} {head}-{tail}",
        f"55{ddd}{sub}@c.us",
    ][style]


@given(_ddd, _subscriber, st.integers(min_value=0, max_value=6))
def test_property_br_numbers_normalize_idempotently(ddd: str, sub: str, style: int) -> None:
    raw = _spell(ddd, sub, style)
    n = normalize(raw)
    assert n == f"55{ddd}{sub}"
    assert normalize(n) == n
    assert same_person(raw, n)
    assert br_match_key(n) == (ddd, sub[-8:])
    assert search_fragment(n) in f"+55{ddd}9{sub[-8:]}"
    assert all(same_person(v, n) for v in ninth_digit_variants(n))


@given(st.text(alphabet="0123456789+()- .@cusli", max_size=30))
@settings(max_examples=300)
def test_property_normalize_is_idempotent_on_anything(raw: str) -> None:
    n = normalize(raw)
    if n is None:
        return
    assert n.isdigit()
    if n.startswith("55"):
        assert normalize(n) == n
    # Foreign results are unambiguous with "+" (bare 10-11 digits are read as Brazilian).
    assert normalize("+" + n) == n


@given(st.from_regex(r"\A[0-9]{1,20}\Z"), st.sampled_from(["", "@c.us", "@lid", "@g.us"]))
def test_property_mask_hides_digits(digits: str, server: str) -> None:
    out = mask(digits + server)
    user = out.partition("@")[0]
    n = len(digits)
    trailing = re.search(r"[0-9]*\Z", user)
    assert trailing is not None and len(trailing.group()) <= 4
    assert user.count("*") >= min(4, max(1, n - 1))
    if n >= 2:
        assert digits not in out
    assert out.endswith(server)


@given(st.from_regex(r"\A[0-9]{8,20}\Z"))
def test_property_lid_ids_never_normalize(digits: str) -> None:
    for wid in (f"{digits}@lid", f"{digits}@LID", f"{digits}:3@lid"):
        assert normalize(wid) is None
        assert br_match_key(wid) is None
        assert ninth_digit_variants(wid) == set()
        assert not same_person(wid, wid)
