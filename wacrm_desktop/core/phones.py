"""Phone numbers: normalising WhatsApp ids and typed numbers, and matching them to CV CRM leads.

Brazilian specifics drive most of this module:

* a number is ``+55`` + DDD (2 digits) + subscriber (8 digits for landlines, 9 for mobiles);
* mobiles gained a leading ``9`` ("nono dígito") between 2012 and 2016, but WhatsApp still
  keeps many accounts under the old 8-digit id (``551190010002@c.us``) while the CRM stores
  ``+5511990010002``. So a person is identified by country + DDD + the last 8 digits, with
  one guard: only an old MOBILE number (8 digits beginning with 6-9, or with 5 in DDD 11,
  where Anatel allowed it from 2011) ever gained the 9. A landline (2-5) never did, so
  ``(11) 3333-4444`` and ``(11) 93333-4444`` are two different lines.

Phone fields typed by people (CRM imports, forms) hold odd forms: several numbers in one
field, extensions ("ramal 23"), labels ("Cel:"), the old "0xx11" notation, "00 55…"
international dialling. `phones_in` reads every number out of such a field.

A ``@lid`` id is an opaque WhatsApp "linked id": its digits are NOT a phone number and must
never be used as one, so every function here returns "no phone" for it.

Normalised numbers are E.164 digits without the ``+`` (``"5511990010001"``), the same form as
``chat_phone`` on bridge events.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import phonenumbers

__all__ = [
    "VALID_DDDS",
    "br_match_key",
    "mask",
    "ninth_digit_variants",
    "normalize",
    "phones_in",
    "redact_phones",
    "same_person",
    "search_fragment",
]

BR_COUNTRY_CODE = 55

# Area codes in use in Brazil (Anatel). Used to refuse digit strings that only look like a
# Brazilian number, e.g. a foreign number typed without "+".
# fmt: off
VALID_DDDS: frozenset[str] = frozenset(
    str(ddd)
    for ddd in (
        *range(11, 20), 21, 22, 24, 27, 28, 31, 32, 33, 34, 35, 37, 38, *range(41, 50),
        51, 53, 54, 55, *range(61, 70), 71, 73, 74, 75, 77, 79, *range(81, 90), *range(91, 100),
    )
)
# fmt: on

# WhatsApp servers whose user part is a phone number; every other server ("lid", "g.us",
# "broadcast", "newsletter") names something that is not a phone.
_PHONE_SERVERS = frozenset({"c.us", "s.whatsapp.net"})
# Characters a typed phone may contain. Letters are refused so that names never reach
# phonenumbers, which would read "1-800-FLOWERS"-style vanity letters as digits.
_TYPED_PHONE_RE = re.compile(r"^\+?[0-9\s().\-/]{4,40}$")
_DIGITS_RE = re.compile(r"\d")
_WID_RE = re.compile(r"^(?P<user>[^@]*)@(?P<server>[A-Za-z0-9.\-]+)$")
# "(0xx11) 9…": the old written form of "trunk prefix + any carrier + DDD".
_ZERO_XX_RE = re.compile(r"(?<!\d)0\s*[xX]\s*[xX]\s*")
# An extension after the number: "ramal 23", "r. 23", "ext. 23", "x23", "#23".
_EXTENSION = r"(?:\b(?:ramal|ram|extens[aã]o|ext)\b\.?|\br\.|(?<=[\d\s])x|#)\s*:?\s*\d{1,6}\b"
_TRAILING_EXTENSION_RE = re.compile(r"\s*" + _EXTENSION + r"\s*$", re.IGNORECASE)
_ANY_EXTENSION_RE = re.compile(_EXTENSION, re.IGNORECASE)
# Inside a field with several numbers: words ("Cel:", "ou", "WhatsApp") and list punctuation
# separate the numbers; a dash separates only when spaced (inside a number it is a mask).
_WORD_RE = re.compile(r"[^\W\d_]+\.?:?")
_SEPARATOR_RE = re.compile(r"[/;,|\n\r\t]+|\s+-\s+")
_EMPTY_PARENS_RE = re.compile(r"\(\s*\)")


def _br_national_ok(national: str) -> bool:
    """Plausible Brazilian national number: valid DDD + landline, old mobile or 9-digit mobile.

    Deliberately looser than phonenumbers.is_valid_number, which rejects the 8-digit mobile
    spelling that WhatsApp still uses for older accounts.
    """
    if not national.isdigit() or national[:2] not in VALID_DDDS:
        return False
    subscriber = national[2:]
    if len(subscriber) == 9:
        return subscriber[0] == "9"
    if len(subscriber) == 8:
        return subscriber[0] in "23456789"  # 2-5 landline, 6-9 mobile without the ninth digit
    return False


def _old_mobile(ddd: str, last8: str) -> bool:
    """An 8-digit number of the mobile ranges before the ninth digit (so it gained a 9).

    Mobiles began with 6-9; DDD 11 also used 5 from April 2011 (Anatel). Landlines begin
    with 2-5 and never gained a 9.
    """
    return last8[:1] in ("6", "7", "8", "9") or (ddd == "11" and last8[:1] == "5")


def _from_parsed(number: phonenumbers.PhoneNumber) -> str | None:
    """E.164 digits of a parsed number, or None when it cannot be a personal phone."""
    national = phonenumbers.national_significant_number(number)
    if number.country_code == BR_COUNTRY_CODE:
        return f"{BR_COUNTRY_CODE}{national}" if _br_national_ok(national) else None
    if not phonenumbers.is_possible_number(number):
        return None
    return f"{number.country_code}{national}"


def _parse(text: str, region: str | None, *, strict: bool = False) -> str | None:
    """Parse with phonenumbers; `strict` also demands a valid (not just possible) number."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if strict and not phonenumbers.is_valid_number(number):
        return None
    return _from_parsed(number)


