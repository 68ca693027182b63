"""The architecture rules of docs/architecture.md, checked on the imports of every module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "wacrm_desktop"

FORBIDDEN: dict[str, tuple[str, ...]] = {
    "core": ("PySide6", "shiboken6", "pymongo", "mongoengine", "redis", "requests", "keyring",
             "wacrm_desktop.services", "wacrm_desktop.adapters", "wacrm_desktop.web",
             "wacrm_desktop.ui", "wacrm_desktop.app"),
    "services": ("PySide6", "shiboken6", "wacrm_desktop.web", "wacrm_desktop.ui",
                 "wacrm_desktop.app", "pymongo", "redis"),
    "adapters": ("PySide6", "shiboken6", "wacrm_desktop.services", "wacrm_desktop.web",
                 "wacrm_desktop.ui", "wacrm_desktop.app"),
    "web": ("wacrm_desktop.adapters", "wacrm_desktop.services", "wacrm_desktop.ui",
            "wacrm_desktop.app", "pymongo", "mongoengine", "redis", "requests"),
    "ui": ("pymongo", "mongoengine", "redis", "requests", "wacrm_desktop.adapters",
           "wacrm_desktop.simulators"),
    "simulators": ("PySide6", "wacrm_desktop.ui", "wacrm_desktop.web", "wacrm_desktop.services",
                   "wacrm_desktop.adapters", "wacrm_desktop.app"),
}  # fmt: skip


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    module_parts = path.relative_to(PKG.parent).with_suffix("").parts
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(module_parts[: len(module_parts) - node.level])
                if path.name == "__init__.py":
                    base = list(module_parts[: len(module_parts) - node.level + 1])
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            names.add(mod)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports(layer: str) -> None:
    offenders = []
    for path in sorted((PKG / layer).rglob("*.py")):
        for name in _imports(path):
            for bad in FORBIDDEN[layer]:
                if name == bad or name.startswith(bad + "."):
                    offenders.append(f"{path.relative_to(PKG)} imports {name}")
    assert not offenders, "\n".join(offenders)
