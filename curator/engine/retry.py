"""When to try again: exponential backoff with jitter, and ``Retry-After`` in both of its forms."""

from __future__ import annotations

import random
import time
from email.utils import parsedate_to_datetime


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date; None if unusable."""
    if not value:
        return None
    value = value.strip()
    try:
        secs = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        secs = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, secs) if secs == secs else None


def backoff(attempt: int, base: float, cap: float) -> float:
    """Delay before retry ``attempt`` (1-based): base·2^(attempt−1), capped, times a 0.5–1.5 jitter."""
    return min(cap, base * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5)
