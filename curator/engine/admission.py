"""Admission control: requests- and tokens-per-minute token buckets and an endpoint-wide pause.

Concurrency is bounded by the engine's fixed pool of workers. Rates are unlimited by default
(``None``) — the right default for a custom endpoint, where a made-up limit would silently
throttle a local vLLM server. Buckets refill continuously; a request waits only as long as its own
cost needs. A 429 (or a 503 with ``Retry-After``) pauses *every* worker of the endpoint, whether or
not rates are configured: the server said the endpoint is overloaded, not one request.
"""

from __future__ import annotations

import asyncio
import time

BURST_SECONDS = 10.0
"""A bucket holds this many seconds' worth of its rate: a full minute's burst at once is what gets a 429."""


class TokenBucket:
    """Continuous-refill bucket refilling at ``rate_per_min``; ``None`` means unlimited."""

    def __init__(self, rate_per_min: float | None) -> None:
        self.rate = rate_per_min / 60.0 if rate_per_min else None
        self.capacity = max(1.0, (rate_per_min or 0.0) * BURST_SECONDS / 60.0)
        self.level = self.capacity
        self.stamp = time.monotonic()
        self._lock = asyncio.Lock()

    async def take(self, amount: float = 1.0) -> None:
        if self.rate is None:
            return
        amount = min(amount, self.capacity)  # one huge request must still be admissible
        async with self._lock:
            while True:
                now = time.monotonic()
                self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
                self.stamp = now
                if self.level >= amount:
                    self.level -= amount
                    return
                await asyncio.sleep((amount - self.level) / self.rate)


class Admission:
    """Everything a request must pass before it is sent."""

    def __init__(self, rpm: float | None, tpm: float | None) -> None:
        self.requests = TokenBucket(rpm)
        self.tokens = TokenBucket(tpm)
        self.resume_at = 0.0

    def pause(self, seconds: float) -> None:
        """Hold every request of this endpoint for ``seconds`` (extends, never shortens, a pause)."""
        self.resume_at = max(self.resume_at, time.monotonic() + seconds)

    async def admit(self, est_tokens: int) -> None:
        while (wait := self.resume_at - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        await self.requests.take(1)
        await self.tokens.take(est_tokens)
