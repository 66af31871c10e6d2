"""Export loads back equal, splits never leak, and evaluation matches hand-computed metrics."""

from __future__ import annotations

import json
import math

import datasets
import imagehash
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import FakeOpenAI, use_fake
from PIL import Image

from curator.config import Project
from curator.engine.parsing import extract_letter, first_char_letter
from curator.stages.evaluate import evaluate, vr_metrics
from curator.stages.export import export


def test_export_loads_back_equal_and_never_leaks(built: Project) -> None:
    s = export(built, splits="dev:0.5,test:0.5")
    out = built.export_dir / built.config.name
    chosen = pd.read_parquet(built.data / "sample.parquet").set_index("item_id")
    hf = datasets.load_from_disk(str(out / "hf" / "vqa"))
    pq = datasets.load_dataset("parquet", data_files={sp: str(out / "data" / "vqa" / f"{sp}-*.parquet")
                                                      for sp in ("dev", "test")})
    assert sum(len(hf[sp]) for sp in hf) == len(chosen) == sum(s.vqa.values())
    for sp in ("dev", "test"):
        a, b = hf[sp].to_pandas(), pq[sp].to_pandas()
        assert a.drop(columns=["image"]).equals(b.drop(columns=["image"]))
        assert [x["bytes"] for x in a["image"]] == [x["bytes"] for x in b["image"]]
        crit = hf[sp].features["criterion"]
        for r in hf[sp]:
            src = chosen.loc[r["id"]]
            # letters are re-balanced per split: the same options and the same right answer, maybe in another order
            assert r["question"] == src["question"] and sorted(r["options"]) == sorted(src["options"])
            assert r["options"]["ABCD".index(r["answer"])] == src["options"]["ABCD".index(src["answer"])]
            assert list(r["model_options"]) == list(src["model_options"])
            assert crit.int2str(r["criterion"]) == src["criterion"]
            assert r["image"].tobytes() == Image.open(built.images_root / src["image_path"]).tobytes()
    # leakage: recomputed here from the image files, independently of the exporter
    img_sets = {sp: set(hf[sp]["image_id"]) for sp in hf}
    assert not img_sets["dev"] & img_sets["test"]
    paths = dict(zip(chosen["image_id"], chosen["image_path"], strict=False))
    hashes = {sp: [imagehash.phash(Image.open(built.images_root / paths[i]).convert("RGB")) for i in ids]
              for sp, ids in img_sets.items()}
    assert min(a - b for a in hashes["dev"] for b in hashes["test"]) >= 6
    leak = json.loads((out / "leakage.json").read_text())
    assert leak["clean"] and leak["pairs"]["dev|test"]["shared_images"] == 0
    assert leak["pairs"]["dev|test"]["near_duplicate_pairs"] == leak["pairs"]["dev|test"]["shared_groups"] == 0
    # card and compatibility files
    card = (out / "README.md").read_text()
    front = yaml.safe_load(card.split("---")[1])
    assert {c["config_name"] for c in front["configs"]} >= {"vqa", "vqa_iqa", "vr"}
    assert "visual-question-answering" in front["task_categories"]
    assert front["dataset_info"][0]["features"][0] == {"name": "id", "dtype": "string"}
    assert "## Answer letters" in card and (out / "plots" / "criterion.png").exists()
    uni = out / "unipercept"
    recs = [r for sp in ("dev", "test") for r in json.loads(
        (uni / "benchmark" / "VQA" / "IQA" / f"UniPercept-Bench-IQA-{sp}.json").read_text())]
    assert len(recs) == len(chosen)
    for rec in recs[:5]:
        assert (uni / rec["image"]).exists()
        src = chosen.loc[rec["id"]]
        assert rec["options"]["ABCD".index(rec["answer"])] == src["options"]["ABCD".index(src["answer"])]
        assert rec["question"].startswith(src["question"] + "\nA. " + rec["options"][0])
    vr_dir = uni / "benchmark" / "VR" / "IQA" / "synthetic-test"
    vr_json = json.loads((vr_dir / "synthetic-test.json").read_text())
    assert set(vr_json[0]) == {"image", "gt_score"}
    assert (vr_dir / "image" / vr_json[0]["image"]).exists()


