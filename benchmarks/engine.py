"""Engine throughput against the fake chat-completions server with a fixed latency.

Run: .venv/bin/python benchmarks/engine.py [--requests 2000] [--latency 0.1] [--queued 100000]

Prints, for concurrency 64 and 256: achieved requests/s divided by the limit (concurrency / latency),
beside a bare aiohttp loop (one session, a semaphore, nothing else) and a plain ``AsyncOpenAI`` +
semaphore loop, with the ratios; peak RSS while streaming ``--queued`` items through the engine; the
time of a fully cached rerun of 5,000 items; and, with ``--e2e``, a whole ``curator generate`` on 100
ingested 1024×768 JPEGs (~1,300 work items) beside a bare aiohttp loop sending the *same
precomputed bodies* to the same server in the same run. The fake server runs in its own process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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


async def run_bare(base_url: str, bodies: list[dict[str, Any]], conc: int) -> float:
    """The floor any client pays: one aiohttp session, a semaphore, a JSON post, the body read."""
    import aiohttp

    sem = asyncio.Semaphore(conc)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                     json_serialize=lambda o: json.dumps(o, separators=(",", ":"))) as session:
        async def one(body: dict[str, Any]) -> None:
            async with sem, session.post(base_url + "/chat/completions", json=body) as resp:
                await resp.read()

        t0 = time.perf_counter()
        await asyncio.gather(*(one(b) for b in bodies))
        return time.perf_counter() - t0


def e2e(latency: float, conc: int) -> None:
    """``curator generate`` end to end vs a bare loop with the same precomputed payloads."""
    import yaml
    from PIL import Image

    from curator.config import Project
    from curator.scaffold import init
    from curator.stages.common.qa_prompt import context, request_for
    from curator.stages.generate import generate
    from curator.stages.ingest import ingest
    from curator.stages.plan import plan
    from curator.store import Store

    proc, url = start_fake(latency)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "proj"
            init(root)
            rng = __import__("numpy").random.default_rng(0)
            for i in range(100):
                arr = rng.integers(0, 255, (768, 1024, 3), dtype="uint8")
                Image.fromarray(arr).save(root / "images" / f"{i:03d}.jpg", quality=85)
            cfg = yaml.safe_load((root / "curator.yaml").read_text())
            cfg["models"]["generator"] = {"model": "fake", "base_url": url, "api_key_env": "NONE",
                                          "run": {"concurrency": conc}}
            (root / "curator.yaml").write_text(yaml.safe_dump(cfg))
            os.environ["CURATOR_CACHE_DIR"] = str(Path(tmp) / "cache")
            p = Project.load(root)
            ingest(p, workers=2)
            n = plan(p, domain=["iqa"], per_cell=82, per_image_cap=14, estimate_role=None).work_items
            tax, images, desc = context(p)
            ep = p.endpoint("generator")
            eng = Engine(ep, ResponseCache(Path(tmp) / "x.sqlite"))
            bodies = [eng.body_sync(request_for(p, tax, images, desc, w, ep)) for w in Store(p).plan.read()]
            mb = sum(len(json.dumps(b)) for b in bodies) / 1e6
            t_bare = asyncio.run(run_bare(url, bodies, conc))
            t0 = time.perf_counter()
            s = generate(p)
            t_gen = time.perf_counter() - t0
            assert s.written == n, s.rows()
            print(f"e2e generate: {n} work items on 100 1024x768 JPEGs ({mb:.0f} MB of requests), concurrency {conc}, "
                  f"latency {latency}: generate {n / t_gen:.0f} items/s ({t_gen:.1f} s incl. loading tables) | bare "
                  f"aiohttp loop, same bodies {n / t_bare:.0f} req/s | ratio {t_bare / t_gen:.2f} (target >= 0.9)")
    finally:
        proc.terminate()


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--queued", type=int, default=100_000)
    ap.add_argument("--e2e", action="store_true", help="only the end-to-end generate comparison")
    a = ap.parse_args()
    if a.e2e:
        e2e(a.latency, 64)
        return
    proc, url = start_fake(a.latency)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            for conc in (64, 256):
                limit = conc / a.latency
                dt, _ = asyncio.run(run_engine(url, a.requests, conc, d, f"c{conc}"))
                ours = a.requests / dt
                bodies = [{"model": "fake", "messages": _req(i, f"bare{conc}").messages, "temperature": 0.0,
                           "max_tokens": 768, "seed": 0} for i in range(a.requests)]
                bare = a.requests / asyncio.run(run_bare(url, bodies, conc))
                dt_sdk = asyncio.run(run_openai(url, a.requests, conc, f"sdk{conc}"))
                sdk = a.requests / dt_sdk
                print(f"concurrency {conc:3d}: limit {limit:6.0f} req/s | curator {ours:6.0f} req/s = {ours / limit:.2f} "
                      f"of limit | bare aiohttp {bare:6.0f} = {bare / limit:.2f} | curator/bare = {ours / bare:.2f} "
                      f"(target >= 0.9) | AsyncOpenAI+semaphore {sdk:6.0f} = {sdk / limit:.2f} | "
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
