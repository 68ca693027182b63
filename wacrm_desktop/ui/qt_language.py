"""Qt's own texts in the app's language: standard buttons, file dialogs, the page's context menu.

The app's texts come from `core.i18n`; what Qt itself draws (QMessageBox "Sim/Não",
QDialogButtonBox, QFileDialog, QLineEdit's context menu, QtWebEngine's context menu in the
WhatsApp page) comes from Qt's catalogs, `qtbase_<lang>.qm` and `qtwebengine_<lang>.qm` in
QLibraryInfo's TranslationsPath. The PySide6 wheel ships them; in the frozen build
PyInstaller's Qt hooks copy the `qt_`, `qtbase_` and `qtwebengine_*.qm` files (and
`qtwebengine_locales/`) into its PySide6 folder, where QLibraryInfo finds them the same way.

The default QLocale follows the language too: Qt's date and number widgets, and Chromium's own
UI language, which QtWebEngine takes from it when its first profile is created.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from ..core.i18n import DEFAULT_LANGUAGE

log = logging.getLogger("wacrm.ui")

QT_CATALOGS = ("qtbase", "qtwebengine")


def translations_dir() -> str:
    return QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)


class QtLanguage:
    """Qt's catalogs installed for one language; `remove()` undoes it (tests start many apps)."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.loaded: list[str] = []  # catalog files in use, e.g. "qtbase_pt_BR.qm"
        self._translators: list[QTranslator] = []
        self._previous_locale = QLocale()
        locale = QLocale(language)
        QLocale.setDefault(locale)
        app = QCoreApplication.instance()
        if app is None:
            log.warning("no Qt application yet: Qt's own texts stay in English")
            return
        directory = translations_dir()
        for base in QT_CATALOGS:
            translator = QTranslator(app)
            if translator.load(locale, base, "_", directory):
                app.installTranslator(translator)
                self._translators.append(translator)
                self.loaded.append(translator.filePath().replace("\\", "/").rsplit("/", 1)[-1])
            elif language == DEFAULT_LANGUAGE:
                # Qt's source texts are English: only a missing pt-BR catalog is a problem.
                log.warning("Qt catalog %s_%s.qm not found in %s", base, language, directory)
        log.info("Qt catalogs for %s: %s", language, ", ".join(self.loaded) or "none")

    def remove(self) -> None:
        app = QCoreApplication.instance()
        for translator in self._translators:
            if app is not None:
                app.removeTranslator(translator)
            translator.deleteLater()
        self._translators.clear()
        self.loaded.clear()
        QLocale.setDefault(self._previous_locale)
