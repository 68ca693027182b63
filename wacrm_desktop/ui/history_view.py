"""History window: the open chat's full stored timeline (team view), search, export, LGPD erasure.

Everything that touches MongoDB, Redis or files runs on the TaskRunner's threads; this module
only builds widgets and shows results. Late answers (for a chat or a search the user already
left) are dropped by a generation counter, like the lead panel does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ..core.history_model import earlier_texts
from ..core.i18n import _
from ..core.os_errors import describe_os_error
from ..core.phone_format import display_phone
from ..core.ports import SearchQuery
from ..services.history import ErasureReport, HistoryService
from .message_lines import marks, sender, text_of
from .tasks import TaskRunner
from .timefmt import local_stamp

log = logging.getLogger("wacrm.ui")
PAGE = 200
ROLE_MESSAGE = Qt.ItemDataRole.UserRole


def _when(t: Any) -> str:
    if not isinstance(t, int | float):
        return "--/--/---- --:--"
    return local_stamp(t, "%d/%m/%Y %H:%M")


def message_text(message: Mapping[str, Any], profile_names: Mapping[str, str]) -> str:
    """One timeline line: when, which salesperson's WhatsApp, who, text, edits, deletion."""
    profile = profile_names.get(str(message.get("profile_id")), str(message.get("profile_id", "")))
    lines = [f"{_when(message.get('t'))} · {profile} · {sender(message)}: {text_of(message)}"]
    edits = earlier_texts(message)
    if edits:
        before = " → ".join(f"“{e}”" for e in edits)
        lines.append("    " + _("✎ editada; antes: {texts}").format(texts=before))
    lines += ["    " + mark for mark in marks(message, edited=False)]
    reactions = [r.get("emoji") for r in message.get("reactions") or () if r.get("emoji")]
    if reactions:
        lines.append("    " + " ".join(reactions))
    return "\n".join(lines)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _export_failed(error: BaseException) -> str:
    """A disk problem is named (in the app's language); anything else stays generic."""
    if isinstance(error, OSError):
        return _("Não foi possível exportar ({error}).").format(error=describe_os_error(error))
    return _("Não foi possível exportar.")


