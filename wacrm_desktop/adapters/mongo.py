"""MongoDB history store: every captured message, upserted idempotently.

The mongoengine ``Document`` classes define the schema and the indexes (one place to read them);
the hot path (``apply``) goes straight to pymongo through ``Doc._get_collection()`` with one
unordered ``bulk_write`` per collection, because per-document mongoengine saves are ~100x slower
and not idempotent under retries.

Order independence: the journal replays batches after outages and WhatsApp may deliver an ack
before the message it refers to, so every write is an upsert that only ever *adds* information:
``$set`` for message fields, ``$setOnInsert`` for ``first_seen_at``, ``$max`` for ``ack`` (an ack
never goes backwards) and for the chat's ``last_t``. Applying the same batch twice, or two
batches in either order, yields the same documents.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import mongoengine
import pymongo
from mongoengine import (
    BooleanField,
    DateTimeField,
    DictField,
    Document,
    IntField,
    StringField,
)
from pymongo import UpdateOne
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, DuplicateKeyError
from pymongo.write_concern import WriteConcern

from wacrm_desktop.core.ports import JournalEntry

log = logging.getLogger("wacrm.store")

SCHEMA_VERSION = 1
DEFAULT_ALIAS = "wacrm"

#: Message fields copied from a journal "message" payload into the document ($set).
MESSAGE_FIELDS: tuple[str, ...] = (
    "chat_id",
    "from_me",
    "type",
    "t",
    "body",
    "caption",
    "author",
    "sender",
    "notify_name",
    "is_group",
    "quoted_id",
    "media",
    "truncated",
)
#: Keys of the plain dicts returned by `recent_messages` (same shape as the cache entries).
MESSAGE_VIEW_FIELDS: tuple[str, ...] = ("id", *MESSAGE_FIELDS, "ack")

_DUPLICATE_KEY = 11000
_MAX_DUPLICATE_RETRIES = 5


class StoreWriteError(RuntimeError):
    """A bulk write was rejected. The message carries error codes only: pymongo's own errors
    quote the offending documents (message bodies, phone numbers), which must not reach logs
    above DEBUG or the status bar."""

    def __init__(self, message: str, codes: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.codes = tuple(codes)


class _MessageBase(Document):
    """Schema of one WhatsApp message (or an ack-only stub waiting for its message)."""

    id = StringField(primary_key=True)  # "<profile_id>/<wa id>"
    profile_id = StringField(required=True)
    wa_id = StringField(required=True)
    chat_id = StringField()  # None only on an ack-only stub
    from_me = BooleanField()
    type = StringField()
    t = IntField()
    body = StringField()
    caption = StringField()
    author = StringField()
    sender = StringField()
    notify_name = StringField()
    ack = IntField()
    is_group = BooleanField()
    quoted_id = StringField()
    media = DictField()
    truncated = BooleanField()
    first_seen_at = DateTimeField()
    updated_at = DateTimeField()
    schema_version = IntField(default=SCHEMA_VERSION)

    meta: dict[str, Any] = {
        "abstract": True,
        "auto_create_index": False,  # created explicitly in connect(), where a failure is visible
        "indexes": [
            {"fields": ["profile_id", "chat_id", "t"], "name": "chat_timeline"},
            {"fields": ["profile_id", "-t"], "name": "profile_recency"},
        ],
    }


class _ChatDoc(Document):
    """Schema of one chat, as last seen in a message."""

    id = StringField(primary_key=True)  # "<profile_id>/<chat id>"
    profile_id = StringField(required=True)
    chat_id = StringField(required=True)
    name = StringField()
    phone = StringField()  # digits only, E.164 without "+", only when WhatsApp knows it
    is_group = BooleanField()
    last_t = IntField()
    updated_at = DateTimeField()

    meta: dict[str, Any] = {
        "abstract": True,
        "auto_create_index": False,
        "indexes": [
            {"fields": ["profile_id", "-last_t"], "name": "profile_chat_recency"},
            {"fields": ["phone"], "name": "phone", "sparse": True},
        ],
    }


class MessageDoc(_MessageBase):
    """`messages` collection on the default alias ("wacrm")."""

    meta: dict[str, Any] = {"collection": "messages", "db_alias": DEFAULT_ALIAS}


class ChatDoc(_ChatDoc):
    """`chats` collection on the default alias ("wacrm")."""

    meta: dict[str, Any] = {"collection": "chats", "db_alias": DEFAULT_ALIAS}


_classes_lock = threading.Lock()
_classes: dict[str, tuple[type[_MessageBase], type[_ChatDoc]]] = {
    DEFAULT_ALIAS: (MessageDoc, ChatDoc)
}


def document_classes(alias: str) -> tuple[type[_MessageBase], type[_ChatDoc]]:
    """(message, chat) Document classes bound to `alias`.

    mongoengine binds a Document class to one connection alias and caches its collection on the
    class, so a store on another alias (tests, a second database) gets its own subclasses.
    """
    with _classes_lock:
        found = _classes.get(alias)
        if found is None:
            suffix = "".join(ch if ch.isalnum() else "_" for ch in alias)
            msg_cls = type(
                f"MessageDoc_{suffix}",
                (_MessageBase,),
                {"meta": {"collection": "messages", "db_alias": alias}, "__module__": __name__},
            )
            chat_cls = type(
                f"ChatDoc_{suffix}",
                (_ChatDoc,),
                {"meta": {"collection": "chats", "db_alias": alias}, "__module__": __name__},
            )
            found = (msg_cls, chat_cls)
            _classes[alias] = found
        return found


def message_doc_id(profile_id: str, wa_id: str) -> str:
    return f"{profile_id}/{wa_id}"


def chat_doc_id(profile_id: str, chat_id: str) -> str:
    return f"{profile_id}/{chat_id}"


def message_view(doc: dict[str, Any]) -> dict[str, Any]:
    """Plain, JSON-safe message dict (``id`` = WhatsApp id; no None values) from a document."""
    out: dict[str, Any] = {}
    wa_id = doc.get("wa_id")
    if wa_id is None and isinstance(doc.get("_id"), str):
        wa_id = doc["_id"].split("/", 1)[-1]
    out["id"] = wa_id
    for name in MESSAGE_VIEW_FIELDS[1:]:
        value = doc.get(name)
        if value is not None:
            out[name] = value
    return out


def uri_without_database(uri: str) -> str:
    """The URI minus its ``/<database>`` path, keeping that path as ``authSource``.

    mongoengine lets a database in the URI override ``db=`` (so ``mongodb://u:p@h/admin`` would
    put the history into ``admin``); the configured ``db_name`` must win, while credentials
    keep authenticating against the database the URI named.
    """
    if "://" not in uri:
        return uri
    scheme, rest = uri.split("://", 1)
    hosts, sep, tail = rest.partition("/")
    if not sep:
        return uri
    database, _, options = tail.partition("?")
    if not database:
        return uri
    if "@" in hosts and "authsource=" not in options.lower():
        options = f"{options}&authSource={database}" if options else f"authSource={database}"
    return f"{scheme}://{hosts}/" + (f"?{options}" if options else "")


class MongoHistoryStore:
    """HistoryStore on MongoDB (or SecantusDB speaking the same wire protocol).

    ``journaled=True`` asks for ``writeConcern {j: true}``: the journal deletes entries as soon
    as ``apply`` returns, so the store must have them on disk by then, not only in memory.
    """

    def __init__(
        self,
        uri: str,
        db_name: str,
        alias: str = DEFAULT_ALIAS,
        *,
        server_selection_timeout_ms: int = 2000,
        journaled: bool = True,
    ) -> None:
        self.uri = uri
        self.db_name = db_name
        self.alias = alias
        self._timeout_ms = server_selection_timeout_ms
        self._write_concern = WriteConcern(w=1, j=True) if journaled else WriteConcern(w=1)
        self._message_cls, self._chat_cls = document_classes(alias)
        self._connected = False
        self._lock = threading.Lock()

    # -- lifecycle -----------------------------------------------------------------------

    def connect(self) -> MongoHistoryStore:
        """Register the mongoengine alias, check the server answers, create indexes.

        Fails within ~server_selection_timeout_ms when the server is down (and leaves the alias
        unregistered, so connect() can simply be called again later).
        """
        with self._lock:
            if self._connected:
                return self
            mongoengine.connect(
                alias=self.alias,
                db=self.db_name,
                host=uri_without_database(self.uri),
                serverSelectionTimeoutMS=self._timeout_ms,
                connectTimeoutMS=self._timeout_ms,
                socketTimeoutMS=60_000,
                tz_aware=True,
                uuidRepresentation="standard",
                appname="wacrm-desktop",
            )
            try:
                db = mongoengine.get_db(self.alias)
                db.command("ping")
                self._message_cls.ensure_indexes()
                self._chat_cls.ensure_indexes()
            except BaseException:
                mongoengine.disconnect(self.alias)
                raise
            self._connected = True
        log.info("MongoDB connected (db=%s, alias=%s)", self.db_name, self.alias)
        return self

    def close(self) -> None:
        """Drop the alias and close the client; idempotent."""
        with self._lock:
            if not self._connected:
                return
            self._connected = False
            mongoengine.disconnect(self.alias)

    def __enter__(self) -> MongoHistoryStore:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _messages(self) -> Collection:
        if not self._connected:
            raise RuntimeError("MongoHistoryStore is not connected; call connect() first")
        return self._message_cls._get_collection().with_options(write_concern=self._write_concern)

    def _chats(self) -> Collection:
        if not self._connected:
            raise RuntimeError("MongoHistoryStore is not connected; call connect() first")
        return self._chat_cls._get_collection().with_options(write_concern=self._write_concern)

    # -- HistoryStore --------------------------------------------------------------------

    def apply(self, entries: Sequence[JournalEntry]) -> None:
        """Idempotent upserts, one unordered bulk_write per collection; raises on failure."""
        message_ops, chat_ops = build_operations(entries, datetime.now(UTC))
        if message_ops:
            _bulk_write_retrying(self._messages(), message_ops)
        if chat_ops:
            _bulk_write_retrying(self._chats(), chat_ops)

    def recent_messages(self, profile_id: str, chat_id: str, limit: int) -> list[dict[str, Any]]:
        """Newest `limit` messages of a chat, returned oldest first (plain dicts)."""
        if limit <= 0:
            return []
        cursor = (
            self._messages()
            .find({"profile_id": profile_id, "chat_id": chat_id})
            .sort("t", pymongo.DESCENDING)
            .limit(limit)
        )
        docs = [message_view(d) for d in cursor]
        # Same order as the cache: by time, ties by id (the index only covers the time sort).
        docs.sort(key=lambda d: (d.get("t", 0), d["id"]))
        return docs

    def count_messages(self, profile_id: str | None = None) -> int:
        """Stored messages (ack-only stubs without their message are not counted)."""
        query: dict[str, Any] = {"chat_id": {"$exists": True, "$ne": None}}
        if profile_id is not None:
            query["profile_id"] = profile_id
        return int(self._messages().count_documents(query))

    def get_chat(self, profile_id: str, chat_id: str) -> dict[str, Any] | None:
        """The chat document as a dict (without `_id`), or None."""
        doc = self._chats().find_one({"_id": chat_doc_id(profile_id, chat_id)})
        if doc is None:
            return None
        doc.pop("_id", None)
        return doc

    def ping(self) -> bool:
        """True when connected and the server answers now; never raises, never connects."""
        if not self._connected:
            return False
        try:
            mongoengine.get_db(self.alias).command("ping")
            return True
        except Exception as exc:  # any failure means "not reachable right now"
            log.debug("MongoDB ping failed: %s", exc)
            return False


def build_operations(
    entries: Sequence[JournalEntry], now: datetime
) -> tuple[list[UpdateOne], list[UpdateOne]]:
    """Pure translation of journal entries into upserts for `messages` and `chats`.

    Entries are coalesced per document first (later payload fields win, ack is the maximum),
    so one batch never carries two operations on the same `_id`: the outcome of an unordered
    bulk then does not depend on the order the server runs them in.
    """
    messages: dict[str, dict[str, Any]] = {}
    message_acks: dict[str, int] = {}
    message_profiles: dict[str, tuple[str, str]] = {}
    chats: dict[str, dict[str, Any]] = {}

    for entry in entries:
        payload = entry.payload
        wa_id = payload.get("id")
        if not isinstance(wa_id, str) or not wa_id:
            log.warning("skipping journal entry seq=%s without a message id", entry.seq)
            continue
        doc_id = message_doc_id(entry.profile_id, wa_id)
        message_profiles[doc_id] = (entry.profile_id, wa_id)
        ack = payload.get("ack")
        if isinstance(ack, int) and not isinstance(ack, bool):
            message_acks[doc_id] = max(ack, message_acks.get(doc_id, ack))
        if entry.kind == "ack":
            continue
        if entry.kind != "message":
            log.warning("skipping journal entry seq=%s of unknown kind %r", entry.seq, entry.kind)
            continue
        fields = messages.setdefault(doc_id, {})
        for name in MESSAGE_FIELDS:
            value = payload.get(name)
            if value is not None:
                fields[name] = value
        chat_id = payload.get("chat_id")
        if isinstance(chat_id, str) and chat_id:
            chat = chats.setdefault(
                chat_doc_id(entry.profile_id, chat_id),
                {"profile_id": entry.profile_id, "chat_id": chat_id},
            )
            t = payload.get("t")
            if isinstance(t, int) and not isinstance(t, bool):
                chat["last_t"] = max(t, chat.get("last_t", t))
            if payload.get("chat_name"):
                chat["name"] = payload["chat_name"]
            if payload.get("chat_phone"):
                chat["phone"] = payload["chat_phone"]
            if "is_group" in payload:
                chat["is_group"] = bool(payload["is_group"])

    message_ops: list[UpdateOne] = []
    for doc_id, (profile_id, wa_id) in message_profiles.items():
        fields = messages.get(doc_id)
        update: dict[str, Any] = {
            "$set": {"updated_at": now},
            "$setOnInsert": {
                "profile_id": profile_id,
                "wa_id": wa_id,
                "first_seen_at": now,
                "schema_version": SCHEMA_VERSION,
            },
        }
        if fields:
            update["$set"].update(fields)
        if doc_id in message_acks:
            update["$max"] = {"ack": message_acks[doc_id]}
        if fields is None and doc_id not in message_acks:
            continue  # an "ack" entry without a usable ack value
        message_ops.append(UpdateOne({"_id": doc_id}, update, upsert=True))

    chat_ops: list[UpdateOne] = []
    for doc_id, chat in chats.items():
        last_t = chat.pop("last_t", None)
        update = {"$set": {**chat, "updated_at": now}}
        if last_t is not None:
            update["$max"] = {"last_t": last_t}
        chat_ops.append(UpdateOne({"_id": doc_id}, update, upsert=True))
    return message_ops, chat_ops


def _bulk_write_retrying(collection: Collection, ops: list[UpdateOne]) -> None:
    """Unordered bulk upsert; re-runs only the operations that lost an upsert race (E11000).

    Two clients upserting the same new `_id` at once can both try to insert; the loser gets a
    duplicate-key error although re-running its update would simply match the winner's document.
    """
    pending = ops
    name = collection.name
    for attempt in range(_MAX_DUPLICATE_RETRIES + 1):
        try:
            collection.bulk_write(pending, ordered=False)
            return
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            concern = exc.details.get("writeConcernErrors", [])
            other = [e for e in errors if e.get("code") != _DUPLICATE_KEY]
            if other or concern or attempt == _MAX_DUPLICATE_RETRIES:
                codes = sorted({int(e.get("code", 0)) for e in [*errors, *concern]})
                log.debug("bulk write on %s failed: %s", name, exc.details)
                raise StoreWriteError(
                    f"bulk write on {name} failed: {len(errors)} write error(s), "
                    f"{len(concern)} write-concern error(s), codes {codes}",
                    codes,
                ) from None
            pending = [pending[e["index"]] for e in errors]
            log.debug("retrying %d upserts after duplicate-key races", len(pending))
            time.sleep(0.01 * (attempt + 1))
        except DuplicateKeyError as exc:
            if attempt == _MAX_DUPLICATE_RETRIES:
                log.debug("duplicate key on %s: %s", name, exc)
                raise StoreWriteError(
                    f"bulk write on {name} failed: duplicate key", [_DUPLICATE_KEY]
                ) from None
            time.sleep(0.01 * (attempt + 1))


__all__ = [
    "ChatDoc",
    "MESSAGE_FIELDS",
    "MESSAGE_VIEW_FIELDS",
    "MessageDoc",
    "MongoHistoryStore",
    "StoreWriteError",
    "build_operations",
    "chat_doc_id",
    "document_classes",
    "message_doc_id",
    "message_view",
]
