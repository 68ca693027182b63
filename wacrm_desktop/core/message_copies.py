"""Copies of one WhatsApp message under a phone-number id and a LID id: which ids are one message.

During WhatsApp's PN→LID migration one conversation can exist as a ``<digits>@c.us`` chat and
a ``<digits>@lid`` chat, so one message can reach us as ``false_<pn>@c.us_<RAW>`` and as
``false_<lid>@lid_<RAW>`` (whatsapp-web-bridge.md §3.2 and §3.4; WAHA #1816). The capture
script folds the two within one page load; across page loads and app restarts the store must.

Raw ids are unique per sender only, so two ids are copies of one message only when they agree
on the direction (``from_me``), the raw id and the *person*: in a 1:1 chat the two remotes are
the same contact — one ``@lid`` that WhatsApp itself linked to the other's phone (``lid_phone``
events, the ``chat_phone`` of a ``@lid`` chat, the ``chat_lid`` of a phone chat) — and in a group
the chat is the same and the participants are the same contact. Never the raw id alone, and never
a link guessed from digits (a LID's digits are not a phone number).

The store keeps one document per message under the id it stored first (`primary_rank`); the
other spellings become its ``aliases`` and the chats those copies arrived in its
``alias_chats`` (so the message still shows in every chat it was delivered to, once). Content is
joined with `history_model.join_messages`, so edits, reactions, acks and the revoke of every copy
survive; the fields that describe one copy (`COPY_FIELDS`) follow the kept id.

No Qt, no pymongo.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .history_model import join_messages
from .whatsapp import MessageKey, chat_of_message_id, parse_message_id

#: Fields that describe one copy of a message (its chat, its sender's spelling): the stored
#: document takes them from the copy whose id it keeps, never a mix of two copies.
COPY_FIELDS: tuple[str, ...] = ("chat_id", "sender", "author")

#: (from_me, raw id, person of the chat, person of the participant or "").
CopyKey = tuple[bool, str, str, str]


def _phone_wid(phone: str) -> str:
    return f"{phone}@c.us"


class Links:
    """LID ↔ phone links as WhatsApp revealed them (``lid wid -> phone digits``).

    A LID has at most one phone (two answers: the greater wins, as ``$max`` in the store does);
    a phone may have several LIDs.
    """

    def __init__(self, lid_phones: Mapping[str, str] | None = None) -> None:
        self._phone_of: dict[str, str] = {}
        self._lids_of: dict[str, set[str]] = {}
        for lid, phone in (lid_phones or {}).items():
            self.add(lid, phone)

    def add(self, lid: str, phone: str) -> None:
        if not lid.endswith("@lid") or not phone.isdigit():
            return
        old = self._phone_of.get(lid)
        if old is not None:
            if phone <= old:
                return
            self._lids_of.get(old, set()).discard(lid)
        self._phone_of[lid] = phone
        self._lids_of.setdefault(phone, set()).add(lid)

    def phone_of(self, lid: str) -> str | None:
        return self._phone_of.get(lid)

    def __bool__(self) -> bool:
        return bool(self._phone_of)

    def items(self) -> Iterable[tuple[str, str]]:
        return self._phone_of.items()

    def person(self, wid: str) -> str:
        """One spelling per contact: the phone wid when WhatsApp linked it, else the wid."""
        if wid.endswith("@lid"):
            phone = self._phone_of.get(wid)
            return _phone_wid(phone) if phone else wid
        return wid

    def spellings(self, wid: str) -> list[str]:
        """Every wid of the same contact (`wid` included), sorted."""
        person = self.person(wid)
        if not person.endswith("@c.us"):
            return [wid]
        phone = person.rsplit("@", 1)[0]
        return sorted({wid, person, *self._lids_of.get(phone, ())})


def copy_key(key: MessageKey, links: Links) -> CopyKey:
    """What two copies of one message share (per profile): direction, raw id, persons."""
    sender = links.person(key.participant) if key.participant else ""
    return (key.from_me, key.raw, links.person(key.remote), sender)


def copy_ids(wa_id: str, links: Links) -> list[str]:
    """Every serialized id one message could have been stored under (`wa_id` included)."""
    key = parse_message_id(wa_id)
    if key is None:
        return [wa_id]
    remotes = links.spellings(key.remote)
    senders: list[str | None] = (
        list(links.spellings(key.participant)) if key.participant else [None]
    )
    if len(remotes) == 1 and len(senders) == 1:
        return [wa_id]
    return sorted(
        {key._replace(remote=r, participant=p).serialized() for r in remotes for p in senders}
    )


@dataclass(frozen=True, slots=True)
class Copy:
    """One id of a message: its stored document and/or what the batch says about it."""

    wa_id: str
    doc: Mapping[str, Any] | None = None  # stored document
    part: Mapping[str, Any] | None = None  # partial document of this batch
    seq: int = 0  # first journal sequence number of this id in the batch

    @property
    def is_message(self) -> bool:
        """A captured message (not only an ack/edit/reaction/revoke waiting for it)."""
        return bool((self.doc or {}).get("chat_id") or (self.part or {}).get("chat_id"))


def _time(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else 0.0


def primary_rank(copy: Copy) -> tuple[int, int, float, str]:
    """Which id a message keeps (smallest first).

    A message already stored first (the id stored first keeps its place, a later copy becomes
    an alias; among stored ones the first stored); then a message this batch captured (the
    first journalled); then a stub (an ack, edit… waiting for its message). The id last.
    Stored documents decide by what is stored, so every writer — also one finishing a merge
    a crash interrupted — chooses the same id.
    """
    doc_is_message = bool((copy.doc or {}).get("chat_id"))
    if doc_is_message:
        return (0, 0, _time((copy.doc or {}).get("first_seen_at")), copy.wa_id)
    if copy.is_message:
        return (1, 1, float(copy.seq), copy.wa_id)
    if copy.doc is not None:
        return (2, 0, _time(copy.doc.get("first_seen_at")), copy.wa_id)
    return (2, 1, float(copy.seq), copy.wa_id)


@dataclass(frozen=True, slots=True)
class MergedCopies:
    primary: Copy  # the copy whose id the document keeps
    joined: dict[str, Any]  # joined content (not rendered: no _id, rev, words…)
    aliases: list[str]  # every other id of the message
    alias_chats: list[str]  # other chats a copy of the message was captured in
    absorbed: list[Copy]  # stored documents that become aliases (to delete)


def _content(src: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in src.items() if k not in ("aliases", "alias_chats")}


def merge_copies(copies: Sequence[Copy]) -> MergedCopies:
    """Fold the copies of one message into one document's content (see the module docstring)."""
    if not copies:
        raise ValueError("no copies to merge")
    ordered = sorted(copies, key=primary_rank)
    primary = ordered[0]
    joined: dict[str, Any] = {}
    ids: set[str] = set()
    chats: set[str] = set()
    for copy in ordered:
        ids.add(copy.wa_id)
        for src in (copy.doc, copy.part):
            if not src:
                continue
            joined = join_messages(joined, _content(src))
            ids.update(a for a in src.get("aliases") or () if isinstance(a, str))
            chats.update(c for c in src.get("alias_chats") or () if isinstance(c, str))
            if isinstance(src.get("chat_id"), str):
                chats.add(src["chat_id"])
    own = join_messages(_content(primary.doc or {}), _content(primary.part or {}))
    for name in COPY_FIELDS:
        if own.get(name) is not None:
            joined[name] = own[name]
        else:
            joined.pop(name, None)
    chat_id = joined.get("chat_id")
    if not isinstance(chat_id, str):
        # Only stubs so far: no chat shows the message yet.
        chats = set()
    return MergedCopies(
        primary=primary,
        joined=joined,
        aliases=sorted(ids - {primary.wa_id}),
        alias_chats=sorted(chats - {chat_id}) if isinstance(chat_id, str) else [],
        absorbed=[c for c in ordered[1:] if c.doc is not None],
    )


