from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from wacrm_desktop.core import profiles
from wacrm_desktop.core.profiles import (
    MAX_NAME,
    MESSAGE_NAME_CHARS,
    ProfileError,
    ProfileRegistry,
    clean_profile_name,
    name_for_message,
)


def test_add_rename_remove_and_order_persist(tmp_path: Path) -> None:
    path = tmp_path / "profiles.json"
    reg = ProfileRegistry(path)
    ana = reg.add("Ana")
    bruno = reg.add("  Bruno   Silva ")
    assert bruno.name == "Bruno Silva"
    renamed = reg.rename(ana.id, "Ana Paula")
    assert renamed.id == ana.id  # the id (storage folder) never changes with the name
    reg.reorder([bruno.id, ana.id])
    reg.set_open(ana.id, False)
    again = ProfileRegistry(path)
    assert [p.name for p in again.all()] == ["Bruno Silva", "Ana Paula"]
    assert [p.name for p in again.open_profiles()] == ["Bruno Silva"]
    again.remove(bruno.id)
    assert [p.id for p in ProfileRegistry(path).all()] == [ana.id]


def test_duplicate_and_empty_names_refused(tmp_path: Path) -> None:
    reg = ProfileRegistry(tmp_path / "p.json")
    reg.add("Ana")
    with pytest.raises(ProfileError):
        reg.add("ana")
    with pytest.raises(ProfileError):
        reg.add("   ")


def test_ensure_reopens_and_creates(tmp_path: Path) -> None:
    reg = ProfileRegistry(tmp_path / "p.json")
    ana = reg.add("Ana")
    reg.set_open(ana.id, False)
    assert reg.ensure("ANA").is_open
    assert reg.ensure("Bruno").name == "Bruno"


