"""Benchmark versions: two exports of one project with people's edits in between, compared exactly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from curator.cli import app
from curator.config import Project
from curator.errors import UsageError
from curator.records import LETTERS
from curator.stages.diff import diff
from curator.stages.export import export
from curator.store import Store


def _review(p: Project) -> tuple[str, str, str]:
    """Write the reviewed table as a pull would: everything accepted except one question edit, one answer
    change and one rejection. Returns (edited question id, changed answer id, rejected id)."""
    items = pd.read_parquet(p.data / "sample.parquet")
    items = items[items["keep"]].reset_index(drop=True)
    mcq = items[items["template"].isin(["what", "which", "how"])].index
    q_id, a_id, r_id = items.loc[mcq[0], "item_id"], items.loc[mcq[1], "item_id"], items.loc[mcq[2], "item_id"]
    rows = []
    for r in items.to_dict("records"):
        final_q, final_a, status = r["question"], r["answer"], "accepted"
        if r["item_id"] == q_id:
            final_q, status = r["question"] + " (reworded by a reviewer)", "edited"
        if r["item_id"] == a_id:
            final_a = next(x for x in LETTERS[:len(r["options"])] if x != r["answer"])
            status = "edited"
        if r["item_id"] == r_id:
            status = "rejected"
        rows.append({**r, "review_status": status, "final_question": final_q, "final_options": list(r["options"]),
                     "final_answer": final_a, "model_question": r["question"], "model_options": list(r["options"]),
                     "model_answer": r["answer"], "reviews": "[]"})
    Store(p).reviewed.write(pd.DataFrame(rows))
    return q_id, a_id, r_id


def test_diff_reports_exactly_the_edits_between_two_versions(built: Project, tmp_path: Path) -> None:
    first = export(built, splits="dev:0.3,test:0.7", version="1.0.0")
    v1 = tmp_path / "v1"
    shutil.copytree(first.out, v1)
    card1 = (Path(first.out) / "README.md").read_text()
    assert "Version **1.0.0**" in card1 and "## Changelog" not in card1  # nothing to compare with yet
    q_id, a_id, r_id = _review(built)
    second = export(built, splits="dev:0.3,test:0.7", version="1.1.0")
    d = diff(v1, second.out, json_out=tmp_path / "changes.json")
    assert d.added == [] and d.removed == [r_id]
    assert d.changed == {q_id: ["question"], a_id: ["answer"]}
    assert d.unchanged == len(pd.read_parquet(built.data / "sample.parquet")) - 3
    assert sum(c["removed"] for c in d.by_criterion.values()) == 1
    assert sum(c["changed"] for c in d.by_split.values()) == 2
    assert json.loads((tmp_path / "changes.json").read_text())["changed"] == {q_id: ["question"], a_id: ["answer"]}
    manifest = json.loads((Path(second.out) / "manifest.json").read_text())
    assert (manifest["version"], manifest["previous_version"]) == ("1.1.0", "1.0.0")
    assert manifest["changes"] == {"added": 0, "removed": 1, "changed": 2}
    card = (Path(second.out) / "README.md").read_text()
    assert "Version **1.1.0**" in card and "## Changelog" in card
    assert "**1.1.0** (against 1.0.0): 0 added, 1 removed, 2 changed (1 question, 1 answer)" in card
    out = CliRunner().invoke(app, ["diff", str(v1), second.out, "--by", "split"], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert "removed" in out.output and "changes by split" in out.output


def test_an_export_version_must_be_semantic(built: Project) -> None:
    with pytest.raises(UsageError, match=r"X\.Y\.Z"):
        export(built, version="v2")


def test_diff_of_something_that_is_not_an_export_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not an export"):
        diff(tmp_path, tmp_path)
