"""The Label Studio round trip against a real server started by the test session."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import datasets
import httpx
import pandas as pd
import pytest
from annotators import annotate, choice, new_user, sdk_for, text
from conftest import use_label_studio

from curator.config import Project
from curator.errors import ReviewError
from curator.stages.checks import check
from curator.stages.generate import generate
from curator.stages.ingest import synth
from curator.stages.plan import plan
from curator.stages.review.labeling import vqa_config
from curator.stages.review.pull import pull
from curator.stages.review.push import connect, load_state, push
from curator.stages.review.studio import Studio
from curator.store.io import read_jsonl

pytestmark = pytest.mark.labelstudio

SEV, TYPE = "iqa/severity/severity_level", "iqa/type/distortion_types"


def _items(project: Project, ls: Project) -> Project:
    synth(project, max_references=1, distortions=["gaussian_blur", "jpeg", "brightness_up"], seed=5, workers=2)
    plan(project, criteria=[SEV, TYPE], per_cell=4, backend="synthetic", estimate_role=None)
    generate(project, backend="synthetic")
    check(project, per_image_cap=None)
    project = use_label_studio(project, ls)
    df = pd.read_parquet(project.data / "checked.parquet").query("keep")
    six = pd.concat([df[df["criterion"] == SEV].head(3), df[(df["criterion"] == TYPE) & (df["template"] == "what")]
                     .head(3)]).reset_index(drop=True)
    six.to_parquet((project.data / "sample.parquet"), index=False)
    return project


def R(name: str, typ: str, value: object) -> dict[str, object]:
    return {"from_name": name, "to_name": "image", "type": typ, "value": value}


def test_round_trip_consensus_and_agreement(project: Project, label_studio: Project) -> None:
    p = _items(project, label_studio)
    s = push(p, overlap=2)
    assert (s.imported, s.already_on_server, s.batches) == (6, 0, 1)
    sample = pd.read_parquet(p.data / "sample.parquet")
    ids = list(sample["item_id"])
    tasks = {r["ext_id"]: r["task_id"] for r in read_jsonl(p.data / "review" / "tasks_vqa.jsonl")}
    assert set(tasks) == set(ids)

    ls = sdk_for(p)
    proj = ls.projects.get(id=s.project_id)
    assert proj.maximum_annotations == 2 and "Severity Level" in str(proj.expert_instruction)
    # the correct-option control offers exactly the item's letters (3 for severity, 4 or fewer otherwise)
    opts_of = dict(zip(sample["item_id"], sample["options"], strict=True))
    for task in ls.tasks.list(project=s.project_id, fields="task_only", include="id,data"):
        want = "ABCD"[:len(opts_of[task.data["ext_id"]])]
        assert [c["value"] for c in task.data["option_letters"]] == list(want)
    assert 'value="$option_letters"' in str(proj.label_config)
    # the image is served by local-file serving to an authenticated client
    docroot = Path(label_studio.ls_info.document_root)  # type: ignore[attr-defined]
    rel = (p.images_root / sample["image_path"][0]).relative_to(docroot).as_posix()
    r = httpx.get(f"{p.config.label_studio.url}/data/local-files/?d={rel}",
                  headers={"Authorization": f"Token {label_studio.ls_info.token}"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/")
    u2, adj = new_user(ls), new_user(ls, "adjudicator")
    me = int(ls.users.whoami().id)  # type: ignore[arg-type]
    t = [tasks[i] for i in ids]
    opts1 = list(sample["options"][1])

    def ann(task: int, user: int, verdict: str, option: str | None = None, gt: bool = False, **extra: object) -> None:
        res = [choice("verdict", verdict)]
        if option:
            res.append(choice("correct_option", option))
        for k, v in extra.items():
            res.append(text(k, str(v)) if k != "issues" else R(k, "choices", {"choices": v}))
        annotate(ls, task, res, user, ground_truth=gt, lead_time=3.0)

    a0 = sample["answer"][0]
    ann(t[0], me, "accept", a0)
    ann(t[0], u2, "accept", a0)
    ann(t[1], me, "accept_with_edits", "C", question_edit="How strong is the visible defect here?")
    ann(t[1], u2, "accept_with_edits", "C", question_edit="How strong is the visible defect here?")
    ann(t[2], me, "reject", issues=["ambiguous_question"])
    ann(t[2], u2, "reject", issues=["image_unclear"])
    ann(t[3], me, "accept", "A")
    ann(t[3], u2, "reject", issues=["multiple_correct"])
    ann(t[4], me, "accept", "A")
    ann(t[4], u2, "reject")
    ann(t[4], adj, "accept_with_edits", "B", gt=True,
        options_edit="A) first fixed\nB) second fixed\nC) third fixed\nD) fourth fixed")
    annotate(ls, t[5], [], me, was_cancelled=True)

    res = pull(p)
    raw = list((p.data / "review" / "raw").glob("vqa-*.json.gz"))
    assert len(raw) == 1 and res.raw_export == str(raw[0])
    assert len(json.loads(gzip.decompress(raw[0].read_bytes()))) == 6  # every task, as received (compressed)
    m = pd.read_parquet(p.data / "reviewed.parquet").set_index("item_id")
    st = [m.loc[i, "review_status"] for i in ids]
    assert st == ["accepted", "edited", "rejected", "disputed", "edited", "unreviewed"]
    assert res.status == {"accepted": 1, "edited": 2, "rejected": 1, "disputed": 1, "unreviewed": 1}
    e = m.loc[ids[1]]
    assert e["final_answer"] == "C" and e["final_question"] == "How strong is the visible defect here?"
    assert list(e["final_options"]) == opts1 and e["question"] == sample["question"][1]  # pushed version kept
    assert list(e["model_options"]) == list(sample["model_options"][1])  # and the model's original
    adjud = m.loc[ids[4]]
    assert adjud["adjudicated"] and adjud["final_answer"] == "B"
    assert list(adjud["final_options"]) == ["first fixed", "second fixed", "third fixed", "fourth fixed"]
    assert sorted(m.loc[ids[2], "review_issues"]) == ["ambiguous_question", "image_unclear"]
    assert len(json.loads(m.loc[ids[4], "reviews"])) == 3
    # agreement (adjudicator excluded): hand-computed nominal alpha
    ov, sev, typ = res.agreement["overall"], res.agreement[SEV], res.agreement[TYPE]
    assert ov["alpha_verdict"] == pytest.approx(1 - 9 * 4 / 64)  # 0.4375
    assert ov["percent_verdict"] == pytest.approx(60.0) and ov["items_with_2plus"] == 5
    assert ov["alpha_option"] == pytest.approx(1.0) and ov["percent_option"] == pytest.approx(100.0)
    assert sev["alpha_verdict"] == pytest.approx(1.0)
    assert typ["alpha_verdict"] == pytest.approx(1 - 3 * 4 / 8) and typ["percent_verdict"] == 0.0
    assert math.isnan(typ["alpha_option"])  # no item of that criterion had two chosen options
    adj_csv = pd.read_csv(p.data / "review" / "adjudication.csv")
    assert set(adj_csv["item_id"]) == {ids[3], ids[4]}  # the tie and the overruled disagreement
    ds = datasets.load_from_disk(str(p.data / "review" / "merged"))
    assert len(ds) == 6 and "final_answer" in ds.column_names and "model_answer" in ds.column_names
    assert res.by_criterion == [(SEV, 3, 3, 1, 1, 1), (TYPE, 3, 2, 0, 1, 0)]
    from typer.testing import CliRunner

    from curator.cli import app

    raw_before = sorted((p.data / "review" / "raw").iterdir())
    out = CliRunner().invoke(app, ["review", "status", "-p", str(p.root)], env={"COLUMNS": "250"})
    assert out.exit_code == 0, out.output
    assert SEV in out.output and "disputed" in out.output and "2 annotators wanted" in out.output
    from curator.stages.review.status import status

    st_ = status(p).by_criterion
    assert {k: v for k, v in st_[SEV].items() if v} == {"total": 3, "fully annotated": 3, "accepted": 1, "edited": 1,
                                                        "rejected": 1}
    assert {k: v for k, v in st_[TYPE].items() if v} == {"total": 3, "fully annotated": 2, "unreviewed": 1,
                                                         "disputed": 1, "edited": 1}
    assert sorted((p.data / "review" / "raw").iterdir()) == raw_before  # status exports nothing
    # export takes the reviewed table: only accepted and edited items, with the humans' final fields
    from curator.stages.export import export

    ex = export(p)
    assert ex.source.endswith("reviewed.parquet") and ex.vqa == {"test": 3}
    assert ex.left_out == {"rejected": 1, "disputed": 1, "unreviewed": 1}
    hf = datasets.load_from_disk(str(p.export_dir / p.config.name / "hf" / "vqa"))["test"]
    got = {r["id"]: r for r in hf}
    assert set(got) == {ids[0], ids[1], ids[4]}
    assert got[ids[1]]["answer"] == "C" and got[ids[1]]["review_status"] == "edited"
    assert got[ids[4]]["options"] == ["first fixed", "second fixed", "third fixed", "fourth fixed"]
    assert got[ids[4]]["model_options"] == list(sample["model_options"][4])
    # the model's original question survives beside the people's edit (it was exported as the edit before)
    assert got[ids[1]]["question"] == "How strong is the visible defect here?"
    assert got[ids[1]]["model_question"] == sample["question"][1] != got[ids[1]]["question"]
    card = (p.export_dir / p.config.name / "README.md").read_text()
    assert "| human edit rate | 50.0% |" in card and "| human reject rate | 25.0% |" in card


def test_push_is_idempotent_after_interruption(project: Project, label_studio: Project) -> None:
    p = _items(project, label_studio)
    ids = list(pd.read_parquet(p.data / "sample.parquet")["item_id"])
    first = push(p, batch_size=2, image_mode="inline")
    assert (first.imported, first.batches) == (6, 3)
    again = push(p, batch_size=2, image_mode="inline")
    assert (again.imported, again.already_on_server) == (0, 6)
    # a push that died after the server imported a batch but before it was recorded locally
    (p.data / "review" / "tasks_vqa.jsonl").unlink()
    extra = pd.read_parquet(p.data / "checked.parquet").query("keep")
    extra = extra[~extra["item_id"].isin(ids)].head(4)
    both = pd.concat([pd.read_parquet(p.data / "sample.parquet"), extra]).reset_index(drop=True)
    both.to_parquet((p.data / "sample.parquet"), index=False)
    pid = load_state(p)["projects"]["vqa"]["id"]
    client = connect(p)
    try:
        from curator.stages.review.labeling import image_ref, vqa_task

        tax = p.load_taxonomy()
        half = extra.head(2).to_dict("records")
        client.import_tasks(pid, [vqa_task(r, tax, image_ref(p.images_root / r["image_path"], r["image_path"],
                                                               "inline")) for r in half])
        third = push(p, batch_size=2, image_mode="inline")
        assert (third.imported, third.already_on_server) == (2, 8)
        on_server = client.existing_ext_ids(pid, list(both["item_id"]))
        assert len(on_server) == 10
        assert client.get_project(pid)["task_number"] == 10  # no duplicate task anywhere
    finally:
        client.close()
    logged = {r["ext_id"] for r in read_jsonl(p.data / "review" / "tasks_vqa.jsonl")}
    assert logged == set(both["item_id"])


def test_errors_are_clear_and_lose_nothing(project: Project, label_studio: Project) -> None:
    p = _items(project, label_studio)
    url = label_studio.ls_info.url
    with pytest.raises(ReviewError, match="refused the token"):
        Studio(url, "not-a-valid-token").whoami()
    with pytest.raises(ReviewError, match=r"cannot reach Label Studio at http://127\.0\.0\.1:9"):
        push(p, url="http://127.0.0.1:9")
    good = connect(p)
    try:
        with pytest.raises(ReviewError, match="rejected the labeling config"):
            good.create_project("broken", vqa_config().replace('toName="image"', 'toName="nope"', 1))
        s = push(p, image_mode="inline")
        state_before = (p.data / "review" / "state.json").read_text()
        log_before = (p.data / "review" / "tasks_vqa.jsonl").read_text()
        sdk_for(p).projects.delete(id=s.project_id)
    finally:
        good.close()
    with pytest.raises(ReviewError, match="no longer exists"):
        push(p, image_mode="inline")
    with pytest.raises(ReviewError, match="no longer exists"):
        pull(p)
    assert (p.data / "review" / "state.json").read_text() == state_before
    assert (p.data / "review" / "tasks_vqa.jsonl").read_text() == log_before
    fresh = push(p, image_mode="inline", new_project=True)
    assert fresh.imported == 6 and fresh.project_id != s.project_id


def test_people_rate_images_and_the_export_carries_their_scores(project: Project, label_studio: Project) -> None:
    """VR round trip: push the rated images, two people score some, pull, and the exported VR rows hold the
    people's mean beside the label (one VR item id in review and export)."""
    p = _items(project, label_studio)
    s = push(p, kind="vr", image_mode="inline")
    log = [json.loads(line) for line in (p.data / "review" / "tasks_vr.jsonl").read_text().splitlines()]
    assert s.imported == len(log) > 2
    ls = sdk_for(p)
    u2 = new_user(ls)
    me = int(ls.users.whoami().id)  # type: ignore[arg-type]
    rated = {log[0]["ext_id"]: (40, 60), log[1]["ext_id"]: (90, 90)}
    for rec in log[:2]:
        for user, score in zip((me, u2), rated[rec["ext_id"]], strict=True):
            annotate(ls, rec["task_id"], [R("score", "number", {"number": score}),
                                          R("rating", "rating", {"rating": 3})], user)
    res = pull(p, kind="vr")
    assert res.status["rated"] == 2
    from curator.stages.export import export

    export(p, splits="test")
    vr = datasets.load_from_disk(str(p.export_dir / p.config.name / "hf" / "vr"))["test"]
    got = {r["id"]: (r["human_score"], r["human_ratings"]) for r in vr}
    assert got[log[0]["ext_id"]] == (50.0, 2) and got[log[1]["ext_id"]] == (90.0, 2)
    assert sum(1 for h, _ in got.values() if h is None) == len(got) - 2
