"""The lead-badges script (resources/js/lead_badges.js) as a named QWebEngineScript.

It runs in the isolated ApplicationWorld (isolated worlds share the DOM, so badges drawn there
show in WhatsApp's chat list while WhatsApp's JavaScript never sees our code) and only on the
WhatsApp origin in use (`@match`). Python talks to it with
`page.runJavaScript(code, APPLICATION_WORLD, callback)`: `set(...)` pushes badges and
`visible()` returns the chat rows on screen (polled, see ui/lead/controller.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWebEngineCore import QWebEngineScript

from .scripts import SCRIPT_PREFIX, allowed_origin_patterns, read_resource_text

BADGES_SCRIPT_NAME = SCRIPT_PREFIX + "lead-badges"
APPLICATION_WORLD = int(QWebEngineScript.ScriptWorldId.ApplicationWorld.value)


def build_badges_script(allowed_urls: Sequence[str]) -> QWebEngineScript:
    """The script to insert into a WhatsApp page's script collection (before it loads)."""
    matches = allowed_origin_patterns(allowed_urls)
    if not matches:
        raise ValueError("no http(s) origin to inject the badges into")
    header = "\n".join(
        ["// ==UserScript==", f"// @name {BADGES_SCRIPT_NAME}"]
        + [f"// @match {m}" for m in matches]
        + ["// ==/UserScript==", ""]
    )
    source = (
        "(function(){\n'use strict';\nconst module = undefined, exports = undefined;\n"
        + read_resource_text("js", "lead_badges.js")
        + "\n})();\n"
    )
    script = QWebEngineScript()
    script.setName(BADGES_SCRIPT_NAME)
    script.setWorldId(QWebEngineScript.ScriptWorldId.ApplicationWorld)
    script.setInjectionPoint(QWebEngineScript.InjectionPoint.DocumentReady)
    script.setRunsOnSubFrames(False)
    script.setSourceCode(header + source)
    return script
