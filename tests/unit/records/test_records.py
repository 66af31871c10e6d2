"""Record types: ids, the QA-item constructor and the Arrow schemas derived from the dataclasses."""

from __future__ import annotations

import pyarrow as pa

from curator.records import (
    CheckedItem,
    Provenance,
    QAItem,
    arrow_schema,
    item_id,
    new_qa_item,
    required_columns,
    vr_item_id,
)


def test_arrow_schema_follows_the_dataclass() -> None:
    schema = arrow_schema(CheckedItem)
    assert schema.field("options").type == pa.list_(pa.string())
    assert schema.field("keep").type == pa.bool_() and not schema.field("keep").nullable
    assert schema.field("judge_keep").type == pa.bool_() and schema.field("judge_keep").nullable
    assert schema.field("judge_mean").type == pa.float64()
    assert "stratum" in schema.names and "stratum" not in required_columns(CheckedItem)


def test_one_constructor_makes_every_qa_item() -> None:
    work = {"work_id": "w1", "image_id": "img", "image_path": "a.png", "template": "what", "slot": 0}
    prov = Provenance(model="m", endpoint_host="h", prompt_id="p", prompt_hash="x", taxonomy="t@1")
    row = new_qa_item(work, domain="iqa", category="type", criterion="iqa/type/t", question="What?",
                      options=["a", "b"], answer="A", rationale="r", provenance=prov, version="v1")
    assert set(row) == set(QAItem.__dataclass_fields__) - {"truth"}  # only synthetic items carry an answer key
    assert row["item_id"] == item_id("img", "iqa/type/t", "what", "m", "v1", 0)
    assert row["provenance"]["model"] == "m" and row["generator"] == "m"
    keyed = new_qa_item(work, domain="iqa", category="type", criterion="iqa/type/t", question="What?",
                        options=["a", "b"], answer="A", rationale="r", provenance=prov, version="v1",
                        truth={"level": 2})
    assert keyed["truth"] == {"level": 2} and keyed["item_id"] == row["item_id"]


def test_a_vr_item_has_one_id_in_review_and_export() -> None:
    assert vr_item_id("KonIQ 10k", "ab" * 32) == "vr-KonIQ_10k-" + "ab" * 8
    assert vr_item_id("", "cd" * 32) == "vr-unknown-" + "cd" * 8
