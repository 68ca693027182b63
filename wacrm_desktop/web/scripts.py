"""The injected scripts: read from resources/js, wrapped with their config, inserted by name.

Two worlds (see docs/architecture.md): the capture script in the page's MainWorld, where
WhatsApp's module system lives, and the relay owning the QWebChannel in the isolated
ApplicationWorld, so WhatsApp's own scripts never see the `qt` object.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from urllib.parse import urlsplit

from PySide6.QtCore import QFile, QIODevice
from PySide6.QtWebEngineCore import QWebEngineScript

SCRIPT_PREFIX = "wacrm-"


def read_resource_text(*parts: str) -> str:
    """A text file from the shipped resources (works from a checkout, a wheel and PyInstaller)."""
    node = files("wacrm_desktop.resources")
    for part in parts:
        node = node / part
    return node.read_text(encoding="utf-8")


def _qwebchannel_js() -> str:
    """Qt's own client for QWebChannel, shipped inside QtWebEngine as a Qt resource."""
    f = QFile(":/qtwebchannel/qwebchannel.js")
    if not f.open(QIODevice.OpenModeFlag.ReadOnly):
        raise RuntimeError("qwebchannel.js not found in Qt resources")
    try:
        return bytes(f.readAll().data()).decode("utf-8")
    finally:
        f.close()


def allowed_origin_patterns(urls: Sequence[str]) -> list[str]:
    """Greasemonkey @match patterns limiting the scripts to the WhatsApp origin(s) in use."""
    patterns = []
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.hostname:
            host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
            patterns.append(f"{parts.scheme}://{host}/*")
    return patterns


def _to_js(value: object) -> str:
    """JSON that is also safe inside a script: no '</script', no U+2028/2029 surprises."""
    text = json.dumps(value, ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e")


def _wrap(source: str, config: dict[str, object]) -> str:
    # Shadow CommonJS names so the files' node export guard is inert in the page.
    return (
        "(function(){\n'use strict';\nconst module = undefined, exports = undefined;\n"
        f"const WACRM_CONFIG = {_to_js(config)};\n{source}\n}})();\n"
    )


def _userscript_header(name: str, matches: Sequence[str]) -> str:
    lines = ["// ==UserScript==", f"// @name {name}"]
    lines += [f"// @match {m}" for m in matches]
    lines.append("// ==/UserScript==")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class BridgeConfig:
    """What both halves of the bridge are told; the token is random per page."""

    token: str
    allowed_urls: tuple[str, ...]
    capture_status_and_newsletters: bool = False

    def as_js(self) -> dict[str, object]:
        return {
            "token": self.token,
            "version": 1,
            "ignoreStatus": not self.capture_status_and_newsletters,
            "ignoreNewsletters": not self.capture_status_and_newsletters,
            "allowedOrigins": [
                f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in self.allowed_urls
            ],
        }


def build_scripts(config: BridgeConfig) -> list[QWebEngineScript]:
    """The named scripts to insert into one page's script collection."""
    matches = allowed_origin_patterns(config.allowed_urls)
    if not matches:
        raise ValueError("no http(s) origin to inject the bridge into")
    js_config = config.as_js()

    capture = QWebEngineScript()
    capture.setName(SCRIPT_PREFIX + "capture")
    capture.setWorldId(QWebEngineScript.ScriptWorldId.MainWorld)
    capture.setInjectionPoint(QWebEngineScript.InjectionPoint.DocumentCreation)
    capture.setRunsOnSubFrames(False)
    capture.setSourceCode(
        _userscript_header(capture.name(), matches)
        + _wrap(
            read_resource_text("js", "wa_common.js")
            + "\n"
            + read_resource_text("js", "wa_serialize.js")
            + "\n"
            + read_resource_text("js", "wa_bridge.js"),
            js_config,
        )
    )

    relay = QWebEngineScript()
    relay.setName(SCRIPT_PREFIX + "relay")
    relay.setWorldId(QWebEngineScript.ScriptWorldId.ApplicationWorld)
    relay.setInjectionPoint(QWebEngineScript.InjectionPoint.DocumentCreation)
    relay.setRunsOnSubFrames(False)
    relay.setSourceCode(
        _userscript_header(relay.name(), matches)
        + _qwebchannel_js()
        + "\n"
        + _wrap(
            read_resource_text("js", "wa_common.js") + "\n" + read_resource_text("js", "relay.js"),
            js_config,
        )
    )
    return [capture, relay]
