"""Glue between stages and the engine: one cache per project, one engine per role and run."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from curator.config import Endpoint, Project
from curator.engine.cache import ResponseCache
from curator.engine.client import Engine, Request, Result, RunStats
from curator.progress import Reporter
from curator.secrets import install_log_filter

T = TypeVar("T")


def open_cache(project: Project) -> ResponseCache:
    return ResponseCache(project.cache_dir / "responses.sqlite")


def image_part(row: dict[str, Any], project: Project, domain: str) -> dict[str, Any]:
    """An image reference for a request; bytes are read only when the request is actually sent."""
    return {"type": "image_ref", "path": str(project.images_root / row["image_path"]), "image_id": row["image_id"],
            "domain": domain, "width": row.get("width"), "height": row.get("height")}


def run_stage(project: Project, endpoint: Endpoint, items: Iterable[T], build: Callable[[T], Request | None],
              handle: Callable[[Engine, T, Result], Awaitable[None]], *, total: int | None, description: str,
              max_cost: float | None = None, reporter: Reporter | None = None) -> RunStats:
    """Run ``items`` through one endpoint; ``handle`` gets the engine too (for repair calls)."""
    install_log_filter()
    cache = open_cache(project)
    budget = max_cost if max_cost is not None else project.config.max_cost

    async def main() -> RunStats:
        async with Engine(endpoint, cache, prices=project.config.prices, max_cost=budget,
                          image_policy=project.config.images, reporter=reporter) as eng:
            async def h(item: T, res: Result) -> None:
                await handle(eng, item, res)

            return await eng.run(items, build, h, total=total, description=description)

    try:
        return asyncio.run(main())
    finally:
        cache.close()


def run_model_stage(project: Project, command: str, summary: Any, endpoint: Endpoint, items: Iterable[T],
                    build: Callable[[T], Request | None], handle: Callable[[Engine, T, Result], Awaitable[None]], *,
                    total: int | None, max_cost: float | None = None, reporter: Reporter | None = None,
                    wait: bool = False, runner: str | None = None) -> RunStats:
    """The skeleton every model-calling stage shares: take the project lock, run, account for what is left.

    ``summary`` gets ``stats`` and, in ``unfinished``, the items a stop left unstarted (the stage's
    ``handle`` adds those that failed transiently). On a stop the exception carries the summary, so
    the CLI can still print what was done. ``runner`` (default: the project's ``runner``) is ``local``
    (this process) or ``ray`` (Ray Data actors, :mod:`curator.engine.ray_runner`); the stage is the same.
    """
    from curator.errors import EngineError
    from curator.locking import project_lock

    try:
        with project_lock(project, command, wait=wait):
            how = check_runner(runner or project.config.runner)
            run = _runner_for(how)
            summary.stats = run(project, endpoint, items, build, handle, total=total, description=command,
                                max_cost=max_cost, reporter=reporter)
    except EngineError as exc:
        summary.stats = getattr(exc, "stats", None)
        exc.summary = summary  # type: ignore[attr-defined]
        raise
    finally:
        if summary.stats is not None:
            summary.unfinished += summary.stats.not_started
    return summary.stats


def _runner_for(how: str) -> Callable[..., RunStats]:
    """The run function of a runner; Ray and vLLM are imported only when asked for (they are heavy)."""
    if how == "local":
        return run_stage
    install_log_filter()
    if how == "ray":
        from curator.engine.ray_runner import run_on_ray

        return run_on_ray
    from curator.engine.vllm_runner import run_with_vllm

    return run_with_vllm


def check_runner(runner: str) -> str:
    from curator.errors import UsageError

    if runner not in ("local", "ray", "ray-vllm"):
        raise UsageError(f"--runner {runner!r}: use local, ray or ray-vllm")
    return runner


def check_run_args(limit: int | None, max_cost: float | None) -> None:
    """Arguments every model-calling stage takes, checked before anything is read or written."""
    from curator.errors import UsageError

    if limit is not None and limit < 0:
        raise UsageError(f"--limit {limit}: must be 0 or more")
    if max_cost is not None and not max_cost >= 0:
        raise UsageError(f"--max-cost {max_cost}: must be 0 or more (0 sends nothing)")
