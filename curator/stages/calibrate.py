"""``curator calibrate``: how hard each candidate is, measured by a panel of models.

Every ``models.panel`` endpoint answers every candidate with the evaluation prompt (image-seeing models
with the image, ``text_only`` ones without), and each reply is read with the same extraction as
``curator eval`` (:func:`curator.engine.parsing.extract_letter`); with ``circular`` an answer counts only
if right under every rotation of the options (CircularEval). Per item: the fraction of the panel that is
right, a difficulty bin in MMStar's spirit (easy / moderate / hard / tough, by that fraction; edges
configurable) and which models got it right. An item that every image-seeing model *and* every
text-only model misses is flagged ``possibly_wrong_truth``: when nobody can find the keyed answer, the
key is the first suspect. Answers are stored per (item, model, rotation) in ``calibrate.jsonl`` and the
per-item result in ``difficulty.parquet``; resumable through the engine's cache like the other stages.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from curator.config import Endpoint, Project
from curator.engine.client import Engine, Request, Result, RunStats
from curator.engine.parsing import extract_letter
from curator.engine.runner import check_run_args as _check_run_args
from curator.engine.runner import image_part
from curator.errors import ConfigError, UsageError
from curator.locking import exclusive
from curator.progress import Reporter
from curator.prompts import render
from curator.records import LETTERS, options_text
from curator.secrets import redact
from curator.store import Store

BINS = ("easy", "moderate", "hard", "tough")
EDGES = (0.75, 0.5, 0.25)
"""Lower bounds of easy, moderate, hard on the fraction of the panel that is right; below the last: tough."""


def difficulty_bin(right: float, edges: tuple[float, ...] = EDGES) -> str:
    for name, lo in zip(BINS, edges, strict=False):
        if right >= lo:
            return name
    return BINS[-1]


@dataclass
class CalibrateSummary:
    panel: list[str] = field(default_factory=list)
    answered: int = 0
    already_done: int = 0
    items: int = 0
    bins: Counter[str] = field(default_factory=Counter)
    possibly_wrong_truth: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    unfinished: int = 0
    stats: RunStats | None = None
    runs: list[RunStats] = field(default_factory=list)
    table: str = ""

    def rows(self) -> list[tuple[str, str]]:
        out = [("panel", ", ".join(self.panel)), ("answers now", str(self.answered)),
               ("answers already stored", str(self.already_done)), ("items calibrated", str(self.items))]
        out += [(f"  {b}", str(self.bins.get(b, 0))) for b in BINS]
        out += [("possibly wrong ground truth (everyone missed)", str(self.possibly_wrong_truth))]
        out += [(f"failed: {k}", str(v)) for k, v in sorted(self.failed.items())]
        if self.unfinished:
            out.append(("unfinished — rerun to resume", str(self.unfinished)))
        return out


def _rotations(options: list[str], answer: str, circular: bool) -> list[tuple[int, list[str], str]]:
    n = len(options)
    if not circular:
        return [(0, options, answer)]
    a = LETTERS.index(answer)
    return [(k, options[k:] + options[:k], LETTERS[(a - k) % n]) for k in range(n)]


def _jobs(cands: list[dict[str, Any]], ep: Endpoint, circular: bool, done: set[tuple[str, str, int]]
          ) -> list[dict[str, Any]]:
    return [{"item": c, "rotation": k, "options": o, "answer": a}
            for c in cands for k, o, a in _rotations(list(c["options"]), c["answer"], circular)
            if (c["item_id"], ep.model, k) not in done]


@exclusive("calibrate")
def calibrate(project: Project, *, circular: bool = False, edges: tuple[float, ...] = EDGES, limit: int | None = None,
              max_cost: float | None = None, wait: bool = False, runner: str | None = None,
              reporter: Reporter | None = None) -> CalibrateSummary:
    """Ask every panel model every candidate; bin items by the fraction right and flag suspect keys.

    Args:
        circular: CircularEval — right only under every rotation of the options.
        edges: lower bounds (descending) of the easy, moderate and hard bins on the fraction right.
        limit: at most this many new (item, model) questions per model (a trial run).
        wait: when another model-calling run holds the project, wait for it instead of failing.
        runner: ``local`` or ``ray`` (see docs/scale.md); default: the project's ``runner``.
    """
    _check_run_args(limit, max_cost)
    if len(edges) != 3 or list(edges) != sorted(edges, reverse=True) or not all(0 <= e <= 1 for e in edges):
        raise UsageError(f"--edges {edges}: three descending fractions in [0, 1] (easy, moderate, hard)")
    from curator.engine.runner import run_model_stage

    panel = project.config.models.panel
    if not panel:
        raise ConfigError("models.panel lists no models in curator.yaml (image-seeing, and text_only: true ones)")
    if len({ep.model for ep in panel}) != len(panel):
        raise ConfigError("models.panel repeats a model; the same model twice counts as one panellist")
    store = Store(project)
    cands = store.qa_candidates().to_dict("records")
    done = {(r["item_id"], r["model"], int(r["rotation"])) for r in store.panel_answers}
    summary = CalibrateSummary(panel=[ep.model + (" (text only)" if ep.text_only else "") for ep in panel],
                               already_done=len(done))
    out = store.panel_answers.appender()
    try:
        for ep in panel:
            todo = _jobs(cands, ep, circular, done)[:limit]  # limit None: every job

            def build(j: dict[str, Any], ep: Endpoint = ep) -> Request:
                it = j["item"]
                text = render("eval_vqa.j2", question=f"{it['question']}\n{options_text(j['options'])}")
                if ep.text_only:
                    return Request(messages=[{"role": "user", "content": text}], params={"max_tokens": 64})
                part = image_part(it, project, it["domain"])
                return Request(messages=[{"role": "user", "content": [{"type": "text", "text": text}, part]}],
                               params={"max_tokens": 64})

            async def handle(eng: Engine, j: dict[str, Any], res: Result, ep: Endpoint = ep) -> None:
                if not res.ok and (res.transient or res.error == "bad_input"):
                    summary.failed[res.error] += 1
                    summary.unfinished += 1
                    return
                letter = extract_letter(res.content, j["options"]) if res.ok else None
                out.write({"item_id": j["item"]["item_id"], "model": ep.model, "text_only": ep.text_only,
                           "rotation": j["rotation"], "letter": letter, "correct": letter == j["answer"],
                           "raw": redact(res.content[:200])})
                summary.answered += 1

            run_model_stage(project, f"calibrate {ep.model}", summary, ep, todo, build, handle, total=len(todo),
                            max_cost=max_cost, reporter=reporter, wait=wait, runner=runner)
            if summary.stats is not None:
                summary.runs.append(summary.stats)
    finally:
        out.close()
    table = decide(store.panel_answers.read(), panel, edges)
    summary.items, summary.bins = len(table), Counter(table["difficulty"]) if len(table) else Counter()
    summary.possibly_wrong_truth = int(table["possibly_wrong_truth"].sum()) if len(table) else 0
    summary.table = str(store.difficulty.write(table))
    return summary


def decide(answers: list[dict[str, Any]], panel: list[Endpoint], edges: tuple[float, ...] = EDGES) -> pd.DataFrame:
    """Per item answered by the whole panel: fraction right, bin, who was right, and the suspect-key flag."""
    cols = ["item_id", "panel_k", "panel_right", "difficulty", "right_models", "possibly_wrong_truth"]
    models = {ep.model: ep.text_only for ep in panel}
    df = pd.DataFrame(answers)
    if df.empty:
        return pd.DataFrame(columns=cols)
    df = df[df["model"].isin(models)].drop_duplicates(["item_id", "model", "rotation"], keep="last")
    right = df.groupby(["item_id", "model"])["correct"].all().unstack("model")  # every rotation right
    right = right.dropna()  # items the whole panel has answered
    if right.empty:
        return pd.DataFrame(columns=cols)
    seeing = [m for m in right.columns if not models[m]]
    blind = [m for m in right.columns if models[m]]
    rows = []
    for item_id, r in right.astype(bool).iterrows():
        frac = float(r.mean())
        rows.append({"item_id": item_id, "panel_k": len(r), "panel_right": frac,
                     "difficulty": difficulty_bin(frac, edges), "right_models": [m for m in r.index if r[m]],
                     "possibly_wrong_truth": bool(not r[seeing].any() and not r[blind].any())})
    return pd.DataFrame(rows, columns=cols)
