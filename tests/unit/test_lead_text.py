"""Quick-reply templates, the "registrar conversa" transcript and the age line."""

from __future__ import annotations

from wacrm_desktop.core.lead_text import (
    age_text,
    format_transcript,
    render_quick_reply,
    template_values,
)
from wacrm_desktop.core.leads import Lead

LEAD = Lead(
    id=1001,
    name="Mariana Souza",
    broker_name="Paulo Andrade",
    developments=("Residencial Jardim das Flores", "Torre Sul"),
    situation_name="Em Atendimento",
)


def test_variables_are_filled_from_the_lead() -> None:
    out = render_quick_reply("Oi {primeiro_nome}! {corretor} aqui, sobre o {empreendimento}.", LEAD)
    assert out.text == "Oi Mariana! Paulo Andrade aqui, sobre o Residencial Jardim das Flores."
    assert out.missing == ()
    assert render_quick_reply("{nome}", LEAD).text == "Mariana Souza"


def test_missing_values_stay_visible_for_the_human() -> None:
    out = render_quick_reply("{nome}, {imobiliaria} e {xyz}", LEAD)
    assert out.text == "Mariana Souza, {imobiliaria} e {xyz}"
    assert out.missing == ("imobiliaria", "xyz")


def test_without_lead_the_chat_name_is_used() -> None:
    assert render_quick_reply("Olá {primeiro_nome}", None, "Lucas Pereira").text == "Olá Lucas"
    assert "nome" not in template_values(Lead(id=1, name="Sem nome"), None)


def test_transcript_lines_and_cut() -> None:
    msgs = [
        {"t": 1_764_500_000 + i, "from_me": i % 2 == 1, "type": "chat", "body": f"m{i}"}
        for i in range(3)
    ]
    text = format_transcript(msgs, contact_name="Mariana", me_label="Paulo")
    lines = text.splitlines()
    assert lines[0].startswith("Conversa registrada")
    assert lines[1].endswith("Mariana: m0") and lines[2].endswith("Paulo: m1")
    assert lines[1].startswith("30/11/2025 ")  # São Paulo time
    long = [{"t": 1, "type": "chat", "body": "x" * 500} for _ in range(100)]
    cut = format_transcript(long, contact_name="A", limit_chars=2000)
    assert len(cut) <= 2000 and "omitida" in cut.splitlines()[0]


def test_transcript_marks_deleted_edited_and_cut_messages() -> None:
    msgs = [
        {"t": 1, "type": "chat", "body": "vou apagar", "revoked": True},
        {"t": 2, "type": "chat", "body": "novo", "edits": [{"body": "velho", "at_ms": 0}]},
        {"t": 3, "type": "chat", "body": "longo", "truncated": True},
        {"t": 4, "type": "chat", "body": "normal"},
    ]
    lines = format_transcript(msgs, contact_name="Mariana").splitlines()[1:]
    assert lines[0].endswith("Mariana: vou apagar (apagada para todos)")
    assert lines[1].endswith("Mariana: novo (editada)") and "velho" not in lines[1]
    assert lines[2].endswith("Mariana: longo (texto cortado)")
    assert lines[3].endswith("Mariana: normal")


def test_a_long_message_is_cut_and_never_empties_the_transcript() -> None:
    """A 64 KiB text used to push every line out: the CV CRM interaction said only "10
    mensagens omitidas" (and an interaction cannot be undone through the API)."""
    msgs = [
        {"t": 1, "type": "chat", "body": "oi"},
        {"t": 2, "type": "chat", "body": "x", "revoked": True},
        {"t": 3, "type": "chat", "body": "B" * 65_536, "truncated": True},
    ]
    text = format_transcript(msgs, contact_name="Mari")
    lines = text.splitlines()
    assert len(lines) == 4 and "omitida" not in lines[0]
    assert lines[1].endswith("Mari: oi") and lines[2].endswith("Mari: x (apagada para todos)")
    assert lines[3].endswith("[…] (texto cortado)") and len(lines[3]) < 2_100
    # a long text that the store kept whole is cut here and says so, once
    long = format_transcript([{"t": 1, "type": "chat", "body": "C" * 5_000}], contact_name="A")
    assert long.count("(texto cortado)") == 1
    # even a tiny limit keeps the newest message, cut to fit
    tiny = format_transcript(msgs, contact_name="Mari", limit_chars=300)
    assert len(tiny) <= 300 and "Mari: BBB" in tiny and "2 mensagem(ns)" in tiny


def test_invisible_only_text_and_time_zone_note() -> None:
    text = format_transcript([{"t": 1, "type": "chat", "body": "\u200b"}], contact_name="Mari")
    assert text.splitlines()[1].endswith("Mari: [mensagem sem texto]")
    assert "horário de Brasília" in text.splitlines()[0]


def test_age_text() -> None:
    assert age_text(1000, 1030) == "atualizado agora"
    assert age_text(1000, 1000 + 7 * 60 + 5) == "atualizado há 7 min"
    assert age_text(1000, 1000 + 3 * 3600) == "atualizado há 3 h"
