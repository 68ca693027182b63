"""MongoDB history store: every captured history event, folded into one document per message.

The mongoengine ``Document`` classes define the schema and the indexes (one place to read them);
the hot path (``apply``) goes straight to pymongo through ``Doc._get_collection()``, because
per-document mongoengine saves are ~100x slower and not idempotent under retries.

Order independence — read, join, write: a batch of journal entries is folded per document into
a partial document (`core.history_model`), the current documents are read with one ``$in``
query, joined with the partials (a commutative, associative, idempotent join) and written
back: brand-new documents with one unordered ``insert_many`` (the common case, as fast as the
server's own insert path), changed ones with ``replace_one`` guarded by the document's ``rev``
(optimistic concurrency: a document changed by someone else in between is simply re-read and
re-joined). Unchanged documents (a journal replay after a crash) are not written at all. So the
same batch twice, batches in any order, an edit before its original, an ack before its message
all end in the same documents.

Collections: ``messages`` (``_id = "<profile>/<wa id>"``), ``chats`` (``"<profile>/<chat id>"``),
``lids`` (``@lid`` → phone, as revealed by WhatsApp), ``profiles``, ``audit`` (erasures: who,
when, masked phone, counts — never content), ``meta`` (``schema`` version, see `migrate`).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
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
    ListField,
    StringField,
)
from pymongo import DeleteMany, DeleteOne, ReplaceOne, UpdateOne
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, PyMongoError
from pymongo.write_concern import WriteConcern

from wacrm_desktop.core.history_model import (
    PARTIALS,
    STORE_INTERNAL_FIELDS,
    chat_partial_of_message,
    join_chats,
    join_messages,
    join_recent_times,
    message_words,
    normalized_message,
    recent_times_bound,
    render_chat,
    timeline_key,
    tokens,
)
from wacrm_desktop.core.message_copies import (
    Copy,
    CopyKey,
    Links,
    MergedCopies,
    alias_ref,
    chat_of_copy,
    copy_ids,
    copy_key,
    copy_refs,
    merge_copies,
    sender_ref,
    stub_ref,
)
from wacrm_desktop.core.phones import mask, ninth_digit_variants
from wacrm_desktop.core.ports import JournalEntry, SearchQuery
from wacrm_desktop.core.whatsapp import chat_of_message_id, parse_message_id

log = logging.getLogger("wacrm.store")

#: 1: first release. 2: edits/revokes/reactions, every MessageEvent field, search words,
#: contact phone and lead id on messages, @lid ids on chats, ``rev``, profiles, audit.
#: 3: one document per message whatever its PN/LID spelling (``aliases``, ``alias_chats``,
#: ``copy_refs`` on messages, ``alias_messages`` on chats, ``merge_pending`` on lids), every
#: LID↔phone link in ``lids``.
SCHEMA_VERSION = 3
DEFAULT_ALIAS = "wacrm"

#: Keys of the plain dicts returned by the read methods (same shape as the cache entries):
#: every stored field except the bookkeeping ones (``rev`` stays: it orders two views).
HIDDEN_VIEW_FIELDS = (frozenset(STORE_INTERNAL_FIELDS) | {"wa_id", "text_at_ms"}) - {"rev"}

_DUPLICATE_KEY = 11000
_MAX_WRITE_ROUNDS = 6
_IN_CHUNK = 1000
#: Documents per insert command. pymongo encodes a whole command in C without letting go of the
#: GIL (~5 µs a message here), so a 2,000-document insert would hold the UI thread off for
#: ~10 ms; with w:1 inside a batch (see `_journal_barrier`) more commands cost only round trips.
_INSERT_CHUNK = 500
#: Documents per reply when the writer reads documents back: pymongo decodes a reply in C
#: without letting go of the GIL (~10 µs a message, more for a chat with its recent times).
_READ_BATCH = 200


class StoreWriteError(RuntimeError):
    """A bulk write was rejected. The message carries error codes only: pymongo's own errors
    quote the offending documents (message bodies, phone numbers), which must not reach logs
    above DEBUG or the status bar."""

    def __init__(self, message: str, codes: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.codes = tuple(codes)


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer WACRM Desktop; this one must not touch it."""


class _MessageBase(Document):
    """Schema of one WhatsApp message (or a stub: an ack/edit/reaction waiting for it)."""

    id = StringField(primary_key=True)  # "<profile_id>/<wa id>"
    profile_id = StringField(required=True)
    wa_id = StringField(required=True)
    chat_id = StringField()  # None only on a stub
    from_me = BooleanField()
    type = StringField()
    t = IntField()
    body = StringField()  # latest text
    caption = StringField()
    text_at_ms = IntField()  # edit time of the latest text (0: original)
    edits = ListField(DictField())  # earlier texts {body?, caption?, at_ms}
    revoked = BooleanField()
    revoked_at = IntField()
    revoked_by_admin = BooleanField()
    reactions = ListField(DictField())  # {sender, emoji, t_ms}; emoji "" = removed
    author = StringField()
    sender = StringField()
    notify_name = StringField()
    ack = IntField()
    is_new = BooleanField()
    is_group = BooleanField()
    chat_name = StringField()
    chat_phone = StringField()
    chat_lid = StringField()
    quoted_id = StringField()
    media = DictField()
    truncated = BooleanField()
    subtype = StringField()
    is_notification = BooleanField()
    is_forwarded = BooleanField()
    latest_edit_ms = IntField()
    captured_us = IntField()  # when the app first captured it: orders a second's messages
    location = DictField()
    vcards = ListField(StringField())
    poll = DictField()
    mentioned = ListField(StringField())
    phone = StringField()  # the contact's phone (from the chat), for the team view and erasure
    lead_id = StringField()  # CV CRM lead of the chat, when linked
    words = ListField(StringField())  # search tokens (core.history_model.message_words)
    # Copies of this message under another PN/LID spelling of its chat or sender
    # (core.message_copies): their ids, and the other chats they were captured in.
    aliases = ListField(StringField())
    alias_chats = ListField(StringField())
    copy_refs = ListField(StringField())  # lookup keys (core.message_copies.copy_refs)
    rev = IntField()  # optimistic concurrency of read-join-write
    first_seen_at = DateTimeField()
    updated_at = DateTimeField()
    schema_version = IntField(default=SCHEMA_VERSION)

    meta: dict[str, Any] = {
        "abstract": True,
        "auto_create_index": False,  # created explicitly in connect(), where a failure is visible
        "indexes": [
            {"fields": ["profile_id", "chat_id", "t"], "name": "chat_timeline"},
            {"fields": ["profile_id", "-t"], "name": "profile_recency"},
            {"fields": ["phone", "t"], "name": "phone_timeline", "sparse": True},
            {"fields": ["lead_id", "t"], "name": "lead_timeline", "sparse": True},
            {"fields": ["words"], "name": "search_words"},
            {"fields": ["t"], "name": "retention"},
            # Sparse, one for every PN/LID copy lookup: SecantusDB pays ~5 % of its insert
            # throughput per index, present field or not.
            {"fields": ["copy_refs"], "name": "copy_refs", "sparse": True},
        ],
    }