def _normalize_digits(digits: str, region: str, *, bare: bool) -> str | None:
    """Digits without "+" are ambiguous; resolve them the way a Brazilian user means them.

    * 12–13 digits starting with 55: Brazil with country code (our own output form).
    * otherwise the default region first (a typed "11990010001" or "(11) 99001-0001");
    * then, only for a bare digit string, international: the E.164 digits of a foreign
      number. That guess must be a valid number, not merely a possible one.

    Known limit: a foreign E.164 number of 10–11 digits that also reads as a plausible
    Brazilian DDD + number (e.g. Peru +51 9…) is taken as Brazilian. Pass such numbers with
    "+" or as a WhatsApp id, which are never ambiguous.
    """
    if digits.startswith("55") and len(digits) in (12, 13) and region.upper() == "BR":
        found = _parse("+" + digits, None)
        if found is not None:
            return found
    found = _parse(digits, region)
    if found is None and bare:
        found = _parse("+" + digits, None, strict=True)
    return found


def normalize(raw: str | None, region: str = "BR") -> str | None:
    """E.164 digits without "+" for a WhatsApp id or a typed number; None if it is no phone.

    Accepts "5511990010001@c.us" (device suffixes like ":12@s.whatsapp.net" too),
    "+55 (11) 99001-0001", "(11) 99001-0001", "11990010001", "011 99001-0001" and numbers
    with or without the mobile ninth digit (kept as given: the WhatsApp id is the identity,
    ninth-digit tolerance lives in `same_person`). "@lid", group, broadcast and newsletter
    ids return None: their digits are not phone numbers.
    """
    if not raw or not isinstance(raw, str) or not isinstance(region, str):
        return None
    return _normalize(raw, region)


def _plain_typed(text: str) -> str:
    """A typed or pasted number in ASCII: any Unicode dash ("–" from a word processor, "‑")
    becomes "-", any Unicode space " ", invisible characters go, fullwidth ( ) . / and
    non-ASCII digits ("١١", "１１") become ASCII — the same characters the log masker treats
    as part of a number, so what it hides as a phone is searched as a phone too."""
    out = _TYPED_INVISIBLE_RE.sub("", text)
    out = _TYPED_DASH_RE.sub("-", out)
    out = _TYPED_SPACE_RE.sub(" ", out)
    out = out.translate(_FULLWIDTH_PUNCT)
    if not out.isascii():
        out = "".join(str(unicodedata.digit(ch)) if ch.isdigit() else ch for ch in out)
    return out


