"""The project's store: every table under ``data/``, by name, with its record type and its producer.

No module outside this package names a table file. Stages read another stage's output here
(``Store(project).candidates.read()``) instead of importing that stage, and the "most refined
table" rule that export, eval and the card share lives here once (:meth:`Store.refined_items`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from curator.config import Project
from curator.errors import StageError
from curator.records import (
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
    QAItem,
    Reject,
    ReviewedItem,
    SynthLabel,
    VRRating,
    WorkItem,
)
from curator.store.io import write_parquet
from curator.store.tables import JsonlTable, ParquetTable, TableSpec

TABLES: dict[str, TableSpec] = {
    "images": TableSpec("images.parquet", ImageRow, "ingest", ("synth", "describe", "plan", "generate", "judge",
                                                                "sample", "review push --kind vr", "export")),
    "ingest_rejects": TableSpec("ingest_rejects.parquet", IngestReject, "ingest", ("ingest (summary)",)),
    "synth_labels": TableSpec("synth_labels.jsonl", SynthLabel, "synth", ("synth (ingest labels)",)),
    "descriptions": TableSpec("describe.jsonl", Description, "describe", ("generate (grounding)", "export (VR)")),
    "describe_rejects": TableSpec("describe_rejects.jsonl", Reject, "describe", ("describe (resume)",)),
    "plan": TableSpec("plan.jsonl", WorkItem, "plan", ("generate",)),
    "candidates": TableSpec("candidates.jsonl", QAItem, "generate", ("judge", "blind", "check", "export")),
    "generate_rejects": TableSpec("generate_rejects.jsonl", Reject, "generate", ("generate (resume, summary)",)),
    "judged": TableSpec("judge.jsonl", JudgeVerdict, "judge", ("check", "card")),
    "judge_rejects": TableSpec("judge_rejects.jsonl", Reject, "judge", ("judge (resume)",)),
    "blind": TableSpec("blind.jsonl", BlindAnswer, "blind", ("blind (decisions)", "card")),
    "blind_decisions": TableSpec("blind_decisions.parquet", BlindDecision, "blind", ("check",)),
    "panel_answers": TableSpec("calibrate.jsonl", PanelAnswer, "calibrate", ("calibrate (difficulty)",)),
    "difficulty": TableSpec("difficulty.parquet", Difficulty, "calibrate", ("sample --by difficulty",
                                                                           "review push --order disagreement")),
    "checked": TableSpec("checked.parquet", CheckedItem, "check", ("sample", "export")),
    "sample": TableSpec("sample.parquet", CheckedItem, "sample", ("review push", "review pull", "export")),
    "train_pool": TableSpec("train_pool.parquet", CheckedItem, "sample --train-pool", ("(users: a training pool)",)),
    "reviewed": TableSpec("reviewed.parquet", ReviewedItem, "review pull", ("export", "card")),
    "reviewed_vr": TableSpec("reviewed_vr.parquet", VRRating, "review pull --kind vr", ("export (VR human scores)",)),
}

REFINED = ("reviewed", "sample", "checked", "candidates")  # most refined first


@dataclass(frozen=True)
class ReviewFiles:
    """``data/review/``: what the Label Studio round trip keeps besides the reviewed table."""

    root: Path

    @property
    def state(self) -> Path:
        return self.root / "state.json"

    def tasks_log(self, kind: str) -> Path:
        return self.root / f"tasks_{kind}.jsonl"

    @property
    def raw(self) -> Path:
        d = self.root / "raw"
        d.mkdir(parents=True, exist_ok=True)
        return d

    @property
    def agreement(self) -> Path:
        return self.root / "agreement.json"

    @property
    def adjudication(self) -> Path:
        return self.root / "adjudication.csv"

    @property
    def merged(self) -> Path:
        return self.root / "merged"


@dataclass(frozen=True)
class EvalRun:
    """``<benchmark>/eval/<run>-<split>/``: one evaluation run (one folder per run *and* split, so a dev run
    never overwrites test): per-item predictions, the scores (:class:`~curator.records.EvalScores`) and
    their markdown table."""

    dir: Path

    @classmethod
    def of(cls, benchmark: Path, run: str, split: str) -> EvalRun:
        return cls(benchmark / "eval" / f"{run}-{split}")

    @property
    def predictions(self) -> Path:
        return self.dir / "predictions.jsonl"

    @property
    def scores(self) -> Path:
        return self.dir / "scores.json"

    @property
    def markdown(self) -> Path:
        return self.dir / "scores.md"

    def write(self, predictions: Iterable[dict[str, Any]], scores: EvalScores, markdown: str,
              default: Any = None) -> None:
        """Write the run's three files (each whole; a rerun replaces them)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with self.predictions.open("w", encoding="utf-8") as fh:
            for p in predictions:
                fh.write(json.dumps(p, default=default) + "\n")
        self.scores.write_text(json.dumps(dataclasses.asdict(scores), indent=1, default=default))
        self.markdown.write_text(markdown)

    def read_scores(self) -> dict[str, Any] | None:
        return json.loads(self.scores.read_text()) if self.scores.exists() else None


