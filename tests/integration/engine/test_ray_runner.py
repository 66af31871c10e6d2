"""The Ray runner on a local Ray instance: the same candidates as the local runner, faults handled the
same way, and a run killed with -9 pays for nothing twice when rerun."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import FakeOpenAI, photo, save, use_fake

from curator.config import Project
from curator.scaffold import init
from curator.stages.generate import generate
from curator.stages.ingest import ingest
from curator.stages.plan import plan
from curator.store import Store

pytestmark = pytest.mark.ray


def _project(root: Path, fake: FakeOpenAI, n_images: int = 4, per_cell: int = 2, **run: object) -> Project:
    init(root)
    p = Project.load(root)
    for i in range(n_images):
        save(photo(i, size=(64, 48)), p.images_root / f"img{i}.jpg")
    ingest(p, workers=1)
    p = use_fake(p, fake, **run)
    plan(p, criteria=["iqa/type/*", "iqa/severity/*"], per_cell=per_cell, estimate_role=None)
    return p


def _items(p: Project) -> dict[str, tuple[str, str, list[str]]]:
    return {r["item_id"]: (r["answer"], r["question"], r["options"]) for r in Store(p).candidates.read()}


def test_the_ray_runner_writes_the_same_candidates_as_the_local_runner(tmp_path: Path, fake: FakeOpenAI,
                                                                      ray_cluster: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    local = _project(tmp_path / "local", fake)
    on_ray = _project(tmp_path / "ray", fake)
    monkeypatch.setenv("CURATOR_CACHE_DIR", str(tmp_path / "cache-local"))
    a = generate(local)
    fake.reset()
    monkeypatch.setenv("CURATOR_CACHE_DIR", str(tmp_path / "cache-ray"))  # nothing answered from the other run
    b = generate(on_ray, runner="ray")
    assert a.written == b.written == 12
    assert _items(local) == _items(on_ray)  # same ids, questions, options, answers
    assert b.stats is not None and b.stats.network_requests == 12 and b.stats.cache_hits == 0
    assert len(fake.log()["answered"]) == 12
    again = generate(on_ray, runner="ray")
    assert again.written == 0 and again.already_done == 12


def test_faults_on_ray_behave_as_on_the_local_runner(tmp_path: Path, fake: FakeOpenAI, ray_cluster: str) -> None:
    p = _project(tmp_path / "p", fake, n_images=6, per_cell=4, timeout=1.5, max_retries=4)
    fake.rules([
        {"match": "Question template: why", "times": 2, "status": 429, "retry_after": 0.2},
        {"match": "Question template: how", "times": 2, "status": 500},
        {"match": "Question template: what", "times": 1, "delay": 3},
    ])
    s = generate(p, runner="ray")
    planned = len(Store(p).plan.read())
    assert s.written == planned and not s.rejected and s.unfinished == 0
    assert s.stats is not None and s.stats.retries >= 5
    statuses = [r["status"] for r in fake.log()["requests"]]
    assert statuses.count(429) == 2 and statuses.count(500) == 2
    answered = [r["key"] for r in fake.log()["answered"]]
    assert len(answered) == len(set(answered)) == planned  # every item paid for exactly once


def test_a_killed_ray_run_pays_for_nothing_twice(tmp_path: Path, fake: FakeOpenAI, ray_cluster: str) -> None:
    """kill -9 of the driver mid-run; the rerun asks only what never reached the cache."""
    p = _project(tmp_path / "p", fake, n_images=8, per_cell=6, concurrency=4)
    cfg = yaml.safe_load((p.root / "curator.yaml").read_text())
    cfg["runner"] = "ray"  # the project setting, not the flag
    (p.root / "curator.yaml").write_text(yaml.safe_dump(cfg))
    planned = len(Store(p).plan.read())
    fake.rules([{"match": "", "delay": 0.3}])
    env = {**os.environ, "RAY_ADDRESS": ray_cluster, "FAKE_KEY": "sk-test"}
    proc = subprocess.Popen([sys.executable, "-m", "curator", "generate", "-p", str(p.root)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 180
    while len(fake.log()["answered"]) < 8 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert proc.poll() is None, f"generate ended before it could be killed: {proc.stderr.read().decode()[-2000:]}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(3)  # the cluster ends the dead driver's job and its actors; in-flight replies land or drop
    with sqlite3.connect(p.cache_dir / "responses.sqlite") as db:
        cached = db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    before = len(fake.log()["answered"])
    assert 8 <= cached < planned  # killed mid-way, every paid reply cached by the actor that got it
    fake.rules([])
    done = subprocess.run([sys.executable, "-m", "curator", "generate", "-p", str(p.root)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    answered = [r["key"] for r in fake.log()["answered"]]
    assert len(answered) - before == planned - cached  # exactly the calls that never reached the cache
    assert len(answered) - len(set(answered)) <= 4  # at most what was in flight at the kill
    ids = [r["item_id"] for r in Store(p).candidates.read()]
    assert len(ids) == len(set(ids)) == planned


def test_actors_spread_over_replicas_and_a_reply_is_paid_once_whichever_gave_it(tmp_path: Path, fake: FakeOpenAI,
                                                                               ray_cluster: str) -> None:
    from conftest import start_fake

    second = start_fake()
    try:
        p = _project(tmp_path / "p", fake, n_images=6, per_cell=4)
        cfg = yaml.safe_load((p.root / "curator.yaml").read_text())
        cfg["models"]["generator"]["replicas"] = [second.base_url]
        cfg["ray"] = {"actors": 2, "batch_size": 2}  # many batches: both actors get some
        (p.root / "curator.yaml").write_text(yaml.safe_dump(cfg))
        p = Project.load(p.root)
        for server in (fake, second):  # slow replies, so that both actors get batches while the other works
            server.rules([{"match": "", "delay": 0.3}])
        s = generate(p, runner="ray")
        planned = len(Store(p).plan.read())
        served = [len(fake.log()["answered"]), len(second.log()["answered"])]
        assert s.written == planned and sum(served) == planned and min(served) > 0  # both replicas worked
        (p.data / "candidates.jsonl").unlink()  # rebuild the table: every reply comes from the cache
        again = generate(p, runner="ray")
        assert again.written == planned and again.stats is not None and again.stats.cache_hits == planned
        assert [len(fake.log()["answered"]), len(second.log()["answered"])] == served
    finally:
        second.proc.terminate()  # type: ignore[attr-defined]
