"""The CV CRM origem field: "CH — Chat" on screen, "CH" in the values."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QWidget

from ..core.lead_origins import LEAD_ORIGINS, origin_code, origin_label


class OriginCombo(QComboBox):
    """Editable: CV CRM's documented codes with their names, or any code the tenant uses."""

    def __init__(self, code: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.setMaxVisibleItems(16)
        self.addItem("", "")
        for known in sorted(LEAD_ORIGINS, key=lambda c: LEAD_ORIGINS[c].casefold()):
            self.addItem(origin_label(known), known)
        self.set_code(code)

    def set_code(self, code: str) -> None:
        code = origin_code(code)
        index = self.findData(code)
        if index < 0:
            self.setEditText(code)
        else:
            self.setCurrentIndex(index)
            self.setEditText(self.itemText(index))

    def code(self) -> str:
        """The code to send ("" = none)."""
        return origin_code(self.currentText())