def test_corrupt_file_gives_empty_registry(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text("{not json", encoding="utf-8")
    assert ProfileRegistry(path).all() == []


def test_corrupt_file_is_kept_aside_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "profiles.json"
    path.write_text('{"version": 1, "profiles": [{"id": "', encoding="utf-8")
    reg = ProfileRegistry(path)
    assert reg.all() == []
    assert (tmp_path / "profiles.broken.json").read_text(encoding="utf-8").startswith('{"version"')
    # the window tells the user (the log alone is not enough) where the file went
    assert reg.load_problem is not None and "profiles.broken.json" in reg.load_problem
    assert ProfileRegistry(tmp_path / "other.json").load_problem is None

    # a second damaged file never replaces the first one kept aside
    reg.add("Ana")
    path.write_text("{também danificado", encoding="utf-8")
    again = ProfileRegistry(path)
    assert again.all() == [] and again.load_problem is not None
    assert "profiles.broken-2.json" in again.load_problem
    assert (tmp_path / "profiles.broken.json").read_text(encoding="utf-8").startswith('{"version"')
    assert (tmp_path / "profiles.broken-2.json").read_text(encoding="utf-8").startswith("{tamb")


def test_names_are_normalised_and_invisible_characters_removed(tmp_path: Path) -> None:
    reg = ProfileRegistry(tmp_path / "p.json")
    composed = reg.add("Jos\u00e9")
    with pytest.raises(ProfileError):
        reg.add("Jose\u0301")  # same name typed with a combining accent
    assert reg.add("Ana\u202e\u200b").name == "Ana"
    assert composed.name == "José"


# ------------------------------------------------------------------ entries that do not load as is

ANA_ID = "0b9f7c1e-8a52-4b8e-9c61-3f2a1d5e7a01"
BIA_ID = "1c8e6b2d-7f41-4a7d-8b50-2e193c4d6b02"
CAU_ID = "2d7d5a3c-6e30-4f6c-9a4f-1d082b3c5c03"


def _write(path: Path, data: object) -> bytes:
    raw = json.dumps(data, ensure_ascii=False).encode("utf-8")
    path.write_bytes(raw)
    return raw


def test_a_name_over_the_limit_is_shortened_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "profiles.json"
    long_name = "Maria " + "x" * 55  # 61 characters: one too many
    original = _write(
        path,
        {"version": 1, "profiles": [{"id": ANA_ID, "name": long_name, "open": False}]},
    )
    reg = ProfileRegistry(path)
    [ana] = reg.all()
    assert ana.id == ANA_ID and not ana.is_open  # the profile (its WhatsApp session) stays
    assert len(ana.name) == MAX_NAME and ana.name.endswith("…") and ana.name.startswith("Maria ")
    # the original is kept aside byte for byte, the window says so, and the file now loads
    assert (tmp_path / "profiles.broken.json").read_bytes() == original
    assert reg.load_problem is not None
    assert "profiles.broken.json" in reg.load_problem and ana.name[:20] in reg.load_problem
    again = ProfileRegistry(path)
    assert again.all() == [ana] and again.load_problem is None


def test_entries_that_cannot_be_loaded_are_kept_aside_and_named_by_id(tmp_path: Path) -> None:
    path = tmp_path / "profiles.json"
    (tmp_path / "profiles.broken.json").write_text("an earlier copy", encoding="utf-8")
    original = _write(
        path,
        {
            "version": 1,
            "profiles": [
                {"id": ANA_ID, "name": "Ana"},
                {"id": "not-a-uuid", "name": "Sem id"},
                "just a string",
                {"id": ANA_ID, "name": "Ana de novo"},  # a repeated id
                {"id": 12345, "name": "Número"},
                {"id": BIA_ID, "name": None, "open": "yes"},  # wrong types: still loaded
                {"id": CAU_ID, "name": "ANA"},  # a repeated name
            ],
        },
    )
    reg = ProfileRegistry(path)
    assert [(p.id, p.name, p.is_open) for p in reg.all()] == [
        (ANA_ID, "Ana", True),
        (BIA_ID, f"Perfil {BIA_ID[:8]}", True),
        (CAU_ID, "ANA (2)", True),
    ]
    problem = reg.load_problem
    assert problem is not None
    # an earlier copy is never overwritten
    assert (tmp_path / "profiles.broken.json").read_text(encoding="utf-8") == "an earlier copy"
    assert (tmp_path / "profiles.broken-2.json").read_bytes() == original
    assert "profiles.broken-2.json" in problem
    # skipped entries by id (or position when they have none); renamed ones by their new name
    assert ANA_ID in problem and "nº 2" in problem and "nº 3" in problem and "nº 5" in problem
    assert "Perfil 1c8e6b2d" in problem and "ANA (2)" in problem
    assert "Sem id" not in problem and "not-a-uuid" not in problem
    # nothing is erased by the next save beyond what the copy kept
    reg.add("Dani")
    assert (tmp_path / "profiles.broken-2.json").read_bytes() == original
    assert [p.name for p in ProfileRegistry(path).all()][-1] == "Dani"


@pytest.mark.parametrize(
    "content", ["[]", "[1, 2, 3]", '"profiles"', "null", "{}", '{"profiles": {"a": 1}}']
)
def test_a_file_of_the_wrong_shape_is_kept_aside_like_a_damaged_one(
    tmp_path: Path, content: str
) -> None:
    path = tmp_path / "profiles.json"
    path.write_text(content, encoding="utf-8")
    reg = ProfileRegistry(path)
    assert reg.all() == []
    assert reg.load_problem is not None and "profiles.broken.json" in reg.load_problem
    assert (tmp_path / "profiles.broken.json").read_text(encoding="utf-8") == content
    assert not path.exists()


def test_a_byte_order_mark_is_no_damage(tmp_path: Path) -> None:
    path = tmp_path / "profiles.json"
    path.write_bytes(
        b"\xef\xbb\xbf" + json.dumps({"profiles": [{"id": ANA_ID, "name": "Ana"}]}).encode()
    )
    reg = ProfileRegistry(path)
    assert [p.name for p in reg.all()] == ["Ana"] and reg.load_problem is None


# ------------------------------------------------------------------ names: emoji and scripts


@pytest.mark.parametrize(
    "name",
    [
        "João Ção 👩\u200d💼",  # woman office worker: ZWJ
        "👨\u200d👩\u200d👧\u200d👦 Família Souza",  # family
        "👩🏽\u200d⚕️ Dra. Bia",  # skin tone + ZWJ + variation selector
        "👍🏿 Caio",  # skin tone
        "🇧🇷 Brasil 🇵🇹",  # flags: regional indicator pairs
        "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f Escócia",  # tag sequence
        "🏳️\u200d🌈 Alex",
        "❤️ Ana",
        "محمد علي",  # Arabic
        "דוד כהן",  # Hebrew
        "می\u200cخواهم",  # Persian: ZWNJ inside a word
        "\U0001face Alce",  # an emoji newer than Python 3.11's Unicode tables
    ],
)
def test_combined_emoji_and_scripts_keep_every_character(name: str, tmp_path: Path) -> None:
    assert clean_profile_name(name) == name
    path = tmp_path / "profiles.json"
    ProfileRegistry(path).add(name)
    assert [p.name for p in ProfileRegistry(path).all()] == [name]


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("\u200fשלום\u200e", "שלום"),  # bidi marks
        ("\u202bمحمد\u202c", "محمد"),  # bidi embedding
        ("\u2067Ana\u2069 \u061cBia", "Ana Bia"),  # isolates, Arabic letter mark
        ("Ana\u202e\u200b", "Ana"),  # override, zero-width space
        ("\u200dAna\u200c", "Ana"),  # a joiner at either end joins nothing
        ("Ana \u200d Bia", "Ana Bia"),  # nor between spaces
        ("a\u200d\u200d\u200cb", "a\u200db"),  # a run of joiners counts as one
        ("x\U000e0041y", "xy"),  # a stray tag character
        ("Ana\u00ad\u2060\ufeff\x07Bia", "AnaBia"),  # soft hyphen, word joiner, BOM, BEL
        (" \u00a0Ana\u2028  Paula\t", "Ana Paula"),
        ("Ana \u200b Bia", "Ana Bia"),
    ],
)
def test_bidi_and_other_invisible_characters_are_still_removed(typed: str, stored: str) -> None:
    assert clean_profile_name(typed) == stored


