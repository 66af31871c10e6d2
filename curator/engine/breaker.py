"""The circuit breaker: stop a run that can only fail, quickly, and never one that is merely slow.

It opens on
* a fatal answer every request would get (401, 403, 404: a wrong key, model or URL), at once;
* ``threshold`` consecutive failed *attempts* (connection refused, 5xx, 429 …) with no success for
  ``seconds`` — counting attempts, not requests after all their retries, is what makes a dead
  endpoint stop in seconds instead of minutes;
* ``timeouts`` consecutive timed-out attempts with no success in between (an endpoint that hangs).
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

    def failure(self, kind: str, detail: str, *, fatal: bool = False) -> None:
        if self.reason:
            return
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
