"""Paced prefetch of the leads of the chats visible in WhatsApp's chat list.

The panel asks for the visible chats' phones whenever the list changes; one background
thread looks them up one at a time, skipping phones whose card is still fresh, pausing
`interval` seconds between two CV CRM calls (on top of the client's own spacing), backing off
when CV CRM is unavailable and stopping on auth/configuration errors. A chat switch calls
`hold()` so the interactive lookup never queues behind a prefetch.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from wacrm_desktop.core.phones import mask, normalize
from wacrm_desktop.services.leads import LeadLookup, LeadService

__all__ = ["LeadPrefetcher", "PrefetchStats"]

log = logging.getLogger("wacrm.leads")


@dataclass(slots=True)
class PrefetchStats:
    requested: int = 0
    fetched: int = 0
    skipped_fresh: int = 0
    failed: int = 0


class LeadPrefetcher:
    """One daemon thread per app (all profiles share the CV CRM client anyway)."""

    def __init__(
        self,
        leads: LeadService,
        *,
        interval: float = 0.4,
        unavailable_backoff: float = 30.0,
        max_pending: int = 60,
        on_result: Callable[[LeadLookup], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._leads = leads
        self.interval = max(0.0, interval)
        self.unavailable_backoff = unavailable_backoff
        self.max_pending = max_pending
        self.on_result = on_result
        self._clock = clock
        self._sleep = sleep  # tests: a fake sleep that advances a fake clock
        self._cond = threading.Condition()
        self._pending: list[str] = []
        self._hold_until = 0.0
        self._stopped = False
        self._thread: threading.Thread | None = None
        self.stats = PrefetchStats()

    # ------------------------------------------------------------------ control

    def start(self) -> LeadPrefetcher:
        if self._thread is None:
            self._stopped = False
            self._thread = threading.Thread(target=self._run, name="lead-prefetch", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def request(self, phones: Sequence[str | None]) -> None:
        """Replace the pending work with these phones, most wanted first (visible order)."""
        wanted: list[str] = []
        for phone in phones:
            digits = normalize(phone) if phone else None
            if digits and digits not in wanted:
                wanted.append(digits)
        with self._cond:
            self._pending = wanted[: self.max_pending]
            self.stats.requested += len(self._pending)
            self._cond.notify_all()

    def hold(self, seconds: float = 1.0) -> None:
        """Let an interactive lookup go first: no prefetch call starts for `seconds`."""
        with self._cond:
            self._hold_until = max(self._hold_until, self._clock() + seconds)

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._pending)

    # ------------------------------------------------------------------ worker

    def _pause(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self._sleep is not None:
            self._sleep(seconds)
            return
        with self._cond:
            if not self._stopped:
                self._cond.wait(seconds)

    def _next(self) -> str | None:
        with self._cond:
            while not self._pending and not self._stopped:
                self._cond.wait(1.0)
            if self._stopped:
                return None
            return self._pending.pop(0)

    def _run(self) -> None:
        while True:
            phone = self._next()
            if phone is None:
                return
            wait = self._hold_until - self._clock()
            if wait > 0:
                with self._cond:
                    self._pending.insert(0, phone)
                self._pause(wait)
                continue
            try:
                if self._leads.is_fresh(phone):
                    self.stats.skipped_fresh += 1
                    continue
                result = self._leads.lookup(phone)
            except Exception:
                log.exception("prefetch of %s failed", mask(phone))
                self.stats.failed += 1
                continue
            self.stats.fetched += 1
            if self.on_result is not None:
                try:
                    self.on_result(result)
                except Exception:
                    log.exception("prefetch result handler failed")
            if result.status in ("auth_error", "not_configured"):
                log.info("prefetch stopped: %s", result.status)
                with self._cond:
                    self._pending.clear()
            elif result.status in ("unavailable", "error") or result.stale:
                # CV CRM failing (a stale card means the call failed): back off.
                self.stats.failed += 1
                self._pause(self.unavailable_backoff)
            else:
                self._pause(self.interval)
