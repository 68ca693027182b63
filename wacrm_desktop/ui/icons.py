"""Icons read from the shipped resources."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from PySide6.QtCore import QByteArray
from PySide6.QtGui import QIcon, QPixmap


@cache
def app_icon() -> QIcon:
    data = (files("wacrm_desktop.resources") / "icons" / "wacrm.svg").read_bytes()
    pixmap = QPixmap()
    pixmap.loadFromData(QByteArray(data), "SVG")
    return QIcon(pixmap)
