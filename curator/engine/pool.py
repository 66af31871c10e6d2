"""The worker pool: stream work items through build → call → handle with bounded concurrency.

Items are pulled from an iterator, so 10⁶ queued items cost no memory. An item whose request
cannot be built reaches ``handle`` as a failed result and never stops the run; a stopping run
(budget, breaker, Ctrl-C) lets in-flight requests finish and be saved, then raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

from curator.engine.types import Request, Result, RunStats, RunStopping
from curator.errors import BudgetExceeded, CircuitOpen, CuratorError, Interrupted
from curator.secrets import redact

if TYPE_CHECKING:
    from curator.engine.client import Engine

T = TypeVar("T")


async def run_pool(eng: Engine, items: Iterable[T], build: Callable[[T], Request | None],
                   handle: Callable[[T, Result], Awaitable[None]], total: int | None = None,
                   description: str = "") -> RunStats:
    """Stream ``items`` through ``build`` → call → ``handle`` with a bounded pool of workers.

    An item whose request cannot be built (a missing image, a bad row) reaches ``handle`` as a
    failed :class:`Result` (``error="bad_input"``); it never stops the run.

    Raises:
        BudgetExceeded / CircuitOpen / Interrupted: after every in-flight item has been handled and saved.
    """
    it = iter(items)
    t0 = time.perf_counter()
    eng.reporter.start(description or f"{eng.ep.model}", total)
    tasks: list[asyncio.Task[None]] = []

    async def worker() -> None:
        while not eng.stopping:
            try:
                item = next(it)
            except StopIteration:
                return
            if not await _one(eng, item, build, handle):
                return

    try:
        with _ctrl_c_stops(eng, tasks):
            tasks.extend(asyncio.ensure_future(worker()) for _ in range(eng.run_cfg.concurrency))
            await asyncio.gather(*tasks)
    except asyncio.CancelledError:
        eng.stop(eng.stopping or "interrupted")
    finally:
        eng.stats.elapsed = time.perf_counter() - t0
        eng.reporter.finish()
    if total is not None:
        eng.stats.not_started = max(0, total - eng.stats.started)
    if eng.stopping:
        eng.stats.stopped = eng.stopping
        exc_type = (BudgetExceeded if eng.stopping.startswith("budget") else
                    Interrupted if eng.stopping.startswith("interrupted") else CircuitOpen)
        err = exc_type(f"{eng.stopping}; finished work is saved — fix the cause and rerun to resume")
        err.stats = eng.stats  # the CLI still prints the run table
        raise err
    return eng.stats


async def _one(eng: Engine, item: T, build: Callable[[T], Request | None],
               handle: Callable[[T, Result], Awaitable[None]]) -> bool:
    """Build, call and hand over one item; False when the run is stopping (the item stays to do)."""
    eng.stats.started += 1
    try:
        req = build(item)
    except (CuratorError, OSError, ValueError, KeyError, TypeError) as exc:
        res = Result(ok=False, key="", error="bad_input", detail=redact(f"{type(exc).__name__}: {exc}"))
        eng.stats.failures["bad_input"] += 1
        await handle(item, res)
        eng.stats.completed += 1
        return True
    if req is None:
        return True
    try:
        res = await eng.call(req)
        await handle(item, res)  # a repair call inside may hit the stop too
    except RunStopping:
        eng.stats.started -= 1
        return False
    eng.stats.completed += 1
    eng.reporter.advance(1, cost=f"${eng.stats.cost:.3f}", hits=eng.stats.cache_hits)
    return True


@contextlib.contextmanager
def _ctrl_c_stops(eng: Engine, tasks: list[asyncio.Task[None]]) -> Iterator[None]:
    """The first Ctrl-C stops taking work and lets requests in flight finish; a second one abandons them."""
    loop = asyncio.get_running_loop()

    def on_sigint() -> None:
        if eng.stopping:
            for t in tasks:
                t.cancel()
        else:
            eng.stop("interrupted (Ctrl-C): finishing the requests in flight; Ctrl-C again abandons them")

    installed = False
    try:
        loop.add_signal_handler(signal.SIGINT, on_sigint)
        installed = True
    except (NotImplementedError, RuntimeError, ValueError):
        pass  # not the main thread (Ray actors, notebooks): Ctrl-C is handled by the host
    try:
        yield
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGINT)
