"""One record type per table: the columns each stage writes, in one place.

Rows travel as plain dicts (JSONL for what a model produced, Parquet for curated tables) so a
million of them stream without object overhead; these dataclasses are the schema those dicts follow.
The store derives each table's Arrow schema from them (:func:`curator.records.schema.arrow_schema`),
checks the required columns on every write and gives all-null columns their declared type. Fields
with a default are optional (older tables, or only some producers write them); a table may carry
extra columns (a later stage's annotations, a user's label columns).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class ImageRow:
    """``images.parquet``: one row per unique image (ingest, synth)."""

    image_id: str  # sha256 of the file bytes
    path: str  # as found, relative to the folder it was ingested from
    width: int
    height: int
    format: str
    mode: str
    bytes: int
    phash: str
    orientation: int = 1  # EXIF orientation; width/height are after applying it
    frames: int = 1
    root: str = ""  # the folder it was ingested from
    file: str = ""  # where stages open it: relative to images_root when inside it, else absolute
    source: str = ""
    license: str = ""
    score: float | None = None  # primary native score
    score_name: str = ""
    score_min: float | None = None
    score_max: float | None = None
    score_norm: float | None = None  # 0-100
    scores: str = "{}"  # JSON: every score {name: {value, min, max, norm}}
    score_domain: str = ""  # the taxonomy domain the primary score rates (iqa, iaa, …)
    meta: str = "{}"  # JSON: any other column of the label file, synth parameters, grounding text


@dataclass(slots=True)
class IngestReject:
    """``ingest_rejects.parquet``: a file ingest could not use, and why."""

    path: str
    reason: str  # not_an_image | corrupt | too_small | duplicate | …
    detail: str = ""


@dataclass(slots=True)
class SynthLabel:
    """``synth_labels.jsonl``: the known distortion of a synthetic image (its exact answer key)."""

    path: str
    synthetic: bool = True
    ref_id: str = ""
    variant: str = ""
    distortion: str | None = None
    distortion_name: str | None = None
    family: str | None = None
    level: int | None = None
    severity: str | None = None
    region: str | None = None
    region_psnr: float | None = None
    synthetic_quality: float | None = None


@dataclass(slots=True)
class Description:
    """``describe.jsonl``: a structured ISTA description of one image (describe)."""

    image_id: str
    image_path: str
    annotation: dict[str, Any]
    flags: list[str]
    ista_score: float
    model: str
    prompt_hash: str = ""
    cache_key: str = ""


@dataclass(slots=True)
class WorkItem:
    """``plan.jsonl``: one (image, criterion, template, slot) to write a question for (plan)."""

    work_id: str
    image_id: str
    image_path: str
    domain: str
    category: str
    criterion: str
    template: str
    slot: int = 0


@dataclass(slots=True)
class Provenance:
    """Where a model-written item came from; enough to reproduce or audit it."""

    model: str
    endpoint_host: str
    prompt_id: str
    prompt_hash: str
    taxonomy: str
    params: dict[str, Any] = field(default_factory=dict)
    seed: int | None = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    cache_key: str = ""


@dataclass(slots=True)
class QAItem:
    """``candidates.jsonl``: a multiple-choice question about one image and one criterion (generate)."""

    item_id: str
    work_id: str
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
    truth: dict[str, Any] | None = None  # synthetic items: the distortion that makes the answer exact


@dataclass(slots=True)
class Reject:
    """``generate_rejects.jsonl``, ``judge_rejects.jsonl``, ``describe_rejects.jsonl``: unusable replies.

    ``final`` rejects were paid and are not asked again; the others (a network failure) stay to do.
    One of ``work_id`` / ``item_id`` / ``image_id`` names what was rejected, by stage.
    """

    reason: str
    detail: str = ""
    final: bool = True
    work_id: str | None = None
    item_id: str | None = None
    image_id: str | None = None
    raw: str | None = None


@dataclass(slots=True)
class JudgeVerdict:
    """``judge.jsonl``: a judge model's rubric scores for one item (judge)."""

    item_id: str
    scores: dict[str, float]
    reasons: dict[str, str]
    judge_mean: float
    keep: bool
    min_score: float
    model: str
    family: str = ""
    prompt_hash: str = ""
    cache_key: str = ""


@dataclass(slots=True)
class BlindAnswer:
    """``blind.jsonl``: one text-only model's answer to one item, without the image (blind)."""

    item_id: str
    model: str
    letter: str | None
    correct: bool
    raw: str = ""
    error: str | None = None


@dataclass(slots=True)
class BlindDecision:
    """``blind_decisions.parquet``: per item, how many blind models got it right and whether it goes."""

    item_id: str
    blind_k: int
    blind_hits: int
    blind_drop: bool
    blind_max_hit_rate: float = 0.25  # the settings of the run that decided
    blind_models: str = ""


@dataclass(slots=True)
class PanelAnswer:
    """``calibrate.jsonl``: one panel model's answer to one item (one rotation under CircularEval)."""

    item_id: str
    model: str
    text_only: bool
    rotation: int
    letter: str | None
    correct: bool
    raw: str = ""


@dataclass(slots=True)
class Difficulty:
    """``difficulty.parquet``: how hard the panel found an item (calibrate)."""

    item_id: str
    panel_k: int
    panel_right: float  # fraction of the panel right
    difficulty: str  # easy | moderate | hard | tough
    right_models: list[str]
    possibly_wrong_truth: bool  # every image-seeing and every text-only model missed it


@dataclass(slots=True)
class CheckedItem:
    """``checked.parquet`` (check) and ``sample.parquet``/``train_pool.parquet`` (sample): QA items
    with the filters' verdicts; ``keep`` says whether the item goes on."""

    item_id: str
    image_id: str
    image_path: str
    criterion: str
    template: str
    question: str
    options: list[str]
    answer: str
    keep: bool
    domain: str = ""
    category: str = ""
    generator: str = ""
    model_question: str | None = None  # the model's original, whatever letter balancing or people change
    model_options: list[str] | None = None
    model_answer: str | None = None
    judge_mean: float | None = None
    judge_keep: bool | None = None
    blind_hits: float | None = None
    blind_drop: bool | None = None
    drop_reasons: list[str] = field(default_factory=list)
    stratum: str | None = None  # sample only


@dataclass(slots=True)
class ReviewedItem:
    """``reviewed.parquet``: a pushed item with the people's decision merged in (review pull)."""

    item_id: str
    criterion: str
    question: str
    options: list[str]
    answer: str
    review_status: str  # accepted | edited | rejected | disputed | unreviewed
    final_question: str
    final_options: list[str]
    final_answer: str
    model_question: str
    model_options: list[str]
    model_answer: str
    reviews: str  # JSON: every annotator's Review
    disagreement: bool = False
    dispute_reason: str | None = None
    answer_changed_on_accept: bool = False


@dataclass(slots=True)
class VRRating:
    """``reviewed_vr.parquet``: people's ratings of one image (review pull --kind vr)."""

    item_id: str
    n_reviews: int
    human_score_mean: float | None
    ratings: str  # JSON list of {annotator, score, stars}


@dataclass(slots=True)
class EvalScores:
    """``<benchmark>/eval/<run>-<split>/scores.json``: one evaluation run's figures (eval)."""

    run: str
    split: str
    vqa: dict[str, Any]
    vr: dict[str, Any]
    multimodal: dict[str, float]
    unfinished: int = 0


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