class _ChatDoc(Document):
    """Schema of one chat/contact of one profile."""

    id = StringField(primary_key=True)  # "<profile_id>/<chat id>"
    profile_id = StringField(required=True)
    chat_id = StringField(required=True)
    lid = StringField()  # the @lid id of the contact, when known
    phone = StringField()  # digits only, E.164 without "+", only when WhatsApp knows it
    phone_unknown = BooleanField()  # a @lid contact whose phone WhatsApp has not revealed
    name = StringField()
    name_t = IntField()  # time of the message that carried `name` (latest wins)
    is_group = BooleanField()
    last_t = IntField()
    recent_ts = ListField(IntField())  # newest distinct message times: a read hint
    alias_messages = BooleanField()  # messages stored under another chat's id show here too
    lead_id = StringField()
    rev = IntField()
    first_seen_at = DateTimeField()
    updated_at = DateTimeField()
    schema_version = IntField(default=SCHEMA_VERSION)

    meta: dict[str, Any] = {
        "abstract": True,
        "auto_create_index": False,
        "indexes": [
            {"fields": ["profile_id", "-last_t"], "name": "profile_chat_recency"},
            {"fields": ["phone"], "name": "phone", "sparse": True},
            {"fields": ["lid"], "name": "lid", "sparse": True},
            {"fields": ["lead_id"], "name": "lead", "sparse": True},
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


def _phone_wid(phone: str) -> str:
    return f"{phone}@c.us"


def message_doc_id(profile_id: str, wa_id: str) -> str:
    return f"{profile_id}/{wa_id}"


def chat_doc_id(profile_id: str, chat_id: str) -> str:
    return f"{profile_id}/{chat_id}"


def message_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Plain, JSON-safe message dict (``id`` = WhatsApp id, ``profile_id``; no None values)."""
    wa_id = doc.get("wa_id")
    if wa_id is None and isinstance(doc.get("_id"), str):
        wa_id = doc["_id"].split("/", 1)[-1]
    out: dict[str, Any] = {"id": wa_id}
    for name, value in doc.items():
        if name not in HIDDEN_VIEW_FIELDS and value is not None and name != "id":
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


# -- batch parsing (pure) ----------------------------------------------------------------------


class ParsedBatch:
    """Journal entries folded per document (see `parse_batch`)."""

    def __init__(self) -> None:
        self.messages: dict[str, tuple[str, str, dict[str, Any]]] = {}  # id -> (profile, wa, part)
        self.seqs: dict[str, int] = {}  # message doc id -> its first journal seq in the batch
        self.chats: dict[str, tuple[str, dict[str, Any]]] = {}  # id -> (profile, partial)
        self.lids: dict[str, str] = {}  # lid -> phone
        self.profiles: dict[str, dict[str, Any]] = {}  # profile id -> {name, at}


def parse_batch(entries: Sequence[JournalEntry]) -> ParsedBatch:
    """Fold a batch into one partial document per message/chat (order-free, see history_model)."""
    out = ParsedBatch()
    for entry in entries:
        payload, kind = entry.payload, entry.kind
        if kind == "lid_phone":
            lid, phone = payload.get("lid"), payload.get("phone")
            if isinstance(lid, str) and isinstance(phone, str) and phone:
                out.lids[lid] = max(phone, out.lids.get(lid, phone))
            continue
        if kind == "profile":
            name, at = payload.get("name"), payload.get("at", 0)
            old = out.profiles.get(entry.profile_id)
            if isinstance(name, str) and (old is None or (at, name) > (old["at"], old["name"])):
                out.profiles[entry.profile_id] = {"name": name, "at": at}
            continue
        partial_of = PARTIALS.get(kind)
        if partial_of is None:
            log.warning("skipping journal entry seq=%s of unknown kind %r", entry.seq, kind)
            continue
        wa_id = payload.get("id")
        if not isinstance(wa_id, str) or not wa_id:
            log.warning("skipping journal entry seq=%s without a message id", entry.seq)
            continue
        partial = partial_of(payload)
        if not partial:
            continue
        doc_id = message_doc_id(entry.profile_id, wa_id)
        found = out.messages.get(doc_id)
        merged = join_messages(found[2], partial) if found else partial
        out.messages[doc_id] = (entry.profile_id, wa_id, merged)
        out.seqs[doc_id] = min(entry.seq, out.seqs.get(doc_id, entry.seq))
        if kind == "message":
            chat = chat_partial_of_message(payload)
            if chat is not None:
                chat_id = chat_doc_id(entry.profile_id, chat["chat_id"])
                old_chat = out.chats.get(chat_id)
                joined = join_chats(old_chat[1], chat) if old_chat else chat
                out.chats[chat_id] = (entry.profile_id, joined)
    return out


def _chunks(items: Sequence[Any], size: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _same_content(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    skip = {"rev", "updated_at", "first_seen_at"}
    keys = (set(old) | set(new)) - skip
    return all(old.get(k) == new.get(k) for k in keys)


class MongoHistoryStore:
    """HistoryStore on MongoDB (or SecantusDB speaking the same wire protocol).

    ``journaled=True`` asks for ``writeConcern {j: true}``: the journal deletes entries as soon
    as ``apply`` returns, so the store must have them on disk by then, not only in memory.
    ``apply`` writes a batch with ``w: 1`` and ends with one small ``j: true`` write (the
    *journal barrier*): the server's journal is sequential, so that acknowledgement means every
    earlier write of the batch is on disk too — one journal flush per batch instead of one per
    write statement (SecantusDB flushes per update statement: ~4 ms each).
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
        self._journaled = journaled
        self._write_concern = WriteConcern(w=1, j=True) if journaled else WriteConcern(w=1)
        #: The writes of one `apply`, made durable together by `_journal_barrier`.
        self._batch_concern = WriteConcern(w=1)
        self._message_cls, self._chat_cls = document_classes(alias)
        self._connected = False
        self._lock = threading.Lock()
        #: LID↔phone links whose PN/LID copies must still be merged (``lids.merge_pending``,
        #: left by a migration or an interrupted batch) are looked up once per connection.
        self._sweep_due = False

    # -- lifecycle -----------------------------------------------------------------------

    def connect(self) -> MongoHistoryStore:
        """Register the mongoengine alias, check the server answers, create indexes, migrate.

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
                self._ensure_indexes()
                self._connected = True
                self.migrate()
                self._sweep_due = True
            except BaseException:
                self._connected = False
                mongoengine.disconnect(self.alias)
                raise
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

    def _ensure_indexes(self) -> None:
        """Create the Document classes' indexes on a client without a socket timeout.

        Building an index over an existing large collection (first start after an upgrade:
        ~1M messages take minutes on SecantusDB) must not hit the 60 s socket timeout of the
        write path, or connect() would fail and be retried forever.
        """
        client = self._long_client("indexes")
        try:
            db = client[self.db_name]
            for cls in (self._message_cls, self._chat_cls):
                models = [
                    pymongo.IndexModel(
                        spec["fields"], **{k: v for k, v in spec.items() if k != "fields"}
                    )
                    for spec in cls._meta["index_specs"]
                ]
                db[cls._meta["collection"]].create_indexes(models)
            # The reverse of a link: the LIDs of a phone (copy lookups, erasure).
            db["lids"].create_indexes([pymongo.IndexModel([("phone", 1)], name="phone")])
        finally:
            client.close()

    def _long_client(self, purpose: str) -> pymongo.MongoClient:
        """A client without socket timeout, for one-off work over whole collections (index
        builds, migrations) that may outlast the write path's 60 s."""
        return pymongo.MongoClient(
            uri_without_database(self.uri),
            serverSelectionTimeoutMS=self._timeout_ms,
            connectTimeoutMS=self._timeout_ms,
            socketTimeoutMS=None,
            appname=f"wacrm-desktop-{purpose}",
        )

    def _db(self) -> Any:
        if not self._connected:
            raise RuntimeError("MongoHistoryStore is not connected; call connect() first")
        return mongoengine.get_db(self.alias)

    def _concern(self, batch: bool) -> WriteConcern:
        return self._batch_concern if batch else self._write_concern

    def _messages(self, *, batch: bool = False) -> Collection:
        """The messages collection; ``batch=True``: unjournaled, inside `apply` only."""
        if not self._connected:
            raise RuntimeError("MongoHistoryStore is not connected; call connect() first")
        return self._message_cls._get_collection().with_options(write_concern=self._concern(batch))

    def _chats(self, *, batch: bool = False) -> Collection:
        if not self._connected:
            raise RuntimeError("MongoHistoryStore is not connected; call connect() first")
        return self._chat_cls._get_collection().with_options(write_concern=self._concern(batch))

    def _other(self, name: str, *, batch: bool = False) -> Collection:
        return self._db().get_collection(name).with_options(write_concern=self._concern(batch))

    def _journal_barrier(self) -> None:
        """One ``j: true`` write after a batch's ``w: 1`` writes.

        MongoDB (and SecantusDB, on WiredTiger's log) acknowledges ``j: true`` once the journal
        is flushed up to that write; the journal is one sequential log, so every write
        acknowledged before it is on disk as well.
        """
        if self._journaled:
            self._other("meta").update_one(
                {"_id": "journal_barrier"}, {"$inc": {"n": 1}}, upsert=True
            )

    # -- schema version ------------------------------------------------------------------

    def schema_version(self) -> int:
        """Version recorded in ``meta`` (a database without it but with messages is v1)."""
        meta = self._other("meta").find_one({"_id": "schema"})
        if meta is not None:
            return int(meta.get("version", 1))
        return 1 if self._messages().find_one({}, {"_id": 1}) is not None else 0

    def migrate(self) -> int:
        """Bring the database to SCHEMA_VERSION; returns the version found.

        Each step is idempotent and resumable (documents are re-joined through the same code
        as live writes), so a migration interrupted by a crash simply continues on next start.
        """
        found = self.schema_version()
        if found > SCHEMA_VERSION:
            raise SchemaTooNewError(
                f"database schema v{found} is newer than this app (v{SCHEMA_VERSION})"
            )
        if found and found < 2:
            moved = self._migrate_1_to_2()
            log.info("history schema migrated v1 -> v2 (%d documents)", moved)
        if found and found < 3:
            links, keyed = self._migrate_2_to_3()
            log.info("history schema migrated v2 -> v3 (%d links, %d keyed messages)", links, keyed)
        if found < SCHEMA_VERSION:
            self._other("meta").update_one(
                {"_id": "schema"},
                {"$set": {"version": SCHEMA_VERSION, "migrated_at": datetime.now(UTC)}},
                upsert=True,
            )
        return found

    def _migrate_1_to_2(self) -> int:
        now = datetime.now(UTC)
        moved = 0
        chats = self._chats()
        while True:
            old = list(chats.find({"schema_version": {"$ne": SCHEMA_VERSION}}).limit(500))
            if not old:
                break
            ops = []
            for doc in old:
                partial = chat_partial_of_message({"chat_id": doc.get("chat_id")}) or {}
                new = self._render_chat(join_chats(doc, partial), doc, doc["profile_id"], now)
                ops.append(ReplaceOne({"_id": doc["_id"]}, new))
            chats.bulk_write(ops, ordered=False)
            moved += len(ops)
        messages = self._messages()
        while True:
            old = list(messages.find({"schema_version": {"$ne": SCHEMA_VERSION}}).limit(500))
            if not old:
                break
            refs = {self._chat_ref(d) for d in old}
            chat_docs = self._chat_docs({chat_doc_id(p, c) for p, c in refs if c})
            ops = []
            for doc in old:
                partial = {k: v for k, v in doc.items() if k not in STORE_INTERNAL_FIELDS}
                if doc.get("body") is not None or doc.get("caption") is not None:
                    partial["text_at_ms"] = 0  # v1 kept only the text it saw
                profile, chat = self._chat_ref(doc)
                chat_doc = chat_docs.get(chat_doc_id(profile, chat)) if chat else None
                new = self._render_message(
                    join_messages({}, partial), doc, profile, doc["wa_id"], chat_doc, now
                )
                ops.append(ReplaceOne({"_id": doc["_id"]}, new))
            messages.bulk_write(ops, ordered=False)
            moved += len(ops)
        return moved

    def _migrate_2_to_3(self) -> tuple[int, int]:
        """Every LID↔phone link into ``lids``, each marked ``merge_pending``; ``copy_refs`` on
        stubs and group messages. The merges themselves run on the writer's first batch
        (`_sweep_links`), which also brings the recent-message cache up to date; until then
        readers see the copies a v2 database kept, as before."""
        lids = self._other("lids")
        ops: list[Any] = []
        for chat in self._chats().find(
            {"lid": {"$ne": None}, "phone": {"$ne": None}, "is_group": {"$ne": True}},
            {"lid": 1, "phone": 1},
        ):
            lid, phone = chat.get("lid"), chat.get("phone")
            if isinstance(lid, str) and lid.endswith("@lid") and isinstance(phone, str):
                ops.append(UpdateOne({"_id": lid}, {"$max": {"phone": phone}}, upsert=True))
        for chunk in _chunks(ops):
            _bulk_write(lids, list(chunk))
        links = lids.update_many({}, {"$set": {"merge_pending": True}}).matched_count
        messages = self._messages()
        # One pass over every message (no index can find stubs and group messages of a v2
        # database), on a client without socket timeout; only the few that get keys are written.
        client = self._long_client("migration")
        ref_ops: list[Any] = []
        keyed = 0
        try:
            scan = client[self.db_name][messages.name].find(
                {}, {"wa_id": 1, "chat_id": 1, "alias_chats": 1}, batch_size=1000
            )
            for doc in scan:
                refs = copy_refs(str(doc.get("wa_id", "")), doc)
                if refs:
                    ref_ops.append(UpdateOne({"_id": doc["_id"]}, {"$set": {"copy_refs": refs}}))
                    keyed += 1
                if len(ref_ops) >= _IN_CHUNK:
                    _bulk_write(messages, ref_ops)
                    ref_ops = []
        finally:
            client.close()
        if ref_ops:
            _bulk_write(messages, ref_ops)
        return int(links), keyed

    @staticmethod
    def _chat_ref(doc: Mapping[str, Any]) -> tuple[str, str | None]:
        chat = doc.get("chat_id") or chat_of_message_id(str(doc.get("wa_id", "")))
        return str(doc.get("profile_id")), chat

    # -- writes --------------------------------------------------------------------------

    def apply(self, entries: Sequence[JournalEntry]) -> list[dict[str, Any]]:
        """Write a batch (idempotent, order-free); returns the views of the messages it touched.

        Every write is on disk when this returns (see `_journal_barrier`). Raises on failure
        (the journal then keeps the entries; re-applying them is harmless). An empty batch
        finishes the PN/LID merges a migration or an interrupted batch left (`_sweep_links`).

        Besides message views the list may hold *merge markers* ``{"id", "profile_id",
        "merged_into", "chats"}``: a stored document became an alias of another (PN/LID copies
        of one message); cached lists of those chats are stale.
        """
        if not entries and not self._sweep_due:
            return []
        views = self._apply_unjournaled(entries)
        self._journal_barrier()
        return views

    def _apply_unjournaled(self, entries: Sequence[JournalEntry]) -> list[dict[str, Any]]:
        batch = parse_batch(entries)
        now = datetime.now(UTC)
        if batch.profiles:
            self._write_profiles(batch.profiles, now)
        links, pending = self._batch_links(batch)
        chat_partials: dict[str, tuple[str, dict[str, Any]]] = {}
        for doc_id, (profile, partial) in batch.chats.items():
            lid = partial.get("lid")
            phone = links.phone_of(lid) if isinstance(lid, str) else None
            if phone and not partial.get("phone"):
                partial = {**partial, "phone": phone}
            chat_partials[doc_id] = (profile, partial)
        phone_found: list[dict[str, Any]] = []

        def render_chat(
            old: dict[str, Any] | None, part: dict[str, Any], profile: str, _key: str
        ) -> dict[str, Any]:
            new = self._render_chat(join_chats(old or {}, part), old, profile, now)
            if old is not None and not old.get("phone") and new.get("phone"):
                phone_found.append(new)
            return new

        chats = self._read_join_write(self._chats(batch=True), chat_partials, render_chat)
        for chat in phone_found:  # a phone learnt late reaches the messages stored before
            self._messages(batch=True).update_many(
                {"profile_id": chat["profile_id"], "chat_id": chat["chat_id"], "phone": None},
                {"$set": {"phone": chat["phone"]}, "$inc": {"rev": 1}},
            )
        if pending:
            self._propagate_lid_phones(pending, now)
        views = self._write_messages(batch, links, chats, now) if batch.messages else []
        if pending:
            views += self._merge_linked_copies(pending, links, now)
            done = [UpdateOne({"_id": lid, "phone": p}, {"$unset": {"merge_pending": ""}})
                    for lid, p in sorted(pending.items())]  # fmt: skip
            for chunk in _chunks(done):
                _bulk_write(self._other("lids", batch=True), list(chunk))
        return views

    def _batch_links(self, batch: ParsedBatch) -> tuple[Links, dict[str, str]]:
        """LID↔phone links for this batch, and the links whose copies must be merged now.

        Reads ``lids`` once for the LIDs and once for the phones the batch names (ids, chats,
        ``lid_phone`` events): indexed, one or two queries per batch whatever its size. Links the
        batch reveals for the first time (``lid_phone`` events, a ``@lid`` chat's phone, a
        phone chat's LID) are stored marked ``merge_pending`` until `_merge_linked_copies` ran,
        so a crash in between is finished by the replay.
        """
        revealed: dict[str, str] = dict(batch.lids)
        lid_ids: set[str] = set(batch.lids)
        phones: set[str] = set(batch.lids.values())
        for _profile, chat in batch.chats.values():
            lid, phone = chat.get("lid"), chat.get("phone")
            if isinstance(lid, str):
                lid_ids.add(lid)
            if isinstance(phone, str):
                phones.add(phone)
            if isinstance(lid, str) and isinstance(phone, str) and not chat.get("is_group"):
                revealed[lid] = max(phone, revealed.get(lid, phone))
        for _profile, wa_id, _part in batch.messages.values():
            key = parse_message_id(wa_id)
            if key is None:
                continue
            for wid in (key.remote, key.participant):
                if wid and wid.endswith("@lid"):
                    lid_ids.add(wid)
                elif wid and wid.endswith("@c.us"):
                    phones.add(wid[: -len("@c.us")])
        lids = self._other("lids", batch=True)
        stored: dict[str, Mapping[str, Any]] = {}
        for field, values in (("_id", lid_ids), ("phone", phones)):
            for chunk in _chunks(sorted(values)):
                for doc in lids.find({field: {"$in": list(chunk)}}):
                    stored[doc["_id"]] = doc
        if self._sweep_due:
            for doc in self._sweep_links():
                stored[doc["_id"]] = doc
        links = Links(
            {lid: d["phone"] for lid, d in stored.items() if isinstance(d.get("phone"), str)}
        )
        pending = {
            lid: d["phone"]
            for lid, d in stored.items()
            if d.get("merge_pending") and isinstance(d.get("phone"), str)
        }
        new: dict[str, str] = {}
        for lid, phone in revealed.items():
            old = stored.get(lid, {}).get("phone")
            if lid.endswith("@lid") and phone.isdigit() and (old is None or phone > old):
                new[lid] = phone
        if new:
            ops = [
                UpdateOne(
                    {"_id": lid},
                    {"$max": {"phone": phone}, "$set": {"merge_pending": True}},
                    upsert=True,
                )
                for lid, phone in sorted(new.items())
            ]
            _bulk_write(lids, ops)
            for lid, phone in new.items():
                links.add(lid, phone)
                pending[lid] = links.phone_of(lid) or phone
        return links, pending

    def _sweep_links(self) -> list[dict[str, Any]]:
        """The links still marked ``merge_pending`` (once per connection)."""
        self._sweep_due = False
        return list(self._other("lids", batch=True).find({"merge_pending": True}))

    def _write_messages(
        self, batch: ParsedBatch, links: Links, chats: dict[str, dict[str, Any]], now: datetime
    ) -> list[dict[str, Any]]:
        """Messages of ids with one spelling go the plain way (insert first, read-join-write);
        ids with PN/LID spellings are grouped with their copies (`_write_copies`)."""
        message_partials: dict[str, tuple[str, tuple[str, dict[str, Any]]]] = {}
        groups: dict[tuple[str, CopyKey], list[Copy]] = {}
        for doc_id, (profile, wa_id, part) in batch.messages.items():
            key = parse_message_id(wa_id)
            if key is not None and len(copy_ids(wa_id, links)) > 1:
                copy = Copy(wa_id, part=part, seq=batch.seqs.get(doc_id, 0))
                groups.setdefault((profile, copy_key(key, links)), []).append(copy)
            else:
                message_partials[doc_id] = (profile, (wa_id, part))
        views: list[dict[str, Any]] = []
        if message_partials:
            views += self._write_plain(message_partials, chats, now)
        if groups:
            views += self._write_copies(groups, links, chats, now)
        return views

    def _write_plain(
        self,
        message_partials: Mapping[str, tuple[str, tuple[str, dict[str, Any]]]],
        chats: dict[str, dict[str, Any]],
        now: datetime,
    ) -> list[dict[str, Any]]:
        missing = {
            chat_doc_id(p, c)
            for p, (w, part) in message_partials.values()
            if (c := part.get("chat_id") or chat_of_message_id(w))
        } - set(chats)
        chats.update(self._chat_docs(missing))

        def render(
            old: dict[str, Any] | None, item: tuple[str, dict[str, Any]], profile: str, _key: str
        ) -> dict[str, Any]:
            wa_id, part = item
            chat = part.get("chat_id") or (old or {}).get("chat_id") or chat_of_message_id(wa_id)
            chat_doc = chats.get(chat_doc_id(profile, chat)) if chat else None
            return self._render_message(
                join_messages(old or {}, part), old, profile, wa_id, chat_doc, now
            )

        # A captured message whose id this batch sees for the first time is most likely new:
        # try a plain insert first (the server's fastest path); ids that exist fall back to
        # read-join-write. Acks, edits, reactions and revokes go straight to read-join-write.
        likely_new = {
            doc_id for doc_id, (_p, (_w, part)) in message_partials.items() if part.get("chat_id")
        }
        written = self._read_join_write(
            self._messages(batch=True), message_partials, render, insert_first=likely_new
        )
        return [message_view(doc) for doc in written.values()]

    def _write_copies(
        self,
        groups: Mapping[tuple[str, CopyKey], list[Copy]],
        links: Links,
        chats: dict[str, dict[str, Any]],
        now: datetime,
    ) -> list[dict[str, Any]]:
        """One document per message for ids that have other PN/LID spellings.

        Reads every spelling of every id in one ``_id $in`` query (per round), merges the stored
        copies and the batch's (`core.message_copies.merge_copies`), writes the kept document
        first (insert, or replace guarded by ``rev``) and only then deletes the absorbed ones
        (guarded by ``rev`` too): a crash in between leaves both, and the next batch or sweep
        merges them again to the same result. Groups that lost a race are re-read and redone.
        """
        messages = self._messages(batch=True)
        views: list[dict[str, Any]] = []
        todo = dict(groups)
        for round_no in range(_MAX_WRITE_ROUNDS):
            if not todo:
                break
            wanted: dict[tuple[str, CopyKey], list[str]] = {}
            for (profile, ck), copies in todo.items():
                ids = {i for c in copies for i in copy_ids(c.wa_id, links)}
                wanted[(profile, ck)] = [message_doc_id(profile, i) for i in sorted(ids)]
            existing: dict[str, dict[str, Any]] = {}
            every = sorted({i for ids in wanted.values() for i in ids})
            for chunk in _chunks(every):
                for doc in messages.find({"_id": {"$in": list(chunk)}}, batch_size=_READ_BATCH):
                    existing[doc["_id"]] = doc
            plans: dict[tuple[str, CopyKey], tuple[MergedCopies, dict[str, Any] | None]] = {}
            for group, copies in todo.items():
                parts = {c.wa_id: c for c in copies if c.part is not None}
                merged_in: list[Copy] = []
                for doc_id in wanted[group]:
                    doc = existing.get(doc_id)
                    wa_id = doc_id.split("/", 1)[1]
                    if doc is None and wa_id not in parts:
                        continue
                    part = parts.get(wa_id)
                    merged_in.append(
                        Copy(wa_id, doc=doc, part=part.part if part else None,
                             seq=part.seq if part else 0)
                    )  # fmt: skip
                if not merged_in:
                    continue  # a sweep's documents were deleted meanwhile (erasure, retention)
                plan = merge_copies(merged_in)
                old = plan.primary.doc
                if old is not None and not plan.absorbed and all(c.part is None for c in merged_in):
                    continue  # nothing new (a sweep over copies merged already)
                plans[group] = (plan, dict(old) if old is not None else None)
            missing = {
                chat_doc_id(g[0], c)
                for g, (plan, _old) in plans.items()
                if isinstance(c := plan.joined.get("chat_id"), str)
            } - set(chats)
            chats.update(self._chat_docs(missing))
            inserts: dict[str, dict[str, Any]] = {}
            replaces: dict[str, dict[str, Any]] = {}
            olds: dict[str, dict[str, Any]] = {}
            group_of: dict[str, tuple[str, CopyKey]] = {}
            finals: dict[tuple[str, CopyKey], dict[str, Any]] = {}
            for group, (plan, old) in plans.items():
                profile = group[0]
                chat = plan.joined.get("chat_id")
                chat_doc = chats.get(chat_doc_id(profile, chat)) if isinstance(chat, str) else None
                new = self._render_message(
                    plan.joined, old, profile, plan.primary.wa_id, chat_doc, now,
                    copies=(plan.aliases, plan.alias_chats),
                )  # fmt: skip
                doc_id = new["_id"]
                group_of[doc_id] = group
                finals[group] = new
                if old is None:
                    inserts[doc_id] = new
                elif not plan.absorbed and _same_content(old, new):
                    finals[group] = old
                else:
                    replaces[doc_id] = new
                    olds[doc_id] = old
            failed: set[tuple[str, CopyKey]] = set()
            if inserts:
                failed |= {group_of[i] for i in _insert_many(messages, list(inserts.values()))}
            if replaces:
                failed |= {group_of[i] for i in self._replace_guarded(messages, olds, replaces)}
            deletes: dict[str, tuple[tuple[str, CopyKey], Any]] = {}
            for group, (plan, _old) in plans.items():
                if group not in failed:
                    for copy in plan.absorbed:
                        doc_id = message_doc_id(group[0], copy.wa_id)
                        deletes[doc_id] = (group, (copy.doc or {}).get("rev"))
            if deletes:
                ops = [DeleteOne({"_id": i, "rev": rev}) for i, (_g, rev) in deletes.items()]
                result = _bulk_write(messages, ops)
                if result.deleted_count < len(ops):
                    left = messages.find({"_id": {"$in": list(deletes)}}, {"_id": 1})
                    failed |= {deletes[d["_id"]][0] for d in left}
            flagged: set[str] = set()
            for group, (plan, _old) in plans.items():
                if group in failed:
                    continue
                profile = group[0]
                final = finals[group]
                views.append(message_view(final))
                flagged |= {chat_doc_id(profile, c) for c in plan.alias_chats}
                if plan.absorbed:
                    chats_of = {c for c in (final.get("chat_id"), *plan.alias_chats) if c}
                    chats_of |= {c for a in plan.absorbed if (c := chat_of_copy(a))}
                    for copy in plan.absorbed:
                        views.append(
                            {"id": copy.wa_id, "profile_id": profile,
                             "merged_into": plan.primary.wa_id, "chats": sorted(chats_of)}
                        )  # fmt: skip
            if flagged:
                self._chats(batch=True).update_many(
                    {"_id": {"$in": sorted(flagged)}, "alias_messages": {"$ne": True}},
                    {"$set": {"alias_messages": True}, "$inc": {"rev": 1}},
                )
            todo = {g: todo[g] for g in failed}
            if todo:
                log.debug("re-merging %d messages changed concurrently", len(todo))
                time.sleep(0.005 * (round_no + 1))
        if todo:
            raise StoreWriteError(f"merging copies failed: {len(todo)} message(s) kept changing")
        return views

    def _merge_linked_copies(
        self, pending: Mapping[str, str], links: Links, now: datetime
    ) -> list[dict[str, Any]]:
        """Links learnt now (or left pending): merge copies stored under both spellings.

        Only what can hold copies is read: stubs and group messages whose id names one of the
        contact's spellings (``copy_refs``), and the messages of a profile's chats when it has
        the contact under two spellings. A few indexed queries per batch that learns links.
        """
        spellings: set[str] = set()
        for lid, phone in pending.items():
            spellings |= {lid, *links.spellings(_phone_wid(phone))}
        if not spellings:
            return []
        phones = sorted({p for p in pending.values()})
        messages = self._messages(batch=True)
        # (profile, person) -> chat spellings with something stored
        present: dict[tuple[str, str], set[str]] = {}
        for chunk in _chunks(phones):
            for chat in self._chats(batch=True).find(
                {"phone": {"$in": list(chunk)}}, {"profile_id": 1, "chat_id": 1, "is_group": 1}
            ):
                chat_id = chat.get("chat_id")
                if isinstance(chat_id, str) and chat_id in spellings and not chat.get("is_group"):
                    present.setdefault((chat["profile_id"], links.person(chat_id)), set()).add(
                        chat_id
                    )
        found: dict[tuple[str, CopyKey], set[str]] = {}

        def add(profile: str, wa_id: str) -> None:
            key = parse_message_id(wa_id)
            if key is not None:
                found.setdefault((profile, copy_key(key, links)), set()).add(wa_id)

        # Stubs waiting under a spelling, and group messages whose id names the contact.
        every = sorted(spellings)
        refs = [stub_ref(w) for w in every] + [sender_ref(w) for w in every]
        for chunk in _chunks(refs):
            for doc in messages.find(
                {"copy_refs": {"$in": list(chunk)}}, {"profile_id": 1, "wa_id": 1, "chat_id": 1}
            ):
                add(doc["profile_id"], doc["wa_id"])
                chat = chat_of_message_id(doc["wa_id"])
                if not doc.get("chat_id") and chat in spellings:
                    present.setdefault((doc["profile_id"], links.person(chat)), set()).add(chat)
        # A profile with the contact under two spellings: every message of those chats.
        for (profile, _person), chat_ids in sorted(present.items()):
            if len(chat_ids) < 2:
                continue
            for chat_id in sorted(chat_ids):  # one equality each: `$in` here is a full scan
                for doc in messages.find({"profile_id": profile, "chat_id": chat_id}, {"wa_id": 1}):
                    add(profile, doc["wa_id"])
        groups = {g: [Copy(w) for w in sorted(ids)] for g, ids in found.items() if len(ids) > 1}
        if not groups:
            return []
        return self._write_copies(groups, links, {}, now)

    def _render_message(
        self,
        joined: dict[str, Any],
        old: Mapping[str, Any] | None,
        profile_id: str,
        wa_id: str,
        chat: Mapping[str, Any] | None,
        now: datetime,
        *,
        copies: tuple[list[str], list[str]] | None = None,
    ) -> dict[str, Any]:
        """The stored document. `copies`: (aliases, alias_chats) a merge computed; without it
        the document keeps the ones it has."""
        doc = normalized_message(joined)
        for name in ("phone", "lead_id"):
            value = (chat or {}).get(name) or (old or {}).get(name)
            if value:
                doc[name] = value
        if copies is not None:
            for name, values in zip(("aliases", "alias_chats"), copies, strict=True):
                if values:
                    doc[name] = list(values)
                else:
                    doc.pop(name, None)
        refs = copy_refs(wa_id, doc)
        if refs:
            doc["copy_refs"] = refs
        else:
            doc.pop("copy_refs", None)
        doc["words"] = message_words(doc)
        doc.update(
            _id=message_doc_id(profile_id, wa_id),
            profile_id=profile_id,
            wa_id=wa_id,
            schema_version=SCHEMA_VERSION,
            rev=int((old or {}).get("rev") or 0) + 1,
            first_seen_at=(old or {}).get("first_seen_at") or now,
            updated_at=now,
        )
        return doc

    def _render_chat(
        self,
        joined: dict[str, Any],
        old: Mapping[str, Any] | None,
        profile_id: str,
        now: datetime,
    ) -> dict[str, Any]:
        doc = render_chat(joined)
        if (old or {}).get("lead_id") and not doc.get("lead_id"):
            doc["lead_id"] = old["lead_id"]  # type: ignore[index]
        doc.update(
            _id=chat_doc_id(profile_id, str(doc.get("chat_id"))),
            profile_id=profile_id,
            schema_version=SCHEMA_VERSION,
            rev=int((old or {}).get("rev") or 0) + 1,
            first_seen_at=(old or {}).get("first_seen_at") or now,
            updated_at=now,
        )
        return doc

    def _read_join_write(
        self,
        collection: Collection,
        partials: Mapping[str, tuple[str, Any]],
        render: Callable[[dict[str, Any] | None, Any, str, str], dict[str, Any]],
        *,
        insert_first: set[str] | None = None,
    ) -> dict[str, dict[str, Any]]:
        """Read the current documents, join, write back (rev-guarded); returns the final docs.

        Ids in `insert_first` are first inserted as new documents without reading; the ones
        that already exist (duplicate key) join the read-join-write path.
        """
        final: dict[str, dict[str, Any]] = {}
        pending = [i for i in partials if not insert_first or i not in insert_first]
        if insert_first:
            fresh = []
            for doc_id in partials:
                if doc_id in insert_first:
                    profile, item = partials[doc_id]
                    new = render(None, item, profile, doc_id)
                    fresh.append(new)
                    final[doc_id] = new
            existing_ids = set(_insert_many(collection, fresh)) if fresh else set()
            for doc_id in existing_ids:
                del final[doc_id]
            pending += [i for i in partials if i in existing_ids]
        for round_no in range(_MAX_WRITE_ROUNDS):
            if not pending:
                break
            existing: dict[str, dict[str, Any]] = {}
            for chunk in _chunks(pending):
                cursor = collection.find({"_id": {"$in": list(chunk)}}, batch_size=_READ_BATCH)
                for doc in cursor:
                    existing[doc["_id"]] = doc
            inserts: list[dict[str, Any]] = []
            replaces: dict[str, dict[str, Any]] = {}
            for doc_id in pending:
                profile, item = partials[doc_id]
                old = existing.get(doc_id)
                new = render(old, item, profile, doc_id)
                if old is None:
                    inserts.append(new)
                elif _same_content(old, new):
                    final[doc_id] = old
                    continue
                else:
                    replaces[doc_id] = new
                final[doc_id] = new
            retry: list[str] = []
            if inserts:
                retry += _insert_many(collection, inserts)
            if replaces:
                retry += self._replace_guarded(collection, existing, replaces)
            pending = retry
            if pending:
                log.debug("re-joining %d documents changed concurrently", len(pending))
                time.sleep(0.005 * (round_no + 1))
        if pending:
            raise StoreWriteError(
                f"write on {collection.name} failed: {len(pending)} document(s) kept changing"
            )
        return final

    @staticmethod
    def _replace_guarded(
        collection: Collection,
        existing: Mapping[str, Mapping[str, Any]],
        replaces: Mapping[str, dict[str, Any]],
    ) -> list[str]:
        ops = [
            ReplaceOne({"_id": doc_id, "rev": existing[doc_id].get("rev")}, doc)
            for doc_id, doc in replaces.items()
        ]
        result = _bulk_write(collection, ops)
        if result.matched_count == len(ops):
            return []
        # Someone changed some of them in between: find which (their rev is not ours).
        now_docs = {
            d["_id"]: d.get("rev")
            for d in collection.find({"_id": {"$in": list(replaces)}}, {"rev": 1})
        }
        return [i for i, doc in replaces.items() if now_docs.get(i) != doc["rev"]]

    def _write_profiles(self, profiles: Mapping[str, Mapping[str, Any]], now: datetime) -> None:
        ops = [
            UpdateOne(
                {"_id": pid},
                {
                    "$set": {"name": p["name"], "updated_at": now},
                    "$max": {"last_seen_at": p["at"]},
                    "$setOnInsert": {"created_at": now, "schema_version": SCHEMA_VERSION},
                },
                upsert=True,
            )
            for pid, p in profiles.items()
        ]
        _bulk_write(self._other("profiles", batch=True), ops)

    def _propagate_lid_phones(self, lids: Mapping[str, str], now: datetime) -> None:
        """A phone revealed for a @lid reaches that contact's chats and their messages."""
        chats = self._chats(batch=True)
        targets: list[dict[str, Any]] = []
        for chunk in _chunks(sorted(lids)):
            query = {"lid": {"$in": list(chunk)}, "phone": None}
            targets += chats.find(query, {"profile_id": 1, "chat_id": 1, "lid": 1})
        if not targets:
            return
        ops = [
            UpdateOne(
                {"_id": c["_id"], "phone": None},
                {
                    "$set": {"phone": lids[c["lid"]], "phone_unknown": False, "updated_at": now},
                    "$inc": {"rev": 1},
                },
            )  # fmt: skip
            for c in targets
        ]
        _bulk_write(chats, ops)
        for chat in targets:
            self._messages(batch=True).update_many(
                {"profile_id": chat["profile_id"], "chat_id": chat["chat_id"], "phone": None},
                {"$set": {"phone": lids[chat["lid"]]}, "$inc": {"rev": 1}},
            )

    def link_lead(self, profile_id: str, chat_id: str, lead_id: str | None) -> int:
        """Link (or unlink) a chat to a CV CRM lead; its messages follow (count returned)."""
        update: dict[str, Any] = (
            {"$set": {"lead_id": lead_id}} if lead_id else {"$unset": {"lead_id": ""}}
        )
        self._chats().update_one({"_id": chat_doc_id(profile_id, chat_id)}, update)
        modified = 0
        for query in _shown_in(profile_id, chat_id):
            result = self._messages().update_many(query, {**update, "$inc": {"rev": 1}})
            modified += int(result.modified_count)
        return modified

    # -- reads ---------------------------------------------------------------------------

    def recent_messages(self, profile_id: str, chat_id: str, limit: int) -> list[dict[str, Any]]:
        """Newest `limit` messages of a chat, returned oldest first (plain dicts).

        The chat document's ``recent_ts`` (its newest distinct message times) gives a time at
        or after which the newest `limit` messages lie, so the read fetches about `limit`
        documents however long the chat is. That matters on servers that fetch every match
        before sorting (SecantusDB: a 5,000-message chat took 125 ms unbounded, 4.5 ms
        bounded); on mongod the index walk stops at `limit` either way. A bounded read that
        finds fewer than `limit` asks again without the bound, and heals the hint.
        """
        if limit <= 0:
            return []
        chat_key = chat_doc_id(profile_id, chat_id)
        chat = (
            self._chats().find_one(
                {"_id": chat_key}, {"recent_ts": 1, "rev": 1, "alias_messages": 1}
            )
            or {}
        )
        queries: list[dict[str, Any]] = _shown_in(profile_id, chat_id)
        if not chat.get("alias_messages"):
            queries = queries[:1]  # no message of another chat's id shows here
        bound = recent_times_bound(chat.get("recent_ts"), limit)
        found: list[dict[str, Any]] = []
        if bound is not None:
            found = self._newest_of(queries, {"t": {"$gte": bound}}, limit)
        if len(found) < limit:
            found = self._newest_of(queries, {}, limit)
            if chat and found:
                self._heal_recent_times(chat, [d["t"] for d in found if "t" in d])
        return [message_view(d) for d in found]

    def _newest_of(
        self,
        queries: list[dict[str, Any]],
        extra: dict[str, Any],
        limit: int,
        *,
        keep: Callable[[Mapping[str, Any]], bool] | None = None,
        whole_seconds: bool = False,
    ) -> list[dict[str, Any]]:
        """The newest `limit` documents matching any of `queries` (each ANDed with `extra`),
        oldest first in timeline order (`timeline_key`); ``limit <= 0``: all of them.

        The index sorts by whole seconds only, so the cut at `limit` may fall inside one second:
        reading one document more shows it, and then the rest of that second is read too, so
        the kept ones are the newest by capture order — never an arbitrary pick.
        `whole_seconds` keeps that whole oldest second (more than `limit`): a page whose next
        page asks for ``t < its oldest t`` must not hide the rest of that second.
        """
        found: dict[str, dict[str, Any]] = {}
        for query in queries:
            cursor = self._messages().find(query | extra, {"words": 0})
            cursor = cursor.sort("t", pymongo.DESCENDING)
            if limit > 0:
                cursor = cursor.limit(limit + 1)
            for doc in cursor:
                if keep is None or keep(doc):
                    found[doc["_id"]] = doc
        ordered = sorted(found.values(), key=timeline_key)
        if limit <= 0 or len(ordered) <= limit:
            return ordered
        edge = ordered[-limit].get("t")
        if isinstance(edge, int) and ordered[-limit - 1].get("t") == edge:
            for query in queries:
                for doc in self._messages().find(query | {"t": edge}, {"words": 0}):
                    if keep is None or keep(doc):
                        found.setdefault(doc["_id"], doc)
            ordered = sorted(found.values(), key=timeline_key)
            if whole_seconds:
                return [d for d in ordered if d.get("t", 0) >= edge]
        return ordered[-limit:]

    def _heal_recent_times(self, chat: Mapping[str, Any], times: list[int]) -> None:
        """Merge the times a full read saw into the chat's hint (chats stored before it, or
        thinned by retention). Guarded by ``rev``: a concurrent writer's version wins."""
        merged = join_recent_times(chat.get("recent_ts") or (), times)
        if merged == chat.get("recent_ts"):
            return
        try:
            self._chats().update_one(
                {"_id": chat["_id"], "rev": chat.get("rev")},
                {"$set": {"recent_ts": merged}, "$inc": {"rev": 1}},
            )
        except PyMongoError as exc:  # only a hint: the read itself succeeded
            log.debug("could not update a chat's recent times: %s", type(exc).__name__)

    def recent_chats(self, profile_id: str, limit: int) -> list[dict[str, Any]]:
        """The profile's chats with the newest messages first."""
        cursor = (
            self._chats()
            .find({"profile_id": profile_id}, {"rev": 0, "recent_ts": 0})
            .sort("last_t", pymongo.DESCENDING)
            .limit(max(0, limit))
        )
        return [{k: v for k, v in d.items() if k != "_id"} for d in cursor]

    def contact_timeline(
        self,
        profile_id: str,
        chat_id: str,
        *,
        phone: str | None = None,
        before_t: int | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """Messages of this chat *and* of every profile's chat with the same phone (team view).

        Newest `limit` before `before_t`, returned oldest first; each carries ``profile_id``.
        A page never ends inside a second (it may hold more than `limit`), so the next page,
        ``before_t`` = its oldest ``t``, misses nothing. Brazilian numbers match with or without
        the ninth digit. ``limit <= 0``: everything.
        """
        phone = phone or self._chat_phone(profile_id, chat_id)
        queries = _shown_in(profile_id, chat_id)
        if phone:
            queries.append({"phone": {"$in": sorted(ninth_digit_variants(phone) | {phone})}})
        extra = {"t": {"$lt": before_t}} if before_t is not None else {}
        ordered = self._newest_of(
            queries, extra, limit, keep=lambda d: bool(d.get("chat_id")), whole_seconds=True
        )
        return [message_view(d) for d in ordered]

    def _chat_phone(self, profile_id: str, chat_id: str) -> str | None:
        chat = self._chats().find_one({"_id": chat_doc_id(profile_id, chat_id)}, {"phone": 1})
        return chat.get("phone") if chat else None

    def search(self, query: SearchQuery) -> list[dict[str, Any]]:
        """Messages whose texts/names contain every word of `query.text` (accents and case
        ignored; digit groups of 4+ also match the contact's phone), newest first."""
        words: list[str] = []
        digits: list[str] = []
        for token in tokens(query.text):
            (digits if token.isdigit() and len(token) >= 4 else words).append(token)
        condition: dict[str, Any] = {"chat_id": {"$ne": None}}
        if words:
            condition["words"] = {"$all": words}
        if digits:
            condition["$and"] = [{"phone": {"$regex": d}} for d in digits]
        if query.profile_id:
            condition["profile_id"] = query.profile_id
        t_range: dict[str, int] = {}
        if query.since_t is not None:
            t_range["$gte"] = query.since_t
        if query.until_t is not None:
            t_range["$lt"] = query.until_t
        if t_range:
            condition["t"] = t_range
        if not words and not digits and not query.chat_id:
            return []
        limit = max(1, query.limit)
        conditions = [condition]
        if query.chat_id:
            # Stored under the chat, or a copy arrived there (two queries: `$or` is a full scan
            # on SecantusDB).
            conditions = [
                {**condition, "chat_id": query.chat_id},
                {**condition, "copy_refs": alias_ref(query.chat_id)},
            ]
        found: dict[str, dict[str, Any]] = {}
        for cond in conditions:
            cursor = self._messages().find(cond, {"words": 0}).sort("t", pymongo.DESCENDING)
            for doc in cursor.limit(limit):
                found[doc["_id"]] = doc
        ordered = sorted(found.values(), key=timeline_key, reverse=True)
        return [message_view(d) for d in ordered[:limit]]

    def count_messages(self, profile_id: str | None = None) -> int:
        """Stored messages (stubs without their message are not counted)."""
        query: dict[str, Any] = {"chat_id": {"$exists": True, "$ne": None}}
        if profile_id is not None:
            query["profile_id"] = profile_id
        return int(self._messages().count_documents(query))

    def get_chat(self, profile_id: str, chat_id: str) -> dict[str, Any] | None:
        """The chat document as a dict (without `_id`), or None."""
        doc = self._chats().find_one({"_id": chat_doc_id(profile_id, chat_id)}, {"recent_ts": 0})
        if doc is None:
            return None
        doc.pop("_id", None)
        return doc

    def _chat_docs(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = sorted(set(ids))
        out: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(wanted):
            cursor = self._chats().find({"_id": {"$in": list(chunk)}}, batch_size=_READ_BATCH)
            for doc in cursor:
                out[doc["_id"]] = doc
        return out

    # -- erasure and retention -----------------------------------------------------------

    def contact_chats(self, phone: str) -> list[tuple[str, str]]:
        """(profile_id, chat_id) of every chat with this phone (ninth digit tolerated), incl.
        ``@lid`` chats whose phone WhatsApp revealed."""
        variants = sorted(ninth_digit_variants(phone) | {phone})
        lids = [d["_id"] for d in self._other("lids").find({"phone": {"$in": variants}})]
        query: dict[str, Any] = {
            "$or": [
                {"phone": {"$in": variants}},
                {"chat_id": {"$in": [f"{v}@c.us" for v in variants]}},
                *([{"lid": {"$in": lids}}] if lids else []),
            ]
        }
        return sorted({(d["profile_id"], d["chat_id"]) for d in self._chats().find(query)})

    def contact_lids(self, phone: str) -> list[str]:
        """The ``@lid`` ids WhatsApp linked to this phone (ninth digit tolerated)."""
        variants = sorted(ninth_digit_variants(phone) | {phone})
        return sorted(d["_id"] for d in self._other("lids").find({"phone": {"$in": variants}}))

    def erase_contact(self, phone: str) -> dict[str, int]:
        """Delete every message, chat and @lid mapping of one contact; returns counts.

        Messages go by contact phone, by chat (also stubs whose id names the chat), and by
        group authorship (``author``/``sender`` = the contact's wids).
        """
        variants = sorted(ninth_digit_variants(phone) | {phone})
        refs = self.contact_chats(phone)
        lid_docs = list(self._other("lids").find({"phone": {"$in": variants}}))
        wids = [f"{v}@c.us" for v in variants] + [d["_id"] for d in lid_docs]
        messages = self._messages()
        ops: list[DeleteMany] = [
            DeleteMany({"phone": {"$in": variants}}),
            DeleteMany({"author": {"$in": wids}}),
            DeleteMany({"sender": {"$in": wids}}),
        ]
        for profile_id, chat_id in refs:
            ops.append(DeleteMany({"profile_id": profile_id, "chat_id": chat_id}))
        chat_ids = sorted({c for _, c in refs} | set(wids))
        # Copies merged into a document of another chat, stubs (ids naming the chat), and the
        # contact's group messages and their stubs (ids naming the sender).
        keys = [alias_ref(c) for c in chat_ids] + [stub_ref(c) for c in chat_ids]
        keys += [sender_ref(w) for w in wids]
        ops.append(DeleteMany({"copy_refs": {"$in": keys}}))
        for chat_id in chat_ids:
            # Stubs (an ack/edit whose message never arrived) have no chat_id; their id has.
            for direction in ("true", "false"):
                ops.append(DeleteMany({"wa_id": {"$regex": f"^{direction}_{_re(chat_id)}_"}}))
        deleted_messages = int(_bulk_write(messages, ops).deleted_count)
        chats = (
            self._chats()
            .delete_many({"_id": {"$in": [chat_doc_id(p, c) for p, c in refs]}})
            .deleted_count
        )
        self._other("lids").delete_many({"_id": {"$in": [d["_id"] for d in lid_docs]}})
        return {"messages": deleted_messages, "chats": int(chats), "lids": len(lid_docs)}

    def record_audit(self, entry: Mapping[str, Any]) -> str:
        """Append an audit entry (never message content); returns its id."""
        audit_id = uuid.uuid4().hex
        self._other("audit").insert_one({"_id": audit_id, **entry})
        return audit_id

    def audit_entries(self, limit: int = 100) -> list[dict[str, Any]]:
        cursor = self._other("audit").find().sort("at", pymongo.DESCENDING).limit(limit)
        return list(cursor)

    def delete_older_than(self, cutoff_t: int) -> tuple[int, list[tuple[str, str]]]:
        """Retention: delete messages with ``t < cutoff_t`` (and chats idle since then).

        Returns (messages deleted, (profile_id, chat_id) of the chats that lost messages).
        """
        messages = self._messages()
        refs = sorted(
            {
                (d["_id"]["p"], d["_id"]["c"])
                for d in messages.aggregate(
                    [
                        {"$match": {"t": {"$lt": cutoff_t}}},
                        {"$group": {"_id": {"p": "$profile_id", "c": "$chat_id"}}},
                    ]
                )
                if d["_id"].get("c")
            }
        )
        # Messages that also show in another chat (PN/LID copies): that chat's list changes too.
        refs = sorted(
            set(refs)
            | {
                (d["profile_id"], c)
                for d in messages.find(
                    {"alias_chats": {"$exists": True}, "t": {"$lt": cutoff_t}},
                    {"profile_id": 1, "alias_chats": 1},
                )
                for c in d.get("alias_chats") or ()
            }
        )
        deleted = messages.delete_many({"t": {"$lt": cutoff_t}}).deleted_count
        self._chats().delete_many({"last_t": {"$lt": cutoff_t}})
        return int(deleted), refs

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


def _shown_in(profile_id: str, chat_id: str) -> list[dict[str, Any]]:
    """Queries for the messages a chat shows: stored under it, and messages of another chat's
    id a copy of which also arrived in it. Two indexed queries (on SecantusDB `$or`, or a
    field beside a compound index's prefix, is a full scan)."""
    return [
        {"profile_id": profile_id, "chat_id": chat_id},
        {"copy_refs": alias_ref(chat_id), "profile_id": profile_id},
    ]


def _re(text: str) -> str:
    import re

    return re.escape(text)


def _insert_many(collection: Collection, docs: list[dict[str, Any]]) -> list[str]:
    """Unordered insert; returns the ids that already existed (lost a race: re-join them)."""
    existing: list[str] = []
    for chunk in _chunks(docs, _INSERT_CHUNK):
        try:
            collection.insert_many(chunk, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            concern = exc.details.get("writeConcernErrors", [])
            other = [e for e in errors if e.get("code") != _DUPLICATE_KEY]
            if other or concern:
                raise _safe_error(collection.name, exc) from None
            existing += [chunk[e["index"]]["_id"] for e in errors]
    return existing


def _bulk_write(collection: Collection, ops: list[Any]) -> Any:
    try:
        return collection.bulk_write(ops, ordered=False)
    except BulkWriteError as exc:
        raise _safe_error(collection.name, exc) from None


def _safe_error(name: str, exc: BulkWriteError) -> StoreWriteError:
    errors = exc.details.get("writeErrors", [])
    concern = exc.details.get("writeConcernErrors", [])
    codes = sorted({int(e.get("code", 0)) for e in [*errors, *concern]})
    log.debug("bulk write on %s failed: %s", name, exc.details)
    return StoreWriteError(
        f"bulk write on {name} failed: {len(errors)} write error(s), "
        f"{len(concern)} write-concern error(s), codes {codes}",
        codes,
    )


def masked_phone(phone: str) -> str:
    """How an erased phone appears in the audit log."""
    return mask(phone)


__all__ = [
    "ChatDoc",
    "MessageDoc",
    "MongoHistoryStore",
    "SCHEMA_VERSION",
    "SchemaTooNewError",
    "StoreWriteError",
    "chat_doc_id",
    "chat_of_message_id",
    "document_classes",
    "message_doc_id",
    "message_view",
    "parse_batch",
]
