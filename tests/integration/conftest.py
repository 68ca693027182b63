"""Fixtures shared by the CV CRM integration tests: one simulator per module, reset per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from wacrm_desktop.simulators.cvcrm import DEFAULT_EMAIL, DEFAULT_TOKEN, CvCrmSimulator


@pytest.fixture(scope="module")
def server() -> Iterator[CvCrmSimulator]:
    """The CV CRM simulator with its demo credentials (`DEFAULT_EMAIL`, `DEFAULT_TOKEN`)."""
    with CvCrmSimulator(DEFAULT_EMAIL, DEFAULT_TOKEN) as sim:
        yield sim


@pytest.fixture
def sim(server: CvCrmSimulator) -> Iterator[CvCrmSimulator]:
    """The module's simulator, with its seed and fault settings reset around each test."""
    server.reset()
    yield server
    server.reset()
