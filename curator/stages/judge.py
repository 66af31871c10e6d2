"""``curator judge``: a judge model of another family rates every new candidate on four aspects.

UniPercept kept a candidate only if its judge rated all four aspects "good or above"; curator's
default keep rule is every aspect ≥ 4 on the 1–5 scale. Scores and one-line reasons are stored per
item (``data/judge.jsonl``) so rejection rates can be reported per criterion and template.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from curator.config import Endpoint, Project
from curator.engine.client import Engine, Request, Result, RunStats
from curator.engine.parsing import parse_json_object
from curator.engine.runner import check_run_args as _check_run_args
from curator.engine.runner import image_part
from curator.locking import exclusive
from curator.progress import Reporter
from curator.prompts import render, source_hash
from curator.records import options_text
from curator.secrets import redact
from curator.store import Store
from curator.taxonomy import Taxonomy

log = logging.getLogger(__name__)
ASPECTS = ("question_validity", "answer_validity", "reasoning_validity", "criterion_relevance")


def judge_schema() -> dict[str, Any]:
    aspect = {"type": "object", "additionalProperties": False, "required": ["score", "reason"],
              "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 5}, "reason": {"type": "string"}}}
    return {"type": "object", "additionalProperties": False, "required": list(ASPECTS),
            "properties": dict.fromkeys(ASPECTS, aspect)}


def parse_scores(obj: dict[str, Any]) -> tuple[dict[str, int], dict[str, str]]:
    scores, reasons = {}, {}
    for a in ASPECTS:
        v = obj.get(a)
        if isinstance(v, dict):
            s, r = v.get("score"), str(v.get("reason", ""))
        else:
            s, r = v, ""
        try:
            s = int(s)  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{a}: score {s!r} is not an integer") from exc
        if not 1 <= s <= 5:
            raise ValueError(f"{a}: score {s} outside 1..5")
        scores[a], reasons[a] = s, r
    return scores, reasons


@dataclass
class JudgeSummary:
    judged: int = 0
    already_done: int = 0
    kept: int = 0
    dropped: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    unfinished: int = 0
    same_family_warning: str = ""
    by_cell: list[tuple[str, str, int, int, float]] = field(default_factory=list)
    stats: RunStats | None = None

    def rows(self) -> list[tuple[str, str]]:
        total = self.kept + self.dropped
        out = [("judged now", str(self.judged)), ("already judged", str(self.already_done)),
               ("kept (all judged)", str(self.kept)), ("dropped (all judged)", str(self.dropped)),
               ("rejection rate", f"{100 * self.dropped / total:.1f}%" if total else "-")]
        out += [(f"failed: {k}", str(v)) for k, v in sorted(self.failed.items())]
        if self.unfinished:
            out.append(("unfinished — rerun to resume", str(self.unfinished)))
        if self.same_family_warning:
            out.append(("WARNING", self.same_family_warning))
        return out


def keep_rule(scores: dict[str, int], min_score: int) -> bool:
    return all(scores[a] >= min_score for a in ASPECTS)


def _same_family(project: Project, ep: Endpoint) -> str:
    """A warning when judge and generator are one model family (a judge of another family catches more)."""
    gen = project.config.models.generator
    if gen is None or gen.family_name != ep.family_name:
        return ""
    msg = (f"judge {ep.model} and generator {gen.model} are both family '{ep.family_name}'; a judge of another "
           "family catches more")
    log.warning(msg)
    return msg


def _request(project: Project, tax: Taxonomy, dims: dict[str, dict[str, Any]], it: dict[str, Any]) -> Request:
    """The rubric prompt for one item, with its image as the generator saw it."""
    c = tax.get(it["criterion"])
    text = render("judge.j2", tag=tax.tagged(c), definition=c.definition, template=it["template"],
                  question=it["question"], options=options_text(list(it["options"])), answer=it["answer"],
                  rationale=it.get("rationale", ""))
    img = {"image_path": it["image_path"], "image_id": it["image_id"], **dims.get(it["image_id"], {})}
    return Request(messages=[{"role": "user", "content": [{"type": "text", "text": text},
                                                          image_part(img, project, c.domain)]}],
                   schema=judge_schema(), schema_name="judgement")


@exclusive("judge")
def judge(project: Project, *, role: str = "judge", min_score: int = 4, limit: int | None = None,
          max_cost: float | None = None, wait: bool = False, runner: str | None = None,
             reporter: Reporter | None = None) -> JudgeSummary:
    """Judge every candidate not judged yet; return kept/dropped counts and per-cell rejection rates.

    Args:
        role: model role of the judge.
        min_score: keep an item when every aspect scores at least this (1–5).
        limit: judge at most this many new items.
        wait: when another model-calling run holds the project, wait for it instead of failing.
        runner: ``local`` (this process) or ``ray`` (Ray Data actors; see docs/scale.md); default: the
            project's ``runner``.

    A verdict the judge gave in an unusable form is recorded in ``judge_rejects.jsonl`` (with the
    raw reply) and not asked again; a network failure leaves the item to do.
    """
    _check_run_args(limit, max_cost)
    from curator.engine.runner import run_model_stage

    tax = project.load_taxonomy()
    ep = project.endpoint(role)
    summary = JudgeSummary(same_family_warning=_same_family(project, ep))
    store = Store(project)
    cands = store.qa_candidates()
    done = store.judged.values("item_id") | store.judge_rejects.values("item_id")
    todo = [r for r in cands.to_dict("records") if r["item_id"] not in done]
    summary.already_done = len(done)
    if limit is not None:
        todo = todo[:limit]
    dims = store.load_images().set_index("image_id")[["width", "height"]].to_dict("index")
    phash = source_hash("judge.j2")
    out, rej = store.judged.appender(), store.judge_rejects.appender()

    def build(it: dict[str, Any]) -> Request:
        return _request(project, tax, dims, it)

    async def handle(eng: Engine, it: dict[str, Any], res: Result) -> None:
        if not res.ok and (res.transient or res.error in ("bad_input", "image_unreadable", "image_too_large")):
            summary.failed[res.error] += 1
            summary.unfinished += 1
            return
        try:
            if not res.ok:
                raise ValueError(f"{res.error}: {res.detail}")
            scores, reasons = parse_scores(parse_json_object(res.content))
        except ValueError as exc:
            reason = res.error or "invalid_reply"
            summary.failed[reason] += 1
            rej.write({"item_id": it["item_id"], "reason": reason, "detail": redact(str(exc)),
                       "raw": redact(res.content), "model": ep.model, "cache_key": res.key})
            log.info("judge reply for %s unusable: %s", it["item_id"], exc)
            return
        out.write({"item_id": it["item_id"], "scores": scores, "reasons": reasons,
                   "judge_mean": sum(scores.values()) / len(scores), "keep": keep_rule(scores, min_score),
                   "min_score": min_score, "model": ep.model, "family": ep.family_name, "prompt_hash": phash,
                   "cache_key": res.key})
        summary.judged += 1

    try:
        run_model_stage(project, "judge", summary, ep, todo, build, handle, total=len(todo), max_cost=max_cost,
                        reporter=reporter, wait=wait, runner=runner)
    finally:
        out.close()
        rej.close()
    _tally(project, cands, summary, min_score)
    return summary


def _tally(project: Project, cands: pd.DataFrame, summary: JudgeSummary, min_score: int) -> None:
    j = Store(project).judgements()
    if j.empty:
        return
    keep = j["scores"].map(lambda s: keep_rule(s, min_score))
    df = cands[["item_id", "criterion", "template"]].merge(j.assign(keep_now=keep)[["item_id", "keep_now"]],
                                                           on="item_id")
    summary.kept, summary.dropped = int(df["keep_now"].sum()), int((~df["keep_now"]).sum())
    g = df.groupby(["criterion", "template"])["keep_now"].agg(["size", "sum"]).reset_index()
    summary.by_cell = [(r.criterion, r.template, int(r.size), int(r.size - r.sum), 100.0 * (r.size - r.sum) / r.size)
                       for r in g.itertuples()]
