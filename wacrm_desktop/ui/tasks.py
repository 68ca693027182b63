"""Run blocking work (CRM, MongoDB, Redis) off the UI thread and get the result back on it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal, Slot

log = logging.getLogger("wacrm.ui")
T = TypeVar("T")


class TaskRunner(QObject):
    """A thread pool whose completion callbacks run on the thread that owns this object (the UI)."""

    _finished = Signal(object, object, object)  # callback, result, error callback/exception pair

    def __init__(self, max_workers: int = 4, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="wacrm-io")
        self._finished.connect(self._deliver)
        self._closed = False

    def submit(
        self,
        fn: Callable[[], T],
        on_done: Callable[[T], None],
        on_error: Callable[[BaseException], None] | None = None,
    ) -> Future[T] | None:
        if self._closed:
            return None
        future = self._pool.submit(fn)

        def _relay(f: Future[T]) -> None:
            if self._closed:
                return
            error = f.exception()
            if error is None:
                self._finished.emit(on_done, f.result(), None)
            else:
                self._finished.emit(on_error, None, error)

        future.add_done_callback(_relay)
        return future

    @Slot(object, object, object)
    def _deliver(self, callback: Any, result: Any, error: Any) -> None:
        try:
            if error is not None:
                if callback is None:
                    log.error("background task failed: %s", error)
                else:
                    callback(error)
            else:
                callback(result)
        except Exception:
            log.exception("task callback failed")

    def shutdown(self) -> None:
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
