"""Paced prefetch of the leads of the chats visible in WhatsApp's chat list.

The panel asks for the visible chats' phones whenever it polls the list (every 2.5 s); one
background thread looks them up one at a time, skipping phones whose card is still fresh,
pausing `interval` seconds between two CV CRM calls (on top of the client's own spacing). A
chat switch calls `hold()` so the interactive lookup never queues behind a prefetch.

When CV CRM fails (unreachable, credentials refused, not configured…) the service's
`CrmBackoff` says how long to stay away (5 s doubling to 5 min); the next try then takes a
phone not tried during the outage, or the one tried longest ago, so a down CRM is probed with
each visible chat in turn, never the same phone in a loop. A new request list does not cut
a pause short: every wait is recomputed from the state (hold, pace, backoff), not slept.
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

# Outcomes that mean CV CRM could not answer this lookup (the service's backoff counts them).
_CRM_TROUBLE = frozenset({"unavailable", "error", "auth_error", "not_configured"})
_MAX_FAILED_REMEMBERED = 500


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
        max_pending: int = 60,
        on_result: Callable[[LeadLookup], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._leads = leads
        self.interval = max(0.0, interval)
        self.max_pending = max_pending
        self.on_result = on_result
        self._clock = clock
        self._sleep = sleep  # tests: a fake sleep that advances a fake clock
        self._cond = threading.Condition()
        self._pending: list[str] = []
        self._hold_until = 0.0
        self._next_call_at = 0.0
        # Phones whose lookup failed during the current CV CRM outage → when (rotation).
        self._failed_at: dict[str, float] = {}
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
        """Wait up to `seconds`; a request, a stop or a reset wakes the worker to re-check."""
        if seconds <= 0:
            return
        if self._sleep is not None:
            self._sleep(seconds)
            return
        with self._cond:
            if not self._stopped:
                self._cond.wait(seconds)

    def _run(self) -> None:
        while True:
            delay = self.step()
            with self._cond:
                if self._stopped:
                    return
                if delay is None:  # nothing pending: wait for a request
                    if not self._pending:
                        self._cond.wait(1.0)
                    continue
            self._pause(delay)

    def step(self) -> float | None:
        """Do the next due lookup, if any (the worker's loop; tests drive it on a fake clock).

        Returns 0 after a lookup or a skipped fresh phone, the seconds until the next lookup
        may start (hold, pace or CV CRM backoff), or None when nothing is pending.
        """
        with self._cond:
            if self._stopped or not self._pending:
                return None
            now = self._clock()
            delay = max(
                self._hold_until - now, self._next_call_at - now, self._leads.backoff.remaining()
            )
            if delay > 0:
                return delay
            phone = self._pick_locked()
        try:
            if self._leads.is_fresh(phone):
                self.stats.skipped_fresh += 1
                return 0.0
            result = self._leads.lookup(phone)
        except Exception:
            log.exception("prefetch of %s failed", mask(phone))
            self.stats.failed += 1
            self._after_call(phone, failed=True)
            return 0.0
        failed = result.status in _CRM_TROUBLE or result.stale  # stale: the call failed
        self.stats.fetched += 1
        if failed:
            self.stats.failed += 1
        self._after_call(phone, failed=failed)
        if self.on_result is not None:
            try:
                self.on_result(result)
            except Exception:
                log.exception("prefetch result handler failed")
        return 0.0

    def _pick_locked(self) -> str:
        """The next phone: visible order, but phones that failed in this outage go last."""
        fresh = next((p for p in self._pending if p not in self._failed_at), None)
        phone = fresh if fresh is not None else min(self._pending, key=self._failed_at.__getitem__)
        self._pending.remove(phone)
        return phone

    def _after_call(self, phone: str, *, failed: bool) -> None:
        with self._cond:
            now = self._clock()
            self._next_call_at = now + self.interval
            if failed:
                self._failed_at[phone] = now
                while len(self._failed_at) > _MAX_FAILED_REMEMBERED:
                    del self._failed_at[next(iter(self._failed_at))]
            else:
                self._failed_at.clear()
