"""The engine's promises seen from the stages and the CLI: paid once, one run at a time, clear failures."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import FakeOpenAI, photo, save, start_fake, use_fake

from curator.config import Project
from curator.errors import ProjectBusy
from curator.stages.generate import generate
from curator.stages.ingest import ingest
from curator.stages.plan import plan
from curator.store.io import read_jsonl

REPAIR = "That reply was invalid"


def _setup(project: Project, fake: FakeOpenAI, n: int = 6, per_cell: int = 3, **run: object) -> Project:
    for i in range(n):
        save(photo(i, size=(64, 48)), project.images_root / f"img{i}.jpg")
    ingest(project, workers=1)
    project = use_fake(project, fake, **run)
    plan(project, criteria=["iqa/type/*"], per_cell=per_cell, estimate_role=None)
    return project


def _cli(project: Project, *args: str, key: str = "sk-test") -> subprocess.Popen[str]:
    env = {**os.environ, "FAKE_KEY": key, "CURATOR_BACKOFF_BASE": "0.01", "COLUMNS": "200"}
    return subprocess.Popen([sys.executable, "-m", "curator", *args, "-p", str(project.root)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _paid_twice(fake: FakeOpenAI) -> int:
    keys = [a["key"] for a in fake.log()["answered"]]
    return len(keys) - len(set(keys))


def test_kill_during_repair_pays_nothing_twice(project: Project) -> None:
    fake = start_fake()
    try:
        project = _setup(project, fake, per_cell=4, concurrency=4)
        # every first reply is invalid JSON; every repair hangs until the kill
        fake.rules([{"match": REPAIR, "delay": 60}, {"match": "Question template", "content": "{not json"}])
        proc = _cli(project, "generate")
        deadline = time.time() + 60
        while time.time() < deadline and sum(1 for r in fake.log()["requests"] if r["status"] == 200) < 8:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        firsts = len(fake.log()["answered"])
        assert firsts >= 4
        fake.rules([{"match": "Question template", "content": "{not json", "times": 0}])  # repairs now succeed
        out = _cli(project, "generate")
        _stdout, stderr = out.communicate(timeout=120)
        assert out.returncode == 0, stderr
        assert _paid_twice(fake) == 0  # no first reply re-bought: they were cached, invalid or not
        assert len(read_jsonl(project.data / "candidates.jsonl")) == 20
    finally:
        fake.proc.terminate()


def test_a_transient_repair_failure_leaves_the_item_to_do(project: Project, fake: FakeOpenAI) -> None:
    project = _setup(project, fake, n=2, per_cell=1, max_retries=0)
    fake.rules([{"match": REPAIR, "times": 1, "status": 503}, {"match": "Question template", "times": 1,
                                                                 "content": "{not json"}])
    s = generate(project)
    assert s.unfinished == 1 and s.written == 4
    rej = read_jsonl(project.data / "generate_rejects.jsonl")
    assert len(rej) == 1 and rej[0]["reason"] == "repair_server_error_503" and rej[0]["final"] is False
    again = generate(project)  # the first reply comes from the cache; only the repair is asked again
    assert again.written == 1 and again.unfinished == 0 and _paid_twice(fake) == 0


def test_judge_pays_for_an_invalid_verdict_once(project: Project, fake: FakeOpenAI) -> None:
    from curator.stages.judge import judge

    project = _setup(project, fake, n=2, per_cell=1)
    generate(project)
    project = use_fake(project, fake, roles=("generator", "judge"))
    fake.rules([{"match": "Template:", "content": "I think it is fine."}])
    first = judge(project)
    assert first.failed["invalid_reply"] == 5 and len(read_jsonl(project.data / "judge_rejects.jsonl")) == 5
    before = fake.log()["received"]
    again = judge(project)
    assert again.judged == 0 and fake.log()["received"] == before  # recorded, not re-bought


def test_one_run_per_project(project: Project) -> None:
    fake = start_fake(latency=0.2)
    try:
        project = _setup(project, fake, per_cell=6, concurrency=2)
        proc = _cli(project, "generate")
        lock = project.data / ".lock"
        deadline = time.time() + 60
        while time.time() < deadline and not (lock.exists() and lock.read_text()):
            time.sleep(0.02)
        with pytest.raises(ProjectBusy, match=r"`curator generate` \(pid \d+"):
            generate(project)
        busy = _cli(project, "generate")
        _, err = busy.communicate(timeout=60)
        assert busy.returncode == 4 and "--wait" in err
        s = generate(project, wait=True)  # queues behind the first run, then finds everything done
        assert proc.wait(timeout=120) == 0
        assert s.written == 0 and s.already_done == 30 and _paid_twice(fake) == 0
        assert len(read_jsonl(project.data / "candidates.jsonl")) == 30
    finally:
        fake.proc.terminate()


def test_unfinished_items_exit_3_and_say_so(project: Project, fake: FakeOpenAI) -> None:
    project = _setup(project, fake, n=2, per_cell=2, max_retries=1)
    fake.rules([{"match": "Question template: what", "status": 503}])
    res = _cli(project, "generate")
    out, err = res.communicate(timeout=120)
    assert res.returncode == 3, out + err
    assert "2 items unfinished — rerun to resume" in out + err
    fake.rules([])
    assert _cli(project, "generate").wait(timeout=120) == 0


def test_a_missing_image_file_fails_its_items_only(project: Project, fake: FakeOpenAI) -> None:
    project = _setup(project, fake, n=3, per_cell=3)
    (project.images_root / "img1.jpg").unlink()
    s = generate(project)
    assert s.rejected["image_unreadable"] == 5 and s.written == 10 and s.unfinished == 5
    rej = read_jsonl(project.data / "generate_rejects.jsonl")
    assert all("img1.jpg" in r["detail"] for r in rej)


def test_a_key_echoed_by_the_server_is_never_stored_or_printed(project: Project, fake: FakeOpenAI) -> None:
    secret = "sk-live-0123456789abcdefSECRET"
    project = _setup(project, fake, n=2, per_cell=1, max_retries=0)
    fake.rules([{"match": "", "status": 400, "echo_auth": True}])
    res = _cli(project, "generate", key=secret)
    out, err = res.communicate(timeout=120)
    assert res.returncode != 0
    stored = (project.data / "generate_rejects.jsonl").read_text()
    assert "Bearer" in stored and secret not in stored and "[redacted]" in stored
    assert secret not in out + err


def test_bad_arguments_exit_2_and_change_nothing(project: Project, fake: FakeOpenAI) -> None:
    project = _setup(project, fake, n=2, per_cell=1)
    plan_before = (project.data / "plan.jsonl").read_bytes()
    for args, word in ((["plan", "--per-cell", "0"], "per-cell"), (["plan", "--per-cell", "-5"], "per-cell"),
                       (["plan", "--template", "bogus"], "bogus"), (["generate", "--limit", "-1"], "limit"),
                       (["ingest", "--workers", "-2"], "workers"), (["sample", "--train-fraction", "2"], "train"),
                       (["sample", "--bins", "mos:q0"], "bins"), (["plan", "--quota", "nope.csv"], "quota"),
                       (["generate", "--max-cost", "-1"], "max-cost")):
        res = _cli(project, *args)
        out, err = res.communicate(timeout=60)
        assert res.returncode == 2, (args, out, err)
        assert word in (out + err).lower() and "Traceback" not in out + err, args
    assert (project.data / "plan.jsonl").read_bytes() == plan_before
    assert not (project.data / "train_pool.parquet").exists()
    res = _cli(project, "batch", "import", "nope.jsonl")
    out, err = res.communicate(timeout=60)
    assert res.returncode in (1, 2) and "nope.jsonl" in out + err and "Traceback" not in out + err


def test_config_values_a_user_writes(project: Project) -> None:
    from curator.errors import ConfigError

    y = project.root / "curator.yaml"
    y.write_text(y.read_text() + "\n# json_schema: off is written bare in the docs\n")
    cfg = yaml.safe_load(y.read_text())
    cfg["models"]["generator"] = {"model": "m", "base_url": "http://localhost:8000/v1", "json_schema": False}
    y.write_text(yaml.safe_dump(cfg).replace("json_schema: false", "json_schema: off"))
    assert Project.load(project.root).config.models.generator.json_schema == "off"
    cfg["models"]["generator"]["base_url"] = "not a url"
    y.write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError, match="not an http"):
        Project.load(project.root)
    for bad in ({"timeout": -1}, {"max_retries": -1}):
        cfg["models"]["generator"] = {"model": "m", "run": bad}
        y.write_text(yaml.safe_dump(cfg))
        with pytest.raises(ConfigError, match=next(iter(bad))):
            Project.load(project.root)
    y.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        Project.load(project.root)


def test_ingest_reports_what_it_cannot_use(project: Project, tmp_path: Path) -> None:
    import pandas as pd
    from PIL import Image

    root = project.images_root
    for i in range(4):
        save(photo(i), root / f"p{i}.jpg")
    (root / "phone.heic").write_bytes(b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64)
    frames = [photo(i, size=(32, 32)) for i in range(3)]
    frames[0].save(root / "anim.gif", save_all=True, append_images=frames[1:])
    pd.DataFrame({"path": ["p0.jpg", "p1.jpg", "p2.jpg", "p2.jpg", "p3.jpg", "p3.jpg", "anim.gif"],
                  "mos": ["3.5", "abc", "inf", "inf", 2.0, 4.0, 1.0]}).to_csv(tmp_path / "l.csv", index=False)
    s = ingest(project, labels=tmp_path / "l.csv", score_cols=["mos"], scale="1:5", score_domain="iqa", workers=1)
    rej = pd.read_parquet(project.data / "ingest_rejects.parquet").set_index("path")
    assert rej.loc["p1.jpg", "reason"] == "bad_label" and "l.csv:3: mos = 'abc'" in rej.loc["p1.jpg", "detail"]
    assert rej.loc["p2.jpg", "reason"] == "bad_label"
    assert rej.loc["p3.jpg", "reason"] == "conflicting_labels" and "rows 6, 7" in rej.loc["p3.jpg", "detail"]
    img = pd.read_parquet(project.data / "images.parquet").set_index("path")
    assert set(img.index) == {"p0.jpg", "anim.gif"} and s.ingested == 2
    assert "only the first is used" in json.loads(img.loc["anim.gif", "meta"])["frames_note"]
    folder = ingest(project, workers=1)  # a plain folder scan lists the unreadable format
    rej = pd.read_parquet(project.data / "ingest_rejects.parquet").set_index("path")
    assert rej.loc["phone.heic", "reason"] == "unsupported_format" and folder.rejected["unsupported_format"] == 1
    assert Image.open(root / "anim.gif").n_frames == 3


def test_a_killed_ingest_keeps_its_progress_and_leaves_no_workers(project: Project) -> None:
    import psutil

    for i in range(600):
        save(photo(i, size=(400, 300)), project.images_root / f"{i:04d}.png", "PNG")
    proc = subprocess.Popen([sys.executable, "-m", "curator", "ingest", "--workers", "2", "-p", str(project.root)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = project.data / "images.parts"
    deadline = time.time() + 120
    while time.time() < deadline and not (parts.is_dir() and any(parts.glob("*.parquet"))):
        time.sleep(0.02)
    children = psutil.Process(proc.pid).children(recursive=True)
    assert children, "ingest ran no workers"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, f"workers left behind: {[p.pid for p in alive]}"
    s = ingest(project, workers=2)
    assert s.already_present >= 256 and s.total_images == 600  # a committed chunk is never redone


def test_label_studio_gets_no_model_key_and_credentials_are_private(tmp_path: Path) -> None:
    import stat

    from curator.stages.review.server import server_env, write_private

    env = server_env({"PATH": "/usr/bin", "HOME": "/h", "OPENAI_API_KEY": "sk-x", "FAKE_KEY": "k", "PORT": "1",
                      "HF_TOKEN": "hf_x", "PASSWORD": "p"})
    assert env == {"PATH": "/usr/bin", "HOME": "/h"}
    path = tmp_path / "creds.json"
    write_private(path, "{}")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_ctrl_c_finishes_what_is_in_flight_then_exits_130(project: Project) -> None:
    fake = start_fake(latency=0.3)
    try:
        project = _setup(project, fake, per_cell=6, concurrency=4)
        proc = _cli(project, "generate")
        deadline = time.time() + 60
        while time.time() < deadline and len(fake.log()["requests"]) < 8:
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, out + err
        assert "finishing the requests in flight" in out + err
        answered = len(fake.log()["answered"])
        saved = len(read_jsonl(project.data / "candidates.jsonl"))
        assert saved == answered  # every reply that arrived was written before exiting
        again = _cli(project, "generate")
        assert again.wait(timeout=120) == 0 and _paid_twice(fake) == 0
    finally:
        fake.proc.terminate()
