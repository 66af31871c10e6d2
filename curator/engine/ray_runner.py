"""The Ray runner: the same model-calling stage on Ray Data, past one machine.

Why Ray Data and not a home-made pool: it is the engine the ML data world already runs, it streams
blocks between operators, and it schedules actors across a cluster (``RAY_ADDRESS``). Why not
``ray.data.llm.HttpRequestProcessorConfig``: measured on Ray 2.60 it sends a batch's requests one at a
time, aborts the whole job on the first 429, ignores ``Retry-After`` and drops a failed row's batch. So
each actor of an async ``map_batches`` stage holds curator's own :class:`~curator.engine.client.Engine`
(admission, backoff, ``Retry-After``, breaker, budget, payload policy) with a share of the project's
limits: rpm, tpm, concurrency and the money cap are divided by the number of actors, so the cluster as
a whole keeps them.

Flow: the driver builds the pending items' requests (a request that cannot be built reaches the stage's
``handle`` as ``bad_input``, as on the local runner), Ray Data runs them through the actors, and the
results stream back to the driver in the order they finish, where the stage's ``handle`` writes its
records through the store — exactly as the local runner does. Every paid reply is cached by the actor
that received it, in the project's response cache, before the driver sees it; a run killed at any point
and rerun finds those replies there and pays for nothing twice. The cache is SQLite: all nodes must see
the same ``cache/`` folder on a filesystem with working POSIX locks (see ``docs/scale.md``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from curator.config import Endpoint, ImagePolicy, Price, Project
from curator.engine.cache import ResponseCache
from curator.engine.client import Engine
from curator.engine.types import Request, Result, RunStats, RunStopping
from curator.errors import BudgetExceeded, CircuitOpen, ConfigError, CuratorError, Interrupted
from curator.progress import Reporter, reporter_or_null
from curator.secrets import redact

T = TypeVar("T")
INSTALL_HINT = 'pip install "curator-bench[ray]"'


def ray_module() -> Any:
    """``ray`` (with Ray Data), or a clear error saying how to install it."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise ConfigError(f"--runner ray needs Ray Data, which is not installed: {INSTALL_HINT}") from exc
    return ray


def connect(address: str | None = None) -> Any:
    """Join the cluster at ``address`` (else ``RAY_ADDRESS``), or start a local instance; reuse one already joined."""
    ray = ray_module()
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # curator's own progress bar and summary say it
    ray.data.DataContext.get_current().enable_progress_bars = False
    if not ray.is_initialized():
        target = address or os.environ.get("RAY_ADDRESS") or None
        ray.init(address=target, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True,
                 configure_logging=False)
    return ray


