"""Real QtWebEngine, offscreen. WebEngine objects are deleted page-first in every teardown."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if getattr(os, "geteuid", lambda: 1)() == 0:
    # Chromium refuses its sandbox as root (CI containers).
    os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
# No D-Bus/secret service in tests: keyring reads return nothing instead of hanging.
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")


@pytest.fixture(scope="session")
def qapp_args() -> list[str]:
    args = ["wacrm-tests"]
    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        args += ["--webEngineArgs", "--disable-gpu"]
    return args


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e" in str(item.fspath):
            item.add_marker(pytest.mark.webengine)