@functools.lru_cache(maxsize=4096)  # pure; the panel matches the same numbers over and over
def _normalize(raw: str, region: str) -> str | None:
    text = raw.strip()
    if "@" not in text:
        text = _plain_typed(text).strip()
    if "@" in text:
        match = _WID_RE.match(text)
        if match is None or match.group("server").lower() not in _PHONE_SERVERS:
            return None
        # Drop a multi-device suffix (":12") and a Baileys-style agent (".0"); tolerate a "+".
        user = match.group("user").split(":", 1)[0].split(".", 1)[0].lstrip("+")
        if not user.isdigit():
            return None
        return _parse("+" + user, None)
    if text.lower().startswith("tel:"):
        text = text[4:].strip()
    text = _ZERO_XX_RE.sub("0", text)
    text = _TRAILING_EXTENSION_RE.sub("", text)
    if not _TYPED_PHONE_RE.match(text):
        return None
    if text.startswith("+"):
        return _parse(text, None)
    digits = "".join(_DIGITS_RE.findall(text))
    if not digits:
        return None
    if digits.startswith("00"):
        return _international_00(digits)
    if digits.startswith("0"):
        # Trunk prefix (and carrier code) of a national number: phonenumbers strips them.
        return _parse(digits, region)
    return _normalize_digits(digits, region, bare=text.isdigit())


def _international_00(digits: str) -> str | None:
    """ "00" + country code, or "00" + a Brazilian carrier + country code.

    phonenumbers reads Brazil's international prefix as "00" + a 2-digit carrier, so the
    "0055 21 9…" many Brazilians write fails with region BR (libphonenumber #1979), and
    "0055 11 9…" even becomes a "possible" US number. Both readings are tried here, plain
    "00" first, and only a VALID number is accepted.
    """
    for rest in (digits[2:], digits[4:]):
        if rest and not rest.startswith("0"):
            found = _parse("+" + rest, None, strict=True)
            if found is not None:
                return found
    return None


def phones_in(text: str | None, region: str = "BR") -> tuple[str, ...]:
    """Every phone number in a CRM field, normalised, in order, without repeats.

    For fields typed by people: "(11) 99001-0001 / (11) 3333-4444", "… ou …", "Cel: … Fixo:
    …", "(11) 3333-4444 ramal 20", "(11) 99001-0001 / 99001-0002" (the DDD written once).
    A WhatsApp id or a single number gives at most one; nothing usable gives ().
    """
    if not text or not isinstance(text, str) or not isinstance(region, str):
        return ()
    return _phones_in(text, region)


@functools.lru_cache(maxsize=4096)
def _phones_in(text: str, region: str) -> tuple[str, ...]:
    single = normalize(text, region)
    if single is not None:
        return (single,)
    if "@" in text:  # an id is one thing: never split it into "numbers"
        return ()
    cleaned = _ANY_EXTENSION_RE.sub("|", _ZERO_XX_RE.sub("0", _plain_typed(text)))
    cleaned = _WORD_RE.sub("|", cleaned)
    out: list[str] = []
    last_ddd: str | None = None
    for piece in _SEPARATOR_RE.split(_EMPTY_PARENS_RE.sub(" ", cleaned)):
        piece = piece.strip(" .:-()")
        digits = "".join(_DIGITS_RE.findall(piece))
        if len(digits) < 8:
            continue
        found = normalize(piece, region)
        if found is None and last_ddd is not None and len(digits) in (8, 9):
            found = normalize(last_ddd + digits, region)  # "(11) 9…-… / 9…-…"
        if found is None:
            continue
        key = br_match_key(found)
        last_ddd = key[0] if key is not None else None
        if found not in out:
            out.append(found)
    return tuple(out)


def _split(e164_digits: str) -> tuple[int, str] | None:
    """(country code, national significant number) of normalised digits."""
    digits = normalize(e164_digits)
    if not digits:
        return None
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None
    return number.country_code, phonenumbers.national_significant_number(number)


