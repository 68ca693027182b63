"""The app's own texts in the user's language: pt-BR is the source, English is a catalog.

Every user-visible text is written in pt-BR where it is used, and marked:

- ``_("texto")`` looks the text up when it runs (widgets, messages built on demand);
- ``N_("texto")`` only marks a text kept in a constant (a module-level dict, an exception's
  default message); the code that shows it calls ``_(CONSTANT)``.

The English catalog (``resources/i18n/en.json``) maps the exact pt-BR text to English. A text
missing from the catalog shows in pt-BR, never an error. Values are filled in *after* the
lookup, ``_("{n} mensagens").format(n=3)`` — never ``_(f"...")``, which could not match —
and a translation keeps the same ``{names}`` (tests/unit/test_i18n.py checks the catalog
against the marked texts).

Qt-free and thread-safe to read, so core, services, adapters and the UI share one catalog.
The language is chosen once at start (settings.json ``language``, env ``WACRM_LANGUAGE``) for
the whole process; Qt's own dialogs get Qt's catalogs (``ui/qt_language.py``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from importlib.resources import files

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "N_",
    "_",
    "bcp47",
    "current_language",
    "load_catalog",
    "normalize_language",
    "set_language",
]

log = logging.getLogger("wacrm.i18n")

DEFAULT_LANGUAGE = "pt_BR"
# Code -> the language's name in that language (what the settings dialog offers).
LANGUAGES: dict[str, str] = {"pt_BR": "Português (Brasil)", "en": "English"}
_ALIASES = {"pt": "pt_BR", "ptbr": "pt_BR", "en": "en", "enus": "en", "engb": "en"}

_current = DEFAULT_LANGUAGE
_catalog: Mapping[str, str] = {}


def normalize_language(value: object) -> str | None:
    """'pt_BR', 'pt-BR', 'pt', 'en', 'en_US', 'English'… → a code of LANGUAGES, else None."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    for code, name in LANGUAGES.items():
        if text.lower() in (code.lower(), name.lower()):
            return code
    key = text.lower().split(".")[0].replace("-", "").replace("_", "")  # "pt_BR.UTF-8" too
    return _ALIASES.get(key)


def bcp47(language: str) -> str:
    """'pt_BR' → 'pt-BR', 'en' → 'en' (HTTP Accept-Language, HTML lang)."""
    return language.replace("_", "-")


def load_catalog(language: str) -> dict[str, str]:
    """pt-BR text → text in `language`; empty for pt-BR (the source) and on any problem."""
    if language == DEFAULT_LANGUAGE:
        return {}
    resource = files("wacrm_desktop.resources") / "i18n" / f"{language}.json"
    try:
        raw = json.loads(resource.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.error("translation catalog %s.json unreadable (%s); texts stay in pt-BR", language, exc)
        return {}
    if not isinstance(raw, dict):
        log.error("translation catalog %s.json is not an object; texts stay in pt-BR", language)
        return {}
    return {k: v for k, v in raw.items() if isinstance(k, str) and isinstance(v, str) and v}


def set_language(value: object) -> str:
    """Use this language from now on (the whole process); returns the code in effect.

    Unknown values fall back to pt-BR with a warning. Call it at start, before building the
    UI: texts already on screen do not change.
    """
    global _current, _catalog
    code = normalize_language(value)
    if code is None:
        log.warning("unknown language %r; using %s", value, DEFAULT_LANGUAGE)
        code = DEFAULT_LANGUAGE
    _catalog = load_catalog(code)  # one assignment: readers on other threads see old or new
    _current = code
    return code


def current_language() -> str:
    return _current


def _(text: str) -> str:
    """`text` (pt-BR, as written in the code) in the current language."""
    return _catalog.get(text, text)


def N_(text: str) -> str:  # noqa: N802 (gettext's name for "mark only")
    """Mark a pt-BR text for the catalog without translating it now (see the module doc)."""
    return text
