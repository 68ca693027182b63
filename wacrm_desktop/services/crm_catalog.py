"""The tenant's lead situation catalog and cancellation reasons, fetched once and cached.

Situation ids differ per tenant (notes §4), so nothing here knows an id: colours come from
the catalog's own `cor` field when the tenant sends one ([UNCERTAIN]: not in the documented
shape), else from the situation's position in the ordered catalog, with the flags deciding
the two colours that matter most (start = grey, cancelled = red).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from wacrm_desktop.core.leads import CancelReason, CrmError, Situation
from wacrm_desktop.core.ports import Cache

__all__ = ["CatalogClient", "CrmCatalog"]

log = logging.getLogger("wacrm.leads")

CATALOG_TTL_SECONDS = 3600
_HEX_RE = re.compile(r"^#?[0-9a-fA-F]{6}$")
# Position palette for situations without a tenant colour (never indexed by id).
_PALETTE = ("#0d6efd", "#6f42c1", "#0dcaf0", "#fd7e14", "#198754", "#20c997", "#d63384")
START_COLOR = "#6c757d"
CANCELLED_COLOR = "#dc3545"
UNKNOWN_COLOR = "#adb5bd"


class CatalogClient(Protocol):
    def situations(self) -> list[dict[str, Any]]: ...

    def cancel_reasons(self) -> list[dict[str, Any]]: ...


class CrmCatalog:
    """Situations and cancellation reasons; cache (Redis/in-process) + memory, thread-safe."""

    def __init__(
        self,
        client_factory: Callable[[], CatalogClient | None],
        cache: Cache,
        *,
        key_prefix: str = "crm:",
        ttl_seconds: int = CATALOG_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client_factory = client_factory
        self._cache = cache
        self._prefix = key_prefix
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._situations: tuple[float, tuple[Situation, ...]] | None = None
        self._reasons: tuple[float, tuple[CancelReason, ...]] | None = None

    # ------------------------------------------------------------------ situations

    def situations(self, *, force_refresh: bool = False) -> tuple[Situation, ...]:
        """Ordered catalog; the last known one when CV CRM fails; () when never fetched."""
        with self._lock:
            cached = self._situations or self._from_cache("situations", Situation)
            if cached and not force_refresh and self._clock() - cached[0] < self.ttl_seconds:
                self._situations = cached
                return cached[1]
            rows = self._fetch("situations")
            if rows is None:
                return cached[1] if cached else ()
            items = []
            for row in rows:
                try:
                    items.append(Situation.from_api(row))
                except ValueError:
                    continue
            items.sort(key=lambda s: (s.order if s.order is not None else 10_000, s.id))
            self._situations = (self._clock(), tuple(items))
            self._to_cache("situations", [self._situation_json(s) for s in items])
            return self._situations[1]

    def cached_situations(self) -> tuple[Situation, ...]:
        """What is in memory now, without any I/O (for painting on the UI thread)."""
        return self._situations[1] if self._situations else ()

    def situation(self, situation_id: int | None) -> Situation | None:
        return next((s for s in self.cached_situations() if s.id == situation_id), None)

    def color_for(self, situation_id: int | None, situation_name: str | None = None) -> str:
        """Colour of a situation, from the tenant's catalog only (see module doc)."""
        catalog = self.cached_situations()
        for index, sit in enumerate(catalog):
            if sit.id == situation_id or (situation_id is None and sit.name == situation_name):
                if sit.color and _HEX_RE.match(sit.color):
                    return sit.color if sit.color.startswith("#") else "#" + sit.color
                if sit.is_cancelled:
                    return CANCELLED_COLOR
                if sit.is_start:
                    return START_COLOR
                return _PALETTE[index % len(_PALETTE)]
        return UNKNOWN_COLOR

    # ------------------------------------------------------------------ reasons

    def cancel_reasons(self, *, force_refresh: bool = False) -> tuple[CancelReason, ...]:
        with self._lock:
            cached = self._reasons or self._from_cache("reasons", CancelReason)
            if cached and not force_refresh and self._clock() - cached[0] < self.ttl_seconds:
                self._reasons = cached
                return cached[1]
            rows = self._fetch("cancel_reasons")
            if rows is None:
                return cached[1] if cached else ()
            items = []
            for row in rows:
                try:
                    items.append(CancelReason.from_api(row))
                except ValueError:
                    continue
            self._reasons = (self._clock(), tuple(items))
            self._to_cache("reasons", [{"id": r.id, "nome": r.name} for r in items])
            return self._reasons[1]

    # ------------------------------------------------------------------ plumbing

    @staticmethod
    def _situation_json(s: Situation) -> dict[str, Any]:
        return {
            "idsituacao": s.id,
            "nome": s.name,
            "ordem": s.order,
            "cor": s.color,
            "flags": {
                "inicio": "S" if s.is_start else "N",
                "cancelada": "S" if s.is_cancelled else "N",
            },
        }

    def _fetch(self, method: str) -> list[dict[str, Any]] | None:
        try:
            client = self._client_factory()
            if client is None:
                return None
            return list(getattr(client, method)())
        except CrmError as exc:
            log.warning("catalog %s unavailable: %s", method, exc.detail or exc.message)
            return None
        except Exception:
            log.exception("catalog %s failed", method)
            return None

    def _from_cache(self, name: str, kind: Any) -> tuple[float, tuple[Any, ...]] | None:
        try:
            raw = self._cache.get_json(self._prefix + name)
        except Exception:
            return None
        if not isinstance(raw, dict) or not isinstance(raw.get("items"), list):
            return None
        items = []
        for row in raw["items"]:
            try:
                items.append(kind.from_api(row))
            except ValueError:
                continue
        at = raw.get("fetched_at")
        return (float(at) if isinstance(at, int | float) else 0.0), tuple(items)

    def _to_cache(self, name: str, items: list[Any]) -> None:
        try:
            self._cache.set_json(
                self._prefix + name,
                {"fetched_at": self._clock(), "items": items},
                self.ttl_seconds * 24,  # kept long: the last known catalog beats none
            )
        except Exception:
            log.warning("catalog cache write failed", exc_info=True)
