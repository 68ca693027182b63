"""When background work may call CV CRM again after it failed (Qt-free, thread-safe).

Only background work (the lead prefetch) asks `remaining()` and waits. Explicit user actions
— opening a chat, ⟳ Atualizar, "Testar conexão" — never wait: they call CV CRM at once and
report their outcome here, so a success of any kind ends the pause for everyone.

A failure that says "CV CRM cannot be used right now" (unreachable: refused, DNS, timeout;
5xx/429 after the client's own retries; credentials refused; not configured; answers that
are not its API) starts a pause of `initial` seconds that doubles with each further failure
up to `maximum` (5 s, 10 s, 20 s … 5 min), or lasts a longer Retry-After the CRM asked for
(capped the same way). The first success, or `reset()` (the CV CRM settings changed), ends it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

__all__ = ["CrmBackoff"]

log = logging.getLogger("wacrm.leads")


class CrmBackoff:
    """Exponential pause of background CV CRM calls, shared by every lookup of the app."""

    def __init__(
        self,
        *,
        initial: float = 5.0,
        maximum: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.initial = max(0.0, initial)
        self.maximum = max(self.initial, maximum)
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._kind: str | None = None
        self._until = 0.0
        self._since = 0.0

    @property
    def failures(self) -> int:
        """Consecutive failures since the last success or reset."""
        with self._lock:
            return self._failures

    @property
    def kind(self) -> str | None:
        """What the last failure was ("unreachable", "credentials"…), None when healthy."""
        with self._lock:
            return self._kind

    def remaining(self) -> float:
        """Seconds before background work may call CV CRM again; 0 = go."""
        with self._lock:
            if self._kind is None:
                return 0.0
            return max(0.0, self._until - self._clock())

    def failed(self, kind: str, retry_after: float | None = None) -> float:
        """A call failed; returns the pause (seconds) background work now keeps."""
        with self._lock:
            now = self._clock()
            delay = min(self.maximum, self.initial * 2**self._failures)
            if retry_after is not None and retry_after > delay:
                delay = min(self.maximum, retry_after)
            first = self._kind is None
            changed = kind != self._kind
            self._failures += 1
            self._kind = kind
            self._until = now + delay
            if first:
                self._since = now
            failures = self._failures
        if changed:
            log.info(
                "background lead look-ups paused (CV CRM: %s); next try in %.0f s, the pause "
                "doubles up to %.0f s while it lasts",
                kind,
                delay,
                self.maximum,
            )
        else:
            log.debug(
                "CV CRM still %s (%d failures); next background try in %.0f s",
                kind,
                failures,
                delay,
            )
        return delay

    def succeeded(self) -> None:
        """CV CRM answered: background work goes on at its normal pace."""
        with self._lock:
            if self._kind is None:
                return
            kind, failures, lasted = self._kind, self._failures, self._clock() - self._since
            self._clear()
        log.info(
            "background lead look-ups resumed: CV CRM answered after %d failure(s) (%s, %.0f s)",
            failures,
            kind,
            lasted,
        )

    def reset(self, reason: str = "CV CRM settings changed") -> None:
        """Forget the failures (new address, e-mail or token): the next call goes at once."""
        with self._lock:
            if self._kind is None:
                return
            self._clear()
        log.info("background lead look-ups resumed: %s", reason)

    def _clear(self) -> None:
        self._failures = 0
        self._kind = None
        self._until = 0.0
        self._since = 0.0
