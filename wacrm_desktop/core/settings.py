"""Where state lives and how the app is configured (files, environment, keyring names).

Precedence, highest first: command-line flags, environment variables (for unattended runs),
the settings file under the data dir, built-in defaults. Secrets never come from the settings
file: they come from the OS keyring, or from environment variables (documented as less safe).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

log = logging.getLogger("wacrm.config")

APP_NAME = "wacrm-desktop"
KEYRING_SERVICE = "wacrm-desktop"
KEYRING_CVCRM_TOKEN = "cvcrm-token"  # username part: the CV CRM e-mail
KEYRING_MONGODB_URI = "mongodb-uri"  # a URI may carry a password
KEYRING_REDIS_URL = "redis-url"
DEFAULT_WHATSAPP_URL = "https://web.whatsapp.com/"

# Environment variables read at start (see README "Configuração").
ENV_MONGODB_URI = "WACRM_MONGODB_URI"
ENV_REDIS_URL = "WACRM_REDIS_URL"
ENV_CVCRM_URL = "WACRM_CVCRM_URL"
ENV_CVCRM_EMAIL = "WACRM_CVCRM_EMAIL"
ENV_CVCRM_TOKEN = "WACRM_CVCRM_TOKEN"
ENV_LANGUAGE = "WACRM_LANGUAGE"  # "pt_BR" or "en"; overrides settings.json `language`


@dataclass(frozen=True, slots=True)
class Paths:
    """Every folder the app writes to; with --data-dir all of them sit under one folder."""

    data_dir: Path
    cache_dir: Path
    log_dir: Path

    @property
    def settings_file(self) -> Path:
        return self.data_dir / "settings.json"

    @property
    def profiles_file(self) -> Path:
        return self.data_dir / "profiles.json"

    @property
    def embedded_db_dir(self) -> Path:
        return self.data_dir / "embedded-mongodb"

    def profile_storage(self, profile_id: str) -> Path:
        return self.data_dir / "profiles" / profile_id / "webengine"

    def profile_cache(self, profile_id: str) -> Path:
        return self.cache_dir / "profiles" / profile_id

    def journal_dir(self) -> Path:
        return self.data_dir / "journal"

    @classmethod
    def resolve(cls, data_dir: Path | None) -> Paths:
        """Platform folders (platformdirs) by default, or everything under `data_dir`."""
        if data_dir is not None:
            root = data_dir.expanduser().resolve()
            return cls(data_dir=root, cache_dir=root / "cache", log_dir=root / "logs")
        import platformdirs

        return cls(
            data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            cache_dir=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
            log_dir=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
        )

    def ensure(self) -> None:
        for path in (self.data_dir, self.cache_dir, self.log_dir):
            path.mkdir(parents=True, exist_ok=True)


CVCRM_DOMAIN = ".cvcrm.com.br"


def normalize_subdomain(text: str) -> str:
    """'empresa', 'empresa.cvcrm.com.br' or 'https://Empresa.cvcrm.com.br/gestor' → 'empresa'.

    Used by the settings dialog and by `Settings.cvcrm_url`, so a hand-edited settings.json
    with a full address still gives the tenant's URL.
    """
    value = (text or "").strip().lower()
    value = re.sub(r"^[a-z][a-z0-9+.\-]*://", "", value).split("/", 1)[0].strip(".")
    if value.endswith(CVCRM_DOMAIN):
        value = value[: -len(CVCRM_DOMAIN)]
    return value


# Bounds of numeric settings; a value outside falls back to the default with a warning.
_INT_RANGES: dict[str, tuple[int | None, int | None]] = {
    "lead_cache_ttl_seconds": (60, 7 * 86400),
    "recent_messages_limit": (10, 5000),
    "lead_conversation_messages": (1, 500),
    "lead_prefetch_interval_ms": (100, 60_000),
    "history_retention_days": (0, 36_500),
}


@dataclass(frozen=True, slots=True)
class Settings:
    """Non-secret settings kept in settings.json."""

    language: str = "pt_BR"  # core.i18n.LANGUAGES; applied at start (env WACRM_LANGUAGE wins)
    mongodb_db: str = "wacrm"
    cvcrm_subdomain: str = ""
    cvcrm_base_url: str = ""  # overrides the subdomain (used by --demo and tests)
    cvcrm_email: str = ""
    phone_region: str = "BR"
    lead_cache_ttl_seconds: int = 600
    # Lead panel (issue 4). Origem is a CV CRM 2-letter code ([single] list: CH = Chat; there
    # is no documented WhatsApp code); mídia is a slug (an unknown one creates a new media).
    cvcrm_lead_origin: str = "CH"
    cvcrm_lead_media: str = ""
    cvcrm_lead_url_template: str = ""  # empty = adapters.cvcrm.DEFAULT_LEAD_URL_TEMPLATE
    lead_quick_replies: list[str] = field(default_factory=list)  # empty = built-in examples
    lead_conversation_messages: int = 20
    lead_prefetch_interval_ms: int = 400
    recent_messages_limit: int = 200
    capture_status_and_newsletters: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def cvcrm_url(self) -> str:
        """Base URL of the CV CRM API: the explicit one, else https://<subdomain>.cvcrm.com.br."""
        base = self.cvcrm_base_url.strip().rstrip("/")
        if base and re.fullmatch(r"[A-Za-z0-9-]+", base):  # a bare subdomain given as the URL
            return f"https://{base.lower()}{CVCRM_DOMAIN}"
        if base:
            return base if "://" in base else f"https://{base}"
        subdomain = normalize_subdomain(self.cvcrm_subdomain)
        return f"https://{subdomain}{CVCRM_DOMAIN}" if subdomain else ""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Settings:
        """Lenient: unknown keys go to `extra`, values of the wrong type fall back to defaults."""
        known = {f.name: f for f in fields(cls) if f.name != "extra"}
        kwargs: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        defaults = cls()
        for key, value in data.items():
            if key in known:
                default = getattr(defaults, key)
                if isinstance(value, type(default)) and not (
                    isinstance(value, bool) and not isinstance(default, bool)
                ):
                    low, high = _INT_RANGES.get(key, (None, None))
                    if (
                        isinstance(value, int)
                        and not isinstance(value, bool)
                        and (
                            (low is not None and value < low) or (high is not None and value > high)
                        )
                    ):
                        log.warning(
                            "settings: %s out of range [%s, %s]; default kept", key, low, high
                        )
                        continue
                    kwargs[key] = value
                else:
                    log.warning("settings: ignoring %s of the wrong type", key)
            elif key != "extra":
                extra[key] = value
        return cls(**kwargs, extra=extra)

    def to_mapping(self) -> dict[str, Any]:
        data = asdict(self)
        extra = data.pop("extra")
        data.update(extra)
        return data


