"""The review path as the README writes it, and the ways it must never lose people's work (real server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pandas as pd
import pytest
import yaml
from annotators import annotate, choice, new_user, sdk_for, task_ids, text
from conftest import use_label_studio

from curator.config import Project
from curator.errors import ReviewError
from curator.scaffold import init
from curator.stages.checks import check
from curator.stages.generate import generate
from curator.stages.ingest import synth
from curator.stages.plan import plan
from curator.stages.review.pull import pull
from curator.stages.review.push import load_state, push
from curator.stages.sample import sample

pytestmark = pytest.mark.labelstudio


def _build(project: Project, n: int = 2) -> Project:
    synth(project, max_references=1, distortions=["gaussian_blur", "jpeg"], seed=5, workers=2)
    plan(project, criteria=["iqa/severity/*", "iqa/type/*"], per_cell=3, backend="synthetic", estimate_role=None)
    generate(project, backend="synthetic")
    check(project, per_image_cap=None)
    sample(project, n=n)
    return project


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CURATOR_TEST_LS_TOKEN"}
    return subprocess.run([sys.executable, "-m", "curator", *args], cwd=root, env={**env, "COLUMNS": "200"},
                          capture_output=True, text=True, timeout=600)


def test_readme_review_steps_work_as_written(tmp_path: Path) -> None:
    """`curator review serve --install` then `curator review push --overlap 2`, default local image mode,
    a fresh project; every image is fetched over HTTP with the token and compared byte for byte."""
    root = tmp_path / "my-bench"
    init(root)
    _build(Project.load(root))
    served = _cli(root, "review", "serve", "--install")
    try:
        assert served.returncode == 0, served.stdout + served.stderr
        pushed = _cli(root, "review", "push", "--overlap", "2")
        assert pushed.returncode == 0, pushed.stdout + pushed.stderr
        p = Project.load(root)
        info = json.loads((root / ".labelstudio" / "server.json").read_text())
        creds = json.loads((root / ".labelstudio" / "credentials.json").read_text())
        headers = {"Authorization": f"Token {creds['token']}"}
        pid = load_state(p)["projects"]["vqa"]["id"]
        proj = httpx.get(f"{info['url']}/api/projects/{pid}", headers=headers).json()
        assert proj["maximum_annotations"] == 2
        tasks = httpx.get(f"{info['url']}/api/tasks", params={"project": pid, "page_size": 500},
                          headers=headers).json()
        tasks = tasks["tasks"] if isinstance(tasks, dict) else tasks
        chosen = pd.read_parquet(p.data / "sample.parquet").set_index("item_id")
        assert len(tasks) == len(chosen) > 0
        for t in tasks:
            url = t["data"]["image"]
            assert url.startswith("/data/local-files/?d=")
            r = httpx.get(info["url"] + url, headers=headers)
            assert r.status_code == 200, (url, r.text[:200])
            assert r.content == (p.images_root / chosen.loc[t["data"]["ext_id"], "image_path"]).read_bytes()
        again = _cli(root, "review", "push")  # idempotent, and the overlap set above is kept
        assert again.returncode == 0 and "2 (kept" in again.stdout
    finally:
        stopped = _cli(root, "review", "stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    down = _cli(root, "review", "push")
    assert down.returncode == 1 and "cannot reach Label Studio" in down.stdout + down.stderr
    assert "Traceback" not in down.stdout + down.stderr


def _annotate(p: Project, verdicts: dict[str, list[tuple[str, str | None, dict[str, str]]]]) -> None:
    """item id → [(verdict, option, extra text fields)], one annotator each (created as needed)."""
    tasks = task_ids(p)
    ls = sdk_for(p)
    users = [int(ls.users.whoami().id)]  # type: ignore[arg-type]
    for iid, anns in verdicts.items():
        for k, (verdict, option, extra) in enumerate(anns):
            while len(users) <= k:
                users.append(new_user(ls))
            res = [choice("verdict", verdict)] + ([choice("correct_option", option)] if option else [])
            res += [text(name, value) for name, value in extra.items()]
            annotate(ls, tasks[iid], res, users[k], lead_time=2.0)


def test_disagreement_on_the_answer_or_an_edit_is_a_dispute(project: Project, label_studio: Project) -> None:
    p = use_label_studio(_build(project, n=3), label_studio)
    push(p, overlap=2)
    items = pd.read_parquet(p.data / "sample.parquet")
    mcq = items[items["template"].isin(["what", "which", "how", "why"])]
    ids = list(mcq["item_id"][:3])
    a0 = list(mcq["answer"][:3])
    other = ["B" if a != "B" else "C" for a in a0]
    _annotate(p, {
        ids[0]: [("accept", a0[0], {}), ("accept", other[0], {})],                         # letters tie
        ids[1]: [("accept_with_edits", a0[1], {"question_edit": "Which one, really?"}),
                 ("accept_with_edits", a0[1], {"question_edit": "Which distortion, really?"})],  # edits tie
        ids[2]: [("accept", other[2], {}), ("accept", other[2], {})],                       # accept moves the answer
    })
    pull(p)
    m = pd.read_parquet(p.data / "reviewed.parquet").set_index("item_id")
    assert (m.loc[ids[0], "review_status"], m.loc[ids[0], "dispute_reason"]) == ("disputed", "answer")
    assert (m.loc[ids[1], "review_status"], m.loc[ids[1], "dispute_reason"]) == ("disputed", "question edit")
    assert m.loc[ids[2], "review_status"] == "edited" and m.loc[ids[2], "answer_changed_on_accept"]
    row = m.loc[ids[2]]
    assert row["final_answer"] == other[2]
    # the model's original answer (its own option order, before letter balancing) is kept beside it
    assert list(row["model_options"])[ord(row["model_answer"]) - 65] == list(row["options"])[ord(a0[2]) - 65]


def test_another_address_of_the_same_server_is_the_same_project(project: Project, label_studio: Project) -> None:
    p = use_label_studio(_build(project), label_studio)
    first = push(p, overlap=2)
    ids = list(pd.read_parquet(p.data / "sample.parquet")["item_id"][:2])
    _annotate(p, {ids[0]: [("accept", None, {})], ids[1]: [("reject", None, {})]})
    assert pull(p).status["accepted"] == 1
    # the same database, reached as localhost instead of 127.0.0.1
    y = p.root / "curator.yaml"
    cfg = yaml.safe_load(y.read_text())
    cfg["label_studio"]["url"] = cfg["label_studio"]["url"].replace("127.0.0.1", "localhost")
    y.write_text(yaml.safe_dump(cfg))
    p2 = Project.load(p.root)
    again = push(p2)
    assert again.project_id == first.project_id and again.imported == 0 and "2 (kept" in again.overlap
    res = pull(p2)
    assert res.status["accepted"] == 1 and res.status["rejected"] == 1
    state = load_state(p2)["projects"]["vqa"]
    assert "localhost" in state["url"] and state["uid"]


def test_a_pull_never_replaces_reviews_with_fewer(project: Project, label_studio: Project) -> None:
    p = use_label_studio(_build(project), label_studio)
    push(p)
    ids = list(pd.read_parquet(p.data / "sample.parquet")["item_id"][:2])
    _annotate(p, {ids[0]: [("accept", None, {})], ids[1]: [("accept", None, {})]})
    pull(p)
    table = (p.data / "reviewed.parquet")
    before = table.read_bytes()
    # the recorded project now points at a different project on the server (as after a database swap)
    ls = sdk_for(p)
    other = ls.projects.create(title="someone else's", label_config="<View><Text name='t' value='$t'/></View>").id
    state_path = p.data / "review" / "state.json"
    state = json.loads(state_path.read_text())
    good_id = state["projects"]["vqa"]["id"]
    state["projects"]["vqa"]["id"] = other
    state_path.write_text(json.dumps(state))
    with pytest.raises(ReviewError, match="is a different project"):
        pull(p)
    with pytest.raises(ReviewError, match="is a different project"):
        push(p)
    assert table.read_bytes() == before
    # the right project, but its annotations are gone: refused unless forced, and the old table is kept
    state["projects"]["vqa"]["id"] = good_id
    state_path.write_text(json.dumps(state))
    for tid in task_ids(p).values():  # someone wiped the annotations
        for a in ls.annotations.list(id=tid):
            ls.annotations.delete(id=int(a.id))  # type: ignore[arg-type]
    with pytest.raises(ReviewError, match="would replace 2 reviewed items"):
        pull(p)
    assert table.read_bytes() == before
    pull(p, force=True)
    assert (p.data / "reviewed.previous.parquet").read_bytes() == before


def test_review_stop_ignores_a_stale_pid_file(project: Project) -> None:
    from curator.stages.review.server import stop

    victim = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        d = project.root / ".labelstudio"
        d.mkdir(exist_ok=True)
        (d / "server.json").write_text(json.dumps({"url": "http://127.0.0.1:1", "pid": victim.pid}))
        assert stop(project) is False
        assert victim.poll() is None  # not signalled
    finally:
        victim.kill()


def test_relative_source_is_recorded_absolute(project: Project, label_studio: Project, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    p = use_label_studio(_build(project), label_studio)
    monkeypatch.chdir(p.root)
    push(p, source="data/sample.parquet", image_mode="inline")
    recorded = load_state(p)["projects"]["vqa"]["source"]
    assert Path(recorded).is_absolute() and Path(recorded).exists()
    monkeypatch.chdir(p.root.parent)
    pull(p)  # from another working folder


def test_pull_streams_an_inline_export_to_a_compressed_raw_file(project: Project, label_studio: Project) -> None:
    """Inline images travel in the export: it is kept gzip-compressed as received, read task by task."""
    import gzip

    p = use_label_studio(_build(project), label_studio)
    push(p, image_mode="inline")
    ids = list(pd.read_parquet(p.data / "sample.parquet")["item_id"][:2])
    _annotate(p, {ids[0]: [("accept", None, {})], ids[1]: [("reject", None, {})]})
    res = pull(p)
    raw = Path(res.raw_export)
    assert raw.name.endswith(".json.gz") and raw.parent == p.data / "review" / "raw"
    exported = json.loads(gzip.decompress(raw.read_bytes()))
    assert all(t["data"]["image"].startswith("data:image/") for t in exported)  # as received, images and all
    assert raw.stat().st_size < len(json.dumps(exported))
    assert not list(raw.parent.glob("*.part"))
    assert (res.tasks_exported, res.status["accepted"], res.status["rejected"]) == (len(exported), 1, 1)
