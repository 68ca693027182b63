"""Interpreter settings that keep the Qt UI thread responsive next to the history writer.

The history writer (a background thread) is CPU-bound while it joins and encodes a batch. In
CPython a thread that wants the GIL waits up to the *switch interval* (5 ms by default) before
the running thread is asked to let go, and the UI thread takes the GIL again on every callback
from Qt: during a capture burst that added up to 20-45 ms event-loop stalls (bench/bench_history.py,
``ui`` part). A 1 ms interval bounds each hand-over; `gc.freeze()` moves the objects created at
start-up (modules, Qt wrappers, the window) out of the collector's reach, so a full collection
no longer walks them (about 11 ms per gen-2 collection measured here before).
"""

from __future__ import annotations

import gc
import sys

UI_SWITCH_INTERVAL_S = 0.001


def tune_for_ui() -> None:
    """Call once, after start-up built the long-lived objects and before the event loop runs."""
    sys.setswitchinterval(UI_SWITCH_INTERVAL_S)
    gc.collect()
    gc.freeze()