class HistoryDialog(QDialog):
    """Non-modal window over the main window; one per open request."""

    def __init__(
        self,
        history: HistoryService,
        tasks: TaskRunner,
        *,
        profiles: Sequence[tuple[str, str]],  # (id, display name)
        profile_id: str | None = None,
        chat_id: str | None = None,
        chat_name: str | None = None,
        phone: str | None = None,
        actor: str = "",
        retention_days: int = 0,
        on_retention_changed: Callable[[int], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("Histórico"))
        self.resize(1000, 700)
        self._history = history
        self._tasks = tasks
        self._profile_names = dict(profiles)
        self._actor = actor or "usuário local"  # audit data in MongoDB: not translated
        self._on_retention_changed = on_retention_changed
        self._generation = 0
        self._search_generation = 0
        self.profile_id = profile_id
        self.chat_id = chat_id
        self.phone = phone
        self.chat_name = chat_name
        self.messages: list[dict[str, Any]] = []

        self.title = QLabel()
        self.title.setObjectName("historyChatTitle")
        self.status = QLabel()
        self.status.setObjectName("historyDialogStatus")
        self.status.setWordWrap(True)

        self.search_box = QLineEdit()
        self.search_box.setPlaceholderText(_("Buscar palavras, nomes ou telefone…"))
        self.search_box.returnPressed.connect(self.run_search)
        self.profile_filter = QComboBox()
        self.profile_filter.addItem(_("Todos os perfis"), None)
        for pid, name in profiles:
            self.profile_filter.addItem(name, pid)
        self.only_this_chat = QCheckBox(_("Só esta conversa"))
        self.only_this_chat.setEnabled(chat_id is not None)
        self.use_dates = QCheckBox(_("Período"))
        self.date_from = QDateEdit(QDate.currentDate().addMonths(-1))
        self.date_to = QDateEdit(QDate.currentDate())
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("dd/MM/yyyy")
        search_button = QPushButton(_("Buscar"))
        search_button.clicked.connect(self.run_search)
        self.search_box.setMinimumWidth(260)  # its placeholder is read whole
        # A long profile name must not widen the window (the list shows it whole).
        self.profile_filter.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.profile_filter.setMinimumContentsLength(18)
        search_row = QHBoxLayout()
        search_row.addWidget(self.search_box, 1)
        for w in (self.profile_filter, self.only_this_chat, self.use_dates,
                  self.date_from, QLabel(_("até")), self.date_to, search_button):  # fmt: skip
            search_row.addWidget(w)

        self.results = QListWidget()
        self.results.setObjectName("historySearchResults")
        self.results.setWordWrap(True)
        self.results.itemActivated.connect(self._open_result)
        self.results.itemClicked.connect(self._open_result)
        self.timeline = QListWidget()
        self.timeline.setObjectName("historyTimeline")
        self.timeline.setWordWrap(True)
        self.older_button = QPushButton(_("Carregar mensagens mais antigas"))
        self.older_button.clicked.connect(self.load_older)
        timeline_box = QWidget()
        tl = QVBoxLayout(timeline_box)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.older_button)
        tl.addWidget(self.timeline, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.results)
        splitter.addWidget(timeline_box)
        splitter.setStretchFactor(1, 2)

        self.export_json_button = QPushButton(_("Exportar JSON…"))
        self.export_json_button.clicked.connect(lambda: self.ask_export("json"))
        self.export_csv_button = QPushButton(_("Exportar CSV…"))
        self.export_csv_button.clicked.connect(lambda: self.ask_export("csv"))
        self.erase_button = QPushButton(_("Apagar contato (LGPD)…"))
        self.erase_button.setObjectName("eraseContact")
        self.erase_button.clicked.connect(self.ask_erase)
        self.retention = QSpinBox()
        self.retention.setRange(0, 36500)
        self.retention.setValue(retention_days)
        self.retention.setSpecialValueText(_("manter para sempre"))
        self.retention.setSuffix(_(" dias"))
        self.retention.setToolTip(
            _("Mensagens mais antigas que isto são apagadas automaticamente.")
        )
        self.retention.editingFinished.connect(self._retention_edited)
        bottom = QHBoxLayout()
        for w in (self.export_json_button, self.export_csv_button, self.erase_button):
            bottom.addWidget(w)
        bottom.addStretch(1)
        bottom.addWidget(QLabel(_("Retenção:")))
        bottom.addWidget(self.retention)

        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(search_row)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status)
        layout.addLayout(bottom)
        self._update_title()
        if chat_id is not None and profile_id is not None:
            self.load_timeline()

    # -- timeline ------------------------------------------------------------------------------
    def _update_title(self) -> None:
        has_chat = self.chat_id is not None
        for w in (self.export_json_button, self.export_csv_button, self.older_button):
            w.setEnabled(has_chat)
        self.erase_button.setEnabled(bool(self.phone))
        if not has_chat:
            self.title.setText(_("Nenhuma conversa aberta: use a busca."))
            return
        who = self.chat_name or _("Conversa")
        # The full number (masking is for logs): the user must see whose history this is.
        phone = display_phone(self.phone) or _("telefone desconhecido")
        if self.phone and _digits(who) == _digits(self.phone):  # no saved name: the number once
            text = _("{phone} (todos os perfis que falaram com este número)").format(phone=phone)
        else:
            text = _("{who} — {phone} (todos os perfis que falaram com este número)").format(
                who=who, phone=phone
            )
        self.title.setText(text)

    def open_chat(
        self, profile_id: str, chat_id: str, *, name: str | None, phone: str | None,
        at_t: int | None = None, focus_id: str | None = None,
    ) -> None:  # fmt: skip
        self.profile_id, self.chat_id, self.chat_name, self.phone = profile_id, chat_id, name, phone
        self.only_this_chat.setEnabled(True)
        self._update_title()
        self.load_timeline(before_t=None if at_t is None else at_t + 1, focus_id=focus_id)

    def load_timeline(self, before_t: int | None = None, focus_id: str | None = None) -> None:
        if self.profile_id is None or self.chat_id is None:
            return
        self._generation += 1
        generation = self._generation
        profile_id, chat_id, phone = self.profile_id, self.chat_id, self.phone
        append_older = before_t is not None and focus_id is None
        self.status.setText(_("Carregando histórico…"))

        def _done(messages: list[dict[str, Any]]) -> None:
            if generation != self._generation or not shiboken6.isValid(self):
                return
            self.show_timeline(messages if not append_older else messages + self.messages)
            self.status.setText(_("{n} mensagens carregadas.").format(n=len(self.messages)))
            if focus_id is not None:
                self.focus_message(focus_id)

        self._tasks.submit(
            lambda: self._history.contact_timeline(
                profile_id, chat_id, phone=phone, before_t=before_t, limit=PAGE
            ),
            _done,
            lambda e: self._failed(generation, _("Histórico indisponível (MongoDB offline?)"), e),
        )

    def load_older(self) -> None:
        if not self.messages:
            return
        self.load_timeline(before_t=int(self.messages[0].get("t", 0)))

    def show_timeline(self, messages: list[dict[str, Any]]) -> None:
        self.messages = list(messages)
        self.timeline.clear()
        for message in self.messages:
            item = QListWidgetItem(message_text(message, self._profile_names))
            item.setData(ROLE_MESSAGE, message.get("id"))
            self.timeline.addItem(item)
        self.timeline.scrollToBottom()

    def focus_message(self, message_id: str) -> None:
        for row in range(self.timeline.count()):
            item = self.timeline.item(row)
            if item.data(ROLE_MESSAGE) == message_id:
                self.timeline.setCurrentItem(item)
                self.timeline.scrollToItem(item, QListWidget.ScrollHint.PositionAtCenter)
                return

    # -- search --------------------------------------------------------------------------------
    def current_query(self) -> SearchQuery:
        since = until = None
        if self.use_dates.isChecked():
            since = int(self.date_from.dateTime().toSecsSinceEpoch())
            end = self.date_to.date().addDays(1)
            until = int(end.startOfDay().toSecsSinceEpoch()) if end.isValid() else None
        return SearchQuery(
            text=self.search_box.text(),
            profile_id=self.profile_filter.currentData(),
            chat_id=self.chat_id if self.only_this_chat.isChecked() else None,
            since_t=since,
            until_t=until,
        )

    def run_search(self) -> None:
        query = self.current_query()
        self._search_generation += 1
        generation = self._search_generation
        self.status.setText(_("Buscando…"))

        def _done(found: list[dict[str, Any]]) -> None:
            if generation != self._search_generation or not shiboken6.isValid(self):
                return
            self.results.clear()
            for message in found:
                item = QListWidgetItem(message_text(message, self._profile_names))
                item.setData(ROLE_MESSAGE, message)
                self.results.addItem(item)
            self.status.setText(_("{n} resultado(s).").format(n=len(found)))

        self._tasks.submit(
            lambda: self._history.search(query),
            _done,
            lambda e: self._failed(generation, _("Busca indisponível (MongoDB offline?)"), e),
        )

    def _open_result(self, item: QListWidgetItem) -> None:
        message = item.data(ROLE_MESSAGE)
        if not isinstance(message, dict):
            return
        self.open_chat(
            str(message.get("profile_id")),
            str(message.get("chat_id")),
            name=message.get("chat_name") or message.get("notify_name"),
            phone=message.get("phone"),
            at_t=message.get("t"),
            focus_id=message.get("id"),
        )

    # -- export and erasure --------------------------------------------------------------------
    def ask_export(self, fmt: str) -> None:
        if self.profile_id is None or self.chat_id is None:
            return
        path, _filter = QFileDialog.getSaveFileName(
            self,
            _("Exportar histórico"),
            _("historico.{ext}").format(ext=fmt),
            f"{fmt.upper()} (*.{fmt})",
        )
        if path:
            self.export_to(Path(path), fmt)

    def export_to(self, path: Path, fmt: str) -> None:
        profile_id, chat_id = self.profile_id, self.chat_id
        assert profile_id is not None and chat_id is not None
        self.status.setText(_("Exportando…"))
        self._tasks.submit(
            lambda: self._history.export_chat(profile_id, chat_id, path, fmt=fmt),
            lambda n: self.status.setText(
                _("{n} mensagens exportadas para {file}.").format(n=n, file=path.name)
            ),
            lambda e: self._failed(None, _export_failed(e), e),
        )

    def ask_erase(self) -> None:
        if not self.phone:
            return
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle(_("Apagar contato"))
        box.setText(
            _(
                "Apagar TODAS as mensagens e dados do número {phone} de todos os "
                "perfis (MongoDB, cache e fila local)? Isto não pode ser desfeito."
            ).format(phone=display_phone(self.phone) or self.phone)
        )
        export_first = QCheckBox(_("Exportar para JSON antes de apagar"))
        export_first.setChecked(True)
        box.setCheckBox(export_first)
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        box.setDefaultButton(QMessageBox.StandardButton.No)
        if box.exec() != QMessageBox.StandardButton.Yes:
            return
        export_path: Path | None = None
        if export_first.isChecked():
            chosen, _filter = QFileDialog.getSaveFileName(
                self, _("Exportar antes de apagar"), _("contato.json"), "JSON (*.json)"
            )
            if not chosen:
                return
            export_path = Path(chosen)
        self.erase(export_path)

    def erase(self, export_path: Path | None) -> None:
        phone = self.phone
        assert phone is not None
        self.status.setText(_("Apagando…"))
        self.erase_button.setEnabled(False)

        def _work() -> ErasureReport:
            if export_path is not None:
                self._history.export_contact(phone, export_path)
            return self._history.erase_contact(phone, actor=self._actor)

        def _done(report: ErasureReport) -> None:
            if not shiboken6.isValid(self):
                return
            self.show_timeline([])
            self.results.clear()
            self.status.setText(
                _(
                    "Contato {phone} apagado: {messages} mensagens, {chats} conversas, "
                    "{pending} pendentes. Registrado na auditoria."
                ).format(
                    phone=display_phone(phone) or phone,
                    messages=report.messages,
                    chats=report.chats,
                    pending=report.journal_entries,
                )
            )

        def _error(error: BaseException) -> None:
            self._failed(
                None,
                _("Não foi possível apagar (MongoDB offline?). Nada foi dado como apagado."),
                error,
            )
            if shiboken6.isValid(self):
                self.erase_button.setEnabled(True)

        self._tasks.submit(_work, _done, _error)

    def _retention_edited(self) -> None:
        if self._on_retention_changed is not None:
            self._on_retention_changed(self.retention.value())

    def _failed(self, generation: int | None, text: str, error: BaseException) -> None:
        log.warning("history window: %s (%s)", text, type(error).__name__)
        if not shiboken6.isValid(self):
            return
        if generation is None or generation in (self._generation, self._search_generation):
            self.status.setText(text)
