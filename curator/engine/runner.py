"""Glue between stages and the engine: one cache per project, one engine per role and run."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from curator.config import Endpoint, Project
from curator.engine.cache import ResponseCache
from curator.engine.client import Engine, Request, Result, RunStats
from curator.progress import Reporter

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
