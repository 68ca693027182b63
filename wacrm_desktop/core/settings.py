"""Where state lives and how the app is configured (files, environment, keyring names).

Precedence, highest first: command-line flags, environment variables (for unattended runs),
the settings file under the data dir, built-in defaults. Secrets never come from the settings
file: they come from the OS keyring, or from environment variables (documented as less safe).
"""

from __future__ import annotations

import json
import logging
import os
import re
import string
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .i18n import _, normalize_language

log = logging.getLogger("wacrm.config")

APP_NAME = "wacrm-desktop"
KEYRING_SERVICE = "wacrm-desktop"
KEYRING_CVCRM_TOKEN = "cvcrm-token"  # username part: the CV CRM e-mail
KEYRING_MONGODB_URI = "mongodb-uri"  # a URI may carry a password
KEYRING_REDIS_URL = "redis-url"
DEFAULT_WHATSAPP_URL = "https://web.whatsapp.com/"
DEFAULT_MONGODB_DB = "wacrm"

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
# `history_retention_days` is no field (it lives in `extra`, read by the history window) but
# is checked the same way: `true` would otherwise read as 1 day.
_INT_RANGES: dict[str, tuple[int | None, int | None]] = {
    "lead_cache_ttl_seconds": (60, 7 * 86400),
    "recent_messages_limit": (10, 5000),
    "lead_conversation_messages": (1, 500),
    "lead_prefetch_interval_ms": (100, 60_000),
    "history_retention_days": (0, 36_500),
}

# MongoDB database names: not empty, < 64 bytes, none of these characters. "/\\. \"$" and NUL
# are refused everywhere; "*<>:|?" only on Windows servers, but the app (and its embedded
# database) runs on Windows too, so they are refused everywhere as well.
_DB_NAME_FORBIDDEN = '/\\. "$*<>:|?\x00'
DB_NAME_MAX_BYTES = 63
_SUBDOMAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def _db_name_issue(name: str) -> str | None:
    """Why `name` is no MongoDB database name, in English for the log; None when fine."""
    if not name:
        return "empty"
    bad = next((ch for ch in name if ch in _DB_NAME_FORBIDDEN), None)
    if bad is not None:
        return f"contains {bad!r}"
    if len(name.encode("utf-8")) > DB_NAME_MAX_BYTES:
        return f"longer than {DB_NAME_MAX_BYTES} bytes"
    return None


def mongodb_db_problem(name: str) -> str | None:
    """Why `name` cannot be the MongoDB database (the user's language), or None.

    For the settings dialog; `Settings.from_mapping` applies the same rule to settings.json.
    """
    name = name.strip()
    if not name:
        return _("Informe o nome do banco do MongoDB (por exemplo, wacrm).")
    bad = next((ch for ch in name if ch in _DB_NAME_FORBIDDEN), None)
    if bad is not None:
        shown = {" ": _("espaço"), "\x00": "NUL"}.get(bad, bad)
        return _(
            "O nome do banco do MongoDB não pode ter “{char}”; use letras, números, _ ou -."
        ).format(char=shown)
    if len(name.encode("utf-8")) > DB_NAME_MAX_BYTES:
        return _(
            "O nome do banco do MongoDB é longo demais: no máximo {n} bytes "
            "(uma letra acentuada conta 2)."
        ).format(n=DB_NAME_MAX_BYTES)
    return None


def _clean_mongodb_db(value: str) -> str:
    name = value.strip()
    issue = _db_name_issue(name)
    if issue is not None:
        raise ValueError(f"{value!r} is no MongoDB database name ({issue})")
    return name


def _clean_language(value: str) -> str:
    code = normalize_language(value)
    if code is None:
        raise ValueError(f"unknown language {value!r}")
    return code


def _clean_region(value: str) -> str:
    import phonenumbers  # here: the command line imports this module for -h/--version

    region = value.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown region {value!r}")
    return region


def _clean_subdomain(value: str) -> str:
    text = value.strip()
    subdomain = normalize_subdomain(text)
    if subdomain and not _SUBDOMAIN_RE.match(subdomain):
        raise ValueError("not a subdomain of cvcrm.com.br")
    return text


def _clean_base_url(value: str) -> str:
    text = value.strip()
    if not text:
        return text
    url = Settings(cvcrm_base_url=text).cvcrm_url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or re.search(r"\s", url):
        raise ValueError("not an http(s) address")  # the value may hold a password: not logged
    return text


def _clean_url_template(value: str) -> str:
    text = value.strip()
    if not text:
        return text
    try:
        names = {name for _t, name, _s, _c in string.Formatter().parse(text) if name is not None}
        text.format(base="https://x.cvcrm.com.br", id="1")
    except (ValueError, IndexError, KeyError) as exc:
        raise ValueError(f"unusable template ({type(exc).__name__})") from None
    if "id" not in names or not names <= {"base", "id"}:
        raise ValueError("a template takes {base} and {id}, and needs {id}")
    return text


def _clean_quick_replies(value: list[Any]) -> list[str]:
    kept = [item for item in value if isinstance(item, str) and item.strip()]
    if len(kept) != len(value):
        log.warning(
            "settings: lead_quick_replies: %d item(s) that are not text dropped",
            len(value) - len(kept),
        )
    return kept