def br_match_key(e164_digits: str) -> tuple[str, str] | None:
    """(DDD, last 8 digits) of a Brazilian number: the ninth-digit-tolerant key.

    Equal keys are necessary, not sufficient, for the same line: `same_person` also demands
    that a spelling without the 9 be an old mobile (a landline never gained a 9).
    None for foreign numbers and for anything that is not a Brazilian phone.
    """
    parts = _split(e164_digits) if e164_digits else None
    if parts is None or parts[0] != BR_COUNTRY_CODE or not _br_national_ok(parts[1]):
        return None
    return parts[1][:2], parts[1][-8:]


def ninth_digit_variants(digits: str) -> set[str]:
    """Every spelling of the same Brazilian mobile (with and without the ninth digit).

    Includes the number itself; landlines and foreign numbers give a one-element set,
    anything that is not a phone gives an empty set.
    """
    normalized = normalize(digits) if digits else None
    if normalized is None:
        return set()
    key = br_match_key(normalized)
    if key is None:
        return {normalized}
    ddd, last8 = key
    if _old_mobile(ddd, last8):
        spellings = {f"55{ddd}{last8}", f"55{ddd}9{last8}"}
        # Drop a spelling that is not a Brazilian number at all ("9 1234-5678" without its 9).
        return {s for s in spellings if normalize(s) == s} | {normalized}
    return {normalized}


def search_fragment(digits: str) -> str:
    """The value for CV CRM's `telefone` filter, which matches leads whose phone CONTAINS it.

    Brazil: the last 8 digits. "DDD + last 8" would not work: the CRM stores
    "+5511990010002", and "1190010002" (the WhatsApp spelling without the ninth digit) is not
    a substring of it, because the 9 sits between the DDD and the last 8. The last 8 digits
    are a substring of both spellings. The search then also returns people from other DDDs,
    so every hit must be re-checked with `same_person`.

    Foreign numbers: the national significant number (no ninth-digit rule abroad).
    Raises ValueError when `digits` is not a phone number.
    """
    parts = _split(digits) if digits else None
    if parts is None:
        raise ValueError("not a phone number")
    country, national = parts
    if country == BR_COUNTRY_CODE:
        return national[-8:]
    return national


def _same_line(a: str, b: str) -> bool:
    """Two normalised numbers are one line: equal, or a mobile with and without its 9."""
    if a == b:
        return True
    ka, kb = br_match_key(a), br_match_key(b)
    if ka is None or kb is None or ka != kb:
        return False
    ddd, last8 = ka
    # Same DDD + last 8 but different spellings: one has the ninth digit, the other not.
    return len(a) != len(b) and _old_mobile(ddd, last8)


def same_person(a: str | None, b: str | None) -> bool:
    """True when two numbers are the same line, tolerating the Brazilian ninth digit.

    Brazil: same DDD and same last 8 digits, where a spelling without the 9 must be an old
    mobile (never a landline). Elsewhere: the same full number. Either side may be any form
    `normalize` accepts (the CRM's "+55…", a WhatsApp id) or a CRM field with several
    numbers (`phones_in`): any pair that is the same line counts.
    """
    if not a or not b:
        return False
    return any(_same_line(x, y) for x in phones_in(a) for y in phones_in(b))


# ---------------------------------------------------------------------------- logs
#
# One policy for every log line (LGPD): of a phone number, or of any piece of one (the
# 8-digit CV CRM search fragment), at most the LAST 4 digits are visible; country code, DDD
# and length-revealing prefixes are starred too. Since every form shows only trailing
# digits, and every fragment the app logs is a suffix of the number, no combination of log
# lines reveals more than those 4 digits. `mask` is for values the code knows are phones or
# WhatsApp ids (@lid ids included: WhatsApp links them to a phone); `redact_phones` is the
# safety net the log handlers apply to every formatted line.


def _mask_digits(digits: str) -> str:
    """'*********0001': the last 4 digits at most, and at least 4 digits hidden.

    "5511990010001" -> "*********0001", "90010002" -> "****0002", "123456" -> "****56".
    """
    n = len(digits)
    tail = min(4, max(0, n - 4))
    return "*" * (n - tail) + digits[n - tail :]


