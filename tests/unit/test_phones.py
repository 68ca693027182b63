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
    phones_in,
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
    # One policy for every log line: the last 4 digits at most, nothing else of the number.
    assert mask("5511990010001") == "*********0001"
    assert mask("551190010002") == "********0002"
    assert mask("5511990010001@c.us") == "*********0001@c.us"
    assert mask("5511990010001:12@s.whatsapp.net") == "*********0001:12@s.whatsapp.net"
    assert mask("204617782394561@lid") == "***********4561@lid"
    assert mask("+55 (11) 99001-0001") == "*********0001"
    assert mask("90010002") == "****0002"  # the CV CRM search fragment: the same 4 digits
    assert mask("123456") == "****56"  # short strings: at least 4 digits stay hidden
    assert mask("1234") == "****"
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
    visible = re.sub(r"[^0-9]", "", user)
    assert visible == digits[n - len(visible) :] and len(visible) <= min(4, max(0, n - 4))
    assert user.count("*") == n - len(visible)
    assert out.endswith(server)


@given(st.from_regex(r"\A[0-9]{8,20}\Z"))
def test_property_lid_ids_never_normalize(digits: str) -> None:
    for wid in (f"{digits}@lid", f"{digits}@LID", f"{digits}:3@lid"):
        assert normalize(wid) is None
        assert br_match_key(wid) is None
        assert ninth_digit_variants(wid) == set()
        assert not same_person(wid, wid)


# --------------------------------------------------------------------------- odd real-world forms
# Kinds of faults other projects hit (see the audit notes in the commit messages):
# libphonenumber #1979 / libphonenumber-for-php #341 ("0055…" typed by Brazilians is
# INVALID_COUNTRY_CODE), Number-Phone #77/#81 ("(0xx85) 2222-2222", carrier codes),
# phone fields holding several numbers or an extension, and ninth-digit code that turns a
# landline into a mobile by blindly adding a 9.


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("(0xx11) 99001-0001", "5511990010001"),  # old "0xx DDD" notation
        ("0XX85 2222-2222", "558522222222"),
        ("0 xx 11 99001 0001", "5511990010001"),
        ("0055 21 96750-6838", "5521967506838"),  # "00" international prefix + 55
        ("005511990010001", "5511990010001"),
        ("00351 912 345 678", "351912345678"),
        ("00 1 305 555 0123", "13055550123"),
        ("0021 1 305 555 0123", "13055550123"),  # "00" + carrier 21 + country code
        ("(11) 3333-4444 ramal 23", "551133334444"),  # extension text is not the number
        ("(11) 3333-4444 r. 23", "551133334444"),
        ("+55 11 3333-4444 x23", "551133334444"),
        ("+55 11 3333-4444 ext. 23", "551133334444"),
        ("+5511990010001@c.us", "5511990010001"),  # a "+" some integrations keep in ids
        ("5511990010001.0:12@s.whatsapp.net", "5511990010001"),  # agent + device suffix
    ],
)
def test_normalize_odd_real_world_forms(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("(11) 99001-0001 / (11) 3333-4444", ("5511990010001", "551133334444")),
        ("11 99001-0001, 11 3333-4444", ("5511990010001", "551133334444")),
        ("11 99001-0001; 11 3333-4444", ("5511990010001", "551133334444")),
        ("11990010001 ou 1133334444", ("5511990010001", "551133334444")),
        ("11 99001-0001 e 11 3333-4444", ("5511990010001", "551133334444")),
        ("11 99001-0001 - 11 3333-4444", ("5511990010001", "551133334444")),
        ("(11) 99001-0001\n(11) 3333-4444", ("5511990010001", "551133334444")),
        ("Cel: (11) 99001-0001 Fixo: (11) 3333-4444", ("5511990010001", "551133334444")),
        ("(11) 99001-0001 / 99001-0002", ("5511990010001", "5511990010002")),  # DDD once
        ("+55 (11) 99001-0001 (WhatsApp)", ("5511990010001",)),
        ("(11) 3333-4444 ramal 200 / (11) 99001-0001", ("551133334444", "5511990010001")),
        ("+5511990010001", ("5511990010001",)),
        ("0800 123 4567", ()),
        ("não tem", ()),
        ("", ()),
        (None, ()),
    ],
)
def test_phones_in_a_crm_field(field: str | None, expected: tuple[str, ...]) -> None:
    assert phones_in(field) == expected


def test_same_person_looks_at_every_number_of_a_field() -> None:
    field = "(11) 3333-4444 / (11) 99001-0001"
    assert same_person(field, "5511990010001@c.us")
    assert same_person(field, "551190010001")  # ninth digit missing on WhatsApp
    assert same_person(field, "551133334444")
    assert not same_person(field, "5511990010009")
    assert not same_person(field, "5521990010001")  # same last 8, other DDD


def test_ninth_digit_tolerance_never_turns_a_landline_into_a_mobile() -> None:
    # 9 3333-4444 is a mobile; 3333-4444 a landline: two different lines (and people).
    assert not same_person("5511933334444", "+551133334444")
    assert not same_person("(11) 3333-4444", "5511933334444@c.us")
    assert ninth_digit_variants("5511933334444") == {"5511933334444"}
    # Old 8-digit mobiles began with 6-9 (and, in DDD 11 from 2011, with 5).
    assert same_person("551190010002", "5511990010002")
    assert same_person("551151234567", "5511951234567")
    assert not same_person("552151234567", "5521951234567")
    assert ninth_digit_variants("5511951234567") == {"5511951234567", "551151234567"}


@given(st.text(max_size=60))
@settings(max_examples=300)
def test_property_phones_in_never_raises_and_returns_normalised_numbers(text: str) -> None:
    found = phones_in(text)
    assert len(set(found)) == len(found)
    assert all(normalize(n) == n for n in found)


@pytest.mark.parametrize(
    "typed",
    [
        "+55 11 98765\u20134321",  # en dash (word processors)
        "+55 11 98765\u20144321",  # em dash
        "(11)\u00a098765\u20114321",  # no-break space, non-breaking hyphen
        "11\u202f98765\u22124321",  # narrow no-break space, minus sign
        "\uff0811\uff0998765-4321",  # fullwidth parentheses
        "\uff0b55 11 98765-4321",  # fullwidth plus
        "\u0661\u0661\u0669\u0668\u0667\u0666\u0665\u0664\u0663\u0662\u0661",  # Arabic-Indic
        "\u200b11 98765-4321\ufeff",  # invisible characters from a copy
    ],
)
def test_unicode_written_numbers_are_phones(typed: str) -> None:
    """What the log masker hides as a phone is searched as a phone (not as a name)."""
    assert normalize(typed) == "5511987654321"
    assert phones_in(f"Cel: {typed} / (11) 3333\u20134444") == ("5511987654321", "551133334444")
