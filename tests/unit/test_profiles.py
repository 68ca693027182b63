from __future__ import annotations

from pathlib import Path

import pytest

from wacrm_desktop.core.profiles import ProfileError, ProfileRegistry


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
