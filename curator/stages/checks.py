"""``curator check``: deterministic rules, duplicates, per-image cap and answer-letter balancing.

Reads every candidate with its judge and blind results and writes ``data/checked.parquet``: one row
per candidate with ``keep`` and the list of ``drop_reasons`` (judge, blind, rule names), the
options in balanced order, and the model's original options and answer beside them. Nothing is
deleted: a later stage filters on ``keep``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

import numpy as np
import pandas as pd

from curator.balance import balance_letters, letter_distribution
from curator.config import Project
from curator.records import LETTERS
from curator.stages.common.blind_rule import decisions as blind_decisions
from curator.store import Store
from curator.taxonomy import MAX_OPTIONS, Taxonomy

JSON_COLUMNS = ("judge_scores", "truth", "provenance")
_NORM = re.compile(r"[^a-z0-9 ]+")


def _norm(text: str) -> str:
    return " ".join(_NORM.sub(" ", text.lower()).split())


def rule_violations(it: dict[str, Any], tax: Taxonomy, *, min_words: int = 3, max_words: int = 60,
                    max_option_words: int = 25) -> list[str]:
    """Names of the deterministic rules an item breaks (empty list: it passes)."""
    out = []
    q, opts, ans, tpl = str(it.get("question") or ""), list(it.get("options") or []), str(it.get("answer") or ""), it.get(
        "template")
    try:
        c = tax.get(it["criterion"])
    except KeyError:
        return ["unknown_criterion"]
    if tpl not in c.templates:
        out.append("template_not_allowed")
    if not q.strip() or not opts:
        out.append("schema")
        return out
    if tpl == "yes_no" and opts != ["Yes", "No"]:
        out.append("yes_no_options")
    scale = tax.scale_for(c)
    if tpl == "level" and scale and opts != scale.labels:
        out.append("level_options")
    if tpl not in ("yes_no", "level") and not 2 <= len(opts) <= MAX_OPTIONS:
        out.append("option_count")
    if len({_norm(str(o)) for o in opts}) != len(opts):
        out.append("duplicate_options")
    if len(ans) != 1 or ans not in LETTERS[:len(opts)]:
        out.append("answer_letter")
    n = len(q.split())
    if n < min_words or n > max_words:
        out.append("question_length")
    if any(len(str(o).split()) > max_option_words for o in opts):
        out.append("option_length")
    if ("<" in q and ">" in q) or re.search(r"\bcriterion\b", q, re.I) or _norm(c.definition)[:60] in _norm(q):
        out.append("criterion_wording")  # the prompt's tag or definition leaked into the question
    return out


def _similar(a: str, b: str, threshold: float) -> bool:
    return a == b or SequenceMatcher(None, a, b).ratio() >= threshold


@dataclass
class CheckSummary:
    candidates: int = 0
    kept: int = 0
    drop_reasons: Counter[str] = field(default_factory=Counter)
    letters_before: dict[str, int] = field(default_factory=dict)
    p_before: float = 1.0
    letters_after: dict[str, int] = field(default_factory=dict)
    p_after: float = 1.0
    table: str = ""

    def rows(self) -> list[tuple[str, str]]:
        out = [("candidates", str(self.candidates)), ("kept", str(self.kept))]
        out += [(f"dropped: {k}", str(v)) for k, v in sorted(self.drop_reasons.items())]
        out += [("answer letters before", f"{self.letters_before} (chi2 p={self.p_before:.3g})"),
                ("answer letters after", f"{self.letters_after} (chi2 p={self.p_after:.3g})"), ("table", self.table)]
        return out


def check(project: Project, *, per_image_cap: int | None = 6, near_duplicate: float = 0.9, balance: bool = True,
          require_judge: bool = False, require_blind: bool = False, min_words: int = 3, max_words: int = 60,
          seed: int | None = None) -> CheckSummary:
    """Apply the deterministic checks and write ``data/checked.parquet``.

    Args:
        per_image_cap: keep at most this many items per image (best judged first); None for no cap.
        near_duplicate: questions on the same image and criterion at least this similar are duplicates.
        balance: re-order options so correct letters are spread evenly (seeded).
        require_judge: drop items that have no judge verdict yet.
        require_blind: drop items that have no blind result yet.
    """
    tax = project.load_taxonomy()
    seed = project.config.seed if seed is None else seed
    store = Store(project)
    df = _with_verdicts(store)
    reasons: list[list[str]] = [rule_violations(r, tax, min_words=min_words, max_words=max_words)
                                for r in df.to_dict("records")]
    _filter_reasons(df, reasons, require_judge, require_blind)
    _duplicate_and_cap_reasons(df, reasons, near_duplicate, per_image_cap)
    df["drop_reasons"] = reasons
    df["keep"] = [not r for r in reasons]
    summary = CheckSummary(candidates=len(df), kept=int(df["keep"].sum()))
    summary.drop_reasons = Counter(x for r in reasons for x in r)
    kept = df[df["keep"]]
    summary.letters_before, summary.p_before = letter_distribution(kept)
    if balance and len(kept):
        bal = balance_letters(kept, seed)
        df.loc[bal.index, "options"] = pd.Series(list(bal["options"]), index=bal.index, dtype=object)
        df.loc[bal.index, "answer"] = bal["answer"]
    summary.letters_after, summary.p_after = letter_distribution(df[df["keep"]])
    for col in JSON_COLUMNS:  # nested dicts of varying shape are stored as JSON text
        if col in df.columns:
            df[col] = df[col].map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v))
                                  else json.dumps(v, default=str))
    summary.table = str(store.checked.write(df))
    return summary


def _with_verdicts(store: Store) -> pd.DataFrame:
    """Candidates with the model's original kept aside and the judge's and blind check's verdicts joined."""
    df = store.qa_candidates()
    df["model_question"], df["model_options"], df["model_answer"] = df["question"], df["options"], df["answer"]
    j = store.judgements()
    if not j.empty:
        df = df.merge(j[["item_id", "judge_mean", "keep", "scores"]].rename(
            columns={"keep": "judge_keep", "scores": "judge_scores"}), on="item_id", how="left")
    else:
        df["judge_mean"], df["judge_keep"], df["judge_scores"] = np.nan, None, None
    b = blind_decisions(store)[["item_id", "blind_k", "blind_hits", "blind_drop"]]
    return df.merge(b, on="item_id", how="left") if not b.empty else df.assign(blind_k=np.nan, blind_hits=np.nan,
                                                                               blind_drop=None)


