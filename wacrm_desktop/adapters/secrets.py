"""Secrets in the OS keyring (Windows Credential Manager, macOS Keychain, Secret Service).

Never in a file, never in a log. When no keyring backend exists (a bare Linux box), a backend
fails (D-Bus down, locked collection), or the only backend would write secrets to a file
(keyrings.alt's plaintext/"encrypted" file keyrings), reads return None, `unavailable_reason`
says why in pt-BR, and writes raise `SecretStoreUnavailable` with that text. Deleting an
entry that cannot exist (no keyring) is not an error, so the settings can be saved without
any secret on such a machine.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import keyring
import keyring.errors

from ..core.i18n import N_, _
from ..core.settings import (
    ENV_CVCRM_TOKEN,
    KEYRING_CVCRM_TOKEN,
    KEYRING_MONGODB_URI,
    KEYRING_REDIS_URL,
    KEYRING_SERVICE,
)

log = logging.getLogger("wacrm.secrets")

# pt-BR sources: `_no_keyring()` and `_(MSG_KEYRING_FAILED)` give them in the app's language.
MSG_NO_KEYRING = N_(
    "Nenhum cofre de senhas do sistema está disponível para guardar o token (no Linux: "
    "GNOME Keyring/KWallet com o Secret Service). O token nunca é gravado em arquivo; "
    "para uso sem cofre, defina a variável de ambiente {env}."
)
MSG_KEYRING_FAILED = N_(
    "O cofre de senhas do sistema recusou o acesso (bloqueado ou indisponível); "
    "desbloqueie-o e tente de novo."
)


def _no_keyring() -> str:
    return _(MSG_NO_KEYRING).format(env=ENV_CVCRM_TOKEN)


class SecretStoreUnavailable(RuntimeError):
    """No usable OS keyring."""


def _writes_files(backend: Any) -> bool:
    """True for backends that are no OS keyring: none at all, or secrets in a file."""
    module = type(backend).__module__ or ""
    return (
        module.startswith("keyrings.alt")  # PlaintextKeyring, EncryptedKeyring, …
        or module in ("keyring.backends.fail", "keyring.backends.null")
        or float(getattr(backend, "priority", 0) or 0) <= 0
    )


def _backend() -> Any | None:
    """The keyring backend to use, or None when there is no safe one.

    A chainer backend tries its members in turn and would fall back to a file keyring when
    the OS one fails; only its safe members are kept (the first one is used).
    """
    try:
        current = keyring.get_keyring()
    except Exception as exc:  # a broken keyring configuration
        log.warning("keyring unavailable: %s", type(exc).__name__)
        return None
    members = list(getattr(current, "backends", None) or [current])
    safe = [b for b in members if not _writes_files(b)]
    if not safe:
        return None
    return current if len(safe) == len(members) else safe[0]


class SecretStore:
    """Typed access to the app's keyring entries."""

    def __init__(self, service: str = KEYRING_SERVICE) -> None:
        self._service = service
        self._last_problem: str | None = None
        self._said_no_backend = False  # said once: every read would repeat it

    def unavailable_reason(self) -> str | None:
        """Text (app's language) when secrets cannot be read/written here; None when it works."""
        if _backend() is None:
            return _no_keyring()
        return self._last_problem

    def _get(self, name: str) -> str | None:
        backend = _backend()
        if backend is None:
            if not self._said_no_backend:
                self._said_no_backend = True
                log.warning("keyring unavailable: no OS keyring backend")
            return None
        try:
            value = backend.get_password(self._service, name)
        except Exception as exc:  # KeyringError, D-Bus and backend errors come in many shapes
            log.warning("keyring read failed: %s", type(exc).__name__)
            self._last_problem = _(MSG_KEYRING_FAILED)
            return None
        self._last_problem = None
        return value if isinstance(value, str) and value else None

    def _set(self, name: str, value: str | None) -> None:
        backend = _backend()
        if backend is None:
            if value:
                raise SecretStoreUnavailable(_no_keyring())
            return  # nothing can be stored, so there is nothing to delete
        if not value:
            try:
                with contextlib.suppress(keyring.errors.PasswordDeleteError):
                    backend.delete_password(self._service, name)
            except Exception as exc:  # deleting what cannot be read: log, do not block saving
                log.warning("keyring delete failed: %s", type(exc).__name__)
            return
        try:
            backend.set_password(self._service, name, value)
        except Exception as exc:
            # The exception text may quote what was being stored: never chain or show it.
            log.warning("keyring write failed: %s", type(exc).__name__)
            self._last_problem = _(MSG_KEYRING_FAILED)
            raise SecretStoreUnavailable(self._last_problem) from None
        self._last_problem = None

    def cvcrm_token(self, email: str) -> str | None:
        return self._get(f"{KEYRING_CVCRM_TOKEN}:{email.strip().lower()}") if email else None

    def set_cvcrm_token(self, email: str, token: str | None) -> None:
        self._set(f"{KEYRING_CVCRM_TOKEN}:{email.strip().lower()}", token)

    def mongodb_uri(self) -> str | None:
        return self._get(KEYRING_MONGODB_URI)

    def set_mongodb_uri(self, uri: str | None) -> None:
        self._set(KEYRING_MONGODB_URI, uri)

    def redis_url(self) -> str | None:
        return self._get(KEYRING_REDIS_URL)

    def set_redis_url(self, url: str | None) -> None:
        self._set(KEYRING_REDIS_URL, url)
