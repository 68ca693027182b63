"""The lead part of the side panel: layout and state setters only (the controller decides).

States: no chat · loading · lead card (fresh / stale / chosen / suffix-only) · several
candidates · not found (create + manual search) · no phone (reason + manual search) ·
credentials refused (button to the settings) · CRM unavailable · not configured.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...core.i18n import N_, _
from ...core.leads import Interaction, Lead
from ...core.phone_format import display_phone
from .sections import CollapsibleSection, SectionStack

NOTICE_STYLES = {
    "info": "background:#e7f1ff;color:#084298;",
    "warning": "background:#fff3cd;color:#664d03;",
    "error": "background:#f8d7da;color:#842029;",
    "success": "background:#d1e7dd;color:#0f5132;",
}
SECTION_TITLES = {  # pt-BR sources, translated when the sections are built
    "resumo": N_("Lead"),
    "acoes": N_("Ações"),
    "respostas": N_("Respostas rápidas"),
    "interacoes": N_("Últimas interações"),
}
SUFFIX_TEXT = N_(
    "Encontrado só pelo final do número (DDD + 8 últimos dígitos, com ou sem o nono dígito): "
    "confira se é a mesma pessoa."
)


def _date(text: str | None) -> str:
    """'2026-11-28 18:40:00' → '28/11/2026 18:40' (CV CRM dates are Brasília time).

    "0000-00-00…" (MySQL's zero date, e.g. in a card cached before core.leads dropped it)
    is no date."""
    if not text or text.startswith("0000-00-00"):
        return "—"
    if len(text) < 10:
        return text
    day = f"{text[8:10]}/{text[5:7]}/{text[0:4]}"
    return f"{day} {text[11:16]}".strip() if len(text) >= 16 else day


def _text_color(background: str) -> str:
    try:
        r, g, b = (int(background[i : i + 2], 16) for i in (1, 3, 5))
    except ValueError:
        return "#000000"
    return "#000000" if (0.299 * r + 0.587 * g + 0.114 * b) > 160 else "#ffffff"


def candidate_line(lead: Lead) -> str:
    """One line per candidate: name, situação, broker, last conversion."""
    parts = [lead.name, lead.situation_name or _("sem situação")]
    parts.append(_("corretor: {name}").format(name=lead.broker_name or "—"))
    parts.append(_("última conversão: {date}").format(date=_date(lead.last_conversion_at)))
    return " · ".join(parts)


class LeadView(QWidget):
    """Signals carry the user's intent; nothing here talks to CV CRM."""

    refreshRequested = Signal()
    settingsRequested = Signal()
    candidateChosen = Signal(int)
    undoChoiceRequested = Signal()
    searchRequested = Signal(str)
    createRequested = Signal()
    situationRequested = Signal()
    noteRequested = Signal()
    conversationRequested = Signal()
    quickReplyChosen = Signal(str)
    openLinkRequested = Signal(str)
    noticeShown = Signal()  # a notice with text appeared or changed (the panel scrolls to it)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("leadView")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.lead: Lead | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

        self.chat_title = QLabel()
        self.chat_title.setObjectName("chatTitle")
        self.chat_title.setWordWrap(True)
        self.chat_title.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.chat_title)

        status_row = QHBoxLayout()
        self.status = QLabel()
        self.status.setObjectName("leadStatus")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)  # may carry CV CRM's text
        self.refresh_button = QToolButton()
        self.refresh_button.setObjectName("refreshButton")
        self.refresh_button.setText(_("⟳ Atualizar"))
        self.refresh_button.setToolTip(_("Buscar de novo no CV CRM"))
        self.refresh_button.clicked.connect(self.refreshRequested)
        status_row.addWidget(self.status, 1)
        status_row.addWidget(self.refresh_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(status_row)

        self.notice = QLabel()
        self.notice.setObjectName("leadNotice")
        self.notice.setWordWrap(True)
        self.notice.setTextFormat(Qt.TextFormat.PlainText)  # may carry CV CRM's mensagem
        self.notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.notice)
        self.notice_kind = ""

        # -- credentials refused
        self.auth_box = QWidget()
        auth_layout = QVBoxLayout(self.auth_box)
        auth_layout.setContentsMargins(0, 0, 0, 0)
        self.settings_button = QPushButton(_("Abrir configurações do CV CRM"))
        self.settings_button.setObjectName("settingsButton")
        self.settings_button.clicked.connect(self.settingsRequested)
        auth_layout.addWidget(self.settings_button)
        layout.addWidget(self.auth_box)

        # -- several candidates
        self.candidates_box = QWidget()
        cand_layout = QVBoxLayout(self.candidates_box)
        cand_layout.setContentsMargins(0, 0, 0, 0)
        self.candidates_label = QLabel()
        self.candidates_label.setWordWrap(True)
        self.candidates = QListWidget()
        self.candidates.setObjectName("candidateList")
        self.candidates.setWordWrap(True)
        self.candidates.setMaximumHeight(170)
        self.candidates.itemDoubleClicked.connect(lambda _i: self._choose(self.candidates))
        self.choose_button = QPushButton(_("Usar este lead para esta conversa"))
        self.choose_button.setObjectName("chooseButton")
        self.choose_button.clicked.connect(lambda: self._choose(self.candidates))
        cand_layout.addWidget(self.candidates_label)
        cand_layout.addWidget(self.candidates)
        cand_layout.addWidget(self.choose_button)
        layout.addWidget(self.candidates_box)

        # -- chosen lead / suffix-only labels
        self.choice_bar = QWidget()
        choice_layout = QHBoxLayout(self.choice_bar)
        choice_layout.setContentsMargins(0, 0, 0, 0)
        self.choice_label = QLabel()
        self.choice_label.setObjectName("choiceLabel")
        self.choice_label.setWordWrap(True)
        self.undo_button = QToolButton()
        self.undo_button.setObjectName("undoChoiceButton")
        self.undo_button.setText(_("Desfazer escolha"))
        self.undo_button.clicked.connect(self.undoChoiceRequested)
        choice_layout.addWidget(self.choice_label, 1)
        choice_layout.addWidget(self.undo_button)
        layout.addWidget(self.choice_bar)
        self.suffix_label = QLabel(_(SUFFIX_TEXT))
        self.suffix_label.setObjectName("suffixLabel")
        self.suffix_label.setWordWrap(True)
        self.suffix_label.setStyleSheet("background:#fff3cd;color:#664d03;padding:4px;")
        layout.addWidget(self.suffix_label)

        # -- the card
        self.sections = SectionStack()
        self.sections.setObjectName("leadCard")
        self._build_summary()
        self._build_actions()
        self._build_quick_replies()
        self._build_interactions()
        layout.addWidget(self.sections)

        # -- not found: create
        self.create_button = QPushButton(_("Criar lead no CV CRM com os dados desta conversa"))
        self.create_button.setObjectName("createLeadButton")
        self.create_button.clicked.connect(self.createRequested)
        layout.addWidget(self.create_button)

        # -- manual search (no phone / not found)
        self.search_box = QWidget()
        search_layout = QVBoxLayout(self.search_box)
        search_layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.search_input = QLineEdit()
        self.search_input.setObjectName("searchInput")
        self.search_input.setPlaceholderText(_("nome, e-mail ou telefone"))
        self.search_input.returnPressed.connect(self._on_search)
        self.search_button = QPushButton(_("Buscar"))
        self.search_button.setObjectName("searchButton")
        self.search_button.clicked.connect(self._on_search)
        row.addWidget(self.search_input, 1)
        row.addWidget(self.search_button)
        self.search_status = QLabel()
        self.search_status.setWordWrap(True)
        self.search_status.setTextFormat(Qt.TextFormat.PlainText)
        self.search_results = QListWidget()
        self.search_results.setObjectName("searchResults")
        self.search_results.setWordWrap(True)
        self.search_results.setMaximumHeight(150)
        self.search_choose = QPushButton(_("Usar este lead para esta conversa"))
        self.search_choose.clicked.connect(lambda: self._choose(self.search_results))
        search_title = QLabel("<b>" + _("Buscar lead no CV CRM") + "</b>")
        search_layout.addWidget(search_title)
        search_layout.addLayout(row)
        search_layout.addWidget(self.search_status)
        search_layout.addWidget(self.search_results)
        search_layout.addWidget(self.search_choose)
        layout.addWidget(self.search_box)
        layout.addStretch(1)  # short states stay at the top

        self.show_no_chat()

    # ------------------------------------------------------------------ building

    def _build_summary(self) -> None:
        body = QFrame()
        body.setFrameShape(QFrame.Shape.StyledPanel)
        form = QFormLayout(body)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.f_name = QLabel()
        self.f_name.setObjectName("leadName")
        self.f_situation = QLabel()
        self.f_situation.setObjectName("leadSituation")
        self.f_broker = QLabel()
        self.f_agency = QLabel()
        self.f_manager = QLabel()
        self.f_development = QLabel()
        self.f_origin = QLabel()
        self.f_created = QLabel()
        self.f_last = QLabel()
        self.f_score = QLabel()
        self.f_tags = QLabel()
        for label, widget in (
            (_("Nome"), self.f_name),
            (_("Situação"), self.f_situation),
            (_("Corretor"), self.f_broker),
            (_("Imobiliária"), self.f_agency),
            (_("Gestor"), self.f_manager),
            (_("Empreendimentos"), self.f_development),
            (_("Origem / mídia"), self.f_origin),
            (_("Cadastro"), self.f_created),
            (_("Última conversão"), self.f_last),
            (_("Score"), self.f_score),
            (_("Tags"), self.f_tags),
        ):
            widget.setWordWrap(True)
            # CV CRM's text is shown as text: "<b>" or "&" in a name is not markup.
            widget.setTextFormat(Qt.TextFormat.PlainText)
            widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(label + ":", widget)
        self.f_situation.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.f_situation.setWordWrap(False)
        self.f_situation.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.link = QLabel()
        self.link.setObjectName("crmLink")
        self.link.setTextFormat(Qt.TextFormat.RichText)
        self.link.linkActivated.connect(self.openLinkRequested)
        form.addRow(self.link)
        self.sections.add(CollapsibleSection("resumo", _(SECTION_TITLES["resumo"]), body))

    def _build_actions(self) -> None:
        body = QWidget()
        col = QVBoxLayout(body)
        col.setContentsMargins(0, 0, 0, 0)
        self.situation_button = QPushButton(_("Mudar situação…"))
        self.situation_button.setObjectName("situationButton")
        self.situation_button.clicked.connect(self.situationRequested)
        self.note_button = QPushButton(_("Adicionar anotação…"))
        self.note_button.setObjectName("noteButton")
        self.note_button.clicked.connect(self.noteRequested)
        self.conversation_button = QPushButton(_("Registrar conversa no lead…"))
        self.conversation_button.setObjectName("conversationButton")
        self.conversation_button.clicked.connect(self.conversationRequested)
        for button in (self.situation_button, self.note_button, self.conversation_button):
            col.addWidget(button)
        self.sections.add(CollapsibleSection("acoes", _(SECTION_TITLES["acoes"]), body))

    def _build_quick_replies(self) -> None:
        body = QWidget()
        self._replies_layout = QVBoxLayout(body)
        self._replies_layout.setContentsMargins(0, 0, 0, 0)
        hint = QLabel(_("Clique para colocar o texto na caixa de mensagem; o envio é com você."))
        hint.setWordWrap(True)
        hint.setStyleSheet("color:#6c757d;")
        self._replies_layout.addWidget(hint)
        self.reply_buttons: list[QPushButton] = []
        self.sections.add(CollapsibleSection("respostas", _(SECTION_TITLES["respostas"]), body))

    def _build_interactions(self) -> None:
        self.interactions = QLabel()
        self.interactions.setObjectName("interactions")
        self.interactions.setWordWrap(True)
        self.interactions.setTextFormat(Qt.TextFormat.RichText)
        self.interactions.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.sections.add(
            CollapsibleSection("interacoes", _(SECTION_TITLES["interacoes"]), self.interactions)
        )

    # ------------------------------------------------------------------ helpers

    def _choose(self, widget: QListWidget) -> None:
        item = widget.currentItem()
        if item is not None:
            self.candidateChosen.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    def _on_search(self) -> None:
        text = self.search_input.text().strip()
        if text:
            self.search_status.setText(_("Buscando…"))
            self.searchRequested.emit(text)

    @staticmethod
    def _set_visible(widget: QWidget, visible: bool) -> None:
        """Change visibility only when it changes (showing again costs a relayout)."""
        if widget.isHidden() == visible:
            widget.setVisible(visible)

    def _hide_all(self, *keep: QWidget) -> None:
        for w in (
            self.auth_box,
            self.candidates_box,
            self.choice_bar,
            self.suffix_label,
            self.sections,
            self.create_button,
            self.search_box,
        ):
            self._set_visible(w, w in keep)
        self.set_notice("", "")

    def set_notice(self, kind: str, text: str) -> None:
        """kind: info | warning | error | success; empty text hides the notice."""
        kind = kind if text else ""
        if kind != self.notice_kind or self.notice.text() != text:
            if kind != self.notice_kind:
                style = NOTICE_STYLES.get(kind, "") + "padding:6px;border-radius:4px;"
                self.notice.setStyleSheet(style)
            self.notice_kind = kind
            self.notice.setText(text)
            if text:
                self.noticeShown.emit()
        self._set_visible(self.notice, bool(text))

    def set_status(self, text: str) -> None:
        self.status.setText(text)

    def set_actions_enabled(self, enabled: bool) -> None:
        for button in (
            self.situation_button,
            self.note_button,
            self.conversation_button,
            self.create_button,
            self.choose_button,
            self.search_choose,
        ):
            button.setEnabled(enabled)

    # ------------------------------------------------------------------ states

    def show_no_chat(self) -> None:
        self._hide_all()
        self.lead = None
        self.chat_title.setText("<b>" + html.escape(_("Nenhuma conversa aberta")) + "</b>")
        self.status.setText(_("Abra uma conversa no WhatsApp para ver o lead do CV CRM."))
        self.refresh_button.hide()

    def show_chat(self, name: str | None, phone: str | None, is_group: bool) -> None:
        title = html.escape(name or _("Conversa"))
        if phone:
            subtitle = display_phone(phone) or "+" + phone
        elif is_group:
            subtitle = _("grupo")
        else:
            subtitle = _("telefone desconhecido")
        self.chat_title.setText(f"<b>{title}</b><br><small>{html.escape(subtitle)}</small>")

    def show_loading(self) -> None:
        self._hide_all()
        self.lead = None
        self.status.setText(_("Buscando lead no CV CRM…"))
        self.refresh_button.hide()

    def show_lead(
        self,
        lead: Lead,
        *,
        color: str,
        age: str,
        stale_message: str | None = None,
        suffix_only: bool = False,
        chosen_among: int = 0,
        url: str | None = None,
        refreshing: bool = False,
    ) -> None:
        """The card. `chosen_among` > 0: picked by the salesperson among that many leads."""
        self._hide_all(self.sections)
        self.lead = lead
        self.f_name.setText(lead.name or "—")
        self.f_situation.setText(lead.situation_name or "—")
        style = f"background:{color};color:{_text_color(color)};border-radius:8px;padding:2px 8px;"
        if self.f_situation.styleSheet() != style:
            self.f_situation.setStyleSheet(style)
        self.f_broker.setText(lead.broker_name or "—")
        self.f_agency.setText(lead.agency_name or "—")
        self.f_manager.setText(lead.manager_name or "—")
        self.f_development.setText(", ".join(lead.developments) or "—")
        origin = " / ".join(x for x in (lead.origin, lead.media) if x)
        self.f_origin.setText(origin or "—")
        self.f_created.setText(_date(lead.created_at))
        self.f_last.setText(_date(lead.last_conversion_at))
        self.f_score.setText("—" if lead.score is None else str(lead.score))
        self.f_tags.setText(", ".join(lead.tags) or "—")
        if url:
            text = html.escape(_("Abrir lead #{id} no CV CRM ↗").format(id=lead.id))
            self.link.setText(f'<a href="{html.escape(url)}">{text}</a>')
        else:
            self.link.setText(_("Lead #{id}").format(id=lead.id))
        self._set_visible(self.refresh_button, True)
        self._set_visible(self.suffix_label, suffix_only)
        if chosen_among:
            self.choice_label.setText(
                _("Lead escolhido por você entre {n} com este telefone.").format(n=chosen_among)
            )
            self._set_visible(self.choice_bar, True)
        self.set_age(age, refreshing=refreshing)
        if stale_message:
            self.set_notice("warning", "⚠ " + stale_message)

    def set_age(self, age: str, *, refreshing: bool = False) -> None:
        self.status.setText(age + (_(" · atualizando…") if refreshing else ""))

    def show_candidates(
        self, leads: Sequence[Lead], *, stale_message: str | None = None, age: str = ""
    ) -> None:
        self._hide_all()
        self.lead = None
        self.candidates.clear()
        for lead in leads:
            item = QListWidgetItem(candidate_line(lead))
            item.setData(Qt.ItemDataRole.UserRole, lead.id)
            self.candidates.addItem(item)
        if leads:
            self.candidates.setCurrentRow(0)
        self.candidates_label.setText(
            _(
                "<b>{n} leads com este telefone.</b> Escolha o desta conversa "
                "(a escolha fica lembrada e pode ser desfeita):"
            ).format(n=len(leads))
        )
        self.candidates_box.show()
        self.refresh_button.show()
        self.status.setText(age)
        if stale_message:
            self.set_notice("warning", "⚠ " + stale_message)

    def show_not_found(self, message: str, *, can_create: bool) -> None:
        self._hide_all()
        self.lead = None
        self.status.setText(message)
        self.create_button.setVisible(can_create)
        self.search_box.show()
        self._show_search_list()
        self.refresh_button.show()

    def show_no_phone(self, reason: str) -> None:
        self._hide_all()
        self.lead = None
        self.status.setText(reason)
        self.set_notice("info", _("Sem telefone não há busca automática: procure o lead abaixo."))
        self.search_box.show()
        self._show_search_list()
        self.refresh_button.hide()

    def show_auth_error(self, message: str) -> None:
        self._hide_all()
        self.lead = None
        self.status.setText("")
        self.set_notice("error", "⚠ " + message)
        self.auth_box.show()
        self.refresh_button.show()

    def show_not_configured(self, message: str) -> None:
        self._hide_all()
        self.lead = None
        self.status.setText("")
        self.set_notice("info", message)
        self.auth_box.show()
        self.refresh_button.hide()

    def show_unavailable(self, message: str) -> None:
        """CRM down and no card known for this chat: say so, offer a retry."""
        self._hide_all()
        self.lead = None
        self.status.setText("")
        self.set_notice("warning", "⚠ " + message)
        self.refresh_button.show()

    def show_error(self, message: str) -> None:
        self._hide_all()
        self.lead = None
        self.status.setText("")
        self.set_notice("error", "⚠ " + message)
        self.refresh_button.show()

    def show_search_results(self, leads: Sequence[Lead], message: str) -> None:
        self.search_results.clear()
        for lead in leads:
            item = QListWidgetItem(candidate_line(lead))
            item.setData(Qt.ItemDataRole.UserRole, lead.id)
            self.search_results.addItem(item)
        if leads:
            self.search_results.setCurrentRow(0)
        self.search_status.setText(message)
        self._show_search_list()

    def _show_search_list(self) -> None:
        has = self.search_results.count() > 0
        self._set_visible(self.search_results, has)
        self._set_visible(self.search_choose, has)

    def show_interactions(
        self, items: Sequence[Interaction], *, note: str = "", loading: bool = False
    ) -> None:
        if loading:
            self.interactions.setText("<i>" + html.escape(_("carregando…")) + "</i>")
            return
        rows = []
        for item in items:
            text = html.escape(item.description[:280])
            if len(item.description) > 280:
                text += "…"
            who = f" · {html.escape(item.broker_name)}" if item.broker_name else ""
            rows.append(
                f"<p><b>{html.escape(item.kind_label)}</b> {_date(item.created_at)}{who}<br>"
                f"{text.replace(chr(10), '<br>')}</p>"
            )
        body = "".join(rows) or "<i>" + html.escape(_("Nenhuma interação registrada.")) + "</i>"
        if note:
            body = f"<p style='color:#664d03'>⚠ {html.escape(note)}</p>" + body
        self.interactions.setText(body)

    def set_quick_replies(self, templates: Sequence[str]) -> None:
        for button in self.reply_buttons:
            self._replies_layout.removeWidget(button)
            button.deleteLater()
        self.reply_buttons = []
        for template in templates:
            shown = template if len(template) <= 42 else template[:40] + "…"
            button = QPushButton(shown)
            button.setToolTip(template)
            button.setStyleSheet("text-align:left;padding:4px;")
            button.clicked.connect(lambda _c=False, t=template: self.quickReplyChosen.emit(t))
            self._replies_layout.addWidget(button)
            self.reply_buttons.append(button)
