"""``curator generate``: run the plan's work items through a generator (a model, or ``synthetic``).

Output: ``data/candidates.jsonl`` (validated items with provenance) and
``data/generate_rejects.jsonl`` (work id, reason, raw reply). Resumable: work items whose item is
already written, or whose reply was already rejected as invalid, are skipped; requests go through
the engine cache, so a killed run repeats no finished call.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from curator.config import Endpoint, Project
from curator.engine.client import Engine, Request, Result, RunStats, estimate_tokens
from curator.engine.parsing import parse_json_object
from curator.engine.runner import check_run_args as _check_run_args
from curator.errors import StageError
from curator.locking import exclusive
from curator.progress import Reporter
from curator.prompts import render, source_hash
from curator.records import LETTERS, Provenance, new_qa_item
from curator.secrets import redact
from curator.store.io import JsonlAppender, iter_jsonl
from curator.taxonomy import MAX_OPTIONS, Criterion, Taxonomy

CANDIDATES = "candidates.jsonl"
REJECTS = "generate_rejects.jsonl"
PROMPT_ID = "generate/v1"
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


# ---------------------------------------------------------------------------------------- prompts
def reply_schema(template: str, scale_labels: list[str] | None) -> dict[str, Any]:
    """JSON schema of the generator's reply for one question template."""
    props: dict[str, Any] = {"question": {"type": "string"}}
    if template == "yes_no":
        props["answer"] = {"type": "string", "enum": ["Yes", "No"]}
    elif template == "level":
        props["answer"] = {"type": "string", "enum": list(scale_labels or [])}
    else:
        props["options"] = {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": MAX_OPTIONS}
        props["answer"] = {"type": "string", "enum": list(LETTERS[:MAX_OPTIONS])}
    props["rationale"] = {"type": "string"}
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


def grounding_text(meta: dict[str, Any], description: dict[str, Any] | None) -> str:
    """The image's professional context: expert text from the label file and/or the ISTA description."""
    parts = [str(meta[k]) for k in ("grounding", "expert_text", "assessment", "caption", "notes") if meta.get(k)]
    if description:
        from curator.stages.describe import description_text

        parts.append(description_text(description))
    return "\n".join(parts)


def build_prompt(tax: Taxonomy, c: Criterion, template: str, grounding: str) -> str:
    scale = tax.scale_for(c)
    lex = tax.lexicons.get(c.lexicon) if c.lexicon else None
    keys = "question, answer, rationale" if template in ("yes_no", "level") else "question, options, answer, rationale"
    return render("generate.j2", tag=tax.tagged(c), criterion=c,
                  category_definition=tax.category(f"{c.domain}/{c.category}").definition,
                  lexicon_terms=", ".join(lex.terms[:60]) if lex else "", grounding=grounding, template=template,
                  template_rules=render(f"templates/{template}.j2", scale=scale), keys=keys)


def prompt_hash(template: str) -> str:
    return source_hash("generate.j2", f"templates/{template}.j2")


# ------------------------------------------------------------------------------------- validation
_ENUMERATOR = re.compile(r"^\s*(?:\(\s*(?P<p>[A-Ha-h1-8])\s*\)|(?P<d>[A-Ha-h1-8])\s*[.):])\s+")
_STEM = {"what": "what", "which": "which", "how": "how", "why": "why"}
_POLAR = frozenset({
    "is", "are", "am", "was", "were", "does", "do", "did", "can", "could", "has", "have", "had", "will", "would",
    "shall", "should", "may", "might", "must", "isn't", "aren't", "doesn't", "don't", "didn't", "can't", "hasn't",
    "haven't", "wasn't", "weren't"})


def strip_enumerator(option: str, position: int) -> str:
    """Drop a leading enumerator ("A.", "(b)", "C)", "1.") only when it names this option's position.

    "e.g. the top half" keeps its text: "e." is followed by a letter, and a real enumerator must
    also match where the option stands.
    """
    m = _ENUMERATOR.match(option)
    if m:
        tag = (m.group("p") or m.group("d")).upper()
        if tag in (LETTERS[position], str(position + 1)):
            return option[m.end():].strip()
    return option.strip()


def _clean_options(raw: Any) -> list[str]:
    if not isinstance(raw, list):
        raise ValueError("options must be a list")
    return [strip_enumerator(str(o), i) for i, o in enumerate(raw)]


def _first_word(question: str) -> str:
    m = re.match(r"\s*([A-Za-z']+)", question)
    return m.group(1).lower() if m else ""


def _fixed_scale_answer(obj: dict[str, Any], labels: list[str], what: str) -> str:
    """The canonical label the reply means, for templates whose options are a fixed list.

    Models often write the options themselves, in any order: the chosen option's *text* is what
    counts, so a letter is read against the model's own list. Options that are not exactly a
    permutation of ``labels`` make the item something other than this template.
    """
    ans = str(obj.get("answer") or "").strip().rstrip(".")
    low = {lab.lower(): lab for lab in labels}
    opts = labels
    if obj.get("options") is not None:
        opts = _clean_options(obj.get("options"))
        if sorted(o.lower() for o in opts) != sorted(low):
            raise ValueError(f"{what} options must be exactly {labels} in some order, got {opts[:10]}")
    if ans.lower() in low:
        return low[ans.lower()]
    letter = ans.upper().strip("() ")
    if len(letter) == 1 and letter in LETTERS[:len(opts)]:
        return low[opts[LETTERS.index(letter)].lower()]
    raise ValueError(f"{what} answer {ans!r} is neither one of {labels} nor a letter of the options")


def validate_reply(obj: dict[str, Any], template: str, scale_labels: list[str] | None) -> tuple[str, list[str], str, str]:
    """(question, options, answer letter, rationale) or ValueError naming what is wrong.

    yes_no and level items are stored with their canonical options (Yes/No, the scale in order)
    and the letter of the *meaning* the model chose.
    """
    q = str(obj.get("question") or "").strip()
    if not q:
        raise ValueError("empty question")
    rationale = str(obj.get("rationale") or "").strip()
    ans = str(obj.get("answer") or "").strip()
    if template in ("yes_no", "level"):
        opts = ["Yes", "No"] if template == "yes_no" else list(scale_labels or [])
        if not opts:
            raise ValueError("the criterion has no scale for the level template")
        polar = _first_word(q) in _POLAR
        if template == "yes_no" and not polar:
            raise ValueError(f"a yes_no question must be answerable by Yes or No (start like 'Is', 'Does'…): {q[:80]!r}")
        if template == "level" and polar:
            raise ValueError(f"a level question must ask for a level, not for Yes or No: {q[:80]!r}")
        letter = LETTERS[opts.index(_fixed_scale_answer(obj, opts, template))]
        return q, opts, letter, rationale
    opts = _clean_options(obj.get("options"))
    if not 2 <= len(opts) <= MAX_OPTIONS:
        raise ValueError(f"{len(opts)} options; the template needs 2..{MAX_OPTIONS}")
    if any(not o for o in opts):
        raise ValueError("an option is empty")
    if len({o.lower() for o in opts}) != len(opts):
        raise ValueError("duplicate options")
    letter = ans.upper().strip("(). ")
    if len(letter) != 1 or letter not in LETTERS[:len(opts)]:
        hit = [i for i, o in enumerate(opts) if o.lower() == ans.lower()]
        if not hit:
            raise ValueError(f"answer {ans!r} is not among the {len(opts)} options")
        letter = LETTERS[hit[0]]
    stem = _STEM[template]
    if stem not in q.lower():
        raise ValueError(f"a '{template}' question must contain '{stem}': {q[:80]!r}")
    return q, opts, letter, rationale


# ------------------------------------------------------------------------------------------- stage
def _done_ids(project: Project) -> tuple[set[str], set[str]]:
    done = {r["work_id"] for r in iter_jsonl(project.table(CANDIDATES)) if "work_id" in r}
    final_rejects = {r["work_id"] for r in iter_jsonl(project.table(REJECTS)) if r.get("final")}
    return done, final_rejects


def _context(project: Project) -> tuple[Taxonomy, dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    from curator.stages.describe import load_descriptions
    from curator.store import Store

    tax = project.load_taxonomy()
    images = Store(project).load_images()
    rows = {r["image_id"]: r for r in images.to_dict("records")}
    return tax, rows, load_descriptions(project)


@exclusive("generate")
def generate(project: Project, *, backend: str = "model", role: str = "generator", limit: int | None = None,
             max_cost: float | None = None, batch_out: str | None = None, retry_rejects: bool = False,
             wait: bool = False, reporter: Reporter | None = None) -> GenerateSummary:
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
    """
    _check_run_args(limit, max_cost)
    from curator.stages.plan import load_plan

    plan_rows = load_plan(project)
    done, final_rejects = _done_ids(project)
    if retry_rejects:
        final_rejects = set()
    pending = [w for w in plan_rows if w["work_id"] not in done and w["work_id"] not in final_rejects]
    if limit is not None:
        pending = pending[:limit]
    summary = GenerateSummary(planned=len(plan_rows), already_done=len(plan_rows) - len(pending),
                              table=str(project.table(CANDIDATES)))
    tax, images, descriptions = _context(project)

    if backend == "synthetic":
        import pandas as pd

        from curator.stages.synthetic import synthetic_items

        items, skipped = synthetic_items(pending, pd.DataFrame(list(images.values())), tax, seed=project.config.seed)
        with JsonlAppender(project.table(CANDIDATES)) as out:
            for it in items:
                out.write(it)
        summary.written, summary.skipped = len(items), skipped
        return summary
    if backend != "model":
        raise StageError(f"unknown backend {backend!r}: use model or synthetic")

    ep = project.endpoint(role)
    if batch_out:
        from curator.engine.batch import write_batch_file

        pending_reqs = (_request(project, tax, images, descriptions, w, ep) for w in pending)
        n = write_batch_file(project, ep, pending_reqs, batch_out)
        summary.skipped = {f"written to batch file {batch_out}": n}
        return summary

    out = JsonlAppender(project.table(CANDIDATES))
    rej = JsonlAppender(project.table(REJECTS))
    phash = {t: prompt_hash(t) for t in ("yes_no", "what", "which", "how", "why", "level")}
    taxv = f"{tax.name}@{tax.version}"
    reqs: dict[str, Request] = {}
    salts = _retry_salts(project) if retry_rejects else {}

    def build(w: dict[str, Any]) -> Request:
        req = _request(project, tax, images, descriptions, w, ep)
        req.cache_salt = salts.get(w["work_id"], "")
        reqs[w["work_id"]] = req
        return req

    def reject(w: dict[str, Any], res: Result, reason: str, detail: str, **raw: str) -> None:
        # a paid reply that cannot be used is final (asking again gets the same, from the cache);
        # a network failure is not: the item stays to do and the run's exit code says so
        final = not res.transient
        rej.write({"work_id": w["work_id"], "criterion": w["criterion"], "template": w["template"],
                   "reason": reason, "detail": redact(detail), **{k: redact(v) for k, v in raw.items()},
                   "final": final})
        summary.rejected[reason] += 1
        if not final:
            summary.unfinished += 1

    async def handle(eng: Engine, w: dict[str, Any], res: Result) -> None:
        req = reqs.pop(w["work_id"], None)
        c = tax.get(w["criterion"])
        scale = tax.scale_for(c)
        labels = scale.labels if scale else None
        tokens_in, tokens_out, cost, key = res.tokens_in, res.tokens_out, res.cost, res.key
        if not res.ok or req is None:
            if res.error in ("bad_input", "image_unreadable", "image_too_large"):
                res.transient = True  # nothing was paid; fix the input and rerun
            reject(w, res, res.error, res.detail, raw=res.content)
            return
        raw = res.content
        try:
            parsed = validate_reply(parse_json_object(raw), w["template"], labels)
        except ValueError as first:
            log.debug("invalid reply for %s: %s", w["work_id"], first)
            # the first reply stays in the cache (it was paid); the repair request carries it, so it is
            # deterministic and cached as well: a rerun after a kill pays for neither again
            repair = Request(messages=[*req.messages, {"role": "assistant", "content": raw},
                                       {"role": "user", "content": f"That reply was invalid: {first}. Reply again "
                                        "with only the corrected JSON object."}], schema=req.schema,
                             cache_salt=req.cache_salt)
            res2 = await eng.call(repair)
            tokens_in, tokens_out, cost = tokens_in + res2.tokens_in, tokens_out + res2.tokens_out, cost + res2.cost
            if not res2.ok and res2.transient:
                reject(w, res2, f"repair_{res2.error}", f"{first}; the repair call failed: {res2.detail}", raw=raw)
                return
            try:
                if not res2.ok:
                    raise ValueError(f"repair failed: {res2.error}")
                parsed = validate_reply(parse_json_object(res2.content), w["template"], labels)
                key = res2.key
            except ValueError as second:
                reject(w, res2, INVALID, f"{first}; after repair: {second}", raw=raw, raw_repair=res2.content)
                return
        q, opts, letter, rationale = parsed
        prov = Provenance(model=ep.model, endpoint_host=eng.endpoint_host, prompt_id=PROMPT_ID,
                          prompt_hash=phash[w["template"]], taxonomy=taxv,
                          params={"temperature": ep.temperature, "max_tokens": ep.max_tokens,
                                  "structured": eng.structured},
                          seed=ep.seed, tokens_in=tokens_in, tokens_out=tokens_out, cost=cost, cache_key=key)
        out.write(new_qa_item(w, domain=c.domain, category=c.category, criterion=c.path, question=q, options=opts,
                              answer=letter, rationale=rationale, provenance=prov,
                              version=f"{PROMPT_ID}:{phash[w['template']]}"))
        summary.written += 1

    from curator.engine.runner import run_model_stage

    try:
        run_model_stage(project, "generate", summary, ep, pending, build, handle, total=len(pending),
                        max_cost=max_cost, reporter=reporter, wait=wait)
    finally:
        out.close()
        rej.close()
    return summary


def _retry_salts(project: Project) -> dict[str, str]:
    """work id → a salt that makes ``--retry-rejects`` ask anew (one more per earlier rejection)."""
    counts: Counter[str] = Counter(r["work_id"] for r in iter_jsonl(project.table(REJECTS)) if r.get("final"))
    return {w: f"retry-{n}" for w, n in counts.items()}


def _request(project: Project, tax: Taxonomy, images: dict[str, dict[str, Any]],
             descriptions: dict[str, dict[str, Any]], w: dict[str, Any], ep: Endpoint) -> Request:
    from curator.engine.runner import image_part

    c = tax.get(w["criterion"])
    img = images.get(w["image_id"])
    if img is None:
        raise StageError(f"plan item {w['work_id']} names image {w['image_id']} that is not in the images table")
    meta = json.loads(img.get("meta") or "{}")
    prompt = build_prompt(tax, c, w["template"], grounding_text(meta, descriptions.get(w["image_id"])))
    scale = tax.scale_for(c)
    content = [{"type": "text", "text": prompt},
               image_part({**img, "image_path": img["file"]}, project, c.domain)]
    return Request(messages=[{"role": "user", "content": content}],
                   schema=reply_schema(w["template"], scale.labels if scale else None), schema_name="qa_item")


def estimate_cost(project: Project, rows: list[dict[str, Any]], role: str = "generator") -> dict[str, Any]:
    """Plan-time estimate: tokens from the rendered prompts and image tiles; output at ``max_tokens`` (upper bound)."""
    from curator.config import Price

    ep = project.endpoint(role)
    tax, images, descriptions = _context(project)
    price = project.config.prices.get(ep.model, Price())
    sample = rows[:: max(1, len(rows) // 200)]
    tin = sum(estimate_tokens(_request(project, tax, images, descriptions, w, ep).messages, 0) for w in sample)
    tin = int(tin * len(rows) / max(1, len(sample)))
    tout_max = ep.max_tokens * len(rows)
    tout_typ = 200 * len(rows)
    return {"model": ep.model, "requests": len(rows), "input_tokens": tin, "output_tokens_max": tout_max,
            "cost_typical": tin / 1e6 * price.input + tout_typ / 1e6 * price.output,
            "cost_max": tin / 1e6 * price.input + tout_max / 1e6 * price.output}