def actor_share(endpoint: Endpoint, max_cost: float | None, actors: int) -> tuple[Endpoint, float | None]:
    """One actor's endpoint settings and money cap: the project's limits divided by the number of actors."""
    run = endpoint.run
    share = run.model_copy(update={
        "concurrency": max(1, run.concurrency // actors),
        "rpm": run.rpm / actors if run.rpm else run.rpm,
        "tpm": run.tpm / actors if run.tpm else run.tpm,
    })
    return endpoint.model_copy(update={"run": share}), (max_cost / actors if max_cost is not None else None)


def request_to_json(req: Request) -> str:
    return json.dumps(dataclasses.asdict(req))


def result_from_json(raw: str) -> Result:
    return Result(**json.loads(raw))


class EngineActor:
    """A Ray Data actor: one engine (one aiohttp session, one budget share) for every batch it is given.

    ``__call__`` is an async generator, so Ray runs it on the actor's event loop and several batches can
    be in flight at once; a semaphore keeps the actor at its concurrency share. It never raises for a
    row: a stopping run (budget share spent, breaker open) returns ``stopped`` rows, anything else a
    ``worker_error`` row with the reason, and the driver decides.
    """

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.eng: Engine | None = None
        self.sem: asyncio.Semaphore | None = None
        self._starting = asyncio.Lock()  # batches arrive concurrently: exactly one engine (and budget share)

    async def _engine(self) -> Engine:
        async with self._starting:
            if self.eng is None:
                await self._start()
        assert self.eng is not None
        return self.eng

    async def _start(self) -> None:
        ep = Endpoint.model_validate(self.spec["endpoint"])
        prices = {k: Price.model_validate(v) for k, v in self.spec["prices"].items()}
        urls = [ep.base_url, *ep.replicas]
        send_to = urls[await self._index() % len(urls)] if len(urls) > 1 else None
        eng = Engine(ep, ResponseCache(Path(self.spec["cache"])), prices=prices, max_cost=self.spec["max_cost"],
                     image_policy=ImagePolicy.model_validate(self.spec["images"]), send_to=send_to)
        await eng.__aenter__()
        self.eng, self.sem = eng, asyncio.Semaphore(ep.run.concurrency)

    async def _index(self) -> int:
        """This actor's number in the run (0, 1, …), from the run's counter actor: spreads actors over replicas."""
        import ray

        return int(await ray.get_actor(self.spec["counter"]).next.remote())

    async def _one(self, raw: str) -> str:
        eng = await self._engine()
        assert self.sem is not None
        async with self.sem:
            try:
                res = await eng.call(Request(**json.loads(raw)))
            except RunStopping:
                res = Result(ok=False, key="", error="stopped", detail=eng.stopping, transient=True)
            except Exception as exc:  # a row never takes the job down with it
                res = Result(ok=False, key="", error="worker_error", detail=redact(f"{type(exc).__name__}: {exc}"),
                             transient=True)
        return json.dumps(dataclasses.asdict(res), default=str)

    async def __call__(self, batch: dict[str, Any]) -> Any:
        results = await asyncio.gather(*(self._one(str(r)) for r in batch["request"]))
        yield {"idx": batch["idx"], "result": list(results)}


def run_on_ray(project: Project, endpoint: Endpoint, items: Iterable[T], build: Callable[[T], Request | None],
               handle: Callable[[Engine, T, Result], Awaitable[None]], *, total: int | None, description: str,
               max_cost: float | None, reporter: Reporter | None = None) -> RunStats:
    """Run ``items`` through ``endpoint`` on Ray Data; the same contract as the local runner."""
    settings = project.config.ray
    ray = connect(settings.address)
    actors = max(1, settings.actors)
    budget = max_cost if max_cost is not None else project.config.max_cost
    share, cost_share = actor_share(endpoint, budget, actors)
    items = list(items)
    rows, bad = _requests(items, build)
    counter = _counter(ray, f"curator-actors-{uuid.uuid4().hex}")
    spec = {"counter": counter[1], "endpoint": share.model_dump(),
            "prices": {k: v.model_dump() for k, v in project.config.prices.items()},
            "images": project.config.images.model_dump(), "max_cost": cost_share,
            "cache": str(project.cache_dir / "responses.sqlite")}
    ds = None
    if rows:
        ds = ray.data.from_items(rows, override_num_blocks=max(1, min(len(rows), 4 * actors))).map_batches(
            EngineActor, fn_constructor_args=(spec,), batch_size=settings.batch_size,
            compute=ray.data.ActorPoolStrategy(size=actors, max_tasks_in_flight_per_actor=4),
            num_cpus=settings.actor_cpus)
    stats = RunStats()
    t0 = time.perf_counter()
    rep = reporter_or_null(reporter)
    rep.start(description or endpoint.model, total)
    try:
        stopped = asyncio.run(_drain(project, endpoint, budget, items, rows, bad, ds, handle, stats, rep))
    finally:
        ray.kill(counter[0])
    rep.finish()
    stats.elapsed = time.perf_counter() - t0
    if total is not None:
        stats.not_started = max(0, total - stats.started)
    if stopped:
        stats.stopped = stopped
        exc_type = (BudgetExceeded if stopped.startswith("budget") else
                    Interrupted if stopped.startswith("interrupted") else CircuitOpen)
        err = exc_type(f"{stopped}; finished work is saved — fix the cause and rerun to resume")
        err.stats = stats
        raise err
    return stats


def _counter(ray: Any, name: str) -> tuple[Any, str]:
    """A named actor handing out 0, 1, 2… to the engine actors of one run (their replica number)."""

    class Counter:
        def __init__(self) -> None:
            self.n = -1

        def next(self) -> int:
            self.n += 1
            return self.n

    remote: Any = ray.remote(num_cpus=0)(Counter)
    return remote.options(name=name).remote(), name


def _requests(items: list[T], build: Callable[[T], Request | None]) -> tuple[list[dict[str, Any]], list[tuple[int, Result]]]:
    """Rows for Ray (item index, request as JSON) and the items whose request could not be built."""
    rows: list[dict[str, Any]] = []
    bad: list[tuple[int, Result]] = []
    for idx, item in enumerate(items):
        try:
            req = build(item)
        except (CuratorError, OSError, ValueError, KeyError, TypeError) as exc:
            bad.append((idx, Result(ok=False, key="", error="bad_input", detail=redact(f"{type(exc).__name__}: {exc}"))))
            continue
        if req is not None:
            rows.append({"idx": idx, "request": request_to_json(req)})
    return rows, bad


async def _drain(project: Project, endpoint: Endpoint, budget: float | None, items: list[Any],
                 rows: list[dict[str, Any]], bad: list[tuple[int, Result]], ds: Any,
                 handle: Callable[[Engine, Any, Result], Awaitable[None]], stats: RunStats, rep: Reporter) -> str:
    """Hand every result to the stage as it arrives; returns why the run stopped ("" when it did not).

    The driver keeps an engine of its own for the calls a ``handle`` makes itself (a repair request),
    on the same cache and with what is left of the budget.
    """
    cache = ResponseCache(project.cache_dir / "responses.sqlite")
    stopped = ""
    try:
        async with Engine(endpoint, cache, prices=project.config.prices, max_cost=budget,
                          image_policy=project.config.images) as eng:
            for idx, res in bad:
                stats.started += 1
                stats.failures["bad_input"] += 1
                await handle(eng, items[idx], res)
                stats.completed += 1
            batches = iter(ds.iter_batches(batch_size=None, batch_format="numpy")) if ds is not None else iter(())
            while (batch := await asyncio.to_thread(next, batches, None)) is not None:
                for idx, raw in zip(batch["idx"], batch["result"], strict=True):
                    res = result_from_json(str(raw))
                    if res.error == "stopped":  # never sent: the item stays to do, like on the local runner
                        stopped = stopped or res.detail
                        continue
                    _account(stats, res)
                    await handle(eng, items[int(idx)], res)
                    stats.completed += 1
                    rep.advance(1, cost=f"${stats.cost:.3f}", hits=stats.cache_hits)
    finally:
        cache.close()
    return stopped


def _account(stats: RunStats, res: Result) -> None:
    stats.started += 1
    if res.from_cache:
        stats.cache_hits += 1
    else:
        stats.network_requests += res.attempts
        stats.retries += max(0, res.attempts - 1)
    stats.cost += res.cost
    stats.tokens_in += res.tokens_in
    stats.tokens_out += res.tokens_out
    if not res.ok:
        stats.failures[res.error] += 1
