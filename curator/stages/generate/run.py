"""``curator generate``: run the plan's work items through a generator (a model, or ``synthetic``).

Output: ``data/candidates.jsonl`` (validated items with provenance) and
``data/generate_rejects.jsonl`` (work id, reason, raw reply). Resumable: work items whose item is
already written, or whose reply was already rejected as invalid, are skipped; requests go through
the engine cache, so a killed run repeats no finished call.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from curator.config import Endpoint, Project
from curator.engine.client import Engine, Request, Result, RunStats
from curator.engine.parsing import parse_json_object
from curator.engine.runner import check_run_args as _check_run_args
from curator.errors import StageError
from curator.locking import exclusive
from curator.progress import Reporter
from curator.records import Provenance, new_qa_item
from curator.secrets import redact
from curator.stages.common.qa_prompt import PROMPT_ID, context, prompt_hash, request_for
from curator.stages.generate.replies import validate_reply
from curator.store import Store
from curator.taxonomy import Taxonomy

log = logging.getLogger(__name__)
INVALID = "invalid_reply"  # rejects with this reason are final; network failures are retried on rerun


@dataclass
class GenerateSummary:
    planned: int = 0
    already_done: int = 0
    written: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    skipped: dict[str, int] = field(default_factory=dict)
    unfinished: int = 0
    stats: RunStats | None = None
    table: str = ""

    def rows(self) -> list[tuple[str, str]]:
        out = [("work items planned", str(self.planned)), ("already done", str(self.already_done)),
               ("candidates written", str(self.written))]
        if self.unfinished:
            out.append(("unfinished — rerun to resume", str(self.unfinished)))
        out += [(f"rejected: {k}", str(v)) for k, v in sorted(self.rejected.items())]
        out += [(f"cannot answer: {k}", str(v)) for k, v in sorted(self.skipped.items())]
        return out


def _done_ids(project: Project) -> tuple[set[str], set[str]]:
    store = Store(project)
    done = store.candidates.values("work_id")
    final_rejects = store.generate_rejects.values("work_id", final_only=True)
    return done, final_rejects


@exclusive("generate")
def generate(project: Project, *, backend: str = "model", role: str = "generator", limit: int | None = None,
             max_cost: float | None = None, batch_out: str | None = None, retry_rejects: bool = False,
             wait: bool = False, runner: str | None = None,
             reporter: Reporter | None = None) -> GenerateSummary:
    """Generate candidate QA items for the plan.

    Args:
        backend: ``model`` (the endpoint of ``role``) or ``synthetic`` (exact IQA items from synth labels).
        role: model role whose endpoint generates.
        limit: stop after this many work items (for a trial run).
        max_cost: money cap for this run (default: ``max_cost`` of the project).
        batch_out: instead of calling, write the pending requests as an OpenAI Batch input file.
        retry_rejects: ask again for work items whose reply was rejected as invalid on an earlier run
            (a new request; the rejected reply stays in the cache).
        wait: when another model-calling run holds the project, wait for it instead of failing.
        runner: ``local`` (this process) or ``ray`` (Ray Data actors; see docs/scale.md); default: the
            project's ``runner``.
    """
    _check_run_args(limit, max_cost)
    summary, pending = _pending(project, limit, retry_rejects)
    tax, images, descriptions = context(project)
    if backend == "synthetic":
        return _synthetic(project, pending, images, tax, summary)
    if backend != "model":
        raise StageError(f"unknown backend {backend!r}: use model or synthetic")
    ep = project.endpoint(role)
    if batch_out:
        from curator.engine.batch import write_batch_file

        pending_reqs = (request_for(project, tax, images, descriptions, w, ep) for w in pending)
        n = write_batch_file(project, ep, pending_reqs, batch_out)
        summary.skipped = {f"written to batch file {batch_out}": n}
        return summary
    from curator.engine.runner import run_model_stage

    run = _ModelRun(project, ep, tax, images, descriptions, summary, _retry_salts(project) if retry_rejects else {})
    try:
        run_model_stage(project, "generate", summary, ep, pending, run.build, run.handle, total=len(pending),
                        max_cost=max_cost, reporter=reporter, wait=wait, runner=runner)
    finally:
        run.close()
    return summary


def _pending(project: Project, limit: int | None, retry_rejects: bool) -> tuple[GenerateSummary, list[dict[str, Any]]]:
    """The plan's work items not yet written (nor finally rejected, unless asked to retry those)."""
    store = Store(project)
    plan_rows = store.plan.read()
    if not plan_rows:
        raise StageError(f"{store.plan.path} has no work items; run `curator plan` first")
    done, final_rejects = _done_ids(project)
    if retry_rejects:
        final_rejects = set()
    pending = [w for w in plan_rows if w["work_id"] not in done and w["work_id"] not in final_rejects]
    if limit is not None:
        pending = pending[:limit]
    summary = GenerateSummary(planned=len(plan_rows), already_done=len(plan_rows) - len(pending),
                              table=str(store.candidates.path))
    return summary, pending


def _synthetic(project: Project, pending: list[dict[str, Any]], images: dict[str, dict[str, Any]], tax: Taxonomy,
               summary: GenerateSummary) -> GenerateSummary:
    """The synthetic answer key writes the items: exact answers from the distortion labels, no model."""
    import pandas as pd

    from curator.stages.common.answer_key import synthetic_items

    items, skipped = synthetic_items(pending, pd.DataFrame(list(images.values())), tax, seed=project.config.seed)
    with Store(project).candidates.appender() as out:
        for it in items:
            out.write(it)
    summary.written, summary.skipped = len(items), skipped
    return summary


