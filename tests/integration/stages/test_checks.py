"""judge → blind → check → sample on synthetic items and fake-model answers, checked exactly."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from conftest import FakeOpenAI, use_fake

from curator.config import Project
from curator.stages.blind import blind
from curator.stages.checks import check, rule_violations
from curator.stages.common.blind_rule import max_hits
from curator.stages.generate import generate
from curator.stages.ingest import synth
from curator.stages.judge import judge
from curator.stages.plan import plan
from curator.stages.sample import sample
from curator.store import Store
from curator.store.io import JsonlAppender, read_jsonl
from curator.taxonomy import load_taxonomy

ALL5 = {a: {"score": 5, "reason": "fine"} for a in
        ("question_validity", "answer_validity", "reasoning_validity", "criterion_relevance")}


@pytest.fixture
def synthetic_project(project: Project, fake: FakeOpenAI) -> Project:
    synth(project, max_references=2, distortions=["gaussian_blur", "jpeg", "brightness_down"], seed=3, workers=2)
    plan(project, domain=["iqa"], per_cell=6, backend="synthetic", estimate_role=None)
    generate(project, backend="synthetic")
    return use_fake(project, fake, roles=("generator", "judge", "blind"))


def test_judge_scores_keep_rule_and_summary(synthetic_project: Project, fake: FakeOpenAI) -> None:
    p = synthetic_project
    fake.rules([{"match": "Template: yes_no", "reply": {**ALL5, "answer_validity": {"score": 2, "reason": "wrong"}}},
                {"match": "Template: level", "reply": {**ALL5, "criterion_relevance": {"score": 4, "reason": "ok"}}},
                {"match": "Template:", "reply": ALL5}])
    cands = Store(p).qa_candidates()
    s = judge(p)
    n_yes_no = int((cands["template"] == "yes_no").sum())
    assert s.judged == len(cands) and s.dropped == n_yes_no and s.kept == len(cands) - n_yes_no
    assert s.same_family_warning == ""
    rows = {r["item_id"]: r for r in read_jsonl(p.data / "judge.jsonl")}
    yn = cands[cands["template"] == "yes_no"].iloc[0]
    assert rows[yn["item_id"]]["scores"]["answer_validity"] == 2 and rows[yn["item_id"]]["keep"] is False
    assert rows[yn["item_id"]]["reasons"]["answer_validity"] == "wrong"
    for _crit, tpl, n, dropped, pct in s.by_cell:
        assert (dropped, pct) == ((n, 100.0) if tpl == "yes_no" else (0, 0.0))
    again = judge(p)
    assert again.judged == 0 and again.already_done == len(cands)


def test_judge_warns_on_same_family(synthetic_project: Project, fake: FakeOpenAI) -> None:
    y = synthetic_project.root / "curator.yaml"
    y.write_text(y.read_text().replace("family: qwen", "family: openai"))
    s = judge(Project.load(synthetic_project.root), limit=1)
    assert "both family 'openai'" in s.same_family_warning


def test_blind_hits_and_drop_rule(synthetic_project: Project, fake: FakeOpenAI) -> None:
    p = synthetic_project
    fake.rules([{"match": "How severe is the visible distortion", "content": "The answer is (A)."},
                {"match": "Only reply with the letter", "content": "I cannot see the image."}])
    s = blind(p)
    cands = Store(p).qa_candidates()
    sev = cands[cands["criterion"] == "iqa/severity/severity_level"]
    expected_drop = int((sev["answer"] == "A").sum())
    assert s.k == 4 and s.threshold == max_hits(4, 0.25) == 1
    assert s.items == len(cands) and s.dropped == expected_drop
    assert expected_drop > 0
    assert s.hits_histogram == {0: len(cands) - expected_drop, 4: expected_drop}
    assert blind(p).answered == 0  # resumable per (item, model)
    assert [max_hits(k, 0.25) for k in (1, 4, 8, 16)] == [0, 1, 2, 4]


def test_check_applies_the_blind_settings_the_user_chose(synthetic_project: Project, fake: FakeOpenAI) -> None:
    p = synthetic_project
    # two of the four text-only answerers get every severity question right
    fake.rules([{"match": '"model":"fake-blind-0"', "content": "(A)"}, {"match": '"model":"fake-blind-1"',
                                                                        "content": "(A)"},
                {"match": "Only reply with the letter", "content": "I cannot see the image."}])
    cands = Store(p).qa_candidates()
    sev_a = set(cands[(cands["criterion"] == "iqa/severity/severity_level") & (cands["answer"] == "A")]["item_id"])
    assert sev_a
    blind(p, max_hit_rate=0.5)  # 2 of 4 right is allowed at 0.5
    check(p, per_image_cap=None)
    rows = pd.read_parquet(p.data / "checked.parquet").set_index("item_id")
    assert not any("blind" in rows.loc[i, "drop_reasons"] for i in sev_a)
    # the user narrows the panel to the two answerers that know: 2 of 2 right is too many at 0.5
    y = p.root / "curator.yaml"
    cfg = yaml.safe_load(y.read_text())
    cfg["models"]["blind"] = cfg["models"]["blind"][:2]
    y.write_text(yaml.safe_dump(cfg))
    p2 = Project.load(p.root)
    assert blind(p2, max_hit_rate=0.5).answered == 0  # nothing new to ask
    check(p2, per_image_cap=None)
    rows = pd.read_parquet(p2.data / "checked.parquet").set_index("item_id")
    assert all("blind" in rows.loc[i, "drop_reasons"] for i in sev_a)
    assert set(rows.loc[list(sev_a), "blind_k"]) == {2}


def _append_bad_items(p: Project) -> dict[str, list[str]]:
    good = read_jsonl(p.data / "candidates.jsonl")[0]
    bad = {
        "bad-dupopts": ({"template": "what", "criterion": "iqa/type/distortion_types", "question": "What is wrong here?",
                         "options": ["Blur", "blur", "Noise"], "answer": "A"}, ["duplicate_options"]),
        "bad-letter": ({"template": "which", "criterion": "iqa/type/distortion_types", "question": "Which defect shows?",
                        "options": ["Blur", "Noise"], "answer": "C"}, ["answer_letter"]),
        "bad-yesno": ({"template": "yes_no", "criterion": "iqa/type/distortion_types", "question": "Is it blurred?",
                       "options": ["No", "Yes"], "answer": "A"}, ["yes_no_options"]),
        "bad-wording": ({"template": "what", "criterion": "iqa/type/distortion_types",
                         "question": "What <IQA> criterion applies?", "options": ["x", "y"], "answer": "A"},
                        ["criterion_wording"]),
        "bad-short": ({"template": "what", "criterion": "iqa/type/distortion_types", "question": "What?",
                       "options": ["x", "y"], "answer": "A"}, ["question_length"]),
    }
    with JsonlAppender(p.data / "candidates.jsonl") as out:
        for iid, (fields, _) in bad.items():
            out.write({**good, **fields, "item_id": iid, "work_id": iid, "image_id": f"img-{iid}"})
    return {k: v for k, (_, v) in bad.items()}


def test_check_rules_duplicates_cap_and_balance(synthetic_project: Project) -> None:
    p = synthetic_project
    expected = _append_bad_items(p)
    first = read_jsonl(p.data / "candidates.jsonl")[0]
    with JsonlAppender(p.data / "candidates.jsonl") as out:  # a near-duplicate question on the same image
        out.write({**first, "item_id": "dup-1", "work_id": "dup-1", "question": first["question"] + " "})
    s = check(p, per_image_cap=None)
    df = pd.read_parquet(p.data / "checked.parquet").set_index("item_id")
    for iid, reasons in expected.items():
        assert list(df.loc[iid, "drop_reasons"]) == reasons, iid
    assert list(df.loc["dup-1", "drop_reasons"]) == ["duplicate_question"]
    assert s.kept == len(df) - len(expected) - 1
    assert s.drop_reasons == {**{r[0]: 1 for r in expected.values()}, "duplicate_question": 1}
    kept = df[df["keep"]]
    open_ = kept[~kept["template"].isin(["yes_no", "level"])]
    counts = open_["answer"].value_counts()
    assert counts.max() - counts.min() <= 1 + open_["options"].map(len).nunique()  # balanced
    assert s.p_after >= s.p_before and s.p_after > 0.5
    for r in open_.itertuples():  # balancing moved the options, never the truth
        assert r.options[ord(r.answer) - 65] == r.model_options[ord(r.model_answer) - 65]
    capped = check(p, per_image_cap=2)
    per_img = pd.read_parquet(p.data / "checked.parquet").query("keep").groupby("image_id").size()
    assert per_img.max() <= 2 and capped.drop_reasons["per_image_cap"] > 0


def test_rule_violations_unit() -> None:
    tax = load_taxonomy()
    ok = {"criterion": "iqa/severity/severity_level", "template": "level", "question": "How severe is it here?",
          "options": ["None", "Slight", "Obvious"], "answer": "B"}
    assert rule_violations(ok, tax) == []
    assert rule_violations({**ok, "options": ["Low", "Medium", "High"]}, tax) == ["level_options"]
    assert rule_violations({**ok, "template": "what"}, tax) == ["template_not_allowed"]
    assert rule_violations({**ok, "criterion": "nope/x/y"}, tax) == ["unknown_criterion"]


def test_sample_quotas_seed_and_disjoint_images(synthetic_project: Project) -> None:
    p = synthetic_project
    check(p, per_image_cap=None)
    kept = pd.read_parquet(p.data / "checked.parquet").query("keep")
    sizes = kept.groupby(["criterion", "template"]).size()
    s = sample(p, n=3)
    chosen = pd.read_parquet(p.data / "sample.parquet")
    got = chosen.groupby(["criterion", "template"]).size()
    for cell, size in sizes.items():
        assert got.get(cell, 0) == min(3, size)
    assert s.selected == int(sizes.clip(upper=3).sum())
    assert [(st, want, have) for st, want, have in s.shortfall] == [
        ("|".join(c), 3, int(v)) for c, v in sizes.items() if v < 3]
    ids1 = list(chosen["item_id"])
    sample(p, n=3)
    assert list(pd.read_parquet(p.data / "sample.parquet")["item_id"]) == ids1  # same seed, same selection
    sample(p, n=3, seed=99)
    assert list(pd.read_parquet(p.data / "sample.parquet")["item_id"]) != ids1
    prop = sample(p, by=["criterion"], mode="proportional", n=20)
    assert prop.selected == 20
    binned = sample(p, by=["criterion"], bins=["score_norm:q2"], n=2)
    assert any("score_norm_bin" in k for k in json.loads((p.data / "sample.report.json").read_text())["by"])
    assert binned.selected > 0
    tr = sample(p, train_fraction=0.5, n=50)
    test_imgs = set(pd.read_parquet(p.data / "sample.parquet")["image_id"])
    train_imgs = set(pd.read_parquet(p.data / "train_pool.parquet")["image_id"])
    assert tr.train_pool > 0 and test_imgs and not test_imgs & train_imgs
    pub = sample(p, by=["criterion"], quota="published")
    n_sev = int((kept["criterion"] == "iqa/severity/severity_level").sum())
    assert ("iqa/severity/severity_level", 299, n_sev) in pub.shortfall


def test_synthetic_and_model_items_share_one_form(synthetic_project: Project, fake: FakeOpenAI) -> None:
    p = synthetic_project
    synthetic_cols = set(Store(p).qa_candidates().columns)
    from curator.stages.generate import generate as gen

    plan(p, criteria=["iqa/severity/*"], per_cell=2, estimate_role=None)
    gen(p)
    both = Store(p).qa_candidates()
    model_rows = both[both["generator"] == "fake-generator"]
    assert len(model_rows) == 2
    core = {"item_id", "image_id", "image_path", "domain", "category", "criterion", "template", "question", "options",
            "answer", "rationale", "generator", "provenance"}
    assert core <= synthetic_cols and core <= set(model_rows.dropna(axis=1).columns)
    check(p, per_image_cap=None)
    sample(p, n=1000)
    assert pd.read_parquet(p.data / "sample.parquet")["generator"].nunique() == 2
