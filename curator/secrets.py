"""Keys and tokens never reach a log, a table, a cache or the terminal.

Every secret curator reads (an endpoint's API key, the Label Studio token) is registered here when
it is read; :func:`redact` replaces each registered value in any text before that text is stored or
printed, and :func:`install_log_filter` does the same for every log record of the ``curator``
logger tree. A server that echoes the key in an error body therefore cannot leak it through a
rejects table.
"""

from __future__ import annotations

import logging

_SECRETS: set[str] = set()
MIN_LENGTH = 8
"""Shorter values are placeholders (``sk-no-key``), not secrets, and would redact ordinary words."""
PLACEHOLDERS = frozenset({"sk-no-key"})


def register(value: str | None) -> str | None:
    """Remember a secret so it is redacted everywhere from now on; returns it unchanged."""
    if value and len(value) >= MIN_LENGTH and value not in PLACEHOLDERS:
        _SECRETS.add(value)
    return value


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``[redacted]``."""
    if not text or not _SECRETS:
        return text
    for s in sorted(_SECRETS, key=len, reverse=True):
        if s in text:
            text = text.replace(s, "[redacted]")
    return text


class _RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _SECRETS:
            msg = record.getMessage()
            clean = redact(msg)
            if clean != msg:
                record.msg, record.args = clean, None
        return True


def install_log_filter() -> None:
    """Redact secrets in every record of the ``curator`` loggers (idempotent)."""
    lg = logging.getLogger("curator")
    if not any(isinstance(f, _RedactFilter) for f in lg.filters):
        lg.addFilter(_RedactFilter())
    for h in logging.getLogger().handlers:
        if not any(isinstance(f, _RedactFilter) for f in h.filters):
            h.addFilter(_RedactFilter())
