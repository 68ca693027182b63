"""Pure model of a stored message and chat: how history events fold into one document.

Every event (message capture, ack, edit, revoke, reaction) is turned into a *partial* document
of the same shape as the stored one, and partial documents are combined with `join_messages`,
which is commutative, associative and idempotent (a join-semilattice). So the stored document
depends only on the *set* of events, never on their order or on how they were split into
batches: an edit before its original, an ack before its message, a revoke before or after an
edit all end in the same document. The MongoDB adapter reads the stored document, joins the
batch into it and writes it back (see `adapters.mongo`).

Stored message shape (besides every `MessageEvent` field under its own name):

* ``body`` / ``caption`` / ``truncated`` — the latest text; ``text_at_ms`` its edit time
  (0 = the original text);
* ``edits`` — earlier texts ``{body?, caption?, at_ms, truncated?}``, oldest first, one per
  ``at_ms``;
* ``revoked`` (+ ``revoked_at``, ``revoked_by_admin``) — "apagada para todos"; the text stays;
* ``reactions`` — ``{sender, emoji, t_ms}``, one per sender, sorted by sender; the newest
  ``t_ms`` wins and an empty ``emoji`` means that sender removed the reaction (kept as a
  tombstone, so an older reaction arriving late cannot resurrect it);
* ``ack`` — the highest seen (acks never go backwards).

Fields that differ between two captures of the same message (rare: a display name changed
between a live capture and a later backfill) resolve to a deterministic winner (booleans:
true if any capture said so; others: the greater value), not necessarily the newest.

No Qt, no pymongo: used by the adapter, the services and the tests alike.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

#: `MessageEvent` fields copied into the stored document (text fields are handled apart).
MESSAGE_EVENT_FIELDS: tuple[str, ...] = (
    "chat_id",
    "from_me",
    "type",
    "t",
    "author",
    "sender",
    "notify_name",
    "is_new",
    "is_group",
    "chat_name",
    "chat_phone",
    "quoted_id",
    "media",
    "subtype",
    "is_notification",
    "is_forwarded",
    "latest_edit_ms",
    "location",
    "vcards",
    "poll",
    "mentioned",
    "chat_lid",
    "captured_us",
)
#: Booleans joined with "any capture said true".
_OR_FIELDS = frozenset(
    {"from_me", "is_new", "is_group", "is_notification", "is_forwarded", "revoked",
     "revoked_by_admin"}
)  # fmt: skip
#: Integers joined with max.
_MAX_FIELDS = frozenset({"ack", "t", "latest_edit_ms", "revoked_at"})
#: Integers joined with min: ``captured_us`` is when the app first captured the message.
_MIN_FIELDS = frozenset({"captured_us"})
#: Lists joined as sorted sets (a message stored under one id and also seen under others, see
#: `core.message_copies`).
_SET_FIELDS = frozenset({"aliases", "alias_chats"})
#: Fields derived by `render_message` (never joined directly).
_DERIVED = frozenset({"body", "caption", "truncated", "text_at_ms", "edits", "reactions", "words"})
#: Keys that are bookkeeping of the adapter, not message data.
STORE_INTERNAL_FIELDS: tuple[str, ...] = (
    "_id",
    "rev",
    "first_seen_at",
    "updated_at",
    "schema_version",
    "words",
    "copy_refs",  # lookup keys for PN/LID copies (core.message_copies); the store derives them
)
MAX_WORDS = 400
_WORD_RE = re.compile(r"[0-9a-z]+")


# -- partial documents from journal payloads ---------------------------------------------------


def message_partial(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Partial document of a ``message`` journal payload (`MessageEvent.to_document`)."""
    out: dict[str, Any] = {}
    for name in MESSAGE_EVENT_FIELDS:
        value = payload.get(name)
        if value is None:
            continue
        out[name] = list(value) if isinstance(value, tuple) else value
    if isinstance(payload.get("ack"), int) and not isinstance(payload.get("ack"), bool):
        out["ack"] = payload["ack"]
    if payload.get("type") == "revoked":
        # A revoked placeholder has no text of its own: mark the message, keep what we have.
        out.pop("type", None)
        out["revoked"] = True
        return out
    at_ms = payload.get("latest_edit_ms")
    version = _version(payload, at_ms if isinstance(at_ms, int) else 0)
    out.update(_render_versions({version["at_ms"]: version}))
    return out


