"""``curator review pull`` / ``status``: export annotations, keep them raw, merge into HF ``datasets``.

Every export is streamed to ``data/review/raw/`` as received (gzip) and read back one task at a
time, so inline images never sit in memory. The merge writes
``data/reviewed.parquet`` and a ``datasets`` copy (``data/review/merged``): per item the status,
the final question/options/answer, the pushed version and the model's original beside it, and every
annotator's decision (``reviews``, JSON). Agreement goes to ``data/review/agreement.json`` and items
needing an adjudicator to ``data/review/adjudication.csv``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from curator._quiet import quiet
from curator.config import Project
from curator.errors import ReviewError, StageError
from curator.stages.review.merge import STATUSES, agreement, decide, reviews_from_export
from curator.stages.review.push import connect, load_state, resolve_project
from curator.stages.review.studio import read_export
from curator.store import Store


@dataclass
class PullSummary:
    raw_export: str = ""
    tasks_exported: int = 0
    annotations: int = 0
    status: Counter[str] = field(default_factory=Counter)
    agreement: dict[str, dict[str, float]] = field(default_factory=dict)
    adjudication: int = 0
    by_criterion: list[tuple[str, int, int, int, int, int]] = field(default_factory=list)
    table: str = ""

    def rows(self) -> list[tuple[str, str]]:
        out = [("raw export kept", self.raw_export), ("tasks exported", str(self.tasks_exported)),
               ("annotations", str(self.annotations))]
        out += [(f"items {s}", str(self.status.get(s, 0))) for s in STATUSES]
        ov = self.agreement.get("overall", {})
        if ov:
            out += [("alpha (verdict / option)", f"{_f(ov['alpha_verdict'])} / {_f(ov['alpha_option'])}"),
                    ("% agreement (verdict / option)", f"{_f(ov['percent_verdict'])} / {_f(ov['percent_option'])}")]
        out += [("for adjudication", str(self.adjudication)), ("merged table", self.table)]
        return out


def _f(x: float) -> str:
    return "n/a" if x != x else f"{x:.3f}"


def _fetch(project: Project, kind: str, url: str | None, token: str | None) -> tuple[list[dict[str, Any]], Path]:
    """Stream a fresh export to ``data/review/raw/`` (gzip, kept as received) and read it back task by task."""
    state = load_state(project)
    if not state["projects"].get(kind):
        raise StageError(f"nothing pushed yet for {kind}; run `curator review push` first")
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    path = Store(project).review.raw / f"{kind}-{stamp}.json.gz"
    client = connect(project, url, token)
    try:
        got = resolve_project(project, client, kind)
        assert got is not None
        try:
            client.export_to(got[0], f"curator-pull-{stamp}", path)
        except ReviewError as exc:
            raise ReviewError(f"{exc}\nnothing was written: {Store(project).reviewed.path} and earlier raw exports are "
                              "as they were; rerun `curator review pull` when the server is back") from exc
    finally:
        client.close()
    return list(read_export(path)), path


DECIDED = ("accepted", "edited", "rejected", "disputed")


@quiet
def pull(project: Project, *, kind: str = "vqa", url: str | None = None, token: str | None = None,
         write: bool = True, force: bool = False) -> PullSummary:
    """Export annotations and merge them with the pushed items.

    Args:
        kind: ``vqa`` or ``vr``.
        write: write the merged table and dataset (``status`` passes False).
        force: write even when the merge holds fewer reviewed items than the table it replaces
            (normally a sign of the wrong server or project; the pull then refuses).
    """
    tasks, raw_path = _fetch(project, kind, url, token)
    reviews = reviews_from_export(tasks)
    summary = PullSummary(raw_export=str(raw_path), tasks_exported=len(tasks),
                          annotations=sum(len(v) for v in reviews.values()))
    if kind == "vr":
        return _merge_vr(project, tasks, summary, write)
    store = Store(project)
    src = Path(load_state(project)["projects"][kind].get("source") or store.sample.path)
    items = pd.read_parquet(src)
    if "keep" in items.columns:
        items = items[items["keep"]]
    decisions = [decide(r, reviews.get(r["item_id"], [])) for r in items.to_dict("records")]
    merged = pd.concat([items.reset_index(drop=True), pd.DataFrame(decisions)], axis=1)
    for col, src_col in (("model_question", "question"), ("model_options", "options"), ("model_answer", "answer")):
        if col not in merged.columns:  # the model's original, whatever people change later
            merged[col] = merged[src_col]
    merged["reviews"] = [json.dumps([dataclasses.asdict(r) for r in reviews.get(i, [])]) for i in merged["item_id"]]
    summary.status = Counter(merged["review_status"])
    summary.agreement = agreement({i: reviews[i] for i in merged["item_id"] if i in reviews},
                                  dict(zip(merged["item_id"], merged["criterion"], strict=True)))
    adj = merged[(merged["review_status"] == "disputed") | merged["disagreement"]]
    summary.adjudication = len(adj)
    g = merged.groupby("criterion")["review_status"]
    summary.by_criterion = [(c, len(s), int((s != "unreviewed").sum()), int((s == "accepted").sum()),
                             int((s == "edited").sum()), int((s == "rejected").sum())) for c, s in g]
    if write:
        files = store.review
        adj[["item_id", "criterion", "review_status", "question", "final_answer"]].to_csv(files.adjudication,
                                                                                           index=False)
        files.agreement.write_text(json.dumps(summary.agreement, indent=1))
        table = store.reviewed.path
        _guard_against_loss(table, merged, force)
        if table.exists():
            import shutil

            shutil.copy2(table, store.reviewed_previous)
        store.reviewed.write(merged)
        _save_dataset(merged, files.merged)
        summary.table = str(table)
    return summary


def _guard_against_loss(table: Path, merged: pd.DataFrame, force: bool) -> None:
    """Refuse to replace recorded reviews with fewer: a pull from the wrong server must not wipe work."""
    if force or not table.exists():
        return
    old = pd.read_parquet(table, columns=["item_id", "review_status"])
    had = int(old["review_status"].isin(DECIDED).sum())
    now = int(merged["review_status"].isin(DECIDED).sum())
    if now < had:
        raise ReviewError(f"this pull would replace {had} reviewed items in {table} with {now}: annotations seem to be "
                          "missing on this server (another server, or a project that was reset). Nothing was "
                          "written; the raw export is kept. Pull with --force to replace them anyway")


def _save_dataset(df: pd.DataFrame, path: Path) -> None:
    import datasets

    clean = df.copy()
    for col in clean.columns:
        if clean[col].map(lambda v: isinstance(v, dict)).any():
            clean[col] = clean[col].map(lambda v: json.dumps(v, default=str) if v is not None else None)
    clean["final_options"] = clean["final_options"].map(list)
    datasets.Dataset.from_pandas(clean, preserve_index=False).save_to_disk(str(path))


def _merge_vr(project: Project, tasks: list[dict[str, Any]], summary: PullSummary, write: bool) -> PullSummary:
    """Per image: the mean of the annotators' 0-100 scores (or stars x 20) and every rating."""
    rows = []
    for t in tasks:
        ratings: list[dict[str, Any]] = []
        for a in t.get("annotations") or []:
            if a.get("was_cancelled"):
                continue
            vals = {r["from_name"]: r.get("value") or {} for r in a.get("result") or []}
            score = vals.get("score", {}).get("number")
            stars = vals.get("rating", {}).get("rating")
            ratings.append({"annotator": str(a.get("completed_by")), "score": score, "stars": stars})
        values = [r["score"] if r["score"] is not None else r["stars"] * 20 for r in ratings
                  if r["score"] is not None or r["stars"] is not None]
        rows.append({"item_id": (t.get("data") or {}).get("ext_id"), "n_reviews": len(ratings),
                     "human_score_mean": sum(values) / len(values) if values else None, "ratings": json.dumps(ratings)})
    summary.status = Counter({"rated": sum(1 for r in rows if r["human_score_mean"] is not None)})
    if write and rows:
        summary.table = str(Store(project).reviewed_vr.write(pd.DataFrame(rows)))
    return summary
