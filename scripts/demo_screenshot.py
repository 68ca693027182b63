"""Drive `wacrm --demo` for a moment and save a screenshot of the window (docs/demo.png).

Run under Xvfb so the page is really rendered:
    xvfb-run -a -s "-screen 0 1440x900x24" .venv/bin/python scripts/demo_screenshot.py docs/demo.png
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from wacrm_desktop.app import Options, WacrmApp
from wacrm_desktop.ui.profile_tab import ProfileTab


def wait(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def js(tab: ProfileTab, code: str) -> object:
    box: dict[str, object] = {}
    tab.page.runJavaScript(code, 0, lambda r: box.setdefault("r", r))
    for _ in range(200):
        if "r" in box:
            break
        wait(50)
    return box.get("r")


def wait_for(predicate, timeout_ms: int = 20_000) -> None:  # type: ignore[no-untyped-def]
    for _ in range(timeout_ms // 100):
        if predicate():
            return
        wait(100)
    raise TimeoutError("demo did not reach the expected state")


def main() -> int:
    if getattr(os, "geteuid", lambda: 1)() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/demo.png")
    qt = QApplication([sys.argv[0]])
    with tempfile.TemporaryDirectory() as tmp:
        app = WacrmApp(Options(demo=True, data_dir=Path(tmp), env={}))
        window = app.start()
        window.resize(1440, 900)
        window.show()
        ana = window.profile_tabs()[0]
        wait_for(lambda: ana.state == "qr")
        js(ana, "window.__waSimControl.scanQr()")
        wait_for(lambda: ana.state == "connected")
        js(ana, "window.__waSimControl.openChat('mariana')")
        wait_for(lambda: ana.panel.f_situation.text() != "")
        for text in ("Oi! Vi o anúncio do Jardim das Flores 🌷", "Ainda tem unidade de 2 quartos?"):
            js(ana, f"window.__waSimControl.receive('mariana', {json.dumps(text)})")
            wait(400)
        js(ana, "window.__waSimControl.sendFromPhone('mariana', 'Tem sim! Posso te ligar?')")
        wait_for(lambda: ana.panel.history.count() >= 3)
        wait(1500)
        out.parent.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(out))
        app.shutdown()
    qt.quit()
    print(f"saved {out}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