def test_find_by_name_uses_the_stored_form(tmp_path: Path) -> None:
    reg = ProfileRegistry(tmp_path / "p.json")
    ana = reg.add("José 👩\u200d💼")
    assert reg.find_by_name("Jose\u0301 \u200e👩\u200d💼 ") == ana
    assert reg.ensure("JOSE\u0301 👩\u200d💼").id == ana.id  # no "already exists" error


def test_messages_echo_only_a_prefix_of_a_long_name(tmp_path: Path) -> None:
    assert name_for_message("Ana") == "Ana"
    shown = name_for_message("A" * 5000)
    assert shown == "A" * MESSAGE_NAME_CHARS + "…"
    # never cut inside what shows as one character
    assert name_for_message("A" * 38 + "👩\u200d💼" + "B" * 10) == "A" * 38 + "…"
    assert name_for_message("A" * 39 + "🇧🇷🇵🇹B") == "A" * 39 + "…"
    assert name_for_message("A" * 39 + "e\u0301" + "B" * 5) == "A" * 39 + "…"
    reg = ProfileRegistry(tmp_path / "p.json")
    reg.add("B" * MAX_NAME)
    with pytest.raises(ProfileError) as exc:
        reg.add("b" * MAX_NAME)
    assert "b" * MESSAGE_NAME_CHARS + "…" in str(exc.value)
    assert "b" * (MESSAGE_NAME_CHARS + 1) not in str(exc.value)


# ------------------------------------------------------------------ a file that cannot be written


def _disk_full(path: Path, data: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def test_add_rename_remove_change_nothing_when_the_file_cannot_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "profiles.json"
    reg = ProfileRegistry(path)
    ana = reg.add("Ana")
    before = path.read_bytes()
    monkeypatch.setattr(profiles, "atomic_write_json", _disk_full)
    for change in (
        lambda: reg.add("Bia"),
        lambda: reg.rename(ana.id, "Ana Paula"),
        lambda: reg.remove(ana.id),
    ):
        with pytest.raises(ProfileError) as exc:
            change()
        assert "profiles.json" in str(exc.value)
        assert reg.all() == [ana]
    assert path.read_bytes() == before


def test_closing_and_ordering_hold_even_when_they_cannot_be_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = ProfileRegistry(tmp_path / "p.json")
    ana, bia = reg.add("Ana"), reg.add("Bia")
    monkeypatch.setattr(profiles, "atomic_write_json", _disk_full)
    with pytest.raises(ProfileError):
        reg.set_open(ana.id, False)
    assert [p.name for p in reg.open_profiles()] == ["Bia"]  # the window's state stays
    with pytest.raises(ProfileError):
        reg.reorder([bia.id, ana.id])
    assert [p.id for p in reg.all()] == [bia.id, ana.id]


def test_without_a_copy_the_original_file_is_not_rewritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "profiles.json"
    original = _write(path, {"profiles": [{"id": ANA_ID, "name": "x" * 70}, {"id": "?"}]})

    def no_copy(path: Path, data: bytes) -> Path:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(profiles, "keep_copy_aside", no_copy)
    reg = ProfileRegistry(path)
    assert [p.id for p in reg.all()] == [ANA_ID]
    assert reg.load_problem is not None and "cópia" in reg.load_problem
    assert path.read_bytes() == original