def mask(phone_or_wid: str | None) -> str:
    """Loggable form of a phone or WhatsApp id: "*********0001", "*********0001@c.us".

    Never more than the last 4 digits; "@lid" and group ids are masked the same way, a
    multi-device suffix (":12@s.whatsapp.net") is kept. Text without digits becomes "***"
    (it might be a name), and None/"" become "-".
    """
    if not phone_or_wid:
        return "-"
    user, at, server = phone_or_wid.partition("@")
    main, colon, device = user.partition(":")
    suffix = at + server if at else ""
    if at and colon and device.isdigit():
        user, suffix = main, colon + device + suffix
    digits = "".join(_DIGITS_RE.findall(user))
    if not digits:
        return "***" + suffix
    return _mask_digits(digits) + suffix


# `redact_phones`: what a phone looks like in a log line, and what only looks like one.
#
# The rule: a NUMBER is a run of digits, or several runs joined by separator runs of 1 to 6
# characters — any Unicode space except line breaks (NBSP, thin, narrow no-break…), any
# Unicode dash (hyphen, en/em dash, minus sign…), ".", "/", "(", ")", invisible joiners
# (zero-width space, soft hyphen…) — with an optional leading "+" and "(". Letters do NOT
# end a number's protection: "Cel11990010001" and "11990010001x" are numbers too. A number
# of 8 or more digits shows only its last 4 digits, whatever its length ("00 55…", two
# numbers run together), its separators and its neighbours; "+" stays, separators go.
#
# Copied unchanged, because they only look like digits (tried first at each position, and a
# number never swallows one of them):
#   * a UUID; a hex id of 16+ hex characters with at least 4 letters a-f (WhatsApp message
#     ids "3EB0C431D4…", Mongo ObjectIds, hashes);
#   * an ISO date/time ("2026-12-04 08:48:36,123", "…T08:48:36.123Z"), a date
#     "04-12-2026" / "04/12/2026" / "04.12.2026" / "2026/12/04" (real day, month, year);
#   * digits joined by ":" (clock, Chromium's pid:tid, host:port) — except a WhatsApp id's
#     device suffix ("5511…:12@s.whatsapp.net");
#   * a group/newsletter id: one run of 16+ digits before "@g.us" ("120363…@g.us");
#   * a number written with dots only that is a version, an IPv4 address or a decimal
#     (see `_dotted_is_phone`), and any number of fewer than 8 digits (pids, ports,
#     durations "123.4 ms", lead ids).
# Known costs (masked although no phone): a bare Unix timestamp ("t=1733302116"), a money
# amount with thousands dots ("12.345.678"), a decimal with 4 decimals ("1234.5678"), and
# numbers only spaces apart ("6.10.0 1920"); none of them can be told from a phone.
# Known limits (not masked): a phone glued to 4+ letters a-f making a 16+ character hex
# token ("cafe5511990010001"), and a phone with a letter typed for a digit ("9900l-0001"):
# values typed by people must not be logged at all (see adapters.cvcrm `_describe`).

# Unicode dashes (every "Pd" character, tested) plus minus signs.
_DASHES = (
    "\\-\u058a\u05be\u1400\u1806\u2010-\u2015\u2e17\u2e1a\u2e3a\u2e3b\u2e40\u2e5d\u301c"
    "\u3030\u30a0\ufe31\ufe32\ufe58\ufe63\uff0d\U00010ead\u2212\u02d7\u2043"
)
# Every Unicode space ("Zs") and tab; line breaks end a number (a multi-line message).
_SPACES = "\t\x1f \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"
# Invisible characters a copied number may carry.
_INVISIBLE = "\u00ad\u180e\u200b-\u200d\u2060\ufeff"
_SEP = f"[{_SPACES}{_DASHES}{_INVISIBLE}./()\uff0e\uff0f\uff08\uff09]"
_TYPED_INVISIBLE_RE = re.compile(f"[{_INVISIBLE}]")
_TYPED_DASH_RE = re.compile(f"[{_DASHES}]")
_TYPED_SPACE_RE = re.compile(f"[{_SPACES}]")
_FULLWIDTH_PUNCT = str.maketrans("\uff08\uff09\uff0e\uff0f\uff0b", "()./+")

