"""Engine throughput against the fake chat-completions server with a fixed latency.

Run: .venv/bin/python benchmarks/engine.py [--requests 2000] [--latency 0.1] [--queued 100000]

Prints, for concurrency 64 and 256: achieved requests/s divided by the limit (concurrency / latency),
the same workload through a plain ``AsyncOpenAI`` + semaphore loop (and the ratio between the two),
peak RSS while streaming ``--queued`` items through the engine, and the time of a fully cached
rerun of 5,000 items. The fake server runs in its own process on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from curator.config import Endpoint, RunSettings
from curator.engine.cache import ResponseCache
from curator.engine.client import Engine, Request


def start_fake(latency: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "curator.testing.fake_openai", "--port", "0", "--latency",
                             str(latency)], stdout=subprocess.PIPE, text=True)
    port = int(proc.stdout.readline().split()[1])  # type: ignore[union-attr]
    return proc, f"http://127.0.0.1:{port}/v1"


def _req(i: int, tag: str) -> Request:
    return Request(messages=[{"role": "user", "content": f"{tag} question {i}: reply with a letter."}])


async def run_engine(base_url: str, n: int, conc: int, cache_dir: Path, tag: str) -> tuple[float, Engine]:
    ep = Endpoint(model="fake", base_url=base_url, api_key_env="NONE", run=RunSettings(concurrency=conc))
    cache = ResponseCache(cache_dir / f"{tag}.sqlite")

    async def handle(item: int, res: object) -> None:
        return None

    async with Engine(ep, cache) as eng:
        t0 = time.perf_counter()
        await eng.run(range(n), lambda i: _req(i, tag), handle, total=n)
        dt = time.perf_counter() - t0
    cache.close()
    return dt, eng


async def run_openai(base_url: str, n: int, conc: int, tag: str) -> float:
    import openai

    client = openai.AsyncOpenAI(base_url=base_url, api_key="x", max_retries=0)
    sem = asyncio.Semaphore(conc)

    async def one(i: int) -> None:
        async with sem:
            await client.chat.completions.create(model="fake", messages=_req(i, tag).messages)  # type: ignore[arg-type]

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    dt = time.perf_counter() - t0
    await client.close()
    return dt


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--queued", type=int, default=100_000)
    a = ap.parse_args()
    proc, url = start_fake(a.latency)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            for conc in (64, 256):
                limit = conc / a.latency
                dt, _ = asyncio.run(run_engine(url, a.requests, conc, d, f"c{conc}"))
                ours = a.requests / dt
                dt_sdk = asyncio.run(run_openai(url, a.requests, conc, f"sdk{conc}"))
                sdk = a.requests / dt_sdk
                print(f"concurrency {conc:3d}: limit {limit:6.0f} req/s | curator {ours:6.0f} req/s = {ours / limit:.2f} "
                      f"of limit | AsyncOpenAI+semaphore {sdk:6.0f} req/s = {sdk / limit:.2f} of limit | "
                      f"curator/SDK = {ours / sdk:.2f}x")
            # cached rerun of 5,000 items
            dt, _ = asyncio.run(run_engine(url, 5000, 64, d, "cached"))
            dt2, eng = asyncio.run(run_engine(url, 5000, 64, d, "cached"))
            assert eng.stats.cache_hits == 5000 and eng.stats.network_requests == 0
            print(f"cached rerun of 5,000 items: {dt2:.2f} s (limit 3 s; ratio {dt2 / 3:.2f}); first run {dt:.1f} s")
        proc.terminate()
        proc, url = start_fake(0.0)
        with tempfile.TemporaryDirectory() as tmp:
            base = rss_mb()
            small = min(10_000, a.queued)
            asyncio.run(run_engine(url, small, 256, Path(tmp), "mem_small"))
            after_small = rss_mb()
            t0 = time.perf_counter()
            asyncio.run(run_engine(url, a.queued, 256, Path(tmp), "mem_big"))
            after_big = rss_mb()
            print(f"peak RSS: start {base:.0f} MB, after {small:,} items {after_small:.0f} MB, after {a.queued:,} "
                  f"items {after_big:.0f} MB ({a.queued / (time.perf_counter() - t0):.0f} req/s at latency 0)")
    finally:
        proc.terminate()
    print(f"cpu count: {os.cpu_count()}")


if __name__ == "__main__":
    main()
