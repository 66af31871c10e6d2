"""The README's first command: the whole offline pipeline through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
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
    scores = json.loads((bench / "eval" / "baseline-random" / "scores.json").read_text())
    assert scores["vqa"]["robust"]["n"] == len(dd["test"])
    assert (bench / "eval" / "baseline-statistic" / "scores.md").exists()
    assert json.loads((bench / "leakage.json").read_text())["clean"]
    # rerunnable: a second run changes nothing it does not have to
    again = CliRunner().invoke(app, ["demo", str(out), "--max-references", "3", "--per-cell", "6"])
    assert again.exit_code == 0 and "already done" in again.output


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
