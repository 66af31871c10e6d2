"""Driving one Engine against the fake server, without a project's stages around it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from curator.config import Endpoint, Price, RunSettings
from curator.engine.cache import ResponseCache
from curator.engine.client import Engine, Request, Result


def endpoint(base_url: str, **run: Any) -> Endpoint:
    return Endpoint(model="fake-vlm", base_url=base_url, api_key_env="FAKE_KEY", run=RunSettings(**run))


def requests(n: int, text: str = "Only reply with the letter", max_tokens: int = 16) -> list[Request]:
    return [Request(messages=[{"role": "user", "content": f"{text} (item {i})"}], params={"max_tokens": max_tokens})
            for i in range(n)]


def run(ep: Endpoint, reqs: list[Request], tmp: Path, *, max_cost: float | None = None,
        price: Price | None = None) -> tuple[Engine, list[Result], BaseException | None]:
    """Run every request through one engine; returns the engine, results in order, and a stop error."""
    cache = ResponseCache(tmp / "cache.sqlite")
    results: dict[int, Result] = {}
    err: BaseException | None = None

    async def main() -> Engine:
        nonlocal err
        async with Engine(ep, cache, prices={ep.model: price or Price()}, max_cost=max_cost) as eng:
            async def handle(i: int, res: Result) -> None:
                results[i] = res

            try:
                await eng.run(range(len(reqs)), lambda i: reqs[i], handle, total=len(reqs))
            except Exception as exc:  # a stop: the test inspects it
                err = exc
            return eng

    try:
        eng = asyncio.run(main())
    finally:
        cache.close()
    return eng, [results[i] for i in sorted(results)], err
