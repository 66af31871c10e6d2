"""Difficulty calibration by a panel of fake models with set accuracies: bins and flags as those imply."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import FakeOpenAI, photo, save

from curator.config import Project
from curator.records import Provenance, new_qa_item
from curator.stages.calibrate import calibrate
from curator.stages.checks import check
from curator.stages.export import export
from curator.stages.ingest import ingest
from curator.stages.sample import sample
from curator.store import Store

# which items each panellist gets right (item number mod 4): A sees the image, B sees it, C is text-only
RIGHT = {"fake-panel-a": {0, 1, 2}, "fake-panel-b": {0, 2}, "fake-panel-c": {0}}
EXPECT = {0: ("easy", 1.0), 1: ("hard", 1 / 3), 2: ("moderate", 2 / 3), 3: ("tough", 0.0)}


def _panel_project(project: Project, fake: FakeOpenAI, n: int = 16) -> tuple[Project, list[dict[str, object]]]:
    for i in range(4):
        save(photo(i, size=(64, 48)), project.images_root / f"img{i}.jpg")
    ingest(project, workers=1)
    images = Store(project).load_images().to_dict("records")
    cfg = yaml.safe_load((project.root / "curator.yaml").read_text())
    cfg["models"]["panel"] = [{"model": m, "base_url": fake.base_url, "api_key_env": "FAKE_KEY",
                               "text_only": m.endswith("-c"), "run": {"concurrency": 4, "max_retries": 1}}
                              for m in RIGHT]
    (project.root / "curator.yaml").write_text(yaml.safe_dump(cfg))
    project = Project.load(project.root)
    prov = Provenance(model="test", endpoint_host="local", prompt_id="t", prompt_hash="t", taxonomy="t")
    items = []
    with Store(project).candidates.appender() as out:
        for i in range(n):
            img = images[i % 4]
            work = {"work_id": f"w{i}", "image_id": img["image_id"], "image_path": img["file"], "template": "what",
                    "slot": i}
            row = new_qa_item(work, domain="iqa", category="type", criterion="iqa/type/distortion_types",
                              question=f"Item {i:03d}: what distortion is most visible?",
                              options=["blur", "noise", "compression", "none"], answer="ABCD"[i % 4],
                              rationale="test", provenance=prov, version="t")
            out.write(row)
            items.append(row)
    rules = []
    for i, it in enumerate(items):
        wrong = "ABCD"[(i + 1) % 4]
        for m, ok in RIGHT.items():
            rules.append({"model": m, "match": f"Item {i:03d}:", "content": str(it["answer"]) if i % 4 in ok else wrong})
    fake.rules(rules)
    return project, items


def test_panel_accuracies_imply_the_bins_and_the_suspect_keys(project: Project, fake: FakeOpenAI) -> None:
    p, items = _panel_project(project, fake)
    s = calibrate(p)
    assert s.items == len(items) and s.answered == 3 * len(items)
    table = Store(p).difficulty.read().set_index("item_id")
    for i, it in enumerate(items):
        row = table.loc[it["item_id"]]
        assert (row["difficulty"], round(row["panel_right"], 6)) == (EXPECT[i % 4][0], round(EXPECT[i % 4][1], 6))
        assert sorted(row["right_models"]) == sorted(m for m, ok in RIGHT.items() if i % 4 in ok)
        assert bool(row["possibly_wrong_truth"]) == (i % 4 == 3)
    assert s.bins == {"easy": 4, "moderate": 4, "hard": 4, "tough": 4} and s.possibly_wrong_truth == 4
    answered = len(fake.log()["answered"])
    again = calibrate(p)
    assert again.answered == 0 and len(fake.log()["answered"]) == answered  # resumable, nothing paid twice


def test_sample_meets_a_difficulty_mix_and_reports_a_shortfall(project: Project, fake: FakeOpenAI) -> None:
    p, items = _panel_project(project, fake, n=40)
    calibrate(p)
    assert check(p, per_image_cap=None, near_duplicate=1.0).kept == len(items)  # the items differ only by number
    s = sample(p, by=["criterion"], n=10, difficulty_mix=[0.2, 0.3, 0.3, 0.2])
    chosen = pd.read_parquet(p.data / "sample.parquet")
    assert chosen["difficulty"].value_counts().to_dict() == {"easy": 2, "moderate": 3, "hard": 3, "tough": 2}
    assert not s.shortfall
    s2 = sample(p, by=["criterion"], n=40, difficulty_mix=[0.7, 0.1, 0.1, 0.1])  # only 10 easy items exist
    assert ("iqa/type/distortion_types|easy", 28, 10) in s2.shortfall
    by_bin = sample(p, by=["difficulty"], n=3)
    assert pd.read_parquet(p.data / "sample.parquet")["difficulty"].value_counts().to_dict() == dict.fromkeys(
        ["easy", "moderate", "hard", "tough"], 3) and not by_bin.shortfall
    card = (Path(export(p).out) / "README.md").read_text()  # the card shows the mix per domain and template
    assert "## Difficulty (calibration panel)" in card
    assert "| domain | easy | moderate | hard | tough |" in card and "| iqa | 3 | 3 | 3 | 3 |" in card


def test_calibrate_needs_a_panel(project: Project) -> None:
    from curator.errors import ConfigError

    with pytest.raises(ConfigError, match=r"models\.panel"):
        calibrate(project)