def test_letter_extraction_on_real_replies() -> None:
    opts = ["None", "Slight", "Obvious"]
    cases = {"B": "B", "(B)": "B", "The answer is (B).": "B", "B. Slight": "B", "Answer: C": "C",
             "**C**": "C", "Slight": "B", "I think it's slight.": "B", "Z": None, "": None}
    for reply, want in cases.items():
        assert extract_letter(reply, opts) == want, reply
    assert first_char_letter("The answer is (B)") == "T" and first_char_letter(" b. x") == "B"


def test_eval_matches_hand_computed_values(built: Project, fake: FakeOpenAI) -> None:
    export(built)
    p = use_fake(built, fake, roles=("eval",))
    hf = datasets.load_from_disk(str(p.export_dir / p.config.name / "hf" / "vqa"))["test"]
    tpl = hf.features["template"]
    # severity questions: always "The answer is (A)."; every other question: "B" (first-char rule agrees)
    fake.rules([{"match": "How severe is the visible distortion", "content": "The answer is (A)."},
                {"match": "Only reply with the letter", "content": "B"},
                {"match": "score between 0 and 100", "content": "I'd say 50"}])
    s = evaluate(p, tasks="vqa")
    rows = hf.to_pandas()
    sev = rows["question"].str.startswith("How severe")
    want = np.where(sev, rows["answer"] == "A", rows["answer"] == "B")
    assert s.vqa["robust"]["overall"] == pytest.approx(100 * want.mean())
    want_official = np.where(sev, False, rows["answer"] == "B")  # "The answer..." starts with T
    assert s.vqa["official_first_char"]["overall"] == pytest.approx(100 * want_official.mean())
    for t in rows["template"].unique():
        m = rows["template"] == t
        assert s.vqa["robust"]["template"][tpl.int2str(int(t))] == pytest.approx(round(100 * want[m].mean(), 2))
    assert s.vqa["random_guess_expected"] == pytest.approx(round(100 * (1 / rows["options"].map(len)).mean(), 2))
    # CircularEval: a constant "B" is right under every rotation only for... no item (the letter moves)
    c = evaluate(p, tasks="vqa", circular=True)
    assert c.vqa["robust"]["overall"] == 0.0
    # text-only run gives multimodal gain
    t = evaluate(p, tasks="vqa", text_only=True)
    assert t.gain["MG"] == pytest.approx(s.vqa["robust"]["overall"] - t.vqa["robust"]["overall"])


def test_vr_metrics_hand_computed() -> None:
    df = pd.DataFrame({"dataset": ["a"] * 5 + ["b"] * 4, "domain": ["iqa"] * 5 + ["iaa"] * 4,
                       "gt_score": [1, 2, 3, 4, 5, 10, 20, 30, 40], "pred": [10, 30, 20, 40, None, 4, 3, 2, 1]})
    m = vr_metrics(df)
    a, b = m["datasets"]["a"], m["datasets"]["b"]
    assert (a["n"], a["invalid"], b["invalid"]) == (5, 1, 0)
    # a: ranks pred [1,3,2,4] vs gt [1,2,3,4]: d² = 0+1+1+0 = 2 -> 1 - 6*2/(4*15) = 0.8
    assert a["srcc"] == pytest.approx(0.8) and b["srcc"] == pytest.approx(-1.0)
    x, y = np.array([10, 30, 20, 40.0]), np.array([1, 2, 3, 4.0])
    r = ((x - x.mean()) * (y - y.mean())).sum() / math.sqrt(((x - x.mean()) ** 2).sum() * ((y - y.mean()) ** 2).sum())
    assert a["plcc"] == pytest.approx(r) and b["plcc"] == pytest.approx(-1.0)
    assert m["domains"]["iqa"]["srcc"] == pytest.approx(0.8)


def test_random_baseline_needs_no_model(built: Project) -> None:
    export(built)
    s = evaluate(built, baseline="random")
    assert 0 <= s.vqa["robust"]["overall"] <= 100 and s.vr["datasets"]["synthetic"]["invalid"] == 0
    again = evaluate(built, baseline="random")
    assert again.vqa == s.vqa  # seeded
    out = built.export_dir / built.config.name / "eval" / "baseline-random-test"
    assert (out / "scores.md").read_text().startswith("# Evaluation: baseline-random")
    assert len((out / "predictions.jsonl").read_text().splitlines()) == s.vqa["robust"]["n"] + \
        s.vr["datasets"]["synthetic"]["n"]
