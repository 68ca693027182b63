"""Which serialized ids are copies of one message (core.message_copies), without a server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from wacrm_desktop.core.message_copies import (
    Copy,
    Links,
    copy_ids,
    copy_key,
    merge_copies,
    primary_rank,
)
from wacrm_desktop.core.whatsapp import MessageKey, parse_message_id

PHONE = "5511988880001"
PN = f"{PHONE}@c.us"
LID = "204011112222333@lid"
LID2 = "204011112222444@lid"
GROUP = "120363000000000777@g.us"


def test_parse_message_id() -> None:
    key = parse_message_id(f"false_{GROUP}_3A99_{LID}")
    assert key == MessageKey(False, GROUP, "3A99", LID)
    assert key.serialized() == f"false_{GROUP}_3A99_{LID}"
    assert parse_message_id(f"true_{PN}_3EB0AA") == MessageKey(True, PN, "3EB0AA", None)
    for bad in ("", "x_1@c.us_A", f"true_{PN}", "true_nochat_A", f"true_{PN}_A_B", f"true_{PN}_@x"):
        assert parse_message_id(bad) is None


def test_links_spellings_and_persons() -> None:
    links = Links({LID: PHONE, LID2: PHONE, "1@lid": "not digits", "2@c.us": PHONE})
    assert links.person(LID) == PN and links.person(PN) == PN
    assert links.person("999@lid") == "999@lid"  # unknown: never a phone read from its digits
    assert links.spellings(LID) == sorted([PN, LID, LID2]) == links.spellings(PN)
    assert links.spellings(GROUP) == [GROUP]
    # Two answers for one LID: the greater phone wins (as $max in the store).
    links.add(LID2, "5511988880009")
    assert links.phone_of(LID2) == "5511988880009" and LID2 not in links.spellings(PN)
    links.add(LID2, "5511900000000")
    assert links.phone_of(LID2) == "5511988880009"


def test_copy_ids_and_keys() -> None:
    links = Links({LID: PHONE})
    assert copy_ids(f"false_{PN}_3A01", links) == [f"false_{LID}_3A01", f"false_{PN}_3A01"]
    assert copy_ids(f"false_{PN}_3A01", Links()) == [f"false_{PN}_3A01"]
    assert copy_ids(f"false_{GROUP}_3A02_{LID}", links) == [
        f"false_{GROUP}_3A02_{LID}",
        f"false_{GROUP}_3A02_{PN}",
    ]
    assert copy_ids(f"true_{GROUP}_3A03", links) == [f"true_{GROUP}_3A03"]
    key = copy_key
    pn, lid = parse_message_id(f"false_{PN}_3A01"), parse_message_id(f"false_{LID}_3A01")
    assert pn is not None and lid is not None
    assert key(pn, links) == key(lid, links)
    assert key(lid, Links()) != key(pn, Links())  # not linked: two people as far as we know
    other = parse_message_id("false_5521900000000@c.us_3A01")  # same raw id, someone else
    mine = parse_message_id(f"true_{LID}_3A01")  # same raw id, our own message
    assert other is not None and mine is not None
    assert key(other, links) != key(pn, links) and key(mine, links) != key(lid, links)


def at(second: int) -> datetime:
    return datetime.fromtimestamp(1_700_000_000 + second, UTC)


def test_merge_keeps_the_first_stored_message_and_joins_everything() -> None:
    pn_doc = {
        "chat_id": PN, "sender": PN, "t": 10, "body": "oi", "text_at_ms": 0, "edits": [],
        "ack": 2, "reactions": [{"sender": PN, "emoji": "👍", "t_ms": 5}],
        "first_seen_at": at(1), "rev": 3,
    }  # fmt: skip
    lid_doc = {
        "chat_id": LID, "sender": LID, "t": 10, "body": "oi!", "text_at_ms": 900,
        "edits": [{"at_ms": 0, "body": "oi"}], "revoked": True, "first_seen_at": at(2), "rev": 1,
        "aliases": ["false_X@lid_3A01"], "alias_chats": ["X@lid"],
    }  # fmt: skip
    merged = merge_copies(
        [Copy(f"false_{LID}_3A01", doc=lid_doc), Copy(f"false_{PN}_3A01", doc=pn_doc)]
    )
    assert merged.primary.wa_id == f"false_{PN}_3A01"
    assert merged.joined["chat_id"] == PN and merged.joined["sender"] == PN
    assert merged.joined["body"] == "oi!" and merged.joined["edits"] == [{"at_ms": 0, "body": "oi"}]
    assert merged.joined["revoked"] is True and merged.joined["ack"] == 2
    assert merged.joined["reactions"] == pn_doc["reactions"]
    assert merged.aliases == sorted(["false_X@lid_3A01", f"false_{LID}_3A01"])
    assert merged.alias_chats == [LID, "X@lid"]
    assert [c.wa_id for c in merged.absorbed] == [f"false_{LID}_3A01"]
    assert "aliases" not in merged.joined and "first_seen_at" not in merged.joined


def test_primary_rank() -> None:
    stored = Copy("b", doc={"chat_id": PN, "first_seen_at": at(5)})
    older_stub = Copy("a", doc={"ack": 3, "first_seen_at": at(1)})
    captured = Copy("c", part={"chat_id": LID}, seq=7)
    captured_over_stub = Copy("d", doc={"ack": 3, "first_seen_at": at(0)}, part={"chat_id": LID})
    ack_only = Copy("e", part={"ack": 1}, seq=1)
    ranked = sorted([ack_only, older_stub, captured, captured_over_stub, stored], key=primary_rank)
    assert [c.wa_id for c in ranked] == ["b", "d", "c", "a", "e"]
    # A merge of stubs only keeps no chat: nothing shows it yet.
    merged = merge_copies([older_stub, ack_only])
    assert merged.primary.wa_id == "a" and merged.alias_chats == [] and merged.aliases == ["e"]
    with pytest.raises(ValueError):
        merge_copies([])
