"""The lead panel widget and its controller (pytest-qt, offscreen) against the CV CRM simulator.

No WebEngine except the last test (badges in a real page): the controller is driven the way
ProfileTab drives it, with real services, a real TaskRunner and the simulator over HTTP.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QUrl
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot

from wacrm_desktop.adapters.cache import MemoryCache
from wacrm_desktop.adapters.cvcrm import LEADS_PATH, CvCrmClient
from wacrm_desktop.adapters.state_store import JsonStateStore
from wacrm_desktop.core.leads import Lead
from wacrm_desktop.services.crm_actions import LeadActions
from wacrm_desktop.services.crm_catalog import CrmCatalog
from wacrm_desktop.services.crm_choices import LeadChoices, PanelLayout
from wacrm_desktop.services.leads import LeadService
from wacrm_desktop.simulators.cvcrm import CvCrmSimulator, load_seed
from wacrm_desktop.ui.lead.controller import LeadPanelContext, LeadPanelController
from wacrm_desktop.ui.lead.dialogs import ConversationDialog, CreateLeadDialog, SituationDialog
from wacrm_desktop.ui.lead.view import LeadView
from wacrm_desktop.ui.tasks import TaskRunner
from wacrm_desktop.web.badges import APPLICATION_WORLD, build_badges_script

EMAIL = "demo@wacrm.local"
TOKEN = "demo-token"
MARIANA_CHAT = "5511990010001@c.us"
CARLOS_CHAT = "551190010002@c.us"  # WhatsApp without the ninth digit; CV CRM has it
LUCAS_CHAT = "5511990010004@c.us"  # no lead


def _seed_with_twin() -> dict[str, Any]:
    seed = load_seed()
    twin = copy.deepcopy(next(x for x in seed["leads"] if x["idlead"] == 1005))
    twin.update(idlead=1006, nome="Renata A. (2º cadastro)", email="renata2@example.com")
    twin["ultima_data_conversao"] = "2026-12-01 10:00:00"
    seed["leads"].append(twin)
    return seed


@pytest.fixture(scope="module")
def server() -> Iterator[CvCrmSimulator]:
    with CvCrmSimulator(EMAIL, TOKEN, seed=_seed_with_twin()) as sim:
        yield sim


@pytest.fixture
def sim(server: CvCrmSimulator) -> Iterator[CvCrmSimulator]:
    server.reset()
    yield server
    server.reset()


@dataclass
class Panel:
    view: LeadView
    controller: LeadPanelController
    ctx: LeadPanelContext
    tasks: TaskRunner
    filled: list[str] = field(default_factory=list)
    settings_opened: list[bool] = field(default_factory=list)
    opened_urls: list[str] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def make_panel(qtbot: QtBot, sim: CvCrmSimulator, tmp_path: Path) -> Iterator[Any]:
    made: list[Panel] = []
    cache = MemoryCache("wacrm:panel")
    state = JsonStateStore(tmp_path / "lead_panel_state.json")

    def make(token: str = TOKEN, client: CvCrmClient | None = None) -> Panel:
        crm = client or CvCrmClient(sim.url, EMAIL, token, timeout=2, min_interval=0)
        leads = LeadService(lambda: crm, cache, key_prefix="lead:")
        ctx = LeadPanelContext(
            leads=leads,
            actions=LeadActions(lambda: crm, leads, cache),
            catalog=CrmCatalog(lambda: crm, cache),
            choices=LeadChoices(state),
            layout=PanelLayout(state),
            lead_origin="CH",
        )
        tasks = TaskRunner()
        view = LeadView()
        view.resize(380, 900)
        qtbot.addWidget(view)
        view.show()
        panel = Panel(view, None, ctx, tasks)  # type: ignore[arg-type]
        ctx.open_settings = lambda: panel.settings_opened.append(True)
        ctx.open_url = panel.opened_urls.append
        panel.controller = LeadPanelController(
            view,
            ctx,
            tasks,
            "perfil-ana",
            fill_composer=panel.filled.append,
            recent_messages=lambda _chat, n: panel.messages[-n:],
        )
        made.append(panel)
        return panel

    yield make
    for panel in made:
        panel.tasks.shutdown()


def _open(qtbot: QtBot, panel: Panel, chat_id: str, name: str, phone: str | None) -> None:
    panel.controller.set_chat(chat_id, name, phone, False)


def _wait_card(qtbot: QtBot, panel: Panel, name: str) -> None:
    qtbot.waitUntil(
        lambda: panel.view.sections.isVisible() and panel.view.f_name.text() == name,
        timeout=5000,
    )


# --------------------------------------------------------------------------- states


def test_found_lead_full_card(qtbot: QtBot, make_panel: Any) -> None:
    panel = make_panel()
    _open(qtbot, panel, MARIANA_CHAT, "Mariana", "5511990010001")
    _wait_card(qtbot, panel, "Mariana Souza")
    v = panel.view
    assert v.f_situation.text() == "Em Atendimento"
    qtbot.waitUntil(lambda: "#0275d8" in v.f_situation.styleSheet(), timeout=5000)  # catalog
    assert v.f_broker.text() == "Paulo Andrade"
    assert v.f_agency.text() == "Imobiliária Horizonte"
    assert v.f_manager.text() == "Fernanda Reis"
    assert v.f_development.text() == "Residencial Jardim das Flores"
    assert v.f_origin.text() == "WebSite / google"
    assert v.f_created.text() == "02/10/2026 09:14"
    assert v.f_last.text() == "28/11/2026 18:40"
    assert v.f_score.text() == "72" and v.f_tags.text() == "quente"
    assert "/gestor/comercial/leads/1001/administrar" in v.link.text()
    assert v.status.text().startswith("atualizado")
    assert not v.suffix_label.isVisible() and not v.choice_bar.isVisible()
    qtbot.waitUntil(lambda: "Nenhuma interação" in v.interactions.text(), timeout=5000)
    v.link.linkActivated.emit("https://x.cvcrm.com.br/gestor/comercial/leads/1001/administrar")
    assert panel.opened_urls == ["https://x.cvcrm.com.br/gestor/comercial/leads/1001/administrar"]


def test_suffix_only_match_is_labelled(qtbot: QtBot, make_panel: Any) -> None:
    panel = make_panel()
    _open(qtbot, panel, CARLOS_CHAT, "Carlos", "551190010002")
    _wait_card(qtbot, panel, "Carlos Lima")
    assert panel.view.suffix_label.isVisible()
    assert "final do número" in panel.view.suffix_label.text()


def test_several_candidates_choice_is_remembered_and_undoable(
    qtbot: QtBot, make_panel: Any
) -> None:
    panel = make_panel()
    chat = "5511990010005@c.us"
    _open(qtbot, panel, chat, "Renata", "5511990010005")
    v = panel.view
    qtbot.waitUntil(lambda: v.candidates_box.isVisible(), timeout=5000)
    assert v.candidates.count() == 2
    assert "Renata A. (2º cadastro)" in v.candidates.item(0).text()  # latest conversion first
    assert "corretor: Paulo Andrade" in v.candidates.item(0).text()
    v.candidates.setCurrentRow(1)
    v.choose_button.click()
    _wait_card(qtbot, panel, "Renata Alves")
    assert v.choice_bar.isVisible() and "entre 2" in v.choice_label.text()

    # Another chat, then back; and a new panel (app restart): the choice is still there.
    _open(qtbot, panel, MARIANA_CHAT, "Mariana", "5511990010001")
    _wait_card(qtbot, panel, "Mariana Souza")
    other = make_panel()
    _open(qtbot, other, chat, "Renata", "5511990010005")
    _wait_card(qtbot, other, "Renata Alves")

    other.view.undo_button.click()
    qtbot.waitUntil(lambda: other.view.candidates_box.isVisible(), timeout=5000)
    qtbot.wait(100)
    third = make_panel()
    _open(qtbot, third, chat, "Renata", "5511990010005")
    qtbot.waitUntil(lambda: third.view.candidates_box.isVisible(), timeout=5000)


def test_not_found_offers_create_and_create_prefilled(
    qtbot: QtBot, make_panel: Any, sim: CvCrmSimulator
) -> None:
    panel = make_panel()
    _open(qtbot, panel, LUCAS_CHAT, "Lucas Pereira", "5511990010004")
    v = panel.view
    qtbot.waitUntil(lambda: v.create_button.isVisible(), timeout=5000)
    assert "Nenhum lead" in v.status.text() and v.search_box.isVisible()
    assert "+55 11 99001-0004" in v.chat_title.text()  # the header's phone, formatted
    v.create_button.click()
    dialog = v.findChild(CreateLeadDialog)
    assert dialog is not None and dialog.isVisible()
    assert dialog.name.text() == "Lucas Pereira" and dialog.phone.text() == "+55 11 99001-0004"
    assert dialog.origin.currentText() == "CH — Chat"  # the label; the code is what is sent
    assert dialog.values()["origin"] == "CH"
    dialog.accept()
    _wait_card(qtbot, panel, "Lucas Pereira")
    assert v.notice_kind == "success" and "Lead cadastrado com sucesso" in v.notice.text()
    created = next(x for x in sim.leads() if x["nome"] == "Lucas Pereira")
    assert created["origem"] == "CH" and created["telefone"] == "+5511990010004"


def test_no_phone_reason_and_manual_search(qtbot: QtBot, make_panel: Any) -> None:
    panel = make_panel()
    panel.controller.set_chat("123456789012345@lid", "Contato LID", None, False)
    v = panel.view
    qtbot.waitUntil(lambda: v.search_box.isVisible(), timeout=5000)
    assert "@lid" in v.status.text() and not v.sections.isVisible()
    v.search_input.setText("joana")
    v.search_button.click()
    qtbot.waitUntil(lambda: v.search_results.count() == 2, timeout=5000)
    v.search_results.setCurrentRow(0)
    name = v.search_results.currentItem().text().split(" · ")[0]
    v.search_choose.click()
    _wait_card(qtbot, panel, name)
    assert v.choice_bar.isVisible()


def test_group_has_no_lookup(qtbot: QtBot, make_panel: Any, sim: CvCrmSimulator) -> None:
    panel = make_panel()
    panel.controller.set_chat("120363000000000001@g.us", "Família", None, True)
    qtbot.waitUntil(lambda: panel.view.search_box.isVisible(), timeout=5000)
    assert "grupo" in panel.view.status.text()
    assert not [p for _, p, _ in sim.requests_log if p == LEADS_PATH]


def test_credentials_refused_ask_for_settings(qtbot: QtBot, make_panel: Any) -> None:
    panel = make_panel(token="errado")
    _open(qtbot, panel, MARIANA_CHAT, "Mariana", "5511990010001")
    v = panel.view
    qtbot.waitUntil(lambda: v.auth_box.isVisible(), timeout=5000)
    assert v.notice_kind == "error" and "token" in v.notice.text()
    v.settings_button.click()
    assert panel.settings_opened == [True]


def test_offline_shows_stale_card_with_warning(
    qtbot: QtBot, make_panel: Any, sim: CvCrmSimulator
) -> None:
    panel = make_panel()
    _open(qtbot, panel, MARIANA_CHAT, "Mariana", "5511990010001")
    _wait_card(qtbot, panel, "Mariana Souza")
    sim.set_offline(True)
    panel.view.refresh_button.click()
    qtbot.waitUntil(lambda: panel.view.notice_kind == "warning", timeout=5000)
    assert "indisponível" in panel.view.notice.text()
    assert panel.view.f_name.text() == "Mariana Souza"  # the stale card stays


def test_offline_without_card_and_5xx(qtbot: QtBot, make_panel: Any, sim: CvCrmSimulator) -> None:
    fast = CvCrmClient(sim.url, EMAIL, TOKEN, timeout=2, min_interval=0, max_retries=0)
    panel = make_panel(client=fast)
    sim.fail_next(503, path_prefix=LEADS_PATH)
    _open(qtbot, panel, MARIANA_CHAT, "Mariana", "5511990010001")
    qtbot.waitUntil(lambda: panel.view.notice_kind == "warning", timeout=5000)
    assert "503" in panel.view.notice.text() and panel.view.refresh_button.isVisible()
    assert not panel.view.sections.isVisible()


def test_slow_crm_never_blocks_the_ui(qtbot: QtBot, make_panel: Any, sim: CvCrmSimulator) -> None:
    panel = make_panel()
    sim.set_latency(0.6)
    _open(qtbot, panel, MARIANA_CHAT, "Mariana", "5511990010001")
    # set_chat returned at once; the panel says it is looking while the UI keeps running
    assert "Buscando" in panel.view.status.text()
    _wait_card(qtbot, panel, "Mariana Souza")


def test_stale_while_revalidate(qtbot: QtBot, make_panel: Any, sim: CvCrmSimulator) -> None:
    panel = make_panel()
    _open(qtbot, panel, MARIANA_CHAT, "Mariana", "5511990010001")
    _wait_card(qtbot, panel, "Mariana Souza")
    panel.ctx.leads.ttl_seconds = 0  # everything cached is now stale
    sim.set_latency(0.5)
    _open(qtbot, panel, CARLOS_CHAT, "Carlos", "551190010002")
    _wait_card(qtbot, panel, "Carlos Lima")
    _open(qtbot, panel, MARIANA_CHAT, "Mariana", "5511990010001")
    # the stale card is painted at once, marked as refreshing, then replaced by the fresh one
    _wait_card(qtbot, panel, "Mariana Souza")
    assert "atualizando" in panel.view.status.text()
    qtbot.waitUntil(lambda: "atualizando" not in panel.view.status.text(), timeout=5000)


def test_late_answer_for_previous_chat_is_dropped(
    qtbot: QtBot, make_panel: Any, sim: CvCrmSimulator
) -> None:
    panel = make_panel()
    sim.set_latency(0.4)
    _open(qtbot, panel, MARIANA_CHAT, "Mariana", "5511990010001")
    _open(qtbot, panel, CARLOS_CHAT, "Carlos", "551190010002")
    _wait_card(qtbot, panel, "Carlos Lima")
    qtbot.wait(600)
    assert panel.view.f_name.text() == "Carlos Lima"  # never a stranger's card


# --------------------------------------------------------------------------- actions


def test_change_situation_and_cancel_with_reason(
    qtbot: QtBot, make_panel: Any, sim: CvCrmSimulator
) -> None:
    panel = make_panel()
    _open(qtbot, panel, MARIANA_CHAT, "Mariana", "5511990010001")
    _wait_card(qtbot, panel, "Mariana Souza")
    catalog = panel.ctx.catalog
    assert catalog is not None
    situations = catalog.situations()
    reasons = catalog.cancel_reasons()
    cancel = next(s for s in situations if s.is_cancelled)
    dialog = SituationDialog(panel.view.lead, situations, reasons, {}, None)
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled()  # the current situation
    dialog.situation.setCurrentIndex(dialog.situation.findData(cancel.id))
    assert dialog.reason.isVisibleTo(dialog) and not ok.isEnabled()  # reason required
    dialog.reason.setCurrentIndex(1)
    assert ok.isEnabled()
    situation, reason, _text = dialog.values()
    assert situation == cancel and reason == reasons[0].name
    panel.controller.do_change_situation(cancel, reason, "comprou outro")
    qtbot.waitUntil(lambda: panel.view.f_situation.text() == "Descartado", timeout=5000)
    assert panel.view.notice_kind == "success" and "CV CRM:" in panel.view.notice.text()
    assert next(x for x in sim.leads() if x["idlead"] == 1001)["situacao"]["id"] == cancel.id


def test_sucesso_false_is_shown_as_error(
    qtbot: QtBot, make_panel: Any, sim: CvCrmSimulator
) -> None:
    panel = make_panel()
    _open(qtbot, panel, MARIANA_CHAT, "Mariana", "5511990010001")
    _wait_card(qtbot, panel, "Mariana Souza")
    sim.reject_next_post("Usuário sem permissão para editar este lead")
    panel.controller.do_add_note("teste")
    qtbot.waitUntil(lambda: panel.view.notice_kind == "error", timeout=5000)
    assert "Usuário sem permissão para editar este lead" in panel.view.notice.text()
    assert panel.view.note_button.isEnabled()  # actions usable again


def test_note_and_registrar_conversa(qtbot: QtBot, make_panel: Any, sim: CvCrmSimulator) -> None:
    panel = make_panel()
    panel.messages[:] = [
        {"id": f"m{i}", "t": 1_764_500_000 + 60 * i, "from_me": i % 2 == 0, "type": "chat",
         "body": f"mensagem {i}"}
        for i in range(30)
    ]  # fmt: skip
    _open(qtbot, panel, MARIANA_CHAT, "Mariana", "5511990010001")
    _wait_card(qtbot, panel, "Mariana Souza")
    panel.controller.do_add_note("Quer visitar no sábado")
    qtbot.waitUntil(
        lambda: "Quer visitar no sábado" in panel.view.interactions.text(), timeout=5000
    )

    dialog = ConversationDialog(panel.view.lead, panel.messages, last_n=20)
    qtbot.addWidget(dialog)
    assert len(dialog.selected()) == 20  # the last N preselected
    dialog.select_last(3)
    selected = dialog.selected()
    assert [m["id"] for m in selected] == ["m27", "m28", "m29"]
    panel.controller.do_register_conversation(selected)
    qtbot.waitUntil(lambda: "WhatsApp" in panel.view.interactions.text(), timeout=5000)
    rows = sim.interactions_of(1001)
    assert [r["tipo"] for r in rows] == ["A", "W"]
    assert "mensagem 29" in rows[1]["descricao"] and "mensagem 26" not in rows[1]["descricao"]


def test_quick_reply_fills_the_composer(qtbot: QtBot, make_panel: Any) -> None:
    panel = make_panel()
    panel.view.set_quick_replies(["Oi {primeiro_nome}, sobre o {empreendimento}", "{gestor}?"])
    _open(qtbot, panel, MARIANA_CHAT, "Mariana", "5511990010001")
    _wait_card(qtbot, panel, "Mariana Souza")
    panel.view.reply_buttons[0].click()
    assert panel.filled == ["Oi Mariana, sobre o Residencial Jardim das Flores"]
    assert panel.view.notice_kind == "info"
    panel.controller.quick_reply("{xyz} ok")
    assert panel.filled[-1] == "{xyz} ok" and panel.view.notice_kind == "warning"


def test_sections_order_and_state_are_remembered(qtbot: QtBot, make_panel: Any) -> None:
    panel = make_panel()
    stack = panel.view.sections
    stack.section("interacoes").up.click()
    stack.section("acoes").header.click()  # collapse
    assert stack.order == ["resumo", "acoes", "interacoes", "respostas"]
    qtbot.wait(200)  # saved off the UI thread
    again = make_panel()
    assert again.view.sections.order == ["resumo", "acoes", "interacoes", "respostas"]
    assert again.view.sections.open_state["acoes"] is False


# --------------------------------------------------------------------------- badges


def test_badge_payload_and_visible_rows(qtbot: QtBot, make_panel: Any) -> None:
    panel = make_panel()
    ctl = panel.controller
    ctl.learn_chat("5511990010001@c.us", "Mariana Souza", None)
    assert ctl.phone_for_row("Mariana Souza", None) == "5511990010001"
    assert ctl.phone_for_row("+55 11 99001-0005", None) == "5511990010005"
    assert ctl.phone_for_row("Desconhecido", "123@lid") is None
    _open(qtbot, panel, MARIANA_CHAT, "Mariana Souza", "5511990010001")
    _wait_card(qtbot, panel, "Mariana Souza")
    payload = ctl.badge_payload()
    assert payload["titles"]["Mariana Souza"]["label"] == "Em Atendimento"
    assert payload["ids"][MARIANA_CHAT]["label"] == "Em Atendimento"


def test_badges_script_in_a_real_page(qtbot: QtBot, tmp_path: Path) -> None:
    """lead_badges.js in the isolated world draws into the shared DOM, read-only."""
    profile = QWebEngineProfile()
    page = QWebEnginePage(profile)
    try:
        page.scripts().insert(build_badges_script(("http://wa.test/",)))
        # Mariana's row has the last message's preview on a second line, as WhatsApp's have.
        html = (
            "<html><body><div id='pane-side' role='grid'>"
            "<div role='row'><div><span dir='auto' title='Mariana Souza'>Mariana Souza</span>"
            "</div><div><span title='Oi, tudo bem?'>Oi, tudo bem?</span></div></div>"
            + "".join(
                f"<div role='row'><span dir='auto' title='{t}'>{t}</span></div>"
                for t in ("+55 11 99001-0005", "Sem lead")
            )
            + "</div></body></html>"
        )
        with qtbot.waitSignal(page.loadFinished, timeout=10_000):
            page.setHtml(html, QUrl("http://wa.test/"))

        def js(code: str, world: int) -> Any:
            box: dict[str, Any] = {}
            page.runJavaScript(code, world, lambda r: box.setdefault("r", r))
            qtbot.waitUntil(lambda: "r" in box, timeout=5000)
            return box["r"]

        qtbot.waitUntil(
            lambda: js("window.__wacrmLeadBadges ? 1 : 0", APPLICATION_WORLD) == 1, timeout=5000
        )
        assert js("typeof window.__wacrmLeadBadges", 0) == "undefined"  # page can't see it
        rows = json.loads(js("JSON.stringify(window.__wacrmLeadBadges.visible())", 1))
        assert [r["title"] for r in rows] == ["Mariana Souza", "+55 11 99001-0005", "Sem lead"]
        js(
            "window.__wacrmLeadBadges.set({ids:{}, titles:{'Mariana Souza':"
            "{label:'Em Atendimento',color:'#0275d8'}}})",
            APPLICATION_WORLD,
        )
        # the page's own world sees the badge in the DOM
        assert js("document.querySelectorAll('[data-wacrm-badge]').length", 0) == 1
        text = js("document.querySelector('.wacrm-lead-badge').textContent", 0)
        assert text == "Em Atendimento"
        # on the preview's line, never beside (and squeezing) the contact's name
        beside = "document.querySelector('.wacrm-lead-badge').nextElementSibling.title"
        assert js(beside, 0) == "Oi, tudo bem?"
        # WhatsApp re-renders the list: the observer paints the badge again
        js(
            "(function(){const p=document.getElementById('pane-side');const h=p.innerHTML;"
            "p.innerHTML='';p.innerHTML=h.replace(/<span[^>]*data-wacrm-badge[^>]*>[^<]*"
            "<\\/span>/g,'');return 1;})()",
            0,
        )
        qtbot.waitUntil(
            lambda: js("document.querySelectorAll('[data-wacrm-badge]').length", 0) == 1,
            timeout=5000,
        )
        assert js(beside, 0) == "Oi, tudo bem?"  # repainted in the same place
        # a bad colour never reaches the style
        js(
            "window.__wacrmLeadBadges.set({ids:{}, titles:{'Sem lead':"
            "{label:'X',color:'red;background:url(x)'}}})",
            APPLICATION_WORLD,
        )
        style = js("document.querySelector('.wacrm-lead-badge').style.cssText", 0)
        assert "url" not in style
        # a row without a preview: after the name, and the first thing to give way
        after_name = (
            "Array.from(document.querySelectorAll('.wacrm-lead-badge'))"
            ".map(b => b.previousElementSibling.title + '|' + b.style.flexShrink).join()"
        )
        assert js(after_name, 0) == "Sem lead|40"
    finally:
        for obj in (page, profile):
            if shiboken6.isValid(obj):
                shiboken6.delete(obj)


def test_lead_from_api_card_roundtrip() -> None:
    lead = Lead(id=1, name="x", tags=("a",))
    assert Lead.from_card(lead.to_card()) == lead
