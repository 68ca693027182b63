"""One named, disk-backed QWebEngineProfile per salesperson profile.

Qt 6's default profile is off-the-record (everything in memory), which would show the QR on
every start; so each profile gets a storage name = its stable id and explicit paths, set through
QWebEngineProfileBuilder before any page exists.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWebEngineCore import QWebEngineProfile, QWebEngineProfileBuilder

log = logging.getLogger("wacrm.web")

# WhatsApp Web refuses browsers it does not recognise (the default UA carries a QtWebEngine
# token, qutebrowser #4445). A plain, current desktop Chrome string for this OS; Chrome 156 is
# current at 2026-12 (Debian's chromium on our machines) — bump it with Chrome releases.
CHROME_MAJOR = 156
_PLATFORM_TOKEN = {
    "win32": "Windows NT 10.0; Win64; x64",
    "darwin": "Macintosh; Intel Mac OS X 10_15_7",
}.get(sys.platform, "X11; Linux x86_64")
CHROME_USER_AGENT = (
    f"Mozilla/5.0 ({_PLATFORM_TOKEN}) AppleWebKit/537.36 "
    f"(KHTML, like Gecko) Chrome/{CHROME_MAJOR}.0.0.0 Safari/537.36"
)
# WhatsApp Web picks its own language from this on first load (navigator.languages).
ACCEPT_LANGUAGES = {
    "pt_BR": "pt-BR,pt;q=0.9,en;q=0.8",
    "en": "en-US,en;q=0.9,pt-BR;q=0.8,pt;q=0.7",
}
ACCEPT_LANGUAGE = ACCEPT_LANGUAGES["pt_BR"]


def accept_language(language: str) -> str:
    """The Accept-Language header for the app's language (core.i18n code); pt-BR if unknown."""
    return ACCEPT_LANGUAGES.get(language, ACCEPT_LANGUAGE)


def create_profile(
    profile_id: str,
    storage_path: Path,
    cache_path: Path,
    parent: QObject | None = None,
    *,
    language: str = "pt_BR",
) -> QWebEngineProfile:
    """Build the persistent profile for one salesperson (storage name = the profile's id)."""
    storage_path.mkdir(parents=True, exist_ok=True)
    cache_path.mkdir(parents=True, exist_ok=True)
    builder = QWebEngineProfileBuilder()
    builder.setPersistentStoragePath(str(storage_path))
    builder.setCachePath(str(cache_path))
    builder.setHttpCacheType(QWebEngineProfile.HttpCacheType.DiskHttpCache)
    builder.setPersistentCookiesPolicy(
        QWebEngineProfile.PersistentCookiesPolicy.ForcePersistentCookies
    )
    builder.setPersistentPermissionsPolicy(
        QWebEngineProfile.PersistentPermissionsPolicy.StoreOnDisk
    )
    profile = builder.createProfile(f"wacrm-{profile_id}", parent)
    if profile.isOffTheRecord():  # would silently lose the WhatsApp session
        raise RuntimeError("QtWebEngine created an off-the-record profile")
    profile.setHttpUserAgent(CHROME_USER_AGENT)
    profile.setHttpAcceptLanguage(accept_language(language))
    log.info("web profile ready (%s)", profile.storageName())
    return profile
