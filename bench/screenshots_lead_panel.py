"""Render the lead panel offscreen in its main states, into docs/lead-panel-*.png.

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m bench.screenshots_lead_panel

Real widgets, controller and services against the CV CRM simulator (seed data plus a second
lead on Renata's phone, to show the "several candidates" state).
"""

from __future__ import annotations

import copy
import os
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtGui import QPainter, QPixmap  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from wacrm_desktop.adapters.cache import MemoryCache  # noqa: E402
from wacrm_desktop.adapters.cvcrm import CvCrmClient  # noqa: E402
from wacrm_desktop.services.crm_actions import LeadActions  # noqa: E402
from wacrm_desktop.services.crm_catalog import CrmCatalog  # noqa: E402
from wacrm_desktop.services.leads import LeadService  # noqa: E402
from wacrm_desktop.simulators.cvcrm import CvCrmSimulator, load_seed  # noqa: E402
from wacrm_desktop.ui.lead.controller import LeadPanelContext, LeadPanelController  # noqa: E402
from wacrm_desktop.ui.lead_panel import LeadPanel  # noqa: E402
from wacrm_desktop.ui.tasks import TaskRunner  # noqa: E402

DOCS = Path(__file__).resolve().parents[1] / "docs"
EMAIL, TOKEN = "demo@wacrm.local", "demo-token"
HISTORY = [
    {"id": "1", "t": 1_764_500_000, "from_me": False, "notify_name": "Mariana",
     "body": "Oi! Ainda tem unidade de 2 quartos?"},
    {"id": "2", "t": 1_764_500_090, "from_me": True,
     "body": "Tem sim, Mariana! Posso te mandar a planta?"},
]  # fmt: skip


def _wait(app: QApplication, condition: object, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        app.processEvents()
        if callable(condition) and condition():
            for _ in range(20):
                app.processEvents()
                time.sleep(0.01)
            return
        time.sleep(0.01)
    raise RuntimeError("state not reached")


def main() -> int:
    app = QApplication.instance() or QApplication(["screens"])
    seed = load_seed()
    twin = copy.deepcopy(next(x for x in seed["leads"] if x["idlead"] == 1005))
    twin.update(idlead=1006, nome="Renata Alves (2º cadastro)", email="renata2@example.com")
    twin["ultima_data_conversao"] = "2026-12-01 10:00:00"
    twin["corretor"] = {"id": 72, "nome": "Beatriz Nunes"}
    seed["leads"].append(twin)
    sim = CvCrmSimulator(EMAIL, TOKEN, seed=seed).start()
    crm = CvCrmClient(sim.url, EMAIL, TOKEN, min_interval=0, max_retries=0, timeout=1)
    cache = MemoryCache("wacrm:screens")
    leads = LeadService(lambda: crm, cache)
    actions = LeadActions(lambda: crm, leads, cache)
    ctx = LeadPanelContext(
        leads=leads, actions=actions, catalog=CrmCatalog(lambda: crm, cache), lead_origin="CH"
    )
    tasks = TaskRunner()
    panel = LeadPanel()
    panel.resize(400, 1020)
    panel.show()
    ctl = LeadPanelController(panel.lead_view, ctx, tasks, "demo")
    view = panel.lead_view
    ctx.catalog.situations()  # type: ignore[union-attr]
    actions.add_note(actions.get(1001), "Pediu a planta do apartamento de 2 quartos.")  # type: ignore[arg-type]
    shots: list[Path] = []

    def snap(name: str) -> None:
        path = DOCS / f"lead-panel-{name}.png"
        panel.grab().save(str(path))
        shots.append(path)

    ctl.set_chat("5511990010001@c.us", "Mariana Souza", "5511990010001", False)
    panel.show_history(HISTORY)
    _wait(
        app,
        lambda: view.f_name.text() == "Mariana Souza" and "Anotação" in view.interactions.text(),
    )
    snap("found")

    ctl.set_chat("5511990010005@c.us", "Renata", "5511990010005", False)
    panel.show_history([])
    _wait(app, lambda: view.candidates_box.isVisible())
    snap("several")

    ctl.set_chat("5511990010004@c.us", "Lucas (sem lead)", "5511990010004", False)
    _wait(app, lambda: view.create_button.isVisible())
    snap("not-found")

    ctl.set_chat("5511990010001@c.us", "Mariana Souza", "5511990010001", False)
    panel.show_history(HISTORY)
    _wait(app, lambda: view.f_name.text() == "Mariana Souza")
    sim.set_offline(True)
    ctl.refresh()
    _wait(app, lambda: view.notice_kind == "warning")
    snap("offline")

    # One overview image with the four states side by side.
    images = [QPixmap(str(p)) for p in shots]
    sheet = QPixmap(sum(i.width() for i in images) + 10 * (len(images) - 1), images[0].height())
    sheet.fill()
    painter = QPainter(sheet)
    x = 0
    for image in images:
        painter.drawPixmap(x, 0, image)
        x += image.width() + 10
    painter.end()
    sheet.save(str(DOCS / "lead-panel.png"))
    tasks.shutdown()
    sim.stop()
    for p in [*shots, DOCS / "lead-panel.png"]:
        print(p.relative_to(DOCS.parent))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
