"""Collapsible sections whose order and open/closed state the user changes (and we remember)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QToolButton, QVBoxLayout, QWidget

from ...core.i18n import _


class CollapsibleSection(QWidget):
    """A header button (▾/▸ title) with ↑/↓ buttons, over a body widget."""

    toggled = Signal(str, bool)
    moveRequested = Signal(str, int)  # name, -1 up / +1 down

    def __init__(self, name: str, title: str, body: QWidget, parent: QWidget | None = None):
        super().__init__(parent)
        self.name = name
        self.title = title
        self.body = body
        self.setObjectName(f"section_{name}")
        self.header = QToolButton()
        self.header.setObjectName("sectionHeader")
        self.header.setCheckable(True)
        self.header.setChecked(True)
        self.header.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.header.setStyleSheet("QToolButton{border:none;font-weight:bold;text-align:left;}")
        self.header.toggled.connect(self._on_toggled)
        self.up = QToolButton()
        self.up.setText("↑")
        self.up.setToolTip(_("Mover seção para cima"))
        self.up.setAutoRaise(True)
        self.up.clicked.connect(lambda: self.moveRequested.emit(self.name, -1))
        self.down = QToolButton()
        self.down.setText("↓")
        self.down.setToolTip(_("Mover seção para baixo"))
        self.down.setAutoRaise(True)
        self.down.clicked.connect(lambda: self.moveRequested.emit(self.name, 1))
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.header)
        top.addStretch(1)
        top.addWidget(self.up)
        top.addWidget(self.down)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.addLayout(top)
        layout.addWidget(body)
        self._paint_header()

    @property
    def is_open(self) -> bool:
        return self.header.isChecked()

    def set_open(self, opened: bool) -> None:
        self.header.setChecked(opened)  # emits toggled only when it changes
        self._paint_header()

    def _on_toggled(self, opened: bool) -> None:
        self._paint_header()
        self.toggled.emit(self.name, opened)

    def _paint_header(self) -> None:
        opened = self.header.isChecked()
        self.header.setText(("▾ " if opened else "▸ ") + self.title)
        self.body.setVisible(opened)


class SectionStack(QWidget):
    """Holds the sections in the user's order; `layoutChanged(order, open)` after every change."""

    layoutChanged = Signal(list, dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._sections: dict[str, CollapsibleSection] = {}
        self._order: list[str] = []

    def add(self, section: CollapsibleSection) -> None:
        self._sections[section.name] = section
        self._order.append(section.name)
        self._layout.addWidget(section)
        section.toggled.connect(lambda *_args: self._emit())
        section.moveRequested.connect(self.move)

    def section(self, name: str) -> CollapsibleSection:
        return self._sections[name]

    @property
    def order(self) -> list[str]:
        return list(self._order)

    @property
    def open_state(self) -> dict[str, bool]:
        return {name: s.is_open for name, s in self._sections.items()}

    def apply(self, order: Sequence[str], opened: dict[str, bool]) -> None:
        """Restore a saved layout without emitting `layoutChanged`."""
        known = [n for n in order if n in self._sections]
        self._order = known + [n for n in self._order if n not in known]
        self.blockSignals(True)
        try:
            for name, value in opened.items():
                if name in self._sections:
                    self._sections[name].blockSignals(True)
                    self._sections[name].set_open(value)
                    self._sections[name].blockSignals(False)
        finally:
            self.blockSignals(False)
        self._relayout()

    def move(self, name: str, step: int) -> None:
        if name not in self._order:
            return
        i = self._order.index(name)
        j = max(0, min(len(self._order) - 1, i + step))
        if i == j:
            return
        self._order[i], self._order[j] = self._order[j], self._order[i]
        self._relayout()
        self._emit()

    def _relayout(self) -> None:
        for name in self._order:
            self._layout.removeWidget(self._sections[name])
        for index, name in enumerate(self._order):
            self._layout.insertWidget(index, self._sections[name])
            self._sections[name].up.setEnabled(index > 0)
            self._sections[name].down.setEnabled(index < len(self._order) - 1)

    def _emit(self) -> None:
        self.layoutChanged.emit(self.order, self.open_state)
