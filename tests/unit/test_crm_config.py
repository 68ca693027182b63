"""CV CRM configuration: the address from a subdomain typed any way, and the token's keyring.

Kinds checked: a subdomain given as a full URL or host in settings.json (the dialog cleans
what it saves, a hand-edited file is not cleaned), and a machine without a usable OS keyring
(no backend, a D-Bus error, or only a backend that writes secrets to a plain file): the app
must say so, never crash, and never write the token to a file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import keyring.errors
import pytest
from keyring.backends import fail

from wacrm_desktop.adapters.secrets import SecretStore, SecretStoreUnavailable
from wacrm_desktop.core.leads import CrmNotConfigured
from wacrm_desktop.core.settings import Settings, normalize_subdomain

EMAIL = "ana@imob.example"
TOKEN = "tok-123456"


# --------------------------------------------------------------------------- address


@pytest.mark.parametrize(
    ("subdomain", "url"),
    [
        ("acme", "https://acme.cvcrm.com.br"),
        (" Acme ", "https://acme.cvcrm.com.br"),
        ("acme.cvcrm.com.br", "https://acme.cvcrm.com.br"),
        ("https://acme.cvcrm.com.br/", "https://acme.cvcrm.com.br"),
        ("https://ACME.cvcrm.com.br/gestor/comercial/leads", "https://acme.cvcrm.com.br"),
        ("http://acme.cvcrm.com.br", "https://acme.cvcrm.com.br"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_subdomain_typed_any_way_gives_the_tenant_url(subdomain: str, url: str) -> None:
    assert Settings(cvcrm_subdomain=subdomain).cvcrm_url == url


def test_base_url_is_trimmed_and_gets_a_scheme() -> None:
    assert Settings(cvcrm_base_url=" https://x.example/api/ ").cvcrm_url == "https://x.example/api"
    assert Settings(cvcrm_base_url="acme.cvcrm.com.br").cvcrm_url == "https://acme.cvcrm.com.br"
    assert Settings(cvcrm_base_url="http://127.0.0.1:8765/").cvcrm_url == "http://127.0.0.1:8765"
    # WACRM_CVCRM_URL set to the bare subdomain
    assert Settings(cvcrm_base_url=" Acme ").cvcrm_url == "https://acme.cvcrm.com.br"


def test_normalize_subdomain_lives_in_core_for_the_dialog_and_the_settings() -> None:
    assert normalize_subdomain("https://Empresa.cvcrm.com.br/gestor/") == "empresa"


# --------------------------------------------------------------------------- keyring


class _MemoryKeyring(keyring.backend.KeyringBackend):
    priority = 5  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.data.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.data[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.data:
            raise keyring.errors.PasswordDeleteError("absent")
        del self.data[(service, username)]


class _PlainFileKeyring(_MemoryKeyring):
    """Stands for keyrings.alt's PlaintextKeyring: it would write secrets to a file."""

    priority = 0.5  # type: ignore[assignment]


_PlainFileKeyring.__module__ = "keyrings.alt.file"


class _BrokenKeyring(_MemoryKeyring):
    """A Secret Service that fails with a non-keyring error (D-Bus, locked collection)."""

    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError(f"D-Bus refused {password}")

    def delete_password(self, service: str, username: str) -> None:
        raise RuntimeError("D-Bus refused")


@pytest.fixture
def use_keyring() -> Iterator[object]:
    original = keyring.get_keyring()

    def _use(backend: keyring.backend.KeyringBackend) -> keyring.backend.KeyringBackend:
        keyring.set_keyring(backend)
        return backend

    yield _use
    keyring.set_keyring(original)


def test_working_keyring_round_trip(use_keyring: object) -> None:
    backend = use_keyring(_MemoryKeyring())  # type: ignore[operator]
    store = SecretStore()
    store.set_cvcrm_token(f"  {EMAIL.upper()} ", TOKEN)
    assert store.cvcrm_token(EMAIL) == TOKEN
    assert store.unavailable_reason() is None
    store.set_cvcrm_token(EMAIL, None)
    assert store.cvcrm_token(EMAIL) is None and backend.data == {}
    store.set_mongodb_uri(None)  # deleting what is not there is fine


def test_no_keyring_backend(use_keyring: object) -> None:
    use_keyring(fail.Keyring())  # type: ignore[operator]
    store = SecretStore()
    assert store.cvcrm_token(EMAIL) is None
    reason = store.unavailable_reason()
    assert reason is not None and "cofre" in reason
    # Saving the settings without any secret must still work (nothing to delete).
    store.set_mongodb_uri(None)
    store.set_redis_url(None)
    store.set_cvcrm_token(EMAIL, None)
    with pytest.raises(SecretStoreUnavailable) as info:
        store.set_cvcrm_token(EMAIL, TOKEN)
    assert "cofre" in str(info.value) and TOKEN not in str(info.value)


def test_backend_errors_of_any_kind_are_a_clear_error(use_keyring: object) -> None:
    use_keyring(_BrokenKeyring())  # type: ignore[operator]
    store = SecretStore()
    assert store.cvcrm_token(EMAIL) is None
    with pytest.raises(SecretStoreUnavailable) as info:
        store.set_cvcrm_token(EMAIL, TOKEN)
    assert TOKEN not in str(info.value) and info.value.__cause__ is None
    store.set_redis_url(None)  # a failed delete of nothing does not block saving


def test_a_backend_that_writes_files_is_never_used(use_keyring: object) -> None:
    plain = use_keyring(_PlainFileKeyring())  # type: ignore[operator]
    store = SecretStore()
    with pytest.raises(SecretStoreUnavailable):
        store.set_cvcrm_token(EMAIL, TOKEN)
    assert plain.data == {}
    assert store.cvcrm_token(EMAIL) is None
    assert store.unavailable_reason() is not None


def test_app_says_the_keyring_is_missing_instead_of_not_configured(
    use_keyring: object, tmp_path: Path
) -> None:
    from wacrm_desktop.app import Options, WacrmApp

    use_keyring(fail.Keyring())  # type: ignore[operator]
    env = {"WACRM_CVCRM_URL": "https://acme.cvcrm.com.br", "WACRM_CVCRM_EMAIL": EMAIL}
    app = WacrmApp(Options(data_dir=tmp_path, env=env))
    with pytest.raises(CrmNotConfigured) as info:
        app._crm_client()
    assert "cofre" in info.value.message and "WACRM_CVCRM_TOKEN" in info.value.message
    # With the documented environment variable, no keyring is needed.
    app = WacrmApp(Options(data_dir=tmp_path, env={**env, "WACRM_CVCRM_TOKEN": TOKEN}))
    assert app._crm_client() is not None
    assert not any(
        TOKEN in p.read_text(errors="ignore") for p in tmp_path.rglob("*") if p.is_file()
    )
