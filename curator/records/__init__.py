"""The data model: one record type per table, the content ids, and the schemas derived from them."""

from curator.records.ids import (
    LETTERS,
    canonical_json,
    content_id,
    inline_question,
    item_id,
    options_text,
    sha256_hex,
    vr_item_id,
)
from curator.records.qa import new_qa_item
from curator.records.rows import (
    BlindAnswer,
    BlindDecision,
    CheckedItem,
    Description,
    Difficulty,
    EvalScores,
    ImageRow,
    IngestReject,
    JudgeVerdict,
    PanelAnswer,
    Provenance,
    QAItem,
    Reject,
    Review,
    ReviewedItem,
    SynthLabel,
    VRRating,
    WorkItem,
)
from curator.records.schema import arrow_schema, check_columns, required_columns, typed_table

__all__ = [
    "LETTERS", "BlindAnswer", "BlindDecision", "CheckedItem", "Description", "Difficulty", "EvalScores", "ImageRow",
    "IngestReject", "JudgeVerdict", "PanelAnswer", "Provenance", "QAItem", "Reject", "Review", "ReviewedItem",
    "SynthLabel", "VRRating", "WorkItem", "arrow_schema", "canonical_json", "check_columns", "content_id",
    "inline_question", "item_id", "new_qa_item", "options_text", "required_columns", "sha256_hex", "typed_table",
    "vr_item_id",
]
