"""Log hygiene: secrets that travel in URLs must not reach log files.

A console ticket is single-use and short-lived, but a log line is read later and by more people than the
ticket's owner, and a ticket copied from a log before its owner used it would open the console (with the
owner's session only, yet still). Masking happens on the handler, so every logger, uvicorn's access and
WebSocket lines included, passes through it.
"""

from __future__ import annotations

import logging
import re

# token=... in query strings (console pages and the console WebSocket), as CloudStack-style URLs carry it.
_SECRET_PARAMS = re.compile(r"((?:^|[?&;\s\"'])(?:token|sessionkey)=)[^&;\s\"']+", re.IGNORECASE)
MASK = "********"


def mask(text: str) -> str:
    return _SECRET_PARAMS.sub(rf"\g<1>{MASK}", text)


class MaskSecrets(logging.Filter):
    """Rewrites the record's message and its arguments; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(mask(arg) if isinstance(arg, str) else arg for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: mask(value) if isinstance(value, str) else value for key, value in record.args.items()}
        return True