def ack_partial(payload: Mapping[str, Any]) -> dict[str, Any]:
    ack = payload.get("ack")
    return {"ack": ack} if isinstance(ack, int) and not isinstance(ack, bool) else {}


def edit_partial(payload: Mapping[str, Any]) -> dict[str, Any]:
    at_ms = payload.get("edited_at_ms")
    if not isinstance(at_ms, int) or isinstance(at_ms, bool):
        return {}
    return _render_versions({at_ms: _version(payload, at_ms)})


def revoke_partial(payload: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"revoked": True, "revoked_by_admin": bool(payload.get("by_admin"))}
    if isinstance(payload.get("revoked_at"), int):
        out["revoked_at"] = payload["revoked_at"]
    return out


def reaction_partial(payload: Mapping[str, Any]) -> dict[str, Any]:
    sender, emoji, t_ms = payload.get("sender"), payload.get("emoji"), payload.get("t_ms")
    if not isinstance(sender, str) or not isinstance(emoji, str) or not isinstance(t_ms, int):
        return {}
    return {"reactions": [{"sender": sender, "emoji": emoji, "t_ms": t_ms}]}


PARTIALS = {
    "message": message_partial,
    "ack": ack_partial,
    "edit": edit_partial,
    "revoke": revoke_partial,
    "reaction": reaction_partial,
}


def _version(payload: Mapping[str, Any], at_ms: int) -> dict[str, Any]:
    version: dict[str, Any] = {"at_ms": at_ms}
    for name in ("body", "caption"):
        if isinstance(payload.get(name), str):
            version[name] = payload[name]
    if payload.get("truncated"):
        version["truncated"] = True
    return version


# -- join --------------------------------------------------------------------------------------


def _sort_key(value: Any) -> str:
    """A total order over JSON-like values (used only to break ties deterministically)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _versions(doc: Mapping[str, Any]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for edit in doc.get("edits") or ():
        if isinstance(edit, Mapping) and isinstance(edit.get("at_ms"), int):
            out[edit["at_ms"]] = dict(edit)
    at = doc.get("text_at_ms")
    if isinstance(at, int):
        out[at] = _version(doc, at)
    return out


def _render_versions(versions: Mapping[int, dict[str, Any]]) -> dict[str, Any]:
    if not versions:
        return {}
    ordered = [versions[k] for k in sorted(versions)]
    current = ordered[-1]
    out: dict[str, Any] = {"text_at_ms": current["at_ms"]}
    for name in ("body", "caption"):
        if name in current:
            out[name] = current[name]
    if current.get("truncated"):
        out["truncated"] = True
    out["edits"] = [dict(v) for v in ordered[:-1]]
    return out


def _join_versions(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    merged = _versions(a)
    for at, version in _versions(b).items():
        old = merged.get(at)
        if old is None or _sort_key(version) > _sort_key(old):
            merged[at] = version
    return _render_versions(merged)


def _join_reactions(a: Iterable[Any], b: Iterable[Any]) -> list[dict[str, Any]]:
    best: dict[str, dict[str, Any]] = {}
    for reaction in [*a, *b]:
        if not isinstance(reaction, Mapping) or not isinstance(reaction.get("sender"), str):
            continue
        old = best.get(reaction["sender"])
        new_key = (reaction.get("t_ms", 0), reaction.get("emoji", ""))
        if old is None or new_key > (old.get("t_ms", 0), old.get("emoji", "")):
            best[reaction["sender"]] = {
                "sender": reaction["sender"],
                "emoji": reaction.get("emoji", ""),
                "t_ms": reaction.get("t_ms", 0),
            }
    return [best[s] for s in sorted(best)]


def join_messages(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Combine two (partial) message documents; order-free (see the module docstring)."""
    out: dict[str, Any] = {}
    for name in set(a) | set(b):
        if name in _DERIVED or name in STORE_INTERNAL_FIELDS:
            continue
        if name not in a or a[name] is None:
            out[name] = b[name]
        elif name not in b or b[name] is None:
            out[name] = a[name]
        elif name in _OR_FIELDS:
            out[name] = bool(a[name]) or bool(b[name])
        elif name in _MAX_FIELDS:
            out[name] = max(a[name], b[name])
        elif name in _MIN_FIELDS:
            out[name] = min(a[name], b[name])
        elif name in _SET_FIELDS:
            out[name] = sorted({*a[name], *b[name]})
        elif a[name] == b[name]:
            out[name] = a[name]
        else:
            out[name] = max(a[name], b[name], key=_sort_key)
    out.update(_join_versions(a, b))
    reactions = _join_reactions(a.get("reactions") or (), b.get("reactions") or ())
    if reactions:
        out["reactions"] = reactions
    return {k: v for k, v in out.items() if v is not None}