_UUID = r"(?<![0-9A-Za-z])[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}(?![0-9A-Za-z])"
_HEX_ID = r"(?<![0-9A-Za-z])(?=(?:[0-9]*[A-Fa-f]){4})[0-9A-Fa-f]{16,}(?![0-9A-Za-z])"
_YEAR, _MONTH, _DAY = r"(?:19|20)\d\d", r"(?:0?[1-9]|1[0-2])", r"(?:0?[1-9]|[12]\d|3[01])"
_DATE = (
    rf"(?<![0-9])(?:"
    rf"{_YEAR}-{_MONTH}-{_DAY}(?:[T\ ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?)?"
    rf"|{_YEAR}/{_MONTH}/{_DAY}"
    rf"|{_DAY}-{_MONTH}-{_YEAR}|{_DAY}/{_MONTH}/{_YEAR}|{_DAY}\.{_MONTH}\.{_YEAR}"
    rf")(?![0-9])(?![-/.]\d)"
)
_KEPT = rf"{_UUID}|{_HEX_ID}|{_DATE}"
# One run of digits in a number: not the start of a kept span, and not the first field of a
# "12:34" chain (a clock, pid:tid, host:port), which is kept.
_GROUP = rf"(?!{_KEPT})\d++(?!(?::\d++)+(?![\d@]))"
_REDACT_RE = re.compile(
    rf"""
    (?P<keep>
        {_KEPT}
      | (?<![0-9])\d+(?::\d+)+(?![0-9@])
      | (?<![0-9])\d{{16,}}(?=@(?:g\.us|broadcast|newsletter)(?![0-9A-Za-z]))
    )
  | (?P<number>
        (?<![0-9])
        (?:\+{_SEP}{{0,3}})?
        (?:[(\uff08]{_SEP}{{0,3}})?
        {_GROUP}
        (?:{_SEP}{{1,6}}{_GROUP})*
    )
    """,
    re.VERBOSE,
)
_DOTTED_RE = re.compile(r"\d+(?:\.\d+)+")


def _dotted_is_phone(text: str) -> bool:
    """A number of 8+ digits written with dots only: a phone, unless it is a version, an
    IPv4 address or a decimal.

    Phones: the last group has 4 digits ("1199001.0001", "11.99001.0001", "3333.4444"), or
    8–9 digits after at most a country code and DDD ("11.990010001", "55.11.33334444").
    Kept: "2.3000.1030123496", "124.0.6367.207" (versions: first group of 1–3 digits,
    middle groups of at most 5, not thousands-grouped), "192.168.100.200", "1234567.25"
    (a decimal of at most 7 integer digits).
    """
    groups = text.split(".")
    last, before = groups[-1], "".join(groups[:-1])
    if len(last) == 4 or (len(last) in (8, 9) and len(before) <= 5):
        return True
    if len(groups) == 2:  # a decimal, unless its integer part alone is a long run
        return len(groups[0]) >= 8 or len(last) >= 8
    if len(groups) == 4 and all(len(g) <= 3 and int(g) <= 255 for g in groups):
        return False  # IPv4
    thousands = all(len(g) == 3 for g in groups[1:])
    long_middle = any(len(g) > 5 for g in groups[1:-1])  # two numbers run together
    return len(groups[0]) > 3 or thousands or long_middle


def _redact_match(match: re.Match[str]) -> str:
    text = match.group("number")
    if text is None:
        return match.group(0)
    digits = "".join(_DIGITS_RE.findall(text))
    if len(digits) < 8:
        return text
    core = text.lstrip("(\uff08")  # "(2.3000.1030125896)": a version in parentheses
    if _DOTTED_RE.fullmatch(core) and not _dotted_is_phone(core):
        return text
    return ("+" if text.startswith("+") else "") + _mask_digits(digits)


def redact_phones(text: str) -> str:
    """`text` with every phone-like number masked to its last 4 digits (rule above)."""
    if not any(ch.isdigit() for ch in text):
        return text
    return _REDACT_RE.sub(_redact_match, text)
