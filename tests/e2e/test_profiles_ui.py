"""Add / rename / remove profiles from the window; the order of open tabs survives a restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import CRM_EMAIL, CRM_TOKEN, build_app, close_app
from pytestqt.qtbot import QtBot

from wacrm_desktop.simulators.cvcrm import CvCrmSimulator
from wacrm_desktop.simulators.whatsapp import WhatsAppSimulator


@pytest.fixture
def sims() -> Iterator[tuple[WhatsAppSimulator, CvCrmSimulator]]:
    with WhatsAppSimulator() as wa, CvCrmSimulator(email=CRM_EMAIL, token=CRM_TOKEN) as crm:
        yield wa, crm


def test_profile_lifecycle_and_tab_order(
    qtbot: QtBot,
    tmp_path: Path,
    sims: tuple[WhatsAppSimulator, CvCrmSimulator],
    mongo_uri: str,
    mongo_db_name: str,
) -> None:
    wa, crm = sims
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    common = dict(
        whatsapp_url=wa.url,
        crm_url=crm.url,
        mongo_uri=mongo_uri,
        db_name=mongo_db_name,
        redis_url=None,
    )
    app = build_app(data_dir, profiles=("Ana",), **common)
    window = app.start()
    window.show()
    carla = window.add_profile("Carla")
    dani = window.add_profile("Dani")
    assert [t.profile.name for t in window.profile_tabs()] == ["Ana", "Carla", "Dani"]
    carla_tab = window.tab_for(carla.id)
    assert carla_tab is not None
    storage = carla_tab.web_profile.persistentStoragePath()
    assert carla.id in storage  # keyed by the stable id, not by the display name

    window.rename_profile(carla.id, "Carla Dias")
    assert window.tabs.tabText(window.tabs.indexOf(carla_tab)).startswith("Carla Dias")
    assert carla_tab.web_profile.persistentStoragePath() == storage

    # The user drags Dani before Carla; the order is saved.
    window.tabs.tabBar().moveTab(2, 1)
    assert [t.profile.name for t in window.profile_tabs()] == ["Ana", "Dani", "Carla Dias"]

    eva = window.add_profile("Eva")
    eva_dir = app.paths.profile_storage(eva.id).parent
    qtbot.waitUntil(eva_dir.exists, timeout=10_000)
    window.remove_profile(eva.id)
    assert [t.profile.name for t in window.profile_tabs()] == ["Ana", "Dani", "Carla Dias"]
    qtbot.waitUntil(lambda: not eva_dir.exists(), timeout=10_000)
    close_app(qtbot, app)

    app2 = build_app(data_dir, **common)
    window2 = app2.start()
    window2.show()
    assert [t.profile.name for t in window2.profile_tabs()] == ["Ana", "Dani", "Carla Dias"]
    assert window2.profile_tabs()[2].web_profile.persistentStoragePath() == storage
    assert dani.id in window2.profile_tabs()[1].web_profile.persistentStoragePath()
    close_app(qtbot, app2)