class _ModelRun:
    """One model-generation run: builds each work item's request and turns each reply into an item or a reject."""

    def __init__(self, project: Project, ep: Endpoint, tax: Taxonomy, images: dict[str, dict[str, Any]],
                 descriptions: dict[str, dict[str, Any]], summary: GenerateSummary, salts: dict[str, str]) -> None:
        self.project, self.ep, self.tax, self.images, self.descriptions = project, ep, tax, images, descriptions
        self.summary, self.salts = summary, salts
        store = Store(project)
        self.out, self.rej = store.candidates.appender(), store.generate_rejects.appender()
        self.phash = {t: prompt_hash(t) for t in ("yes_no", "what", "which", "how", "why", "level")}
        self.reqs: dict[str, Request] = {}

    def close(self) -> None:
        self.out.close()
        self.rej.close()

    def build(self, w: dict[str, Any]) -> Request:
        req = request_for(self.project, self.tax, self.images, self.descriptions, w, self.ep)
        req.cache_salt = self.salts.get(w["work_id"], "")
        self.reqs[w["work_id"]] = req
        return req

    def reject(self, w: dict[str, Any], res: Result, reason: str, detail: str, **raw: str) -> None:
        """A paid reply that cannot be used is final (asking again gets the same, from the cache); a
        network failure is not: the item stays to do and the run's exit code says so."""
        final = not res.transient
        self.rej.write({"work_id": w["work_id"], "criterion": w["criterion"], "template": w["template"],
                        "reason": reason, "detail": redact(detail), **{k: redact(v) for k, v in raw.items()},
                        "final": final})
        self.summary.rejected[reason] += 1
        if not final:
            self.summary.unfinished += 1

    async def handle(self, eng: Engine, w: dict[str, Any], res: Result) -> None:
        req = self.reqs.pop(w["work_id"], None)
        if not res.ok or req is None:
            if res.error in ("bad_input", "image_unreadable", "image_too_large"):
                res.transient = True  # nothing was paid; fix the input and rerun
            self.reject(w, res, res.error, res.detail, raw=res.content)
            return
        scale = self.tax.scale_for(self.tax.get(w["criterion"]))
        got = await self._parse(eng, w, req, res, scale.labels if scale else None)
        if got is not None:
            self._write(eng, w, *got)

    async def _parse(self, eng: Engine, w: dict[str, Any], req: Request, res: Result, labels: list[str] | None
                     ) -> tuple[tuple[str, list[str], str, str], Result, Result | None] | None:
        """The validated reply, repaired once when invalid; None (and a reject) when it stays unusable.

        The first reply stays in the cache (it was paid); the repair request carries it, so it is
        deterministic and cached as well: a rerun after a kill pays for neither again.
        """
        raw = res.content
        try:
            return validate_reply(parse_json_object(raw), w["template"], labels), res, None
        except ValueError as first:
            log.debug("invalid reply for %s: %s", w["work_id"], first)
            repair = Request(messages=[*req.messages, {"role": "assistant", "content": raw},
                                       {"role": "user", "content": f"That reply was invalid: {first}. Reply again "
                                        "with only the corrected JSON object."}], schema=req.schema,
                             cache_salt=req.cache_salt)
            res2 = await eng.call(repair)
            if not res2.ok and res2.transient:
                self.reject(w, res2, f"repair_{res2.error}", f"{first}; the repair call failed: {res2.detail}", raw=raw)
                return None
            try:
                if not res2.ok:
                    raise ValueError(f"repair failed: {res2.error}")
                return validate_reply(parse_json_object(res2.content), w["template"], labels), res, res2
            except ValueError as second:
                self.reject(w, res2, INVALID, f"{first}; after repair: {second}", raw=raw, raw_repair=res2.content)
                return None

    def _write(self, eng: Engine, w: dict[str, Any], parsed: tuple[str, list[str], str, str], res: Result,
               repair: Result | None) -> None:
        """The item, with provenance that counts both calls when a repair was needed."""
        q, opts, letter, rationale = parsed
        c, ep, phash = self.tax.get(w["criterion"]), self.ep, self.phash[w["template"]]
        tokens_in = res.tokens_in + (repair.tokens_in if repair else 0)
        tokens_out = res.tokens_out + (repair.tokens_out if repair else 0)
        cost = res.cost + (repair.cost if repair else 0.0)
        prov = Provenance(model=ep.model, endpoint_host=eng.endpoint_host, prompt_id=PROMPT_ID, prompt_hash=phash,
                          taxonomy=f"{self.tax.name}@{self.tax.version}",
                          params={"temperature": ep.temperature, "max_tokens": ep.max_tokens,
                                  "structured": eng.structured},
                          seed=ep.seed, tokens_in=tokens_in, tokens_out=tokens_out, cost=cost,
                          cache_key=repair.key if repair else res.key)
        self.out.write(new_qa_item(w, domain=c.domain, category=c.category, criterion=c.path, question=q, options=opts,
                                   answer=letter, rationale=rationale, provenance=prov,
                                   version=f"{PROMPT_ID}:{phash}"))
        self.summary.written += 1


def _retry_salts(project: Project) -> dict[str, str]:
    """work id → a salt that makes ``--retry-rejects`` ask anew (one more per earlier rejection)."""
    counts: Counter[str] = Counter(r["work_id"] for r in Store(project).generate_rejects if r.get("final"))
    return {w: f"retry-{n}" for w, n in counts.items()}


