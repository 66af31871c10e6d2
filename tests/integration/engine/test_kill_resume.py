"""SIGKILL a running `curator generate`, rerun it: exact counts, no finished call paid twice."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

from conftest import photo, save, start_fake, use_fake

from curator.config import Project
from curator.stages.ingest import ingest
from curator.stages.plan import plan
from curator.store.io import read_jsonl

CONCURRENCY = 4


def _cli(project: Project) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FAKE_KEY": "sk-test", "CURATOR_BACKOFF_BASE": "0.01"}
    return subprocess.Popen([sys.executable, "-m", "curator", "generate", "-p", str(project.root)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_sigkill_then_rerun(project: Project) -> None:
    fake = start_fake(latency=0.05)
    try:
        for i in range(30):
            save(photo(i, size=(48, 32)), project.images_root / f"{i:02d}.jpg")
        ingest(project, workers=1)
        project = use_fake(project, fake, concurrency=CONCURRENCY)
        planned = plan(project, domain=["iqa"], per_cell=6, estimate_role=None).work_items
        assert planned == 6 * 16

        proc = _cli(project)
        cand = (project.data / "candidates.jsonl")
        deadline = time.time() + 60
        while time.time() < deadline and (not cand.exists() or len(cand.read_bytes().splitlines()) < 25):
            time.sleep(0.02)
        assert proc.poll() is None, f"generate ended before it could be killed: {proc.stderr.read().decode()}"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        time.sleep(0.5)  # let the server finish or drop what was in flight
        first = read_jsonl(cand)
        assert 25 <= len(first) < planned
        with sqlite3.connect(project.cache_dir / "responses.sqlite") as db:
            cached = db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
        assert cached >= len(first)
        before = len(fake.log()["answered"])

        proc = _cli(project)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        answered = fake.log()["answered"]
        second_run = len(answered) - before
        assert second_run == planned - cached  # exactly the calls that never reached the cache
        items = read_jsonl(cand)
        ids = [it["item_id"] for it in items]
        assert len(ids) == len(set(ids)) == planned
        keys = [a["key"] for a in answered]
        repeated = len(keys) - len(set(keys))
        assert repeated <= CONCURRENCY  # at most what was in flight at the kill
    finally:
        fake.proc.terminate()
