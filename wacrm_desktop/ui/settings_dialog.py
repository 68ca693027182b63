"""Configurações: CV CRM credentials (token into the OS keyring), MongoDB and Redis addresses,
the lead panel's defaults and the app's language (applied at the next start).

The dialog only collects values; saving and testing are callbacks from the composition root,
run off the UI thread.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..core.i18n import DEFAULT_LANGUAGE, LANGUAGES, _, normalize_language
from ..core.settings import (
    DEFAULT_MONGODB_DB,
    ENV_LANGUAGE,
    mongodb_db_problem,
    normalize_subdomain,
)
from .origin_combo import OriginCombo
from .tasks import TaskRunner

__all__ = ["SettingsDialog", "SettingsValues", "normalize_subdomain", "subdomain_problem"]


@dataclass(frozen=True, slots=True)
class SettingsValues:
    cvcrm_subdomain: str
    cvcrm_email: str
    cvcrm_token: str  # empty = keep the stored one
    mongodb_uri: str  # empty = embedded database
    redis_url: str  # empty = in-process cache
    lead_origin: str = "CH"
    lead_media: str = ""
    lead_cache_ttl_minutes: int = 10
    quick_replies: list[str] = field(default_factory=list)
    language: str = DEFAULT_LANGUAGE  # core.i18n.LANGUAGES code; applied at the next start
    mongodb_db: str = DEFAULT_MONGODB_DB  # MongoDB database name; applied at the next start


_SUBDOMAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def subdomain_problem(text: str) -> str | None:
    """Why a subdomain is unusable (app's language), or None."""
    value = normalize_subdomain(text)
    if not value:
        return _("Informe o subdomínio do CV CRM (a parte antes de .cvcrm.com.br).")
    if not _SUBDOMAIN_RE.match(value):
        return _("Subdomínio inválido: “{value}”.").format(value=value)
    return None


class SettingsDialog(QDialog):
    """Modal dialog; `saved` is only called after the user pressed Salvar."""

    def __init__(
        self,
        initial: SettingsValues,
        *,
        tasks: TaskRunner,
        test_connection: Callable[[SettingsValues], str],
        save: Callable[[SettingsValues], None],
        token_stored: bool,
        needs_subdomain: bool = True,
        language_override: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """`language_override`: the value of WACRM_LANGUAGE when set (it beats the setting)."""
        super().__init__(parent)
        self._needs_subdomain = needs_subdomain  # False when an explicit URL is configured
        self.setWindowTitle(_("Configurações"))
        self.setMinimumWidth(560)
        self._tasks = tasks
        self._test_connection = test_connection
        self._save = save

        # Placeholders stay short enough to be read whole; the details are in the tooltips.
        self.subdomain = QLineEdit(initial.cvcrm_subdomain)
        self.subdomain.setObjectName("subdomain")
        self.subdomain.setPlaceholderText(_("minhaempresa"))
        self.subdomain.setToolTip(
            _("A parte antes de .cvcrm.com.br: “minhaempresa” para minhaempresa.cvcrm.com.br.")
        )
        self.email = QLineEdit(initial.cvcrm_email)
        self.email.setObjectName("email")
        self.token = QLineEdit()
        self.token.setObjectName("token")
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText(
            _("guardado — deixe vazio para manter") if token_stored else _("token da API do CV")
        )
        self.token.setToolTip(
            _(
                "Token da interface Lead do CV CRM (CV → Configurações → Integrações → APIs). "
                "Fica no cofre de senhas do sistema; vazio mantém o token já guardado."
            )
        )
        self.mongodb_uri = QLineEdit(initial.mongodb_uri)
        self.mongodb_uri.setObjectName("mongodbUri")
        self.mongodb_uri.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)
        self.mongodb_uri.setPlaceholderText(_("vazio = banco embutido"))
        self.mongodb_uri.setToolTip(
            _(
                "Endereço de um MongoDB (mongodb:// ou mongodb+srv://). Vazio = o banco "
                "embutido, guardado neste computador."
            )
        )
        self.redis_url = QLineEdit(initial.redis_url)
        self.redis_url.setObjectName("redisUrl")
        self.redis_url.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)
        self.redis_url.setPlaceholderText(_("vazio = cache na memória"))
        self.redis_url.setToolTip(
            _("Endereço de um Redis (redis://…). Vazio = cache na memória do app.")
        )

        self.lead_origin = OriginCombo(initial.lead_origin)
        self.lead_origin.setObjectName("leadOrigin")
        self.lead_origin.setToolTip(
            _(
                "Código de origem do CV CRM para leads criados pelo app (2 letras; CH = Chat). "
                "Confira a lista do seu CV CRM: não há um código documentado para WhatsApp."
            )
        )
        self.lead_media = QLineEdit(initial.lead_media)
        self.lead_media.setObjectName("leadMedia")
        self.lead_media.setPlaceholderText(_("vazio = sem mídia"))
        self.lead_media.setToolTip(
            _(
                "Mídia do CV CRM para leads criados pelo app. Vazio = sem mídia; um nome que o "
                "CV CRM não conhece cria uma mídia nova."
            )
        )
        self.lead_ttl = QSpinBox()
        self.lead_ttl.setObjectName("leadTtl")
        self.lead_ttl.setRange(1, 24 * 60)
        self.lead_ttl.setSuffix(_(" min"))
        self.lead_ttl.setValue(max(1, initial.lead_cache_ttl_minutes))
        self.quick_replies = QPlainTextEdit("\n".join(initial.quick_replies))
        self.quick_replies.setObjectName("quickReplies")
        self.quick_replies.setPlaceholderText(
            _(
                "Uma resposta por linha. Variáveis: {nome} {primeiro_nome} {empreendimento} "
                "{corretor} {imobiliaria} {gestor} {situacao}"
            )
        )
        self.quick_replies.setMaximumHeight(100)
        lead_form = QFormLayout()
        lead_form.addRow(_("Origem de leads criados:"), self.lead_origin)
        lead_form.addRow(_("Mídia de leads criados:"), self.lead_media)
        lead_form.addRow(_("Validade do cache do lead:"), self.lead_ttl)
        lead_form.addRow(_("Respostas rápidas:"), self.quick_replies)
        lead_group = QGroupBox(_("Painel do lead"))
        lead_group.setLayout(lead_form)

        self.mongodb_db = QLineEdit(initial.mongodb_db)
        self.mongodb_db.setObjectName("mongodbDb")
        self.mongodb_db.setPlaceholderText(DEFAULT_MONGODB_DB)
        self.mongodb_db.setToolTip(
            _(
                "Nome do banco de dados no MongoDB (o mesmo para todo o time). Letras, números, "
                "_ ou -; vale a partir da próxima abertura do app."
            )
        )

        form = QFormLayout()
        form.addRow(_("Subdomínio do CV CRM:"), self.subdomain)
        form.addRow(_("E-mail do usuário CV:"), self.email)
        form.addRow(_("Token:"), self.token)
        form.addRow(_("MongoDB (URI):"), self.mongodb_uri)
        form.addRow(_("Banco do MongoDB:"), self.mongodb_db)
        form.addRow(_("Redis (URL):"), self.redis_url)

        # Language: names in their own language, so anyone finds theirs; applied at next start.
        self.language = QComboBox()
        self.language.setObjectName("language")
        for code, name in LANGUAGES.items():
            self.language.addItem(name, code)
        wanted = normalize_language(initial.language) or DEFAULT_LANGUAGE
        self.language.setCurrentIndex(max(0, self.language.findData(wanted)))
        language_note = _("O idioma muda na próxima vez que o app for aberto.")
        if language_override:
            language_note += " " + _(
                "A variável de ambiente {env}={value} está definida e tem precedência."
            ).format(env=ENV_LANGUAGE, value=language_override)
        self.language_note = QLabel(language_note)
        self.language_note.setObjectName("languageNote")
        self.language_note.setWordWrap(True)
        language_form = QFormLayout()
        language_form.addRow(_("Idioma / Language:"), self.language)
        language_form.addRow(self.language_note)

        self.test_button = QPushButton(_("Testar conexão"))
        self.test_button.clicked.connect(self._on_test)
        self.result = QLabel()
        self.result.setObjectName("testResult")
        self.result.setWordWrap(True)
        note = QLabel(
            _(
                "Segredos (token, URIs com senha) ficam no cofre de senhas do sistema, nunca em "
                "arquivos. Mudanças de MongoDB e Redis valem a partir da próxima abertura do app."
            )
        )
        note.setWordWrap(True)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Save).setText(_("Salvar"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("Cancelar"))
        buttons.accepted.connect(self._on_save)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.test_button)
        layout.addWidget(self.result)
        layout.addWidget(lead_group)
        layout.addLayout(language_form)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def values(self) -> SettingsValues:
        replies = [line.strip() for line in self.quick_replies.toPlainText().splitlines()]
        return SettingsValues(
            cvcrm_subdomain=normalize_subdomain(self.subdomain.text()),
            cvcrm_email=self.email.text().strip(),
            cvcrm_token=self.token.text().strip(),
            mongodb_uri=self.mongodb_uri.text().strip(),
            mongodb_db=self.mongodb_db.text().strip(),
            redis_url=self.redis_url.text().strip(),
            lead_origin=self.lead_origin.code(),
            lead_media=self.lead_media.text().strip(),
            lead_cache_ttl_minutes=self.lead_ttl.value(),
            quick_replies=[r for r in replies if r],
            language=str(self.language.currentData() or DEFAULT_LANGUAGE),
        )

    def _on_test(self) -> None:
        values = self.values()
        problem = subdomain_problem(self.subdomain.text()) if self._needs_subdomain else None
        if problem is None and "@" not in values.cvcrm_email:
            problem = _("Informe o e-mail do usuário do CV CRM dono do token.")
        if problem is not None:
            self.result.setText(f"⚠ {problem}")
            return
        self.test_button.setEnabled(False)
        self.result.setText(_("Testando…"))

        def _done(message: str) -> None:
            self.test_button.setEnabled(True)
            self.result.setText(message)

        def _failed(error: BaseException) -> None:
            self.test_button.setEnabled(True)
            self.result.setText(f"⚠ {error}")

        self._tasks.submit(lambda: self._test_connection(values), _done, _failed)

    def _on_save(self) -> None:
        values = self.values()
        problem = mongodb_db_problem(values.mongodb_db)
        if problem is not None:  # settings.json would fall back to the default: say it now
            self.result.setText(f"⚠ {problem}")
            self.mongodb_db.setFocus()
            return

        def _failed(error: BaseException) -> None:
            # keyring missing, disk full: say it and keep the dialog open
            self.result.setText(_("⚠ Não foi possível salvar: {error}").format(error=error))

        # Keyring writes can block on D-Bus: off the UI thread.
        self._tasks.submit(lambda: self._save(values), lambda _r: self.accept(), _failed)
