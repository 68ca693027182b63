"""Logging by area (wacrm.web, wacrm.js, wacrm.bridge, wacrm.crm, wacrm.store…), with phones masked.

Phone numbers are personal data (LGPD): every record passes through `PhoneRedactingFilter`
before any handler writes it, whatever the logger.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from pathlib import Path

# Runs of 8-15 digits (optionally after '+', inside a WhatsApp id or a message id), but not
# digits glued to letters, '-' or ':' — those are UUIDs, hashes and Chromium's pid:timestamp.
_PHONE_RUN = re.compile(r"(?<![0-9A-Za-z:\-])\+?([0-9]{8,15})(?![0-9A-Za-z:\-])")


def redact_phones(text: str) -> str:
    """Keep the first 4 and last 2 digits of each long digit run: enough to tell chats apart."""

    def _mask(match: re.Match[str]) -> str:
        digits = match.group(1)
        return digits[:4] + "*" * (len(digits) - 6) + digits[-2:]

    return _PHONE_RUN.sub(_mask, text)


class PhoneRedactingFilter(logging.Filter):
    """Rewrites the formatted message so no handler ever sees a full phone number."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not kill logging
            message = str(record.msg)
        redacted = redact_phones(message)
        if redacted != message or record.args:
            record.msg = redacted
            record.args = None
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
