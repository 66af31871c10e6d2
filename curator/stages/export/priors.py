"""Text-only priors: how far a guesser that never sees the image gets, per template.

Reported next to random (1/k) on each exported split, so a benchmark whose answers can be guessed
from the wording is visible in the card and in ``curator export``'s summary:

* **majority answer** — always choose the option whose text is most often the right answer in
  this split and template (random among the options when that text is not offered);
* **longest option** — choose the longest option text (ties shared);
* **position** — always answer the letter that is most often right in this split and template.

These are in-sample (the guesser is told the split's answer statistics), i.e. upper bounds of
what a text-only prior exploits. A template is **flagged** when the best of them beats random by
more than :data:`MARGIN` points *and* that excess is unlikely to be luck (one-sided binomial test
against random, Bonferroni over the three guessers, p < :data:`ALPHA`). The test matters on small
splits: with 15 items the best of three in-sample guessers clears +5 points by chance most of the
time, and a flag that is always on tells nothing. Excesses above the margin that are not
significant are still listed (``above_margin``) with their p-value.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from curator.records import LETTERS

MARGIN = 5.0
"""Points above random at which a text-only baseline flags a template."""
ALPHA = 0.05
"""Significance level of the flag (after Bonferroni over the three guessers)."""


def _norm(text: Any) -> str:
    return " ".join(str(text).lower().split())


def _baselines(part: pd.DataFrame) -> dict[str, Any]:
    opts = [list(o) for o in part["options"]]
    answers = [LETTERS.index(a) for a in part["answer"]]
    k = np.array([len(o) for o in opts], dtype=float)
    correct_text = [_norm(o[a]) for o, a in zip(opts, answers, strict=True)]
    top_text = Counter(correct_text).most_common(1)[0][0]
    majority = [(1.0 if _norm(o[a]) == top_text else 0.0) if top_text in {_norm(x) for x in o} else 1.0 / len(o)
                for o, a in zip(opts, answers, strict=True)]
    longest = []
    for o, a in zip(opts, answers, strict=True):
        lens = [len(str(x)) for x in o]
        ties = [i for i, n in enumerate(lens) if n == max(lens)]
        longest.append(1.0 / len(ties) if a in ties else 0.0)
    top_letter, top_n = Counter(answers).most_common(1)[0]
    out: dict[str, Any] = {"n": len(part), "random": 100.0 * float((1.0 / k).mean()),
           "majority_answer": 100.0 * float(np.mean(majority)), "longest_option": 100.0 * float(np.mean(longest)),
           "position": 100.0 * top_n / len(part), "position_letter": LETTERS[top_letter],
           "majority_text": top_text}
    best = max(out["majority_answer"], out["longest_option"], out["position"])
    out["excess"] = best - out["random"]
    out["p_value"] = _p_value(best, out["random"], len(part))
    out["above_margin"] = bool(out["excess"] > MARGIN)
    out["flagged"] = bool(out["above_margin"] and out["p_value"] < ALPHA)
    return out


def _p_value(best: float, random: float, n: int) -> float:
    """One-sided binomial p of doing this well by luck, Bonferroni-corrected over the three guessers."""
    from scipy.stats import binomtest

    hits = round(best / 100.0 * n)
    p = float(binomtest(hits, n, min(max(random / 100.0, 1e-9), 1 - 1e-9), alternative="greater").pvalue)
    return min(1.0, 3 * p)


def text_only_baselines(items: pd.DataFrame) -> dict[str, Any]:
    """{split: {template: baselines}} plus the list of flagged (split, template) pairs."""
    report: dict[str, Any] = {"margin_points": MARGIN, "alpha": ALPHA, "splits": {}, "flagged": [], "above_margin": []}
    for split, sp in items.groupby("split"):
        per = {str(t): _baselines(part) for t, part in sp.groupby("template")}
        report["splits"][str(split)] = per
        report["flagged"] += [f"{split}/{t}" for t, b in per.items() if b["flagged"]]
        report["above_margin"] += [f"{split}/{t}" for t, b in per.items() if b["above_margin"] and not b["flagged"]]
    return report


def baseline_rows(report: dict[str, Any]) -> list[list[Any]]:
    """Card table rows: split, template, n, random, majority, longest, position, flag."""
    rows = []
    for split, per in report["splits"].items():
        for t, b in sorted(per.items()):
            rows.append([split, t, b["n"], f"{b['random']:.1f}", f"{b['majority_answer']:.1f}",
                         f"{b['longest_option']:.1f}", f"{b['position']:.1f} ({b['position_letter']})",
                         f"**+{b['excess']:.1f} (p={b['p_value']:.2g})**" if b["flagged"] else
                         f"+{b['excess']:.1f}, n too small to tell (p={b['p_value']:.2g})" if b["above_margin"] else
                         "ok"])
    return rows
