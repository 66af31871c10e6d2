"""Turning Label Studio annotations into per-item decisions, consensus and agreement figures.

Pure functions over exported JSON, so they are tested exactly without a server. Consensus: an
adjudicator's (ground-truth) annotation wins; otherwise the majority verdict; a tie is ``disputed``
and listed for adjudication, as is any item whose annotators disagree. Agreement is computed here
because the Community edition has none: Krippendorff's α (nominal) on verdicts and on chosen
options, and mean pairwise percent agreement, per criterion and overall.
"""

from __future__ import annotations

import math
import re
import warnings
from collections import Counter
from typing import Any

import numpy as np

from curator.records import LETTERS, Review

STATUSES = ("accepted", "edited", "rejected", "disputed", "unreviewed")
_PREFIX = re.compile(r"^\s*\(?[A-Ha-h][.):]\s*")


def _annotator(a: dict[str, Any]) -> str:
    who = a.get("completed_by")
    if isinstance(who, dict):
        return str(who.get("email") or who.get("id"))
    return str(who)


def parse_annotation(ext_id: str, a: dict[str, Any]) -> Review:
    """One exported annotation as a :class:`Review` (skips become verdict ``skipped``)."""
    fields: dict[str, Any] = {}
    for r in a.get("result") or []:
        v = r.get("value") or {}
        name = r.get("from_name")
        if "choices" in v:
            fields[name] = list(v["choices"])
        elif "text" in v:
            fields[name] = "\n".join(v["text"]) if isinstance(v["text"], list) else str(v["text"])
        elif "rating" in v:
            fields[name] = v["rating"]
        elif "number" in v:
            fields[name] = v["number"]
    verdict = "skipped" if a.get("was_cancelled") else (fields.get("verdict") or [""])[0]
    opts = fields.get("options_edit")
    return Review(item_id=ext_id, annotator=_annotator(a), verdict=verdict,
                  correct_option=(fields.get("correct_option") or [None])[0],
                  question_edit=(fields.get("question_edit") or None),
                  options_edit=[_PREFIX.sub("", o).strip() for o in opts.splitlines() if o.strip()] if opts else None,
                  difficulty=fields.get("difficulty"), issues=list(fields.get("issues") or []),
                  comment=str(fields.get("comment") or ""), ground_truth=bool(a.get("ground_truth")),
                  annotation_id=int(a.get("id") or 0), updated_at=str(a.get("updated_at") or ""))


def reviews_from_export(tasks: list[dict[str, Any]]) -> dict[str, list[Review]]:
    out: dict[str, list[Review]] = {}
    for t in tasks:
        ext = (t.get("data") or {}).get("ext_id")
        if ext is None:
            continue
        out.setdefault(ext, []).extend(parse_annotation(ext, a) for a in t.get("annotations") or [])
    return out


def _consensus(values: list[Any], default: Any) -> tuple[Any, bool]:
    """(the majority value, tied?) over the reviewers' values; ``default`` when nobody gave one."""
    top = Counter(values).most_common()
    if not top:
        return default, False
    if len(top) > 1 and top[0][1] == top[1][1]:
        return default, True
    return top[0][0], False


