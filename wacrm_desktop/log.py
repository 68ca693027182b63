"""Logging by area (wacrm.web, wacrm.js, wacrm.bridge, wacrm.crm, wacrm.store…), with phones masked.

Phone numbers are personal data (LGPD): every record passes through `PhoneRedactingFilter`
before any handler writes it, whatever the logger.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

from wacrm_desktop.core.phones import redact_phones

__all__ = ["PhoneRedactingFilter", "redact_phones", "setup_logging"]


class PhoneRedactingFilter(logging.Filter):
    """Rewrites the formatted message — and the traceback and stack text, which a formatter
    would add unfiltered — so no handler ever sees more than the last 4 digits of a phone
    (policy: `core.phones`, "logs")."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not kill logging
            message = str(record.msg)
        redacted = redact_phones(message)
        if redacted != message or record.args:
            record.msg = redacted
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_phones(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_phones(record.stack_info)
        return True


_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup_logging(log_dir: Path | None, *, debug: bool = False) -> None:
    """Console + rotating file in the user log dir; idempotent (tests call it more than once)."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    for handler in list(root.handlers):
        if getattr(handler, "_wacrm", False):
            root.removeHandler(handler)
            handler.close()
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                log_dir / "wacrm.log", maxBytes=2_000_000, backupCount=5, encoding="utf-8"
            )
        )
    for handler in handlers:
        handler._wacrm = True  # type: ignore[attr-defined]
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler.addFilter(PhoneRedactingFilter())
        root.addHandler(handler)
    # Third-party chatter stays at WARNING.
    for noisy in ("pymongo", "urllib3", "mongoengine", "secantus"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
