"""The README's first command: the whole offline pipeline through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest
from typer.testing import CliRunner

from curator.cli import app


def test_demo_builds_a_benchmark_with_card_and_scores(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    res = CliRunner().invoke(app, ["demo", str(out), "--max-references", "3", "--per-cell", "6"])
    assert res.exit_code == 0, res.output
    bench = out / "export" / "curator-demo"
    for stage in ("synth", "plan", "generate", "check", "sample", "export", "eval (random baseline)"):
        assert stage in res.output
    assert (bench / "README.md").read_text().startswith("---\n")
    assert sorted(p.name for p in (bench / "plots").glob("*.png")) == ["answer.png", "criterion.png", "template.png"]
    dd = datasets.load_from_disk(str(bench / "hf" / "vqa"))
    assert set(dd) == {"dev", "test"} and len(dd["test"]) > 0
    scores = json.loads((bench / "eval" / "baseline-random-test" / "scores.json").read_text())
    assert scores["vqa"]["robust"]["n"] == len(dd["test"])
    assert (bench / "eval" / "baseline-statistic-test" / "scores.md").exists()
    assert json.loads((bench / "leakage.json").read_text())["clean"]
    # the demo ends by writing the report and printing its path
    page = out / "report" / "index.html"
    assert page.exists() and f"report: {page}" in " ".join(res.output.split())
    assert len(json.loads((out / "report" / "data.json").read_text())["items"]) > 0
    # rerunnable: a second run changes nothing it does not have to
    again = CliRunner().invoke(app, ["demo", str(out), "--max-references", "3", "--per-cell", "6"])
    assert again.exit_code == 0 and "already done" in again.output


def test_full_size_demo_has_no_leak_and_no_text_only_prior(tmp_path: Path) -> None:
    """12 references, 60 items per cell: groups shared across splits = 0, every text-only guesser within
    5 points of random on every split and template, and UniPercept's scoring rule on the exported test
    files (opened from the folder the card names) equals `curator eval`."""
    out = tmp_path / "demo"
    res = CliRunner().invoke(app, ["demo", str(out), "--max-references", "12", "--per-cell", "60"])
    assert res.exit_code == 0, res.output
    bench = out / "export" / "curator-demo"
    leak = json.loads((bench / "leakage.json").read_text())
    assert leak["shared_groups"] == leak["shared_images"] == leak["near_duplicate_pairs"] == 0
    priors = json.loads((bench / "priors.json").read_text())
    assert priors["flagged"] == [] and priors["above_margin"] == []
    for split, per in priors["splits"].items():
        assert set(per) == {"yes_no", "what", "which", "how", "why", "level"}, split
        for tpl, b in per.items():
            for guess in ("majority_answer", "longest_option", "position"):
                assert b[guess] - b["random"] <= 5.0, (split, tpl, guess, b)
    preds = {}
    for line in (bench / "eval" / "baseline-random-test" / "predictions.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if rec["task"] == "vqa":
            preds[rec["id"]] = rec["reply"]
    scores = json.loads((bench / "eval" / "baseline-random-test" / "scores.json").read_text())
    uni = bench / "unipercept"
    correct = total = 0
    for f in sorted((uni / "benchmark" / "VQA").glob("*/UniPercept-Bench-*-test.json")):
        for item in json.loads(f.read_text()):
            assert (uni / item["image"]).is_file()  # relative to the checkout root the card names
            correct += int(preds[item["id"]].strip().upper()[:1] == item["answer"].strip().upper())
            total += 1
    assert total == scores["vqa"]["robust"]["n"]
    assert 100.0 * correct / total == pytest.approx(scores["vqa"]["official_first_char"]["overall"])


def test_every_verb_has_help() -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["--help"])
    verbs = ["init", "ingest", "synth", "plan", "generate", "describe", "judge", "blind", "check", "sample", "export",
             "eval", "demo", "taxonomy", "batch", "review"]
    for v in verbs:
        assert v in res.output
        sub = runner.invoke(app, [v, "--help"])
        assert sub.exit_code == 0 and len(sub.output) > 100, v
    for v in ("serve", "stop", "push", "pull", "status"):
        assert runner.invoke(app, ["review", v, "--help"]).exit_code == 0
