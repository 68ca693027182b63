"""Small dialogs of the lead actions. They only collect values; the controller writes."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...core.i18n import _
from ...core.leads import CancelReason, Lead, Situation
from ..message_lines import details, one_line
from ..origin_combo import OriginCombo
from ..timefmt import local_stamp


def _buttons(dialog: QDialog, ok_text: str) -> QDialogButtonBox:
    box = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
    )
    box.button(QDialogButtonBox.StandardButton.Ok).setText(ok_text)
    box.button(QDialogButtonBox.StandardButton.Cancel).setText(_("Cancelar"))
    box.accepted.connect(dialog.accept)
    box.rejected.connect(dialog.reject)
    return box


def _lead_title(lead: Lead) -> str:
    """ "Lead: <b>name</b>" (rich text; the name is CV CRM's text, shown as text)."""
    return _("Lead: {name}").format(name=f"<b>{html.escape(lead.name)}</b>")


def _swatch(color: str) -> QIcon:
    pix = QPixmap(12, 12)
    pix.fill(QColor(color))
    return QIcon(pix)


class SituationDialog(QDialog):
    """Pick a situation of the tenant's catalog; a cancelling one asks for the reason."""

    def __init__(
        self,
        lead: Lead,
        situations: Sequence[Situation],
        reasons: Sequence[CancelReason],
        colors: Mapping[int, str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("Mudar situação do lead"))
        self.setMinimumWidth(420)
        self._situations = list(situations)
        self.situation = QComboBox()
        self.situation.setObjectName("situationCombo")
        for sit in self._situations:
            self.situation.addItem(_swatch(colors.get(sit.id, "#adb5bd")), sit.name, sit.id)
            if sit.id == lead.situation_id:
                self.situation.setCurrentIndex(self.situation.count() - 1)
        self.reason = QComboBox()
        self.reason.setObjectName("reasonCombo")
        self.reason.addItem(_("— escolha o motivo —"), None)
        for r in reasons:
            self.reason.addItem(r.label, r.name)
        self.reason_text = QPlainTextEdit()
        self.reason_text.setPlaceholderText(_("Descrição do motivo (opcional)"))
        self.reason_text.setMaximumHeight(80)
        self.reason_label = QLabel(_("Motivo do cancelamento:"))
        no_reasons = _("A lista de motivos vem do CV CRM; nenhum motivo foi carregado.")
        self.reason_hint = QLabel(no_reasons if not reasons else "")
        self.reason_hint.setWordWrap(True)
        form = QFormLayout()
        form.addRow(_lead_title(lead), QLabel(""))
        form.addRow(_("Nova situação:"), self.situation)
        form.addRow(self.reason_label, self.reason)
        form.addRow(self.reason_text)
        form.addRow(self.reason_hint)
        self.buttons = _buttons(self, _("Alterar no CV CRM"))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.situation.currentIndexChanged.connect(self._update)
        self.reason.currentIndexChanged.connect(self._update)
        self._lead = lead
        self._update()

    def selected(self) -> Situation | None:
        sid = self.situation.currentData()
        return next((s for s in self._situations if s.id == sid), None)

    def _update(self) -> None:
        sit = self.selected()
        cancelling = bool(sit and sit.is_cancelled)
        for w in (self.reason_label, self.reason, self.reason_text, self.reason_hint):
            w.setVisible(cancelling)
        ok = sit is not None and sit.id != self._lead.situation_id
        if cancelling and self.reason.currentData() is None:
            ok = False
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)

    def values(self) -> tuple[Situation | None, str | None, str]:
        sit = self.selected()
        if sit is None or not sit.is_cancelled:
            return sit, None, ""
        return sit, self.reason.currentData(), self.reason_text.toPlainText().strip()


class NoteDialog(QDialog):
    def __init__(self, lead: Lead, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("Anotação no lead"))
        self.setMinimumWidth(420)
        self.text = QPlainTextEdit()
        self.text.setObjectName("noteText")
        self.text.setPlaceholderText(_("Escreva a anotação que ficará no histórico do lead"))
        self.buttons = _buttons(self, _("Gravar no CV CRM"))
        self.text.textChanged.connect(self._update)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(_lead_title(lead)))
        layout.addWidget(self.text)
        layout.addWidget(self.buttons)
        self._update()

    def _update(self) -> None:
        ok = bool(self.text.toPlainText().strip())
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)

    def value(self) -> str:
        return self.text.toPlainText().strip()


_LINE_CHARS = 500  # a 64 KiB text in one list row helps nobody; the transcript cuts it too


def _message_line(m: Mapping[str, Any]) -> str:
    line = one_line(m, local_stamp(m.get("t", 0)))
    return line if len(line) <= _LINE_CHARS else line[:_LINE_CHARS].rstrip() + " […]"


