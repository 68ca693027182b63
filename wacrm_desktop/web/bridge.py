"""The Python end of the QWebChannel: receives envelope strings, validates, emits typed events.

This object is registered in the isolated ApplicationWorld only. A bad payload is logged (without
its content) and dropped; nothing raised here may reach Qt, which would abort the process.
"""

from __future__ import annotations

import json
import logging
import secrets

from PySide6.QtCore import QObject, Signal, Slot

from ..core.bridge_schema import PayloadError, parse_payload
from ..core.events import BridgeEvent
from .qt_workarounds import emit

log = logging.getLogger("wacrm.bridge")


class BridgeObject(QObject):
    """Exposed to the relay as `wacrmBridge`."""

    # Python → page: a JSON command string re-dispatched by relay.js as a `wacrm:command` event.
    command = Signal(str)
    # Python side: one validated event.
    eventReceived = Signal(object)
    # Count of dropped payloads, for the UI's health indicator and the tests.
    payloadRejected = Signal(str)

    def __init__(self, token: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.token = token or secrets.token_hex(16)
        self.rejected = 0
        self.accepted = 0

    @Slot(str)
    def receive(self, payload: str) -> None:
        """Called by relay.js for every `wacrm:event` carrying our token."""
        try:
            event: BridgeEvent = parse_payload(payload, self.token)
        except PayloadError as exc:
            self.rejected += 1
            log.warning("bridge payload dropped: %s", exc)
            emit(self.payloadRejected, str(exc))
            return
        except Exception:  # a bug in validation must not take the app down
            self.rejected += 1
            log.exception("bridge payload dropped: validator failed")
            emit(self.payloadRejected, "internal error")
            return
        self.accepted += 1
        try:
            emit(self.eventReceived, event)
        except Exception:
            log.exception("handler of a bridge event failed")

    @Slot(str, int)
    def dropped(self, reason: str, count: int) -> None:
        """The relay refused `count` events before parsing them (bad JSON, size, token)."""
        count = max(1, min(int(count), 1_000_000))
        self.rejected += count
        log.warning("bridge payload dropped by the relay: %s (x%d)", reason[:80], count)
        emit(self.payloadRejected, reason[:80])

    def send_command(self, command: str, args: dict[str, object]) -> None:
        """Ask the page's capture script to do something (only on an explicit user action)."""
        emit(self.command, json.dumps({"token": self.token, "command": command, "args": args}))
