"""The Python end of the QWebChannel: receives envelope strings, validates, emits typed events.

This object is registered in the isolated ApplicationWorld only. A bad payload is logged (without
its content) and dropped; nothing raised here may reach Qt, which would abort the process.

The relay sends the envelopes of one page task together (`receiveBatch`). Every valid event is
emitted (`eventReceived`, in order), then `deliveryDone` once, still inside the slot call: the
tab journals a delivery's history events in one transaction on `deliveryDone`, so they are
durable before the page's call returns.
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

#: Limits of one `receiveBatch` call (the relay sends at most 200 envelopes, about 2 Mi chars).
MAX_BATCH_ENVELOPES = 500
MAX_BATCH_CHARS = 8 * 1024 * 1024  # JSON-escaped envelope strings, each within the schema limit


class BridgeObject(QObject):
    """Exposed to the relay as `wacrmBridge`."""

    # Python → page: a JSON command string re-dispatched by relay.js as a `wacrm:command` event.
    command = Signal(str)
    # Python side: one validated event.
    eventReceived = Signal(object)
    # After the events of one delivery (one `receive` or `receiveBatch` call) were emitted.
    deliveryDone = Signal()
    # Count of dropped payloads, for the UI's health indicator and the tests.
    payloadRejected = Signal(str)

    def __init__(self, token: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.token = token or secrets.token_hex(16)
        self.rejected = 0
        self.accepted = 0

    @Slot(str)
    def receive(self, payload: str) -> None:
        """One envelope (older relays, tests): like a batch of one."""
        self._deliver([payload])

    @Slot(str, result=int)
    def receiveBatch(self, payloads: str) -> int:  # noqa: N802 (the name the page calls)
        """Called by relay.js with a JSON array of envelope strings; returns how many it took."""
        try:
            if not isinstance(payloads, str) or len(payloads) > MAX_BATCH_CHARS:
                raise PayloadError(f"batch larger than {MAX_BATCH_CHARS} characters")
            try:
                items = json.loads(payloads)
            except (ValueError, RecursionError) as exc:
                raise PayloadError("batch is not JSON") from exc
            if not isinstance(items, list):
                raise PayloadError("batch is not a list")
            if len(items) > MAX_BATCH_ENVELOPES:
                raise PayloadError(f"batch of more than {MAX_BATCH_ENVELOPES} envelopes")
        except PayloadError as exc:
            self.rejected += 1
            log.warning("bridge batch dropped: %s", exc)
            emit(self.payloadRejected, str(exc))
            return 0
        return self._deliver(items)

    def _deliver(self, payloads: list[object]) -> int:
        taken = 0
        for payload in payloads:
            event = self._parse(payload)
            if event is None:
                continue
            taken += 1
            try:
                emit(self.eventReceived, event)
            except Exception:
                log.exception("handler of a bridge event failed")
        try:
            emit(self.deliveryDone)
        except Exception:
            log.exception("handler of a bridge delivery failed")
        return taken

    def _parse(self, payload: object) -> BridgeEvent | None:
        try:
            event: BridgeEvent = parse_payload(payload, self.token)
        except PayloadError as exc:
            self.rejected += 1
            log.warning("bridge payload dropped: %s", exc)
            emit(self.payloadRejected, str(exc))
            return None
        except Exception:  # a bug in validation must not take the app down
            self.rejected += 1
            log.exception("bridge payload dropped: validator failed")
            emit(self.payloadRejected, "internal error")
            return None
        self.accepted += 1
        return event

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
