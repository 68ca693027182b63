"""Interfaces the services need from the adapters (structural, so adapters need not import them)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


class Cache(Protocol):
    """Key/value cache with TTLs and per-chat recent messages; Redis or in-process.

    Every method swallows connection errors and reports them through `available`
    (a cache never breaks the app; it only makes it slower).
    """

    @property
    def available(self) -> bool:
        """False after the last operation failed to reach the server."""
        ...

    def get_json(self, key: str) -> Any | None: ...

    def set_json(self, key: str, value: Any, ttl_seconds: int | None = None) -> None: ...

    def delete(self, *keys: str) -> None: ...

    def put_recent_messages(
        self, key: str, messages: Iterable[dict[str, Any]], limit: int, ttl_seconds: int | None
    ) -> None:
        """Insert or replace messages (by "id") in a chat's list; keep the newest `limit` by "t"."""
        ...

    def recent_messages(self, key: str, count: int) -> list[dict[str, Any]]:
        """Newest `count` messages of the list, oldest first."""
        ...

    def recent_messages_if(
        self, marker_key: str, marker: Any, key: str, count: int
    ) -> list[dict[str, Any]] | None:
        """`recent_messages(key, count)` when `get_json(marker_key) == marker`, else None;
        one round trip where the cache allows it."""
        ...


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One durable, not yet stored history event."""

    seq: int
    profile_id: str
    kind: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """History search: every word must match (accents/case ignored); filters are optional."""

    text: str
    profile_id: str | None = None
    chat_id: str | None = None
    since_t: int | None = None  # Unix seconds, inclusive
    until_t: int | None = None  # Unix seconds, exclusive
    limit: int = 100


class HistoryStore(Protocol):
    """The durable history (MongoDB)."""

    def apply(self, entries: Sequence[JournalEntry]) -> list[dict[str, Any]] | None:
        """Idempotently write a batch; raises on failure so the journal keeps the entries.

        Returns the stored views of the messages the batch touched (for the cache), or None.
        A view with ``merged_into`` is a merge marker: that stored id became an alias of another
        document, and the cached lists of its ``chats`` are stale. An empty batch asks the store
        to finish work a migration or an interrupted batch left (the writer sends one per
        connected store).
        """
        ...

    def recent_messages(
        self, profile_id: str, chat_id: str, limit: int
    ) -> list[dict[str, Any]]: ...

    def ping(self) -> bool: ...


class HistoryQueries(HistoryStore, Protocol):
    """The richer store the history UI needs (team view, search, erasure, retention)."""

    def recent_chats(self, profile_id: str, limit: int) -> list[dict[str, Any]]: ...

    def contact_timeline(
        self,
        profile_id: str,
        chat_id: str,
        *,
        phone: str | None = None,
        before_t: int | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]: ...

    def search(self, query: SearchQuery) -> list[dict[str, Any]]: ...

    def get_chat(self, profile_id: str, chat_id: str) -> dict[str, Any] | None: ...

    def contact_chats(self, phone: str) -> list[tuple[str, str]]: ...

    def contact_lids(self, phone: str) -> list[str]: ...

    def erase_contact(self, phone: str) -> dict[str, int]: ...

    def record_audit(self, entry: dict[str, Any]) -> str: ...

    def delete_older_than(self, cutoff_t: int) -> tuple[int, list[tuple[str, str]]]: ...

    def link_lead(self, profile_id: str, chat_id: str, lead_id: str | None) -> int: ...