def alias_ref(chat_id: str) -> str:
    """`copy_refs` key of a message that also shows in `chat_id` (a copy arrived there)."""
    return f"chat:{chat_id}"


def stub_ref(chat_id: str) -> str:
    """`copy_refs` key of a stub whose id names `chat_id`."""
    return f"stub:{chat_id}"


def sender_ref(wid: str) -> str:
    """`copy_refs` key of a group (or status/broadcast) message whose id names sender `wid`."""
    return f"from:{wid}"


def copy_refs(wa_id: str, doc: Mapping[str, Any]) -> list[str]:
    """Lookup keys of a stored message, one indexed field for every way copies are found.

    A message that also shows in other chats (``alias_chats``), a stub (no ``chat_id``: it is
    found by the chat its id names) and a message whose id names its sender (groups) carry keys;
    a plain 1:1 message carries none (the index is sparse: a store pays for one index, not
    three).
    """
    refs = {alias_ref(c) for c in doc.get("alias_chats") or () if isinstance(c, str)}
    if not doc.get("chat_id") and (chat := chat_of_message_id(wa_id)):
        refs.add(stub_ref(chat))
    key = parse_message_id(wa_id)
    if key is not None and key.participant and not key.from_me:
        refs.add(sender_ref(key.participant))
    return sorted(refs)


def chat_of_copy(copy: Copy) -> str | None:
    """The chat a copy belongs to (a stub's from its id)."""
    chat = (copy.doc or {}).get("chat_id") or (copy.part or {}).get("chat_id")
    return chat if isinstance(chat, str) else chat_of_message_id(copy.wa_id)
