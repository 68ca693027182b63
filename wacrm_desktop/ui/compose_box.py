"""A small compose box under the lead panel: put text into WhatsApp's composer, or send it.

Sending happens only on an explicit click of "Enviar", through WhatsApp's own send path (the
bridge's `send_text` command). While one send is pending the button stays disabled, so a double
click never sends twice; the page refuses a repeated request id as well.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..core.i18n import N_, _

MAX_TEXT_CHARS = 4096

# The page's typed errors (resources/js/wa_bridge.js), pt-BR sources (`error_text` translates).
ERRORS_PT: dict[str, str] = {
    "not_on_whatsapp": N_("Este número não está no WhatsApp."),
    "no_composer": N_("Abra uma conversa no WhatsApp antes de inserir o texto."),
    "bad_args": N_("Texto ou conversa inválidos."),
    "insert_failed": N_("Não foi possível inserir o texto no WhatsApp."),
    "unsupported_chat": N_("Este tipo de conversa não aceita envio por aqui."),
    "not_logged_in": N_("O WhatsApp deste perfil não está conectado."),
    "chat_not_found": N_("Não foi possível abrir a conversa com este número."),
    "bad_chat_id": N_("Número ou conversa inválidos."),
    "duplicate_request": N_("Este envio já foi feito."),
    "timeout": N_("O WhatsApp não respondeu. Confira a conversa antes de tentar de novo."),
    "no_chat": N_("Nenhuma conversa aberta."),
}


def error_text(code: str | None) -> str:
    """Text (app's language) for an error code from the page (unknown codes are named)."""
    if not code:
        return _("Falha desconhecida.")
    if code in ERRORS_PT:
        return _(ERRORS_PT[code])
    if code.startswith("missing:"):
        return _("Integração degradada: o WhatsApp mudou e o envio não está disponível.")
    return _("Falha no WhatsApp: {code}").format(code=code[:120])


class ComposeBox(QWidget):
    """Text field plus "Inserir no WhatsApp" and "Enviar"; the tab wires the signals to the page."""

    fillRequested = Signal(str)
    sendRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composeBox")
        self.text = QPlainTextEdit()
        self.text.setPlaceholderText(_("Mensagem para o contato aberto…"))
        self.text.setMaximumHeight(90)
        self.fill_button = QPushButton(_("Inserir no WhatsApp"))
        self.fill_button.setToolTip(
            _("Coloca o texto na caixa de mensagem do WhatsApp, sem enviar")
        )
        self.send_button = QPushButton(_("Enviar"))
        self.send_button.setToolTip(_("Envia agora pelo WhatsApp para a conversa aberta"))
        self.status = QLabel()
        self.status.setObjectName("composeStatus")
        self.status.setWordWrap(True)

        buttons = QHBoxLayout()
        buttons.addWidget(self.fill_button)
        buttons.addWidget(self.send_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.text)
        layout.addLayout(buttons)
        layout.addWidget(self.status)

        self.fill_button.clicked.connect(self._on_fill)
        self.send_button.clicked.connect(self._on_send)
        self._sending = False
        self._chat_open = False
        self.set_chat_open(False)

    # -- state from the tab ---------------------------------------------------------------------
    def set_chat_open(self, is_open: bool) -> None:
        self._chat_open = is_open
        self._update_buttons()

    def sending_started(self) -> None:
        self._sending = True
        self.status.setText(_("Enviando…"))
        self._update_buttons()

    def show_result(self, ok: bool, error: str | None, *, was_send: bool) -> None:
        """The page's answer to the last command."""
        if was_send:
            self._sending = False
        if ok:
            self.status.setText(
                _("Mensagem enviada.") if was_send else _("Texto inserido no WhatsApp.")
            )
            if was_send:
                self.text.clear()
        else:
            self.status.setText(error_text(error))
        self._update_buttons()

    # -- private --------------------------------------------------------------------------------
    def _current_text(self) -> str:
        return self.text.toPlainText().strip()

    def _update_buttons(self) -> None:
        self.fill_button.setEnabled(self._chat_open)
        self.send_button.setEnabled(self._chat_open and not self._sending)

    def _on_fill(self) -> None:
        text = self._current_text()
        if text:
            self.fillRequested.emit(text[:MAX_TEXT_CHARS])

    def _on_send(self) -> None:
        text = self._current_text()
        if not text or self._sending:
            return
        self.sending_started()
        self.sendRequested.emit(text[:MAX_TEXT_CHARS])
