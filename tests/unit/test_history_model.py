"""The join of partial message documents is a semilattice: order and grouping never matter."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from wacrm_desktop.core.history_model import (
    chat_partial_of_message,
    edit_partial,
    fold,
    join_chats,
    join_messages,
    message_partial,
    message_words,
    normalized_message,
    phone_of_chat_id,
    reaction_partial,
    revoke_partial,
    tokens,
)

ID = "false_5511988887777@c.us_3EB0AA"

texts = st.sampled_from(["olá", "oi", "Ação!", "", "preço 100"])
partials = st.one_of(
    st.builds(
        lambda body, at, ack, name: message_partial(
            {"id": ID, "chat_id": "5511988887777@c.us", "type": "chat", "t": 10, "body": body,
             "ack": ack, "notify_name": name, **({"latest_edit_ms": at} if at else {})}
        ),
        texts, st.sampled_from([0, 0, 1000, 2000]), st.integers(0, 4),
        st.sampled_from(["Ana", "Bia"]),
    ),
    st.builds(lambda b, at: edit_partial({"id": ID, "body": b, "edited_at_ms": at}), texts,
              st.sampled_from([1000, 2000, 3000])),
    st.builds(lambda at, adm: revoke_partial({"id": ID, "revoked_at": at, "by_admin": adm}),
              st.integers(0, 5), st.booleans()),
    st.builds(lambda s, e, t: reaction_partial({"id": ID, "sender": s, "emoji": e, "t_ms": t}),
              st.sampled_from(["a@c.us", "b@c.us"]), st.sampled_from(["", "👍", "❤"]),
              st.integers(0, 5)),
    st.builds(lambda a: {"ack": a}, st.integers(-1, 4)),
)  # fmt: skip


@settings(max_examples=300)
@given(partials, partials, partials)
def test_join_is_commutative_associative_idempotent(
    a: dict[str, Any], b: dict[str, Any], c: dict[str, Any]
) -> None:
    assert join_messages(a, b) == join_messages(b, a)
    assert join_messages(join_messages(a, b), c) == join_messages(a, join_messages(b, c))
    ab = join_messages(a, b)
    assert join_messages(ab, ab) == ab
    assert join_messages(ab, a) == ab


def test_edit_before_original_keeps_both_texts_latest_wins() -> None:
    original = message_partial({"id": ID, "chat_id": "x@c.us", "t": 1, "body": "v0"})
    e1 = edit_partial({"id": ID, "body": "v1", "edited_at_ms": 1000})
    e2 = edit_partial({"id": ID, "body": "v2", "edited_at_ms": 2000})
    doc = normalized_message(join_messages(join_messages(e2, e1), original))
    assert doc["body"] == "v2" and doc["text_at_ms"] == 2000
    assert doc["edits"] == [{"at_ms": 0, "body": "v0"}, {"at_ms": 1000, "body": "v1"}]
    assert doc["revoked"] is False and doc["reactions"] == []


def test_revoke_keeps_the_text_and_reaction_removal_is_a_tombstone() -> None:
    msg = message_partial({"id": ID, "chat_id": "x@c.us", "t": 1, "body": "segredo"})
    revoked = join_messages(msg, revoke_partial({"id": ID, "revoked_at": 5, "by_admin": True}))
    assert revoked["body"] == "segredo" and revoked["revoked"] is True
    assert revoked["revoked_at"] == 5 and revoked["revoked_by_admin"] is True
    removed = reaction_partial({"id": ID, "sender": "a@c.us", "emoji": "", "t_ms": 20})
    older = reaction_partial({"id": ID, "sender": "a@c.us", "emoji": "👍", "t_ms": 10})
    assert join_messages(removed, older)["reactions"] == [
        {"sender": "a@c.us", "emoji": "", "t_ms": 20}
    ]
    # A revoked placeholder capture marks the message but never erases its text.
    placeholder = message_partial({"id": ID, "chat_id": "x@c.us", "t": 1, "type": "revoked"})
    assert join_messages(msg, placeholder)["body"] == "segredo"
    assert join_messages(msg, placeholder).get("type") != "revoked"


def test_chat_partials_phone_lid_and_latest_name() -> None:
    lid_chat = chat_partial_of_message({"chat_id": "123456789@lid", "t": 5, "chat_name": "Old"})
    assert lid_chat == {"chat_id": "123456789@lid", "last_t": 5, "name": "Old", "name_t": 5,
                        "lid": "123456789@lid", "recent_ts": [5]}  # fmt: skip
    newer = chat_partial_of_message({"chat_id": "123456789@lid", "t": 9, "chat_name": "New"})
    assert newer is not None
    joined = join_chats(newer, lid_chat)
    assert joined["name"] == "New" and joined["last_t"] == 9 and "phone" not in joined
    assert joined["recent_ts"] == [9, 5]
    assert phone_of_chat_id("5511988887777@c.us") == "5511988887777"
    assert phone_of_chat_id("120363@g.us") is None and phone_of_chat_id("1@lid") is None


def test_search_tokens_fold_accents_and_cover_every_version() -> None:
    assert fold("Ação É") == "acao e"
    assert tokens("Olá, preço: R$ 100 mil!") == ["ola", "preco", "100", "mil"]
    doc = {"body": "novo", "edits": [{"body": "Antigo texto", "at_ms": 0}], "chat_name": "Mariana"}
    assert set(message_words(doc)) == {"novo", "antigo", "texto", "mariana"}


@given(
    st.lists(st.lists(st.integers(0, 10**6), max_size=30), min_size=1, max_size=12),
    st.randoms(use_true_random=False),
)
@settings(max_examples=200, deadline=None)
def test_recent_times_join_is_order_free_and_bounds_the_newest(
    batches: list[list[int]], rnd: Any
) -> None:
    """Chat documents end with the same recent times whatever the batch order, and the
    `limit`-th newest kept time never cuts off one of the newest `limit` messages."""
    from wacrm_desktop.core.history_model import (
        RECENT_TIMES_KEPT,
        join_recent_times,
        recent_times_bound,
    )

    def fold_all(order: list[list[int]]) -> list[int]:
        out: list[int] = []
        for batch in order:
            out = join_recent_times(out, join_recent_times([], batch))
        return out

    shuffled = list(batches)
    rnd.shuffle(shuffled)
    final = fold_all(batches)
    assert final == fold_all(shuffled) == fold_all(batches + shuffled)  # order-free, idempotent
    assert len(final) <= RECENT_TIMES_KEPT
    every = sorted((t for b in batches for t in b), reverse=True)
    for limit in (1, 5, 50, 100):
        bound = recent_times_bound(final, limit)
        if bound is None:
            continue
        newest = every[:limit]
        assert all(t >= bound for t in newest)
        assert sum(t >= bound for t in every) >= limit


@given(st.text(max_size=60))
@settings(max_examples=300, deadline=None)
def test_fold_equals_its_definition(text: str) -> None:
    """The fast fold (translate table) is NFKD + casefold without any combining mark."""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.casefold())
    expected = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    assert fold(text) == expected