# Field → cleaner: the cleaned value, or ValueError (then the default is kept, with a warning).
_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "language": _clean_language,
    "mongodb_db": _clean_mongodb_db,
    "phone_region": _clean_region,
    "cvcrm_subdomain": _clean_subdomain,
    "cvcrm_base_url": _clean_base_url,
    "cvcrm_email": str.strip,
    "cvcrm_lead_origin": lambda value: value.strip().upper(),
    "cvcrm_lead_media": str.strip,
    "cvcrm_lead_url_template": _clean_url_template,
    "lead_quick_replies": _clean_quick_replies,
}


def _int_in_range(key: str, value: Any) -> bool:
    """True when `value` is an int (not a bool) within the bounds of `key` (if any)."""
    if not isinstance(value, int) or isinstance(value, bool):
        return False
    low, high = _INT_RANGES.get(key, (None, None))
    return (low is None or value >= low) and (high is None or value <= high)


@dataclass(frozen=True, slots=True)
class Settings:
    """Non-secret settings kept in settings.json."""

    language: str = "pt_BR"  # core.i18n.LANGUAGES; applied at start (env WACRM_LANGUAGE wins)
    mongodb_db: str = DEFAULT_MONGODB_DB
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
        """Lenient: unknown keys go to `extra`; a value of the wrong type, out of range or
        unusable (an empty database name, a template without {id}…) falls back to the
        default with a warning, so a hand-edited file never leaves a feature broken."""
        known = {f.name: f for f in fields(cls) if f.name != "extra"}
        kwargs: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        defaults = cls()
        for key, value in data.items():
            if key in known:
                default = getattr(defaults, key)
                if not isinstance(value, type(default)) or (
                    isinstance(value, bool) and not isinstance(default, bool)
                ):
                    log.warning("settings: ignoring %s of the wrong type; default kept", key)
                    continue
                is_int = isinstance(default, int) and not isinstance(default, bool)
                if is_int and not _int_in_range(key, value):
                    low, high = _INT_RANGES.get(key, (None, None))
                    log.warning("settings: %s out of range [%s, %s]; default kept", key, low, high)
                    continue
                cleaner = _CLEANERS.get(key)
                if cleaner is not None:
                    try:
                        value = cleaner(value)
                    except ValueError as exc:
                        log.warning("settings: %s: %s; default %r kept", key, exc, default)
                        continue
                kwargs[key] = value
            elif key in _INT_RANGES:
                if not _int_in_range(key, value):
                    low, high = _INT_RANGES[key]
                    log.warning(
                        "settings: %s must be a whole number in [%s, %s]; ignored", key, low, high
                    )
                    continue
                extra[key] = value
            elif key != "extra":
                extra[key] = value
        return cls(**kwargs, extra=extra)

    def to_mapping(self) -> dict[str, Any]:
        data = asdict(self)
        extra = data.pop("extra")
        data.update(extra)
        return data


def load_settings(path: Path) -> Settings:
    """Read settings.json; a missing or unusable file gives defaults.

    Unusable means unreadable, not JSON, or JSON that is no object (`[1, 2, 3]`): such a file
    is logged as an ERROR and kept aside (`set_aside`, never over an earlier copy), so the
    user's hand edits can be recovered; the next save writes a fresh file.
    """
    try:
        raw = json.loads(path.read_text(encoding="utf-8-sig"))  # -sig: Notepad's BOM is fine
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError) as exc:
        problem = str(exc)
    else:
        if isinstance(raw, dict):
            return Settings.from_mapping(raw)
        problem = f"JSON {type(raw).__name__}, not an object"
    backup = set_aside(path)
    log.error(
        "settings file unusable (%s); using defaults, kept as %s",
        problem,
        backup.name if backup is not None else "(could not be moved)",
    )
    return Settings()


def broken_copy_path(path: Path) -> Path:
    """Where to keep a damaged `path` aside: name.broken.json, else name.broken-2.json, -3…

    Never the name of an existing file, so an earlier copy is never overwritten.
    """
    candidate = path.with_name(f"{path.stem}.broken.json")
    n = 2
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}.broken-{n}.json")
        n += 1
    return candidate


def set_aside(path: Path) -> Path | None:
    """Move a damaged file to `broken_copy_path(path)`; None when it could not be moved."""
    backup = broken_copy_path(path)
    try:
        path.replace(backup)
    except OSError as exc:
        log.error("could not move %s aside: %s", path.name, exc)
        return None
    return backup


def keep_copy_aside(path: Path, data: bytes) -> Path:
    """Write `data` (a damaged file's bytes) next to `path` under a new broken-copy name.

    The file is created exclusively, so even a name taken meanwhile is never overwritten.
    Raises OSError.
    """
    while True:
        backup = broken_copy_path(path)
        try:
            with open(backup, "xb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        except FileExistsError:
            continue
        return backup


def stored_language(path: Path) -> str | None:
    """settings.json's `language`, read without side effects (None when absent or unreadable).

    For the command line's own texts, before anything else runs; `load_settings` (which sets
    a broken file aside) is what the app uses.
    """
    try:
        raw = json.loads(path.read_text(encoding="utf-8-sig"))
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
