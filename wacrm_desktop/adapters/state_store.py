"""A tiny durable key/value store: one JSON file, written atomically, thread-safe.

For small UI decisions that must survive a restart (lead chosen per chat, panel layout).
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from wacrm_desktop.core.settings import atomic_write_json

__all__ = ["JsonStateStore"]

log = logging.getLogger("wacrm.store")


class JsonStateStore:
    """Loaded once, rewritten on every change (a few KiB; changes are human clicks)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._data: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        if self._data is None:
            try:
                raw = json.loads(self.path.read_text(encoding="utf-8"))
                self._data = raw if isinstance(raw, dict) else {}
            except FileNotFoundError:
                self._data = {}
            except (OSError, ValueError):
                log.warning("state file %s unreadable; starting empty", self.path.name)
                self._data = {}
        return self._data

    @property
    def is_loaded(self) -> bool:
        """True once the file was read: from then on `get` never touches the disk."""
        return self._data is not None

    def get(self, key: str) -> Any | None:
        with self._lock:
            return self._load().get(key)

    def set(self, key: str, value: Any) -> None:
        with self._lock:
            data = self._load()
            data[key] = value
            atomic_write_json(self.path, data)

    def delete(self, key: str) -> None:
        with self._lock:
            data = self._load()
            if data.pop(key, None) is not None:
                atomic_write_json(self.path, data)
