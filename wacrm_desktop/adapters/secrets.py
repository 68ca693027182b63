"""Secrets in the OS keyring (Windows Credential Manager, macOS Keychain, Secret Service).

Never in a file, never in a log. When no keyring backend exists (a bare Linux box), reads return
None and writes raise `SecretStoreUnavailable` with a message the settings dialog shows.
"""

from __future__ import annotations

import contextlib
import logging

import keyring
import keyring.errors

from ..core.settings import (
    KEYRING_CVCRM_TOKEN,
    KEYRING_MONGODB_URI,
    KEYRING_REDIS_URL,
    KEYRING_SERVICE,
)

log = logging.getLogger("wacrm.secrets")


class SecretStoreUnavailable(RuntimeError):
    """No usable OS keyring."""


class SecretStore:
    """Typed access to the app's keyring entries."""

    def __init__(self, service: str = KEYRING_SERVICE) -> None:
        self._service = service

    def _get(self, name: str) -> str | None:
        try:
            return keyring.get_password(self._service, name)
        except keyring.errors.KeyringError as exc:
            log.warning("keyring unavailable: %s", type(exc).__name__)
            return None
        except Exception as exc:  # D-Bus and backend errors come in many shapes
            log.warning("keyring read failed: %s", type(exc).__name__)
            return None

    def _set(self, name: str, value: str | None) -> None:
        try:
            if value:
                keyring.set_password(self._service, name, value)
            else:
                with contextlib.suppress(keyring.errors.PasswordDeleteError):
                    keyring.delete_password(self._service, name)
        except keyring.errors.KeyringError as exc:
            raise SecretStoreUnavailable(
                "Nenhum cofre de senhas do sistema está disponível para guardar o segredo."
            ) from exc

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
