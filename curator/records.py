"""The one data model: images, QA items, rating items, provenance and reviews.

Tables are plain rows (dicts) on disk — JSONL for anything a model produced, Parquet for curated
tables — so a million rows stream without object overhead. These dataclasses document the columns
and give their Hugging Face ``Features``; :func:`item_id` is the content hash that makes every
stage idempotent.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

LETTERS = "ABCDEFGH"


def canonical_json(obj: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces) used for every hash curator computes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def sha256_hex(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def item_id(image_id: str, criterion: str, template: str, generator: str, prompt_version: str, slot: int = 0) -> str:
    """Content id of a QA item: image bytes hash + criterion + template + generator + prompt version.

    ``slot`` distinguishes several items planned for the same (image, criterion, template).
    """
    key = canonical_json([image_id, criterion, template, generator, prompt_version, slot])
    return "q" + sha256_hex(key)[:23]


@dataclass(slots=True)
class Score:
    """A label in its native scale plus the declared 0–100 normalisation."""

    name: str
    value: float
    scale_min: float
    scale_max: float

    @property
    def normalized(self) -> float:
        span = self.scale_max - self.scale_min
        return 100.0 * (self.value - self.scale_min) / span if span else 0.0


@dataclass(slots=True)
class ImageRecord:
    """One row of the images table (``data/images.parquet``)."""

    image_id: str  # sha256 of the file bytes
    path: str  # relative to the images root, POSIX separators
    width: int
    height: int
    format: str
    mode: str
    bytes: int
    phash: str
    source: str = ""
    license: str = ""
    orientation: int = 1  # EXIF orientation; width/height are after applying it
    score: float | None = None  # primary native score
    score_name: str = ""
    score_min: float | None = None
    score_max: float | None = None
    score_norm: float | None = None  # 0-100
    scores: str = "{}"  # JSON: every score {name: {value, min, max, norm}}
    meta: str = "{}"  # JSON: any other column of the label file, synth parameters, grounding text

    def to_row(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Provenance:
    """Where a model-written item came from; enough to reproduce or audit it."""

    model: str
    endpoint_host: str
    prompt_id: str
    prompt_hash: str
    taxonomy: str
    params: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    cache_key: str = ""


@dataclass(slots=True)
class QAItem:
    """A multiple-choice question about one image and one criterion."""

    item_id: str
    image_id: str
    image_path: str
    domain: str
    category: str
    criterion: str  # path id
    template: str
    question: str
    options: list[str]
    answer: str  # letter
    rationale: str
    generator: str
    provenance: dict[str, Any]

    def to_row(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class RatingItem:
    """A visual-rating item: one image and its score (native + 0–100)."""

    item_id: str
    image_id: str
    image_path: str
    domain: str
    dataset: str
    gt_score: float
    score_min: float
    score_max: float
    gt_norm: float


@dataclass(slots=True)
class Review:
    """One annotator's decision on one item, as pulled from Label Studio."""

    item_id: str
    annotator: str
    verdict: str  # accept | accept_with_edits | reject | skipped
    correct_option: str | None = None
    question_edit: str | None = None
    options_edit: list[str] | None = None
    difficulty: int | None = None
    issues: list[str] = field(default_factory=list)
    comment: str = ""
    ground_truth: bool = False
    annotation_id: int = 0
    updated_at: str = ""


def options_text(options: list[str]) -> str:
    """The inline ``A. …`` option block UniPercept's evaluation code expects inside the question."""
    return "\n".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(options))