class ConversationDialog(QDialog):
    """Choose which stored messages go to the lead as one WhatsApp interaction."""

    def __init__(
        self,
        lead: Lead,
        messages: Sequence[Mapping[str, Any]],
        *,
        last_n: int = 20,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("Registrar conversa no lead"))
        self.setMinimumSize(480, 420)
        self._messages = list(messages)
        self.list = QListWidget()
        self.list.setObjectName("conversationList")
        self.list.setWordWrap(True)
        for m in self._messages:
            item = QListWidgetItem(_message_line(m))
            if tip := details(m):
                item.setToolTip(tip)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.list.addItem(item)
        self.last_n = QSpinBox()
        self.last_n.setRange(1, max(1, len(self._messages)))
        self.last_n.setValue(min(last_n, max(1, len(self._messages))))
        self.last_n.setPrefix(_("últimas "))
        self.last_n.setSuffix(_(" mensagens"))
        apply_n = QPushButton(_("Selecionar"))
        apply_n.clicked.connect(lambda: self.select_last(self.last_n.value()))
        self.count = QLabel()
        self.buttons = _buttons(self, _("Registrar no CV CRM"))
        self.list.itemChanged.connect(lambda _i: self._update())
        row = QFormLayout()
        row.addRow(self.last_n, apply_n)
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel(
                _lead_title(lead)
                + " — "
                + _(
                    "as mensagens marcadas viram uma interação do tipo WhatsApp no CV CRM "
                    "(isso não pode ser desfeito pela API)."
                )
            )
        )
        layout.addLayout(row)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.count)
        layout.addWidget(self.buttons)
        if not self._messages:
            self.count.setText(_("Nenhuma mensagem salva desta conversa ainda."))
        self.select_last(self.last_n.value())

    def select_last(self, n: int) -> None:
        total = self.list.count()
        self.list.blockSignals(True)
        for i in range(total):
            state = Qt.CheckState.Checked if i >= total - n else Qt.CheckState.Unchecked
            self.list.item(i).setCheckState(state)
        self.list.blockSignals(False)
        self._update()

    def selected(self) -> list[Mapping[str, Any]]:
        return [
            m
            for i, m in enumerate(self._messages)
            if self.list.item(i).checkState() == Qt.CheckState.Checked
        ]

    def _update(self) -> None:
        n = len(self.selected())
        if self._messages:
            self.count.setText(_("{n} mensagem(ns) selecionada(s).").format(n=n))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(n > 0)


class CreateLeadDialog(QDialog):
    """Name and phone come from the chat; origem/mídia from the settings (editable)."""

    def __init__(
        self,
        *,
        name: str,
        phone: str,
        origin: str,
        media: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("Criar lead no CV CRM"))
        self.setMinimumWidth(420)
        self.name = QLineEdit(name)
        self.name.setObjectName("createName")
        self.phone = QLineEdit(phone)
        self.phone.setObjectName("createPhone")
        self.email = QLineEdit()
        self.email.setPlaceholderText(_("opcional"))
        self.origin = OriginCombo(origin)
        self.origin.setObjectName("createOrigin")
        self.origin.setToolTip(
            _(
                "Origem do lead no CV CRM (vai o código de 2 letras). A lista é a pública do "
                "CV CRM; digite outro código se o seu CV CRM usar um diferente."
            )
        )
        self.media = QLineEdit(media)
        self.media.setPlaceholderText(_("mídia do CV CRM (opcional)"))
        form = QFormLayout()
        form.addRow(_("Nome:"), self.name)
        form.addRow(_("Telefone:"), self.phone)
        form.addRow(_("E-mail:"), self.email)
        form.addRow(_("Origem:"), self.origin)
        form.addRow(_("Mídia:"), self.media)
        self.buttons = _buttons(self, _("Criar no CV CRM"))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        note = QLabel(
            _(
                "Se o CV CRM já tiver um lead com este telefone ou e-mail, ele responde "
                "“Lead já cadastrado” e nada é alterado."
            )
        )
        note.setWordWrap(True)
        layout.addWidget(note)
        layout.addWidget(self.buttons)
        self.name.textChanged.connect(self._update)
        self.phone.textChanged.connect(self._update)
        self.email.textChanged.connect(self._update)
        self._update()

    def _update(self) -> None:
        ok = bool(self.name.text().strip()) and bool(
            self.phone.text().strip() or self.email.text().strip()
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)

    def values(self) -> dict[str, str]:
        return {
            "name": self.name.text().strip(),
            "phone": self.phone.text().strip(),
            "email": self.email.text().strip(),
            "origin": self.origin.code(),
            "media": self.media.text().strip(),
        }
