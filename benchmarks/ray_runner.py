"""The same 2,000 requests (fake server, 100 ms latency) through the local runner and the Ray runner.

Run: .venv/bin/python benchmarks/ray_runner.py [--n 2000] [--latency 0.1] [--concurrency 64]
Prints wall time and requests/s for: the local runner (one engine, ``concurrency`` in flight), and the
Ray runner with 1 and 2 actors (each with ``concurrency / actors`` in flight) on a local Ray instance
(``ray.init(num_cpus=2)``), each as a ratio to the local runner. On this 2-core machine the fake server,
the driver and the actors share two cores, so these figures show Ray's overhead, not its scaling. Last,
k endpoints (k fake servers as one endpoint's ``base_url`` + ``replicas``) with k actors, k = 1, 2, printed
as a ratio to k = 1: with endpoints that scale, throughput should grow with k; on two cores the fake
servers themselves bound it (docs/scale.md).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from curator.config import Project
from curator.engine.client import Engine, Request, Result
from curator.engine.ray_runner import run_on_ray
from curator.engine.runner import run_stage
from curator.scaffold import init


def start_fake(latency: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "curator.testing.fake_openai", "--port", "0", "--latency",
                             str(latency)], stdout=subprocess.PIPE, text=True)
    port = int(proc.stdout.readline().split()[1])  # type: ignore[union-attr]
    return proc, f"http://127.0.0.1:{port}/v1"


def project(root: Path, base_url: str, concurrency: int, actors: int, replicas: list[str] | None = None) -> Project:
    init(root)
    cfg = yaml.safe_load((root / "curator.yaml").read_text())
    cfg["models"]["generator"] = {"model": "fake-vlm", "base_url": base_url, "api_key_env": "FAKE_KEY",
                                  "replicas": replicas or [],
                                  "run": {"concurrency": concurrency, "timeout": 30, "max_retries": 3}}
    cfg["ray"] = {"actors": actors, "batch_size": 16, "actor_cpus": 0.25}
    (root / "curator.yaml").write_text(yaml.safe_dump(cfg))
    return Project.load(root)


def run(p: Project, n: int, tag: str, on_ray: bool) -> float:
    """Seconds for n distinct requests through one runner (a fresh cache: every request goes out)."""
    ep = p.endpoint("generator")
    done = 0

    def build(i: int) -> Request:
        return Request(messages=[{"role": "user", "content": f"Only reply with the letter ({tag} {i})"}],
                       params={"max_tokens": 8})

    async def handle(eng: Engine, i: int, res: Result) -> None:
        nonlocal done
        done += res.ok

    t0 = time.perf_counter()
    runner: Any = run_on_ray if on_ray else run_stage
    runner(p, ep, range(n), build, handle, total=n, description=tag, max_cost=None)
    dt = time.perf_counter() - t0
    assert done == n, (done, n)
    return dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--concurrency", type=int, default=64)
    a = ap.parse_args()
    os.environ.setdefault("FAKE_KEY", "sk-bench")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    import ray

    ray_tmp = tempfile.mkdtemp(prefix="rayb", dir="/tmp")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False, _temp_dir=ray_tmp)
    fake, url = start_fake(a.latency)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            t_local = run(project(Path(tmp) / "local", url, a.concurrency, 1), a.n, "local", False)
            print(f"local runner: {a.n} requests in {t_local:.1f} s = {a.n / t_local:.0f} req/s")
            for actors in (1, 2):
                t = run(project(Path(tmp) / f"ray{actors}", url, a.concurrency, actors), a.n, f"ray{actors}", True)
                print(f"ray runner, {actors} actor(s): {t:.1f} s = {a.n / t:.0f} req/s; ratio to local "
                      f"{t_local / t:.2f}")
    finally:
        fake.terminate()
    by_k = {}
    for k in (1, 2):  # k endpoints (one fake server each), one actor per endpoint: the endpoints scale with actors
        servers = [start_fake(a.latency) for _ in range(k)]
        try:
            with tempfile.TemporaryDirectory() as tmp:
                urls = [u for _, u in servers]
                by_k[k] = run(project(Path(tmp) / f"k{k}", urls[0], a.concurrency * k, k, urls[1:]), a.n, f"k{k}",
                              True)
                print(f"ray runner, {k} endpoint(s), {k} actor(s), {a.concurrency} in flight each: {by_k[k]:.1f} s = "
                      f"{a.n / by_k[k]:.0f} req/s" + (f"; ratio to k=1 {by_k[1] / by_k[k]:.2f}" if k > 1 else ""))
        finally:
            for proc, _ in servers:
                proc.terminate()
    ray.shutdown()


if __name__ == "__main__":
    main()
