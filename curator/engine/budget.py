"""A hard money cap: reserve a request's worst case before sending, settle with the real usage.

``spent + reserved + worst_case(next) ≤ cap`` is checked before every send, so concurrent
requests can never together pass the cap; each reply then replaces its reservation with what the
provider billed (``usage`` at the price table). Providers bill truncated, refused, empty and
invalid replies too, so every HTTP 200 is settled, whatever the stage makes of it. A reply whose
usage cannot be read, and a request that timed out (the provider may have finished and billed
it), are settled at their reservation: the cap stays an upper bound on what was really spent.
"""

from __future__ import annotations

from dataclasses import dataclass

from curator.config import Price


@dataclass(slots=True)
class Reservation:
    amount: float
    tokens_in: int


class Budget:
    """Money bookkeeping of one engine run; ``cap=None`` is unlimited, ``cap=0`` sends nothing."""

    def __init__(self, cap: float | None, price: Price) -> None:
        self.cap = cap
        self.price = price
        self.spent = 0.0
        self.reserved = 0.0
        self.input_factor = 1.5
        """Reserved input tokens per estimated token; raised when a reply shows the estimate was low."""

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return tokens_in / 1e6 * self.price.input + tokens_out / 1e6 * self.price.output

    def worst_case(self, est_in: int, max_tokens: int) -> Reservation:
        tin = int(est_in * self.input_factor) + 1
        return Reservation(self.cost(tin, max_tokens), est_in)

    def reserve(self, est_in: int, max_tokens: int) -> Reservation | None:
        """Hold the worst case of one request, or None when it could pass the cap."""
        r = self.worst_case(est_in, max_tokens)
        if self.cap is not None and (self.cap <= 0 or self.spent + self.reserved + r.amount > self.cap):
            return None
        self.reserved += r.amount
        return r

    def release(self, r: Reservation) -> None:
        """Nothing was billed (the request got no 200 and did not time out)."""
        self.reserved -= r.amount

    def settle(self, r: Reservation, actual: float | None, tokens_in: int | None = None) -> float:
        """Replace the reservation by the billed amount (None: unknown, charge the reservation)."""
        self.reserved -= r.amount
        charged = r.amount if actual is None else actual
        self.spent += charged
        if tokens_in and r.tokens_in:
            self.input_factor = max(self.input_factor, 1.1 * tokens_in / r.tokens_in)
        return charged

    def describe(self) -> str:
        return f"spent ${self.spent:.4f} of max ${self.cap:.4f}" if self.cap is not None else f"spent ${self.spent:.4f}"
