"""Configurações: CV CRM credentials (token into the OS keyring), MongoDB and Redis addresses.

The dialog only collects values; saving and testing are callbacks from the composition root,
run off the UI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .tasks import TaskRunner


@dataclass(frozen=True, slots=True)
class SettingsValues:
    cvcrm_subdomain: str
    cvcrm_email: str
    cvcrm_token: str  # empty = keep the stored one
    mongodb_uri: str  # empty = embedded database
    redis_url: str  # empty = in-process cache


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
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Configurações")
        self.setMinimumWidth(520)
        self._tasks = tasks
        self._test_connection = test_connection
        self._save = save

        self.subdomain = QLineEdit(initial.cvcrm_subdomain)
        self.subdomain.setPlaceholderText("minhaempresa  (de minhaempresa.cvcrm.com.br)")
        self.email = QLineEdit(initial.cvcrm_email)
        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText(
            "guardado no cofre do sistema — deixe vazio para manter"
            if token_stored
            else "token da interface Lead (CV → Configurações → Integrações → APIs)"
        )
        self.mongodb_uri = QLineEdit(initial.mongodb_uri)
        self.mongodb_uri.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)
        self.mongodb_uri.setPlaceholderText("vazio = banco embutido neste computador")
        self.redis_url = QLineEdit(initial.redis_url)
        self.redis_url.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)
        self.redis_url.setPlaceholderText("vazio = cache na memória do app")

        form = QFormLayout()
        form.addRow("Subdomínio do CV CRM:", self.subdomain)
        form.addRow("E-mail do usuário CV:", self.email)
        form.addRow("Token:", self.token)
        form.addRow("MongoDB (URI):", self.mongodb_uri)
        form.addRow("Redis (URL):", self.redis_url)

        self.test_button = QPushButton("Testar conexão")
        self.test_button.clicked.connect(self._on_test)
        self.result = QLabel()
        self.result.setObjectName("testResult")
        self.result.setWordWrap(True)
        note = QLabel(
            "Segredos (token, URIs com senha) ficam no cofre de senhas do sistema, nunca em "
            "arquivos. Mudanças de MongoDB e Redis valem a partir da próxima abertura do app."
        )
        note.setWordWrap(True)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Save).setText("Salvar")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Cancelar")
        buttons.accepted.connect(self._on_save)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.test_button)
        layout.addWidget(self.result)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def values(self) -> SettingsValues:
        return SettingsValues(
            cvcrm_subdomain=self.subdomain.text().strip(),
            cvcrm_email=self.email.text().strip(),
            cvcrm_token=self.token.text().strip(),
            mongodb_uri=self.mongodb_uri.text().strip(),
            redis_url=self.redis_url.text().strip(),
        )

    def _on_test(self) -> None:
        self.test_button.setEnabled(False)
        self.result.setText("Testando…")
        values = self.values()

        def _done(message: str) -> None:
            self.test_button.setEnabled(True)
            self.result.setText(message)

        def _failed(error: BaseException) -> None:
            self.test_button.setEnabled(True)
            self.result.setText(f"⚠ {error}")

        self._tasks.submit(lambda: self._test_connection(values), _done, _failed)

    def _on_save(self) -> None:
        values = self.values()

        def _failed(error: BaseException) -> None:
            # keyring missing, disk full: say it and keep the dialog open
            self.result.setText(f"⚠ Não foi possível salvar: {error}")

        # Keyring writes can block on D-Bus: off the UI thread.
        self._tasks.submit(lambda: self._save(values), lambda _r: self.accept(), _failed)
