"""``curator review status``: how far people have got, from the task list — no export, nothing written.

The task list is read page by page (Label Studio 1.23 returns full annotations only with
``fields=all``; ``include=id,annotations`` gives bare ids), nothing is exported or written, and task ids
map back to our item ids through the local push log. With inline images the pages still carry the
task data; local or URL image modes keep them small. Per criterion: total,
fully annotated (as many annotations as the project wants per item), partly annotated, unreviewed,
and what the decisions so far come to (accepted, edited, rejected, disputed).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from curator.config import Project
from curator.errors import StageError
from curator.stages.review.merge import decide, parse_annotation
from curator.stages.review.push import connect, load_state, resolve_project
from curator.store import Store
from curator.store.io import iter_jsonl

COLUMNS = ("total", "fully annotated", "partly annotated", "unreviewed", "accepted", "edited", "rejected", "disputed")


@dataclass
class StatusSummary:
    overlap: int = 1
    by_criterion: dict[str, Counter[str]] = field(default_factory=dict)
    tasks: int = 0
    flagged: int = 0  # tasks pushed with a priority (review push --order disagreement)
    flagged_done: int = 0  # of those, fully annotated
    priority_prefix: int = 0  # fully annotated tasks from the top of the priority list down to the first gap

    def table(self) -> list[tuple[Any, ...]]:
        rows = [(c, *(n[k] for k in COLUMNS)) for c, n in sorted(self.by_criterion.items())]
        total: Counter[str] = sum(self.by_criterion.values(), Counter())
        return [*rows, ("all", *(total[k] for k in COLUMNS))]


def _annotations(client: Any, pid: int) -> tuple[dict[int, list[dict[str, Any]]], dict[int, float]]:
    """Annotations and push priority per task id."""
    anns, prio = {}, {}
    for t in client.iter_tasks(pid, fields="all", page_size=500):
        anns[int(t["id"])] = list(t.get("annotations") or [])
        prio[int(t["id"])] = float((t.get("data") or {}).get("priority") or 0.0)
    return anns, prio


def status(project: Project, *, kind: str = "vqa", url: str | None = None, token: str | None = None) -> StatusSummary:
    """Review progress per criterion, live from the server's task list (cheap: nothing exported or written)."""
    state = load_state(project)
    entry = state["projects"].get(kind)
    if not entry:
        raise StageError(f"nothing pushed yet for {kind}; run `curator review push` first")
    client = connect(project, url, token)
    try:
        got = resolve_project(project, client, kind)
        assert got is not None
        pid, found = got
        anns, prio = _annotations(client, pid)
    finally:
        client.close()
    ext_of = {int(r["task_id"]): r["ext_id"] for r in iter_jsonl(Store(project).review.tasks_log(kind))
              if r.get("project") == pid}
    summary = StatusSummary(overlap=int(found.get("maximum_annotations") or 1))
    items: dict[str, dict[str, Any]] = {}
    if kind == "vqa":
        src = Path(entry.get("source") or Store(project).sample.path)
        if src.exists():
            items = {r["item_id"]: r for r in pd.read_parquet(src).to_dict("records")}
    for tid, task_anns in anns.items():
        ext = ext_of.get(tid)
        item = items.get(ext or "", {})
        crit = str(item.get("criterion", "(not in the pushed table)"))
        n = summary.by_criterion.setdefault(crit, Counter())
        n["total"] += 1
        done = [a for a in task_anns if not a.get("was_cancelled")]
        n["unreviewed" if not done else "fully annotated" if len(done) >= summary.overlap else "partly annotated"] += 1
        if done and item:
            st = decide(item, [parse_annotation(ext or "", a) for a in task_anns])["review_status"]
            if st != "unreviewed":
                n[st] += 1
    _priority_progress(summary, anns, prio)
    return summary


def _priority_progress(summary: StatusSummary, anns: dict[int, list[dict[str, Any]]], prio: dict[int, float]) -> None:
    """How far down the priority list people have got (tasks pushed with ``--order disagreement``)."""
    def full(tid: int) -> bool:
        return sum(1 for a in anns[tid] if not a.get("was_cancelled")) >= summary.overlap

    ranked = sorted(anns, key=lambda t: (-prio.get(t, 0.0), t))  # the order people are shown them
    summary.tasks = len(ranked)
    flagged = [t for t in ranked if prio.get(t, 0.0) > 0]
    summary.flagged, summary.flagged_done = len(flagged), sum(full(t) for t in flagged)
    summary.priority_prefix = next((i for i, t in enumerate(ranked) if not full(t)), len(ranked))