def _filter_reasons(df: pd.DataFrame, reasons: list[list[str]], require_judge: bool, require_blind: bool) -> None:
    """What the judge and the blind check decided (and, when required, that they ran at all)."""
    for i, r in enumerate(df.itertuples()):
        if r.judge_keep is False or (isinstance(r.judge_keep, float) and not np.isnan(r.judge_keep)
                                     and not r.judge_keep):
            reasons[i].append("judge")
        elif require_judge and (r.judge_keep is None or (isinstance(r.judge_keep, float) and np.isnan(r.judge_keep))):
            reasons[i].append("not_judged")
        if r.blind_drop is True:
            reasons[i].append("blind")
        elif require_blind and r.blind_drop is not False:
            reasons[i].append("not_blind_checked")


def _duplicate_and_cap_reasons(df: pd.DataFrame, reasons: list[list[str]], near_duplicate: float,
                               per_image_cap: int | None) -> None:
    """Near-duplicate questions within (image, criterion), then the per-image cap: best judged first."""
    order = pd.Series(np.arange(len(df)), index=df.index)
    prio = -df["judge_mean"].fillna(0)
    ranked = df.assign(_prio=prio, _order=order).sort_values(["_prio", "_order"])
    for _, grp in ranked.groupby(["image_id", "criterion"], sort=False):
        seen: list[str] = []
        for i, q in zip(grp.index, grp["question"], strict=True):
            nq = _norm(q)
            if any(_similar(nq, s, near_duplicate) for s in seen):
                reasons[df.index.get_loc(i)].append("duplicate_question")
            else:
                seen.append(nq)
    if per_image_cap is None:
        return
    count: Counter[str] = Counter()
    for i, img in zip(ranked.index, ranked["image_id"], strict=True):
        if reasons[df.index.get_loc(i)]:
            continue
        count[img] += 1
        if count[img] > per_image_cap:
            reasons[df.index.get_loc(i)].append("per_image_cap")