def decide(item: dict[str, Any], reviews: list[Review]) -> dict[str, Any]:
    """Final status, question, options and answer of one item from its reviews.

    An adjudicator's (ground-truth) annotation decides. Otherwise every part is decided by
    majority — the verdict, the correct letter, an edited question, edited options — and a tie on
    any of them makes the item ``disputed`` (listed for adjudication), never "the last one wins".
    An "accept" whose letter differs from the pushed answer is an edit (``answer_changed_on_accept``).
    """
    q0, o0, a0 = item["question"], list(item["options"]), item["answer"]
    usable = [r for r in reviews if r.verdict in ("accept", "accept_with_edits", "reject")]
    base = {"review_status": "unreviewed", "final_question": q0, "final_options": o0, "final_answer": a0,
            "consensus_verdict": None, "adjudicated": False, "disagreement": False, "n_reviews": len(usable),
            "answer_changed_on_accept": False, "dispute_reason": "",
            "review_issues": sorted({i for r in usable for i in r.issues})}
    if not usable:
        return base
    keep = [r for r in usable if r.verdict != "reject"]
    base["disagreement"] = len({r.verdict == "reject" for r in usable}) > 1 or len(
        {r.correct_option or a0 for r in keep}) > 1
    gt = [r for r in usable if r.ground_truth]
    if gt:
        chosen = sorted(gt, key=lambda r: r.updated_at)[-1:]
        base["adjudicated"] = True
        verdict = chosen[0].verdict
    else:
        verdict_vote, tied = _consensus(["reject" if r.verdict == "reject" else "keep" for r in usable], None)
        if tied:
            base.update(review_status="disputed", dispute_reason="verdict")
            return base
        verdict = "reject" if verdict_vote == "reject" else "accept"
        chosen = [r for r in usable if (r.verdict == "reject") == (verdict == "reject")]
    base["consensus_verdict"] = verdict
    if verdict == "reject":
        base["review_status"] = "rejected"
        return base
    answer, tie_a = _consensus([r.correct_option or a0 for r in chosen], a0)
    question, tie_q = _consensus([(r.question_edit or "").strip() or q0 for r in chosen], q0)
    options, tie_o = _consensus([tuple(r.options_edit) if r.options_edit else tuple(o0) for r in chosen], tuple(o0))
    options = list(options)
    for tied, what in ((tie_a, "answer"), (tie_q, "question edit"), (tie_o, "options edit")):
        if tied:
            base.update(review_status="disputed", consensus_verdict=None, dispute_reason=what)
            return base
    if answer not in LETTERS[:len(options)]:
        base.update(review_status="disputed", consensus_verdict=None, dispute_reason="answer not among the options")
        return base
    changed_on_accept = answer != a0 and any(r.verdict == "accept" and (r.correct_option or a0) == answer
                                             for r in chosen)
    edited = (question, options, answer) != (q0, o0, a0) or any(r.verdict == "accept_with_edits" for r in chosen)
    base.update(review_status="edited" if edited else "accepted", final_question=question, final_options=options,
                final_answer=answer, answer_changed_on_accept=changed_on_accept)
    return base


def _alpha(matrix: list[list[float]]) -> float:
    import krippendorff

    arr = np.array(matrix, dtype=float)
    if arr.size == 0 or arr.shape[0] < 2:
        return math.nan
    pairable = (~np.isnan(arr)).sum(axis=0) >= 2
    if pairable.sum() == 0:
        return math.nan
    arr = arr[:, pairable]
    values = arr[~np.isnan(arr)]
    if len(np.unique(values)) < 2:
        return 1.0  # every rating identical: perfect agreement (α is 0/0 here)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(krippendorff.alpha(reliability_data=arr, level_of_measurement="nominal"))


def _percent(units: list[list[str]]) -> float:
    pairs = agree = 0
    for labels in units:
        for i in range(len(labels)):
            for j in range(i + 1, len(labels)):
                pairs += 1
                agree += labels[i] == labels[j]
    return 100.0 * agree / pairs if pairs else math.nan


def agreement(reviews: dict[str, list[Review]], groups: dict[str, str]) -> dict[str, dict[str, float]]:
    """α on verdicts and options, percent agreement and counts: per group (criterion) and ``overall``."""
    out: dict[str, dict[str, float]] = {}
    buckets: dict[str, list[str]] = {"overall": list(reviews)}
    for iid, g in groups.items():
        if iid in reviews:
            buckets.setdefault(g, []).append(iid)
    for name, ids in sorted(buckets.items()):
        annotators = sorted({r.annotator for i in ids for r in reviews[i] if r.verdict != "skipped"
                             and not r.ground_truth})
        idx = {a: k for k, a in enumerate(annotators)}
        vmat = [[math.nan] * len(ids) for _ in annotators]
        omat = [[math.nan] * len(ids) for _ in annotators]
        vunits, ounits = [], []
        for col, iid in enumerate(ids):
            usable = [r for r in reviews[iid] if r.verdict in ("accept", "accept_with_edits", "reject")
                      and not r.ground_truth]  # an adjudicator settles disagreement; it is not a rater
            for r in usable:
                vmat[idx[r.annotator]][col] = ("accept", "accept_with_edits", "reject").index(r.verdict)
                if r.verdict != "reject" and r.correct_option:
                    omat[idx[r.annotator]][col] = LETTERS.index(r.correct_option)
            vunits.append([r.verdict for r in usable])
            ounits.append([r.correct_option for r in usable if r.verdict != "reject" and r.correct_option])
        multi = sum(1 for u in vunits if len(u) >= 2)
        out[name] = {"items": len(ids), "items_with_2plus": multi, "annotators": len(annotators),
                     "alpha_verdict": _alpha(vmat), "alpha_option": _alpha(omat),
                     "percent_verdict": _percent(vunits), "percent_option": _percent(ounits)}
    return out
