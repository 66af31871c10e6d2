"""The engine's promises, measured under abuse (run by hand; prints each figure against its limit).

Run: .venv/bin/python benchmarks/engine_promises.py [--kills 15]

1. Kill storm: ``curator generate`` on 60 images x the IQA cells (~480 items), where 80% of first
   replies are invalid and need a repair call, is SIGKILLed ``--kills`` times at random moments and
   then run to the end. Paid twice = replies the fake server answered for the same request body more
   than once, beyond what was in flight at each kill (limit 0 for completed calls).
2. Money cap: every reply cut short (finish_reason=length) and billed; ``--max-cost`` 0.25 at
   concurrency 16; overshoot = spent − cap (limit ≤ 0).
3. Fail fast with default settings: seconds until the run stops on connection refused, and on an
   endpoint that hangs on every request.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration" / "engine"))


def start_fake(latency: float = 0.0) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, "-m", "curator.testing.fake_openai", "--port", "0", "--latency",
                             str(latency)], stdout=subprocess.PIPE, text=True)
    return proc, int(proc.stdout.readline().split()[1])  # type: ignore[union-attr]


def project(tmp: Path, port: int, n_images: int = 60) -> Path:
    from curator.config import Project
    from curator.scaffold import init
    from curator.stages.ingest import ingest
    from curator.stages.plan import plan

    root = tmp / "proj"
    init(root)
    rng = random.Random(0)
    for i in range(n_images):
        Image.new("RGB", (128, 96), (rng.randrange(256), rng.randrange(256), rng.randrange(256))).save(
            root / "images" / f"{i:03d}.png")
    cfg = yaml.safe_load((root / "curator.yaml").read_text())
    cfg["models"]["generator"] = {"model": "fake", "base_url": f"http://127.0.0.1:{port}/v1", "api_key_env": "NONE",
                                  "run": {"concurrency": 8}}
    (root / "curator.yaml").write_text(yaml.safe_dump(cfg))
    p = Project.load(root)
    ingest(p, workers=2)
    plan(p, domain=["iqa"], per_cell=30, per_image_cap=10, estimate_role=None)
    return root


def kill_storm(kills: int) -> None:
    proc, port = start_fake(latency=0.05)
    admin = f"http://127.0.0.1:{port}/admin"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = project(Path(tmp), port)
            # every first reply is invalid and needs a repair (which succeeds, 50 ms slower)
            rules = [{"match": "That reply was invalid", "delay": 0.05},
                     {"match": "Question template", "content": "{not json"}]
            httpx.post(f"{admin}/rules", json=rules)
            env = {**os.environ, "CURATOR_CACHE_DIR": str(Path(tmp) / "cache")}
            kill_times: list[float] = []
            rng = random.Random(1)
            for _ in range(kills):
                run = subprocess.Popen([sys.executable, "-m", "curator", "generate", "-p", str(root)], env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(rng.uniform(1.5, 4.0))
                run.send_signal(signal.SIGKILL)
                kill_times.append(time.time())
                run.wait()
            final = subprocess.run([sys.executable, "-m", "curator", "generate", "--retry-rejects", "-p", str(root)],
                                   env=env, capture_output=True, text=True)
            log = httpx.get(f"{admin}/log").json()["answered"]
            first: dict[str, float] = {}
            dup_times = []
            for a in log:
                if a["key"] in first:
                    dup_times.append(first[a["key"]])
                else:
                    first[a["key"]] = a["t"]
            # a reply the server sent while the client was being killed never arrived: asking again is not
            # paying twice for a finished call. Anything else is. Time of each key's first answer vs the kills:
            # the server finishes a request it had received before the kill (latency + delay, on a busy CPU)
            # up to a second later; the dead client never reads that reply
            in_flight = sum(1 for t in dup_times if any(k - 0.5 <= t <= k + 1.0 for k in kill_times))
            twice = len(dup_times) - in_flight
            print(f"kill storm: {kills} kills, {len(log)} paid replies, {len(dup_times)} asked twice of which "
                  f"{in_flight} were in flight at a kill (never delivered); finished calls paid twice: {twice} "
                  f"(limit 0); final run exit {final.returncode}")
    finally:
        proc.terminate()


def money_cap() -> None:
    from engine_helpers import endpoint, requests, run

    from curator.config import Price

    proc, port = start_fake()
    try:
        httpx.post(f"http://127.0.0.1:{port}/admin/rules", json=[
            {"match": "", "finish_reason": "length", "usage": {"prompt_tokens": 50, "completion_tokens": 800}}])
        with tempfile.TemporaryDirectory() as tmp:
            eng, _, err = run(endpoint(f"http://127.0.0.1:{port}/v1", concurrency=16), requests(2000, max_tokens=800),
                              Path(tmp), max_cost=0.25, price=Price(input=10, output=30))
            print(f"money cap: cap $0.25, spent ${eng.budget.spent:.4f} on {eng.stats.network_requests} cut-short "
                  f"replies; overshoot ${eng.budget.spent - 0.25:+.4f} (limit <= 0); stopped: {type(err).__name__}")
    finally:
        proc.terminate()


def fail_fast() -> None:
    from engine_helpers import endpoint, requests, run

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = s.getsockname()[1]
    s.close()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        eng, _, err = run(endpoint(f"http://127.0.0.1:{dead}/v1"), requests(1000), Path(tmp))
        dt = time.perf_counter() - t0
        print(f"connection refused (defaults): stopped after {dt:.1f} s and {eng.stats.network_requests} attempts "
              f"({type(err).__name__}); was 91 s / 245 attempts")
    proc, port = start_fake()
    try:
        httpx.post(f"http://127.0.0.1:{port}/admin/rules", json=[{"match": "", "delay": 3600}])
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            eng, _, err = run(endpoint(f"http://127.0.0.1:{port}/v1"), requests(200), Path(tmp))
            print(f"endpoint hanging on every request (defaults, timeout 120 s): stopped after "
                  f"{time.perf_counter() - t0:.1f} s ({type(err).__name__}: {str(err)[:60]})")
        httpx.post(f"http://127.0.0.1:{port}/admin/reset", json={})
        httpx.post(f"http://127.0.0.1:{port}/admin/rules", json=[
            {"match": f"(item {i})", "times": 1, "delay": 3600} for i in range(0, 2000, 50)])
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            eng, res, err = run(endpoint(f"http://127.0.0.1:{port}/v1"), requests(2000), Path(tmp))
            dt = time.perf_counter() - t0
        httpx.post(f"http://127.0.0.1:{port}/admin/reset", json={})
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            run(endpoint(f"http://127.0.0.1:{port}/v1"), requests(2000), Path(tmp))
            clean = time.perf_counter() - t0
        print(f"2% of requests hang (defaults): {dt:.1f} s vs {clean:.1f} s with none = {dt / clean:.1f}x "
              f"({sum(r.ok for r in res)}/2000 ok; was 67x)")
    finally:
        proc.terminate()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=15)
    ap.add_argument("--only", choices=["storm"], default=None)
    a = ap.parse_args()
    if a.only != "storm":
        fail_fast()
        money_cap()
    kill_storm(a.kills)
    asyncio.get_event_loop_policy()


if __name__ == "__main__":
    main()
