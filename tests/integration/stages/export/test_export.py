"""Export can be trusted: related images never straddle splits, file names say nothing, nothing is destroyed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import datasets
import pandas as pd
import pytest
from conftest import FakeOpenAI, photo, save, use_fake
from PIL import Image

from curator.config import Project
from curator.errors import ExportError
from curator.stages.checks import check
from curator.stages.evaluate import evaluate
from curator.stages.export import export
from curator.stages.generate import generate
from curator.stages.ingest import ingest
from curator.stages.plan import plan
from curator.stages.sample import sample


def _refs(project: Project) -> dict[str, str]:
    img = pd.read_parquet(project.data / "images.parquet")
    return {i: json.loads(m).get("ref_id") for i, m in zip(img["image_id"], img["meta"], strict=True)}


def test_every_relative_of_an_image_is_in_one_split_across_vqa_and_vr(built: Project) -> None:
    s = export(built, splits="dev:0.5,test:0.5")
    out = Path(s.out)
    refs = _refs(built)
    by_split: dict[str, set[str]] = {}
    for kind in ("vqa", "vr"):
        dd = datasets.load_from_disk(str(out / "hf" / kind))
        for sp in dd:
            by_split.setdefault(sp, set()).update(refs[i] for i in dd[sp]["image_id"])
    assert by_split["dev"] and by_split["test"] and not by_split["dev"] & by_split["test"]
    leak = json.loads((out / "leakage.json").read_text())
    assert leak["shared_groups"] == leak["shared_images"] == 0 and leak["clean"]
    assert "ref_id" in leak["group_columns"]
    card = (out / "README.md").read_text()
    assert "0 groups and 0 images shared across splits" in card


def test_a_user_group_column_keeps_a_scene_together(project: Project, tmp_path: Path) -> None:
    rows = []
    for i in range(8):
        save(photo(100 + i * 7, size=(64, 48)), project.images_root / f"p{i}.jpg")
        rows.append({"path": f"p{i}.jpg", "scene": f"s{i // 2}", "mos": 1 + i % 5})
    pd.DataFrame(rows).to_csv(tmp_path / "labels.csv", index=False)
    ingest(project, labels=tmp_path / "labels.csv", score_cols=["mos"], scale="1:5", score_domain="iqa", workers=1)
    _synthetic_free_items(project)
    s = export(project, splits="a:0.5,b:0.5", group_by=["scene"], near_duplicate_bits=0)
    vr = datasets.load_from_disk(str(Path(s.out) / "hf" / "vr"))
    img = pd.read_parquet(project.data / "images.parquet")
    scene = {i: json.loads(m)["scene"] for i, m in zip(img["image_id"], img["meta"], strict=True)}
    seen: dict[str, str] = {}
    for sp in vr:
        for i in vr[sp]["image_id"]:
            assert seen.setdefault(scene[i], sp) == sp
    with pytest.raises(Exception, match="no image carries"):
        export(project, splits="a:0.5,b:0.5", group_by=["no_such_column"])


def _synthetic_free_items(project: Project) -> None:
    """Candidates written by hand for images without synthetic labels (the VQA side of an export)."""
    from curator.store.io import JsonlAppender

    img = pd.read_parquet(project.data / "images.parquet")
    with JsonlAppender(project.data / "candidates.jsonl") as out:
        for k, (i, f) in enumerate(zip(img["image_id"], img["file"], strict=True)):
            out.write({"item_id": f"q{k:04d}", "image_id": i, "image_path": f, "domain": "iqa", "category": "type",
                       "criterion": "iqa/type/distortion_types", "template": "what", "generator": "hand",
                       "question": "What distortion is visible?", "options": ["blur", "noise", "none", "banding"],
                       "answer": "ABCD"[k % 4], "rationale": "", "provenance": {}})


def test_exported_files_are_named_by_content_hash(built: Project) -> None:
    s = export(built, splits="dev:0.5,test:0.5")
    out = Path(s.out)
    names = []
    for kind in ("vqa", "vr"):
        dd = datasets.load_from_disk(str(out / "hf" / kind)).cast_column("image", datasets.Image(decode=False))
        for sp in dd:
            for r in dd[sp]:
                assert Path(r["image"]["path"]).stem == r["image_id"]
                assert r["source_file"].startswith("synth/")  # the original file, kept as provenance
                names.append(r["image"]["path"])
    pq = pd.read_parquet(next((out / "data" / "vqa").glob("test-*.parquet")))
    assert all(Path(x["path"]).stem == i for x, i in zip(pq["image"], pq["image_id"], strict=True))
    for f in (out / "unipercept").rglob("*.png"):
        assert len(f.stem) == 64 and "__" not in f.name
    for f in (out / "unipercept").rglob("*.json"):
        assert "__L" not in f.read_text()


def test_two_sources_with_one_file_name_stay_two_images(project: Project, fake: FakeOpenAI, tmp_path: Path) -> None:
    """Folders outside images_root, the same file names in both: every stage finds the right bytes."""
    for name, score in (("a", 1.0), ("b", 5.0)):
        d = tmp_path / name
        save(photo(1 if name == "a" else 9, size=(64, 48)), d / "000.png", "PNG")
        save(photo(3 if name == "a" else 11, size=(64, 48)), d / "001.png", "PNG")
        pd.DataFrame({"path": ["000.png", "001.png"], "mos": [score, score]}).to_csv(d / "labels.csv", index=False)
        s = ingest(project, str(d), labels=d / "labels.csv", score_cols=["mos"], scale="1:5", score_domain="iqa",
                   source_name=f"set-{name}", workers=1)
        assert s.ingested == 2 and s.already_present == 0
    project = use_fake(project, fake)
    plan(project, criteria=["iqa/type/*"], templates=["what"], per_cell=4, estimate_role=None)
    g = generate(project)
    assert g.written == 4
    check(project, per_image_cap=None)
    sample(project, n=4)
    s = export(project, splits="test")
    vr = datasets.load_from_disk(str(Path(s.out) / "hf" / "vr"))["test"].cast_column("image",
                                                                                   datasets.Image(decode=False))
    assert len(vr) == 4 and len({r["image"]["path"] for r in vr}) == 4
    for r in vr:
        src = tmp_path / ("a" if r["gt_score"] == 1.0 else "b") / Path(r["source_file"]).name
        assert r["image"]["bytes"] == src.read_bytes()
    uni = Path(s.out) / "unipercept" / "benchmark" / "VR" / "IQA"
    files = sorted((uni / "set-a-test" / "image").iterdir()) + sorted((uni / "set-b-test" / "image").iterdir())
    assert len(files) == 4 and len({f.read_bytes() for f in files}) == 4


@pytest.mark.parametrize("bad", ["..", "/tmp/x", "a/b", ".", "../proj", "a b"])
def test_export_name_must_be_a_plain_slug(built: Project, bad: str) -> None:
    before = sorted(p.relative_to(built.root) for p in built.root.rglob("*"))
    with pytest.raises(ExportError, match="plain name"):
        export(built, name=bad)
    assert sorted(p.relative_to(built.root) for p in built.root.rglob("*")) == before


def test_cli_export_dotdot_changes_nothing(built: Project) -> None:
    res = subprocess.run([sys.executable, "-m", "curator", "export", "--name", "..", "-p", str(built.root)],
                         capture_output=True, text=True)
    assert res.returncode != 0 and "plain name" in res.stdout + res.stderr
    assert (built.root / "curator.yaml").exists() and (built.data / "images.parquet").exists()


def test_a_failed_export_leaves_the_previous_one_whole_and_eval_is_kept(built: Project) -> None:
    s = export(built, splits="dev:0.5,test:0.5")
    out = Path(s.out)
    evaluate(built, baseline="random")
    manifest = (out / "manifest.json").read_text()
    files = sorted(p.relative_to(out) for p in out.rglob("*"))
    victim = built.images_root / pd.read_parquet(built.data / "sample.parquet")["image_path"].iloc[0]
    data = victim.read_bytes()
    victim.unlink()
    with pytest.raises(ExportError, match="gone"):
        export(built, splits="dev:0.5,test:0.5")
    assert (out / "manifest.json").read_text() == manifest
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == files
    victim.write_bytes(data)
    export(built, splits="dev:0.5,test:0.5")
    assert (out / "eval" / "baseline-random-test" / "scores.json").exists()
    assert not list(built.export_dir.glob(".*"))  # no building folder or old copy left behind


def test_a_killed_export_leaves_the_previous_one_whole(built: Project) -> None:
    s = export(built, splits="dev:0.5,test:0.5")
    out = Path(s.out)
    snapshot = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    proc = subprocess.Popen([sys.executable, "-m", "curator", "export", "--splits", "dev:0.5,test:0.5", "--seed",
                             "7", "-p", str(built.root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not any((p / "hf").exists() for p in built.export_dir.glob(".*building*")):
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == snapshot
    export(built, splits="dev:0.5,test:0.5")  # the next run clears the leftovers
    assert not list(built.export_dir.glob(".*"))


def test_a_split_that_would_be_empty_is_a_clear_error(built: Project) -> None:
    with pytest.raises(ExportError, match=r"would get no VQA items.*4 group"):
        export(built, splits="a:0.2,b:0.2,c:0.2,d:0.2,e:0.2")


def test_unipercept_files_run_as_the_official_scripts_read_them(built: Project, fake: FakeOpenAI) -> None:
    """Per-split files; every image opens from the folder the scripts run in; the official scoring agrees."""
    s = export(built, splits="dev:0.5,test:0.5")
    uni = Path(s.out) / "unipercept"
    p = use_fake(built, fake, roles=("eval",))
    fake.rules([{"match": "Only reply with the letter", "content": "C"}])
    ours = evaluate(p, tasks="vqa")
    test_file = uni / "benchmark" / "VQA" / "IQA" / "UniPercept-Bench-IQA-test.json"
    data = json.loads(test_file.read_text())
    assert len(data) == s.vqa["test"]
    cwd = os.getcwd()
    os.chdir(uni)  # the official scripts run from the checkout root, and open item["image"] as written
    try:
        correct = 0
        for item in data:
            Image.open(item["image"]).convert("RGB")
            pred = "C".strip().upper()[:1]
            correct += int(pred == item["answer"].strip().upper())
    finally:
        os.chdir(cwd)
    assert 100.0 * correct / len(data) == pytest.approx(ours.vqa["official_first_char"]["overall"])
    assert 100.0 * correct / len(data) == pytest.approx(ours.vqa["robust"]["overall"])
    assert "cp -r unipercept/benchmark" in (Path(s.out) / "README.md").read_text()


def test_vr_domain_and_prompt_come_from_the_taxonomy(project: Project, fake: FakeOpenAI, tmp_path: Path) -> None:
    rows = []
    for i in range(6):
        save(photo(40 + i * 5, size=(64, 48)), project.images_root / f"art{i}.jpg")
        rows.append({"path": f"art{i}.jpg", "aesthetic": 1 + i})
    pd.DataFrame(rows).to_csv(tmp_path / "tad.csv", index=False)
    ingest(project, labels=tmp_path / "tad.csv", score_cols=["aesthetic"], scale="1:10", score_domain="iaa",
           source_name="TAD66K", workers=1)
    _synthetic_free_items(project)
    s = export(project, splits="test")
    assert (Path(s.out) / "unipercept" / "benchmark" / "VR" / "IAA" / "TAD66K-test" / "TAD66K-test.json").exists()
    p = use_fake(project, fake, roles=("eval",))
    fake.rules([{"match": "rate the aesthetics", "content": "70"}, {"match": "score between 0 and 100",
                                                                      "content": "5"}])
    r = evaluate(p, tasks="vr")
    assert r.vr["datasets"]["TAD66K"]["n"] == 6
    preds = [json.loads(x) for x in (Path(r.out) / "predictions.jsonl").read_text().splitlines()]
    assert {x["reply"] for x in preds} == {"70"}  # every request asked about aesthetics, none about quality


def test_eval_scores_official_unipercept_files_like_an_export(built: Project, fake: FakeOpenAI) -> None:
    s = export(built, splits="dev:0.5,test:0.5")
    uni = Path(s.out) / "unipercept"
    p = use_fake(built, fake, roles=("eval",))
    fake.rules([{"match": "Only reply with the letter", "content": "B"}, {"match": "score between", "content": "50"}])
    ours = evaluate(p, tasks="vqa")
    vqa = uni / "benchmark" / "VQA" / "IQA" / "UniPercept-Bench-IQA-test.json"
    vr = next((uni / "benchmark" / "VR" / "IQA").glob("*-test/*-test.json"))
    imported = evaluate(p, unipercept=[vqa, vr], unipercept_root=uni)
    assert imported.vqa["robust"]["n"] == ours.vqa["robust"]["n"]
    assert imported.vqa["robust"]["overall"] == pytest.approx(ours.vqa["robust"]["overall"])
    assert imported.vr["datasets"][vr.stem]["n"] == s.vr["test"]
    with pytest.raises(Exception, match="not found"):
        evaluate(p, unipercept=[vqa])  # image paths are relative to the checkout root, which was not given


def test_circular_eval_bookkeeping(built: Project) -> None:
    export(built, splits="dev:0.5,test:0.5")
    plain = evaluate(built, baseline="random", tasks="vqa")
    circ = evaluate(built, baseline="random", tasks="vqa", circular=True)
    hf = datasets.load_from_disk(str(built.export_dir / built.config.name / "hf" / "vqa"))["test"]
    k = pd.Series([len(o) for o in hf["options"]], dtype=float)
    assert plain.vqa["random_guess_expected"] == pytest.approx(round(100 * (1 / k).mean(), 2))
    assert circ.vqa["random_guess_expected"] == pytest.approx(round(100 * ((1 / k) ** k).mean(), 2))
    dev = evaluate(built, baseline="random", tasks="vqa", split="dev")
    assert Path(dev.out).name == "baseline-random-dev" and Path(plain.out).name == "baseline-random-test"
    assert json.loads((Path(plain.out) / "scores.json").read_text())["split"] == "test"  # not overwritten
    preds = [json.loads(x) for x in (Path(circ.out) / "predictions.jsonl").read_text().splitlines()]
    for pr in preds:
        rots = pr["rotations"]
        assert [r["rotation"] for r in rots] == list(range(len(rots)))
        assert pr["correct"] == all(r["pred"] == r["answer"] for r in rots)
