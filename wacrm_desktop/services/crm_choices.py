"""Remembered per-chat decisions of the salesperson, and the lead panel's layout.

When one phone matches several leads the salesperson picks one; that choice is kept per
(profile, chat) so the next switch to the chat shows the same lead, and it can be undone.
Persistence is a small key/value store (`adapters.state_store.JsonStateStore`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

__all__ = ["DEFAULT_SECTIONS", "KeyValueStore", "LeadChoices", "PanelLayout"]

log = logging.getLogger("wacrm.leads")

DEFAULT_SECTIONS: tuple[str, ...] = ("resumo", "acoes", "respostas", "interacoes")


class KeyValueStore(Protocol):
    def get(self, key: str) -> Any | None: ...

    def set(self, key: str, value: Any) -> None: ...

    def delete(self, key: str) -> None: ...


def _choice_key(profile_id: str, chat_id: str) -> str:
    return f"lead-choice/{profile_id}/{chat_id}"


class LeadChoices:
    """Which lead the salesperson picked for a chat; every call may touch the disk."""

    def __init__(self, store: KeyValueStore) -> None:
        self._store = store

    def chosen(self, profile_id: str, chat_id: str | None) -> int | None:
        if not chat_id:
            return None
        try:
            value = self._store.get(_choice_key(profile_id, chat_id))
        except Exception:
            log.warning("lead choice unreadable", exc_info=True)
            return None
        if isinstance(value, dict) and isinstance(value.get("idlead"), int):
            return int(value["idlead"])
        return None

    def chosen_if_loaded(self, profile_id: str, chat_id: str | None) -> tuple[bool, int | None]:
        """(known, choice) without I/O: known is False while the store was never read."""
        if not getattr(self._store, "is_loaded", False):
            return False, None
        return True, self.chosen(profile_id, chat_id)

    def choose(self, profile_id: str, chat_id: str, idlead: int) -> None:
        self._store.set(_choice_key(profile_id, chat_id), {"idlead": int(idlead)})

    def forget(self, profile_id: str, chat_id: str) -> None:
        self._store.delete(_choice_key(profile_id, chat_id))


class PanelLayout:
    """Order and open/closed state of the panel's collapsible sections."""

    KEY = "lead-panel/layout"

    def __init__(self, store: KeyValueStore) -> None:
        self._store = store

    def load(self) -> tuple[list[str], dict[str, bool]]:
        try:
            raw = self._store.get(self.KEY)
        except Exception:
            raw = None
        order = list(DEFAULT_SECTIONS)
        opened = dict.fromkeys(DEFAULT_SECTIONS, True)
        if isinstance(raw, dict):
            saved = [s for s in raw.get("order", []) if s in DEFAULT_SECTIONS]
            order = saved + [s for s in DEFAULT_SECTIONS if s not in saved]
            for name, value in (raw.get("open") or {}).items():
                if name in opened and isinstance(value, bool):
                    opened[name] = value
        return order, opened

    def save(self, order: Sequence[str], opened: dict[str, bool]) -> None:
        try:
            self._store.set(self.KEY, {"order": list(order), "open": dict(opened)})
        except Exception:
            log.warning("panel layout not saved", exc_info=True)
