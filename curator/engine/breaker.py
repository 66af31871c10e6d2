"""The circuit breaker: stop a run that can only fail, quickly, and never one that is merely slow.

It opens on
* a fatal answer every request would get (401, 403, 404: a wrong key, model or URL), at once;
* ``threshold`` consecutive failed *attempts* (connection refused, 5xx, 429 …) with no success for
  ``seconds`` — counting attempts, not requests after all their retries, is what makes a dead
  endpoint stop in seconds instead of minutes;
* ``timeouts`` consecutive timed-out attempts, each sent after the last success (an endpoint that
  hangs on everything). A request that hangs while others sent after it succeed is the request's
  problem, not the endpoint's, and does not count.
A success resets everything; scattered failures among successes never open it.
"""

from __future__ import annotations

import time


class Breaker:
    def __init__(self, threshold: int, seconds: float, timeouts: int) -> None:
        self.threshold, self.seconds, self.timeouts = threshold, seconds, timeouts
        self.failures = 0
        self.consecutive_timeouts = 0
        self.last_success = time.monotonic()
        self.reason = ""

    def success(self) -> None:
        self.failures = self.consecutive_timeouts = 0
        self.last_success = time.monotonic()

    def failure(self, kind: str, detail: str, *, fatal: bool = False, sent_at: float | None = None) -> None:
        if self.reason:
            return
        if kind == "timeout" and sent_at is not None and sent_at < self.last_success:
            return  # the endpoint answered others since this request went out: it is alive
        self.failures += 1
        self.consecutive_timeouts = self.consecutive_timeouts + 1 if kind == "timeout" else 0
        quiet = time.monotonic() - self.last_success
        if fatal:
            why = "an error every request would hit"
        elif self.consecutive_timeouts >= self.timeouts:
            why = f"{self.consecutive_timeouts} consecutive timeouts"
        elif self.failures >= self.threshold and quiet >= self.seconds:
            why = f"{self.failures} consecutive failed attempts and no success for {quiet:.0f} s"
        else:
            return
        self.reason = f"circuit open after {why} ({kind}: {detail[:200]})"