class Store:
    """Every table of one project. Cheap to make: it only computes paths."""

    images: ParquetTable
    ingest_rejects: ParquetTable
    synth_labels: JsonlTable
    descriptions: JsonlTable
    describe_rejects: JsonlTable
    plan: JsonlTable
    candidates: JsonlTable
    generate_rejects: JsonlTable
    judged: JsonlTable
    judge_rejects: JsonlTable
    blind: JsonlTable
    blind_decisions: ParquetTable
    panel_answers: JsonlTable
    difficulty: ParquetTable
    checked: ParquetTable
    sample: ParquetTable
    train_pool: ParquetTable
    reviewed: ParquetTable
    reviewed_vr: ParquetTable

    def __init__(self, project: Project) -> None:
        self.project = project
        data = project.data
        for name, spec in TABLES.items():
            kind = JsonlTable if spec.file.endswith(".jsonl") else ParquetTable
            setattr(self, name, kind(data, spec))
        self.image_parts = data / "images.parts"  # ingest's chunks, merged into images.parquet
        self.sample_report = data / "sample.report.json"
        self.reviewed_previous = data / "reviewed.previous.parquet"
        self.review = ReviewFiles(data / "review")

    def table(self, name: str) -> JsonlTable | ParquetTable:
        """A table by its store name (``"candidates"``) or file name (``"candidates.jsonl"``)."""
        for key, spec in TABLES.items():
            if name in (key, spec.file):
                table: JsonlTable | ParquetTable = getattr(self, key)
                return table
        raise StageError(f"no table {name!r}; tables: {', '.join(TABLES)}")

    def load_images(self) -> pd.DataFrame:
        """The images table, with ``root``/``file`` filled in for tables written before sources were recorded."""
        df = self.images.read()
        if len(df) and "file" not in df.columns:
            df = df.assign(root=self.root_text(self.project.images_root), file=df["path"])
        return df

    def root_text(self, root: Path) -> str:
        """A source folder as stored: relative to the project when inside it, else absolute."""
        try:
            return root.resolve().relative_to(self.project.root).as_posix() or "."
        except ValueError:
            return root.resolve().as_posix()

    def descriptions_by_image(self) -> dict[str, dict[str, Any]]:
        """ISTA descriptions by image id (empty when describe never ran)."""
        return {r["image_id"]: r for r in self.descriptions}

    def qa_candidates(self) -> pd.DataFrame:
        """Every candidate once, by item id: the first write wins (a repaired item replaces nothing)."""
        rows = self.candidates.read()
        if not rows:
            raise StageError(f"{self.candidates.path} has no candidates; run `curator generate` first")
        return pd.DataFrame(rows).drop_duplicates("item_id", keep="first").reset_index(drop=True)

    def judgements(self) -> pd.DataFrame:
        """The judge's latest verdict per item (empty when judge never ran)."""
        rows = self.judged.read()
        if not rows:
            return pd.DataFrame(columns=["item_id", "scores", "judge_mean", "keep"])
        return pd.DataFrame(rows).drop_duplicates("item_id", keep="last")

    def commit_image_part(self, rows: list[dict[str, Any]]) -> None:
        """Commit a chunk of new image rows: a killed ingest keeps every chunk committed before it."""
        import os

        if not rows:
            return
        self.image_parts.mkdir(exist_ok=True)
        n = len(list(self.image_parts.glob("*.parquet")))
        write_parquet(self.image_parts / f"{os.getpid()}-{n:06d}.parquet", pd.DataFrame(rows))

    def fold_image_parts(self) -> int:
        """Merge committed chunks into the images table (atomically); returns the table's size."""
        parts = sorted(self.image_parts.glob("*.parquet")) if self.image_parts.is_dir() else []
        existing = self.images.read() if self.images.exists() else pd.DataFrame()
        if not parts:
            return len(existing)
        frames = [existing, *(pd.read_parquet(f) for f in parts)]
        combined = pd.concat([f for f in frames if len(f)], ignore_index=True)
        combined = combined.drop_duplicates("image_id", keep="first").reset_index(drop=True)
        self.images.write(combined)
        for f in parts:
            f.unlink()
        return len(combined)

    def refined_items(self) -> tuple[pd.DataFrame, Path]:
        """The most refined QA table there is: reviewed > sample > checked > candidates, and its path."""
        for name in REFINED:
            t = self.table(name)
            if t.exists():
                return t.frame(), t.path
        raise StageError("nothing to export: run generate (and optionally check, sample, review) first")

    def manifest(self) -> list[dict[str, Any]]:
        """Every table with its file, record type, producer, consumers and whether it exists (for docs)."""
        return [{"table": k, "file": s.file, "record": s.record.__name__, "producer": s.producer,
                 "consumers": list(s.consumers), "exists": self.table(k).exists()} for k, s in TABLES.items()]
