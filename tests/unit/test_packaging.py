"""Everything the app needs at run time ships: subpackages in pyproject, JS files in resources."""

from __future__ import annotations

import tomllib
from importlib.resources import files
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_subpackage_is_listed_in_pyproject() -> None:
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "wacrm_desktop").rglob("__init__.py")
    }
    found.add("wacrm_desktop.resources")
    assert found <= listed, f"missing from pyproject packages: {sorted(found - listed)}"


def test_injected_scripts_are_shipped_resources() -> None:
    js = files("wacrm_desktop.resources") / "js"
    for name in (
        "wa_common.js",
        "wa_serialize.js",
        "wa_bridge.js",
        "relay.js",
        "reset_storage.js",
        "lead_badges.js",
    ):
        assert (js / name).is_file(), name
