"""Issue 3 cases through real QtWebEngine: simulator page → injected bridge → journal → MongoDB.

One app for the whole module (Ana, logged in on the WhatsApp simulator); each test uses its own
chat or message, with made-up numbers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from bridge_env import BridgeEnv, bridge_env
from helpers import run_js
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from wacrm_desktop.core.events import ActiveChatEvent, LidPhoneEvent, MessageEvent
from wacrm_desktop.ui.profile_tab import ProfileTab

LID_KNOWN = "204617782394561@lid"  # seed "lid_known": phone known only after queryWidExists
LID_UNKNOWN = "190233445566778@lid"  # seed "lid_unknown": no phone anywhere
RENATA_PHONE = "5511990010005"
GROUP = "120363041122334455@g.us"
CARLOS = "551190010002@c.us"
COMPOSER_TEXT_JS = "document.querySelector('#main footer [contenteditable]').innerText"


@pytest.fixture(scope="module")
def env(
    qapp: object, mongo_uri: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BridgeEnv]:
    yield from bridge_env(tmp_path_factory.mktemp("bridge_cases"), mongo_uri, ("Ana",))


def panel_text(tab: ProfileTab) -> str:
    """Everything the side panel shows (independent of the panel's inner layout)."""
    return " | ".join(label.text() for label in tab.panel.findChildren(QLabel) if label.isVisible())


def ana_me(env: BridgeEnv, qtbot: QtBot) -> dict[str, str]:
    return env.sim(qtbot, "Ana", "info()")["me"]


def test_lid_chat_phone_known_only_after_server_lookup(qtbot: QtBot, env: BridgeEnv) -> None:
    tab = env.tabs["Ana"]
    seen: list[tuple[str | None, str]] = []

    def on_event(event: object) -> None:
        if isinstance(event, ActiveChatEvent) and event.chat_id == LID_KNOWN:
            # ProfileTab handled the event first: the panel shows what it made of it.
            seen.append((event.phone, panel_text(tab)))

    tab.page.bridge.eventReceived.connect(on_event)
    msg_id = env.sim(qtbot, "Ana", "receive('lid_known', 'Oi, vi o anúncio')")
    env.sim(qtbot, "Ana", "openChat('lid_known')")
    qtbot.waitUntil(lambda: tab.panel.f_name.text() == "Renata Alves", timeout=15_000)
    tab.page.bridge.eventReceived.disconnect(on_event)

    # first "unknown", then the phone WhatsApp learnt from the server, then the lead
    assert seen[0][0] is None and "desconhecido" in seen[0][1].lower()
    assert seen[-1][0] == RENATA_PHONE
    doc = env.wait_message(qtbot, msg_id)
    assert doc["chat_id"] == LID_KNOWN  # stored under the LID
    assert doc.get("chat_phone") in (None, RENATA_PHONE)
    assert any(
        isinstance(e, LidPhoneEvent) and e.lid == LID_KNOWN and e.phone == RENATA_PHONE
        for e in env.events["Ana"]
    )
    # the LID's digits are never shown or used as a phone
    assert "204617782394561" not in panel_text(tab)
    assert all("204617782394561" not in json.dumps(q) for _m, _p, q in env.crm.requests_log)
    qtbot.waitUntil(
        lambda: (
            (env.db["chats"].find_one({"chat_id": LID_KNOWN}) or {}).get("phone") == RENATA_PHONE
            or not env.flush()
        ),
        timeout=15_000,
    )


def test_lid_chat_phone_unknown_no_crm_lookup(qtbot: QtBot, env: BridgeEnv) -> None:
    tab = env.tabs["Ana"]
    crm_calls = len(env.crm.requests_log)
    msg_id = env.sim(qtbot, "Ana", "receive('lid_unknown', 'Quero saber o preço')")
    env.sim(qtbot, "Ana", "openChat('lid_unknown')")
    qtbot.waitUntil(lambda: "desconhecido" in panel_text(tab).lower(), timeout=10_000)
    doc = env.wait_message(qtbot, msg_id)
    assert doc["chat_id"] == LID_UNKNOWN and not doc.get("chat_phone")
    chat = env.db["chats"].find_one({"chat_id": LID_UNKNOWN})
    assert chat is not None and chat.get("phone_unknown") is True
    assert len(env.crm.requests_log) == crm_calls
    assert "190233445566778" not in panel_text(tab)


def test_lid_message_to_our_phone_quoting_our_lid_message(qtbot: QtBot, env: BridgeEnv) -> None:
    ours = [m for m in env.sim(qtbot, "Ana", "messages('lid_known')") if m["fromMe"]]
    assert ours, "seed has our messages in that chat"
    quoted = ours[-1]["id"]
    assert quoted.startswith("true_" + LID_KNOWN)
    msg_id = env.sim(
        qtbot,
        "Ana",
        f"receive('lid_known', 'Sobre isso aí', {{toPn: true, quotedId: {json.dumps(quoted)}}})",
    )
    doc = env.wait_message(qtbot, msg_id)
    assert doc["from_me"] is False
    assert doc["quoted_id"] == quoted  # recognised as ours although `to` was our phone id


def test_edit_twice_only_second_signal_fires(qtbot: QtBot, env: BridgeEnv) -> None:
    msg_id = env.sim(qtbot, "Ana", "receive('mariana', 'Versão 1')")
    env.wait_message(qtbot, msg_id)
    env.sim(qtbot, "Ana", f"editMessage({json.dumps(msg_id)}, 'Versão 2')")
    qtbot.wait(20)  # distinct latestEditSenderTimestampMs (ms clock)
    env.sim(qtbot, "Ana", f"editMessage({json.dumps(msg_id)}, 'Versão 3', {{signal: 'key-only'}})")
    doc = env.wait_message(qtbot, msg_id, lambda d: d.get("body") == "Versão 3")
    assert sorted(e["body"] for e in doc["edits"]) == ["Versão 1", "Versão 2"]


def test_revoke_keeps_original_and_marks_it(qtbot: QtBot, env: BridgeEnv) -> None:
    msg_id = env.sim(qtbot, "Ana", "receive('carlos', 'Mensagem que será apagada')")
    env.wait_message(qtbot, msg_id)
    env.sim(qtbot, "Ana", f"revokeMessage({json.dumps(msg_id)})")
    doc = env.wait_message(qtbot, msg_id, lambda d: d.get("revoked") is True)
    assert doc["body"] == "Mensagem que será apagada"
    # the protocol message itself is a signal, not a history row
    assert env.db["messages"].count_documents({"type": "protocol"}) == 0


def test_reactions_one_per_sender_latest_wins(qtbot: QtBot, env: BridgeEnv) -> None:
    msg_id = env.sim(qtbot, "Ana", "sendFromPhone('plantao', 'Reunião às 9h')")
    env.wait_message(qtbot, msg_id)
    env.sim(qtbot, "Ana", f"react({json.dumps(msg_id)}, 'mariana', '👍')")
    qtbot.wait(5)
    env.sim(qtbot, "Ana", f"react({json.dumps(msg_id)}, 'mariana', '❤️')")
    env.sim(qtbot, "Ana", f"react({json.dumps(msg_id)}, 'carlos', '😂')")
    doc = env.wait_message(qtbot, msg_id, lambda d: len(d.get("reactions") or []) == 2)
    by_sender = {r["sender"]: r["emoji"] for r in doc["reactions"]}
    assert by_sender == {"5511990010001@c.us": "❤️", CARLOS: "😂"}


def test_own_group_message_without_author_is_ours(qtbot: QtBot, env: BridgeEnv) -> None:
    msg_id = env.sim(qtbot, "Ana", "sendFromPhone('plantao', 'Chego em 10 minutos')")
    doc = env.wait_message(qtbot, msg_id)
    assert doc["from_me"] is True
    assert doc["author"] == ana_me(env, qtbot)["pn"]


def test_document_caption_is_filename_and_image_thumbnail_body(
    qtbot: QtBot, env: BridgeEnv
) -> None:
    doc_id = env.sim(
        qtbot,
        "Ana",
        "receive('joana', '', {type: 'document', filename: 'proposta-ap-42.pdf', "
        "caption: 'proposta-ap-42.pdf', size: 48213})",
    )
    img_id = env.sim(qtbot, "Ana", "receive('joana', '', {type: 'image', caption: null})")
    d = env.wait_message(qtbot, doc_id)
    assert d["media"]["filename"] == "proposta-ap-42.pdf"
    assert d["media"]["mimetype"] == "application/pdf" and d["media"]["size"] == 48213
    assert not d.get("caption") and not d.get("body")
    i = env.wait_message(qtbot, img_id)
    assert i["type"] == "image" and i["media"]["mimetype"] == "image/jpeg"
    assert not i.get("body") and not i.get("caption")  # never the base64 thumbnail
    assert "/9j/" not in json.dumps(i, default=str)


def test_location_contact_cards_poll_and_system_messages(qtbot: QtBot, env: BridgeEnv) -> None:
    loc = env.sim(
        qtbot,
        "Ana",
        "receive('mariana', '', {type: 'location', lat: -23.55, lng: -46.63, "
        "loc: 'Stand de vendas\\nRua Exemplo, 100'})",
    )
    card = env.sim(qtbot, "Ana", "receive('mariana', 'Corretor Parceiro', {type: 'vcard'})")
    cards = env.sim(
        qtbot, "Ana", "receive('mariana', '', {type: 'multi_vcard', names: ['A', 'B', 'C']})"
    )
    poll = env.sim(
        qtbot,
        "Ana",
        "receive('plantao', 'Melhor dia para o plantão?', "
        "{type: 'poll_creation', author: 'carlos', options: ['Sábado', 'Domingo']})",
    )
    system = env.sim(qtbot, "Ana", "receive('plantao', '', {type: 'gp2', subtype: 'add'})")
    fwd = env.sim(qtbot, "Ana", "receive('mariana', 'Encaminhada', {isForwarded: true})")

    d = env.wait_message(qtbot, loc)
    assert d["location"] == {
        "lat": -23.55,
        "lng": -46.63,
        "name": "Stand de vendas",
        "address": "Rua Exemplo, 100",
    }
    assert not d.get("body")
    d = env.wait_message(qtbot, card)
    assert len(d["vcards"]) == 1 and "FN:Corretor Parceiro" in d["vcards"][0]
    assert len(env.wait_message(qtbot, cards)["vcards"]) == 3
    d = env.wait_message(qtbot, poll)
    assert d["poll"]["name"] == "Melhor dia para o plantão?"
    assert d["poll"]["options"] == ["Sábado", "Domingo"] and d["author"] == CARLOS
    d = env.wait_message(qtbot, system)
    assert d["is_notification"] is True and d["subtype"] == "add" and d["type"] == "gp2"
    assert env.wait_message(qtbot, fwd)["is_forwarded"] is True


def test_same_event_thrice_group_author_long_body_emoji_rtl(qtbot: QtBot, env: BridgeEnv) -> None:
    msg_id = env.sim(qtbot, "Ana", "receive('carlos', 'Uma vez só')")
    env.sim(qtbot, "Ana", f"refire({json.dumps(msg_id)})")
    env.sim(qtbot, "Ana", f"refire({json.dumps(msg_id)})")
    qtbot.waitUntil(
        lambda: sum(isinstance(e, MessageEvent) and e.id == msg_id for e in env.events["Ana"]) == 3,
        timeout=10_000,
    )
    env.flush()
    assert env.db["messages"].count_documents({"wa_id": msg_id}) == 1

    group_id = env.sim(qtbot, "Ana", "receive('plantao', 'Sou o Carlos', {author: 'carlos'})")
    assert env.wait_message(qtbot, group_id)["author"] == CARLOS

    long_id = env.sim(qtbot, "Ana", "receive('mariana', 'a'.repeat(100000))")
    d = env.wait_message(qtbot, long_id)
    assert d["truncated"] is True and len(d["body"]) == 64 * 1024

    text = "Olá 👋🏽 مرحبا بك — שלום 🇧🇷"
    rtl_id = env.sim(qtbot, "Ana", f"receive('mariana', {json.dumps(text)})")
    assert env.wait_message(qtbot, rtl_id)["body"] == text


def test_esc_closes_chat_without_newsletter_collection(qtbot: QtBot, env: BridgeEnv) -> None:
    tab = env.tabs["Ana"]
    assert run_js(qtbot, tab, "'WAWebNewsletterCollection' in require('WAWebCollections')") is False
    env.sim(qtbot, "Ana", "openChat('lucas')")
    qtbot.waitUntil(lambda: tab.active_chat is not None, timeout=10_000)
    rejected = tab.page.bridge.rejected
    run_js(
        qtbot,
        tab,
        "document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true})); 1",
    )
    qtbot.waitUntil(lambda: tab.active_chat is None, timeout=10_000)
    assert "Nenhuma conversa aberta" in panel_text(tab)
    assert tab.page.bridge.rejected == rejected
    assert not tab.compose.send_button.isEnabled()


def test_send_hello_to_number_never_chatted_with(qtbot: QtBot, env: BridgeEnv) -> None:
    tab = env.tabs["Ana"]
    number = "5511987650001"
    sent_before = env.db["messages"].count_documents({"body": "Olá", "from_me": True})
    env.sim(qtbot, "Ana", "openChat('mariana')")
    qtbot.waitUntil(lambda: tab.compose.send_button.isEnabled(), timeout=10_000)
    request = tab.send_text_to(number + "@c.us", "Olá")
    # a second click while the first is pending is refused by the box itself
    assert not tab.compose.send_button.isEnabled()
    qtbot.waitUntil(lambda: tab.compose.status.text() == "Mensagem enviada.", timeout=20_000)
    assert request not in tab._pending
    env.flush()
    qtbot.waitUntil(
        lambda: (
            env.db["messages"].count_documents({"body": "Olá", "from_me": True}) == sent_before + 1
            or not env.flush()
        ),
        timeout=10_000,
    )
    qtbot.wait(1500)  # acks and any late duplicate would arrive within this window
    env.flush()
    assert env.db["messages"].count_documents({"body": "Olá", "from_me": True}) == sent_before + 1
    assert env.sim(qtbot, "Ana", "info()")["readReceiptsSent"] == 0

    # a number that is not on WhatsApp: a typed pt-BR error, nothing stored
    tab.send_text_to("5511@c.us", "Olá de novo")
    qtbot.waitUntil(
        lambda: tab.compose.status.text() == "Este número não está no WhatsApp.", timeout=20_000
    )
    env.flush()
    assert env.db["messages"].count_documents({"body": "Olá de novo"}) == 0
    assert tab.compose.send_button.isEnabled()


def test_compose_box_fills_whatsapp_composer(qtbot: QtBot, env: BridgeEnv) -> None:
    tab = env.tabs["Ana"]
    env.sim(qtbot, "Ana", "openChat('joana')")
    qtbot.waitUntil(lambda: tab.compose.fill_button.isEnabled(), timeout=10_000)
    tab.compose.text.setPlainText("Segue a tabela")
    tab.compose.fill_button.click()
    qtbot.waitUntil(
        lambda: tab.compose.status.text() == "Texto inserido no WhatsApp.", timeout=10_000
    )
    composer = run_js(qtbot, tab, COMPOSER_TEXT_JS)
    assert "Segue a tabela" in composer


def test_backfill_of_a_20000_message_chat_is_bounded(qtbot: QtBot, env: BridgeEnv) -> None:
    tab = env.tabs["Ana"]
    chat_id = env.sim(qtbot, "Ana", "addBigChat('5511977770000', 20000, 60, 50)")
    env.sim(qtbot, "Ana", f"openChat({json.dumps(chat_id)})")
    # 60 loaded + 5 pages of 50 (bounded: never the whole 20,000)
    qtbot.waitUntil(
        lambda: (
            env.flush() is None and env.db["messages"].count_documents({"chat_id": chat_id}) >= 310
        ),
        timeout=30_000,
    )
    qtbot.wait(1000)
    env.flush()
    assert env.db["messages"].count_documents({"chat_id": chat_id}) == 310
    assert run_js(qtbot, tab, "1 + 1") == 2  # the page stayed responsive


def test_signals_for_messages_not_in_memory_reach_the_history(qtbot: QtBot, env: BridgeEnv) -> None:
    """WhatsApp keeps only some messages loaded; a revoke, an edit or a read receipt for one it
    dropped arrives without any model event (wa-js wraps processMultipleMessages and the receipt
    handlers for this). The stored message must still be marked."""
    gone = env.sim(qtbot, "Ana", "receive('mariana', 'Vou apagar isso')")
    fixed = env.sim(qtbot, "Ana", "receive('mariana', 'Preço errado: 100 mil')")
    ours = env.sim(qtbot, "Ana", "sendFromPhone('mariana', 'Segue a proposta')")
    for wa_id in (gone, fixed, ours):
        env.wait_message(qtbot, wa_id)
        env.sim(qtbot, "Ana", f"evict({json.dumps(wa_id)})")
    env.sim(qtbot, "Ana", f"revokeMessage({json.dumps(gone)})")
    env.sim(qtbot, "Ana", f"editMessage({json.dumps(fixed)}, 'Preço certo: 120 mil')")
    env.sim(qtbot, "Ana", f"receipt({json.dumps(ours)}, 3)")

    doc = env.wait_message(qtbot, gone, lambda d: d.get("revoked") is True)
    assert doc["body"] == "Vou apagar isso"  # "apagada para todos": the original text is kept
    doc = env.wait_message(qtbot, fixed, lambda d: d.get("body") == "Preço certo: 120 mil")
    assert [e["body"] for e in doc["edits"]] == ["Preço errado: 100 mil"]
    env.wait_message(qtbot, ours, lambda d: d.get("ack") == 3)


def test_offline_delivery_and_late_decryption_are_stored(qtbot: QtBot, env: BridgeEnv) -> None:
    """Messages delivered after a gap enter the store without isNewMsg, and one of them may be
    "waiting for this message" (ciphertext) until it decrypts later (wwebjs #1921, #6937)."""
    offline = env.sim(qtbot, "Ana", "receive('joana', 'Mandei ontem à noite', {offline: true})")
    late = env.sim(
        qtbot, "Ana", "receive('joana', 'Essa chegou cifrada', {offline: true, pending: true})"
    )
    doc = env.wait_message(qtbot, offline)
    assert doc["is_new"] is False and doc["body"] == "Mandei ontem à noite"
    env.flush()
    assert env.message(late) is None  # never stored as an empty message
    env.sim(qtbot, "Ana", f"decrypt({json.dumps(late)})")
    doc = env.wait_message(qtbot, late)
    assert doc["body"] == "Essa chegou cifrada" and doc["type"] == "chat"
