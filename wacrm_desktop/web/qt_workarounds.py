"""Fenced workarounds for Qt for Python bugs (see style anchors: cite, detect, keep narrow).

WORKAROUND (PySide6 6.12.0): `SignalInstance.emit()` returns its bool result without taking a
reference, so every `emit` call steals one reference to `True` (or `False`). A busy bridge emits
thousands of times, and CPython then aborts with "Fatal Python error: bool_dealloc". Measured
here at import on a private signal; when the leak is present, `emit()` gives the reference back.
Remove once the minimum PySide6 excludes 6.12.0.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from typing import Any

import PySide6
from PySide6.QtCore import QObject, Signal, SignalInstance
from PySide6.QtWebEngineCore import QWebEnginePage


class _Probe(QObject):
    ping = Signal(object)


def _emit_steals_reference() -> bool:
    probe = _Probe()
    probe.ping.connect(lambda _x: 1)
    before = sys.getrefcount(True)
    results = [probe.ping.emit(None) for _ in range(8)]  # held: the list owns one ref each
    stolen = before + len(results) - sys.getrefcount(True)
    if stolen > 0:
        for value in results:  # undo the probe's own damage
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(value))
    probe.deleteLater()
    return stolen >= len(results)


EMIT_STEALS_REFERENCE = _emit_steals_reference()


def emit(signal: SignalInstance, *args: Any) -> None:
    """`signal.emit(*args)`, safe on PySide6 builds whose emit steals a bool reference."""
    result = signal.emit(*args)
    if EMIT_STEALS_REFERENCE and isinstance(result, bool):
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(result))


# WORKAROUND (PySide6 6.12.0): every `QWebEnginePage.runJavaScript(code, world, callback)` call
# steals one reference to `None` (measured: -1.0 per call, whatever the result or the callback
# returns). Polling tests call it hundreds of times and CPython aborts ("none_dealloc").
RUN_JS_STEALS_NONE = PySide6.__version_info__[:3] == (6, 12, 0)


def run_javascript(
    page: QWebEnginePage, code: str, world: int, callback: Callable[[Any], object]
) -> None:
    """`page.runJavaScript(code, world, callback)`, safe on the broken PySide6 build."""

    def _callback(result: Any) -> bool:
        if RUN_JS_STEALS_NONE:
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(None))
        callback(result)
        return True

    page.runJavaScript(code, world, _callback)