def load_settings(path: Path) -> Settings:
    """Read settings.json; a missing or broken file gives defaults (a broken one is kept aside)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError) as exc:
        backup = path.with_suffix(".broken.json")
        log.error("settings file unreadable (%s); using defaults, kept as %s", exc, backup.name)
        with contextlib.suppress(OSError):
            path.replace(backup)
        return Settings()
    if not isinstance(raw, dict):
        return Settings()
    return Settings.from_mapping(raw)


def stored_language(path: Path) -> str | None:
    """settings.json's `language`, read without side effects (None when absent or unreadable).

    For the command line's own texts, before anything else runs; `load_settings` (which sets
    a broken file aside) is what the app uses.
    """
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = raw.get("language") if isinstance(raw, dict) else None
    return value if isinstance(value, str) else None


def save_settings(path: Path, settings: Settings) -> None:
    atomic_write_json(path, settings.to_mapping())


def atomic_write_json(path: Path, data: Any) -> None:
    """Write JSON so a crash leaves either the old or the new file, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True, slots=True)
class RuntimeConfig:
    """Settings after environment overrides, plus where each secret came from."""

    settings: Settings
    mongodb_uri: str | None
    redis_url: str | None
    cvcrm_token_from_env: str | None

    @classmethod
    def build(cls, settings: Settings, env: Mapping[str, str] | None = None) -> RuntimeConfig:
        env = os.environ if env is None else env
        if env.get(ENV_CVCRM_URL):
            settings = replace(settings, cvcrm_base_url=env[ENV_CVCRM_URL])
        if env.get(ENV_CVCRM_EMAIL):
            settings = replace(settings, cvcrm_email=env[ENV_CVCRM_EMAIL])
        if env.get(ENV_LANGUAGE, "").strip():
            settings = replace(settings, language=env[ENV_LANGUAGE].strip())
        return cls(
            settings=settings,
            mongodb_uri=env.get(ENV_MONGODB_URI) or None,
            redis_url=env.get(ENV_REDIS_URL) or None,
            cvcrm_token_from_env=env.get(ENV_CVCRM_TOKEN) or None,
        )
