"""The store: table names, atomic typed writes, the most-refined rule, clear errors for missing tables."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from curator.config import Project
from curator.errors import StageError
from curator.store import TABLES, Store
from curator.store.io import JsonlAppender


def test_every_table_has_one_file_and_a_record_type(project: Project) -> None:
    store = Store(project)
    files = [spec.file for spec in TABLES.values()]
    assert len(files) == len(set(files))
    for name, spec in TABLES.items():
        assert store.table(name) is store.table(spec.file)  # by store name or by file name
        assert store.table(name).path == project.data / spec.file
    with pytest.raises(StageError, match="no table 'nope'"):
        store.table("nope")


def test_a_missing_table_names_the_command_that_writes_it(project: Project) -> None:
    with pytest.raises(StageError, match=r"checked\.parquet does not exist; run `curator check` first"):
        Store(project).checked.read()
    with pytest.raises(StageError, match=r"run `curator plan` first"):
        Store(project).plan.frame()
    assert Store(project).candidates.read() == []  # an append-only table that does not exist yet is empty


def test_a_write_without_a_required_column_is_refused_and_changes_nothing(project: Project) -> None:
    t = Store(project).blind_decisions
    good = pd.DataFrame({"item_id": ["a"], "blind_k": [2], "blind_hits": [0], "blind_drop": [False]})
    t.write(good)
    before = t.path.read_bytes()
    with pytest.raises(StageError, match="without blind_drop"):
        t.write(good.drop(columns=["blind_drop"]))
    assert t.path.read_bytes() == before
    assert not list(project.data.glob("*.tmp"))


def test_all_null_columns_get_their_declared_type(project: Project) -> None:
    t = Store(project).checked
    df = pd.DataFrame({"item_id": ["a"], "image_id": ["i"], "image_path": ["x.png"], "criterion": ["c"],
                       "template": ["what"], "question": ["q"], "options": [["x", "y"]], "answer": ["A"],
                       "keep": [True], "judge_keep": [None], "blind_drop": [None], "extra": [None]})
    t.write(df)
    schema = pq.read_schema(t.path)
    assert str(schema.field("judge_keep").type) == "bool" and str(schema.field("blind_drop").type) == "bool"
    assert str(schema.field("extra").type) == "null"  # a column the record does not declare is left alone


def test_refined_items_prefers_people_over_filters_over_candidates(project: Project) -> None:
    store = Store(project)
    with pytest.raises(StageError, match="nothing to export"):
        store.refined_items()
    with JsonlAppender(store.candidates.path) as out:
        out.write({"item_id": "a", "question": "from generate"})
    assert store.refined_items()[1] == store.candidates.path
    row = {"item_id": "a", "image_id": "i", "image_path": "x.png", "criterion": "c", "template": "what",
           "question": "q", "options": ["x", "y"], "answer": "A", "keep": True}
    store.checked.write(pd.DataFrame([row]))
    assert store.refined_items()[1] == store.checked.path
    store.sample.write(pd.DataFrame([{**row, "stratum": "c|what"}]))
    assert store.refined_items()[1] == store.sample.path


def test_candidates_keep_the_first_write_and_judgements_the_last(project: Project) -> None:
    store = Store(project)
    with JsonlAppender(store.candidates.path) as out:  # rows of older runs, not all fields
        out.write({"item_id": "a", "question": "first"})
        out.write({"item_id": "a", "question": "second"})
    with JsonlAppender(store.judged.path) as out:
        out.write({"item_id": "a", "judge_mean": 2.0})
        out.write({"item_id": "a", "judge_mean": 4.5})
    assert list(store.qa_candidates()["question"]) == ["first"]
    assert list(store.judgements()["judge_mean"]) == [4.5]


def test_image_parts_fold_into_the_table_once(project: Project) -> None:
    store = Store(project)
    row = {"image_id": "h1", "path": "a.png", "width": 8, "height": 8, "format": "PNG", "mode": "RGB", "bytes": 10,
           "phash": "0"}
    store.commit_image_part([row])
    store.commit_image_part([row, {**row, "image_id": "h2", "path": "b.png"}])
    assert store.fold_image_parts() == 2  # de-duplicated by image id
    assert not list(store.image_parts.glob("*.parquet"))
    assert store.fold_image_parts() == 2


def test_the_architecture_doc_lists_exactly_the_stores_tables() -> None:
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[3] / "docs" / "architecture.md").read_text()
    listed = re.findall(r"^\| `data/([a-z_.]+)` \| `(\w+)` \|", doc, flags=re.M)
    assert listed == [(spec.file, spec.record.__name__) for spec in TABLES.values()]


def test_an_append_without_a_required_field_is_refused(project: Project) -> None:
    t = Store(project).judged
    ok = {"item_id": "a", "scores": {"clarity": 5}, "reasons": {}, "judge_mean": 5.0, "keep": True, "min_score": 4,
          "model": "m"}
    with t.appender() as out:
        out.write(ok)
        with pytest.raises(StageError, match=r"judge\.jsonl: refusing a row without keep"):
            out.write({k: v for k, v in ok.items() if k != "keep"})
    assert t.read() == [ok]