def earlier_texts(message: Mapping[str, Any]) -> list[str]:
    """The texts an edited message had before (body, else caption), oldest first."""
    return [e.get("body") or e.get("caption") or "" for e in message.get("edits") or ()]


def timeline_key(message: Mapping[str, Any]) -> tuple[int, int, str]:
    """Sort key of a chat's timeline, oldest first.

    WhatsApp's ``t`` has whole seconds, so a burst ("oi" / "tudo bem?" / "vi o anúncio") shares
    one ``t``; within a second the order is the order the app captured them (``captured_us``,
    strictly increasing; the page hands a chat's messages over in WhatsApp's own order, live and
    in backfill).
    Messages stored before that field existed sort first within their second, by id.
    """
    t = message.get("t")
    captured = message.get("captured_us")
    wa_id = message.get("id") or message.get("_id") or ""
    return (
        t if isinstance(t, int) and not isinstance(t, bool) else 0,
        captured if isinstance(captured, int) and not isinstance(captured, bool) else 0,
        str(wa_id),
    )


def normalized_message(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults every stored message carries (``revoked``, ``edits``, ``reactions``)."""
    out = join_messages({}, doc)
    out.setdefault("revoked", False)
    out.setdefault("edits", [])
    out.setdefault("reactions", [])
    return out


# -- chats -------------------------------------------------------------------------------------


def phone_of_chat_id(chat_id: str | None) -> str | None:
    """The phone digits of a 1:1 ``<digits>@c.us`` chat (never of @lid, groups, broadcasts)."""
    if not chat_id or not chat_id.endswith("@c.us"):
        return None
    user = chat_id.split("@", 1)[0]
    return user if user.isdigit() and 8 <= len(user) <= 15 else None


#: How many of a chat's newest distinct message times its document keeps (``recent_ts``).
RECENT_TIMES_KEPT = 200


def join_recent_times(a: Iterable[Any], b: Iterable[Any]) -> list[int]:
    """The newest `RECENT_TIMES_KEPT` distinct times of both lists, newest first.

    A union truncated to the largest N is commutative, associative and idempotent, like the
    other joins, so the chat document ends the same whatever the order of the batches.
    """
    times = {t for t in (*a, *b) if isinstance(t, int) and not isinstance(t, bool)}
    return sorted(times, reverse=True)[:RECENT_TIMES_KEPT]


def recent_times_bound(recent_ts: Any, limit: int) -> int | None:
    """A time at or after which at least `limit` of the chat's messages lie (None: unknown).

    Each kept time belongs to at least one stored message, so the `limit`-th newest distinct
    time bounds the chat's newest `limit` messages. It is only a hint for the read: a read
    that gets fewer than `limit` messages above it (e.g. after retention deleted some) asks
    again without it.
    """
    if not isinstance(recent_ts, list) or limit <= 0 or len(recent_ts) < limit:
        return None
    bound = recent_ts[limit - 1]
    return bound if isinstance(bound, int) and not isinstance(bound, bool) else None


def chat_partial_of_message(payload: Mapping[str, Any]) -> dict[str, Any] | None:
    """What a captured message says about its chat (None without a chat id)."""
    chat_id = payload.get("chat_id")
    if not isinstance(chat_id, str) or not chat_id:
        return None
    out: dict[str, Any] = {"chat_id": chat_id}
    t = payload.get("t")
    if isinstance(t, int) and not isinstance(t, bool):
        out["last_t"] = t
        out["recent_ts"] = [t]
        if payload.get("chat_name"):
            out["name"] = payload["chat_name"]
            out["name_t"] = t
    if payload.get("is_group"):
        out["is_group"] = True
    phone = payload.get("chat_phone") or phone_of_chat_id(chat_id)
    if phone:
        out["phone"] = phone
    lid = payload.get("chat_lid") or (chat_id if chat_id.endswith("@lid") else None)
    if lid:
        out["lid"] = lid
    return out


def join_chats(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Combine two chat (partial) documents: latest name by time, max last_t, known phone."""
    out: dict[str, Any] = {}
    for name in set(a) | set(b):
        if name in ("phone_unknown", "name", "name_t") or name in STORE_INTERNAL_FIELDS:
            continue
        va, vb = a.get(name), b.get(name)
        if va is None or vb is None:
            out[name] = vb if va is None else va
        elif name == "is_group":
            out[name] = bool(va) or bool(vb)
        elif name == "last_t":
            out[name] = max(va, vb)
        elif name == "recent_ts":
            out[name] = join_recent_times(va, vb)
        else:
            out[name] = max(va, vb, key=_sort_key)
    names = [(d.get("name_t", -1), d["name"]) for d in (a, b) if d.get("name")]
    if names:
        out["name_t"], out["name"] = max(names)
    return {k: v for k, v in out.items() if v is not None}


def render_chat(doc: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(doc)
    out["phone_unknown"] = bool(not out.get("phone") and not out.get("is_group") and out.get("lid"))
    return out


# -- search words ------------------------------------------------------------------------------


class _CombiningMarks(dict[int, int | None]):
    """str.translate table deleting every combining mark and keeping any other code point.

    Filled as code points are first met (building it for all of Unicode up front took 0.2-0.5 s
    of the history writer's first batch); a concurrent fill writes the same value.
    """

    def __missing__(self, cp: int) -> int | None:
        value = None if unicodedata.combining(chr(cp)) else cp
        self[cp] = value
        return value


_COMBINING_MARKS = _CombiningMarks()


def fold(text: str) -> str:
    """Lower case without accents ("Ação" -> "acao")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    if decomposed.isascii():
        return decomposed
    return decomposed.translate(_COMBINING_MARKS)


def tokens(text: str | None) -> list[str]:
    """Search tokens of a text: folded words of at least 2 characters, in order, unique."""
    if not text:
        return []
    seen: dict[str, None] = {}
    for word in _WORD_RE.findall(fold(text)):
        if len(word) >= 2:
            seen.setdefault(word, None)
    return list(seen)


def message_words(doc: Mapping[str, Any]) -> list[str]:
    """Search tokens of a stored message: every text version and the names.

    The contact phone is not tokenised (it may be learnt after the message was stored; the
    search matches it on the ``phone`` field instead).
    """
    found: dict[str, None] = {}
    texts: list[str | None] = [doc.get("body"), doc.get("caption")]
    for edit in doc.get("edits") or ():
        if isinstance(edit, Mapping):
            texts += [edit.get("body"), edit.get("caption")]
    texts += [doc.get("notify_name"), doc.get("chat_name")]
    for text in texts:
        for word in tokens(text if isinstance(text, str) else None):
            found.setdefault(word, None)
    return list(found)[:MAX_WORDS]
