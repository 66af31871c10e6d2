"""``review push --order disagreement``: people see first the items where the machines disagree.

The score is kept with each task (``data.priority``, and ``data.review_note`` shown above the item) and
tasks are imported in descending order, which is the order Label Studio shows them. It adds up, per item:

=====================================================  =========================================
signal                                                  points
=====================================================  =========================================
every image-seeing and text-only panellist missed it    8  (``possibly_wrong_truth``: check the key)
a text-only model got it right (blind check or panel)   3  (answerable without the image?)
the panel is split                                      2 × (1 − |2 × fraction right − 1|)
the judge scored it low                                 4 − judge mean, when under 4 (of 5)
=====================================================  =========================================

An item with any of these is *flagged*; flagged items come before all others, highest score first,
and the rest keep the sample's order. Signals that were never computed (no calibrate, judge or blind
run) add nothing.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

WRONG_TRUTH, TEXT_ONLY, SPLIT, JUDGE_BAR = 8.0, 3.0, 2.0, 4.0


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if f != f else f


def score(row: dict[str, Any]) -> tuple[float, list[str]]:
    """(priority, reasons) of one item from the columns it has."""
    points, why = 0.0, []
    if bool(row.get("possibly_wrong_truth")) is True:
        points += WRONG_TRUTH
        why.append("every panel model missed the keyed answer: check the key")
    blind_hits = _num(row.get("blind_hits")) or 0.0
    text_right = bool(row.get("text_only_right"))
    if blind_hits > 0 or text_right:
        points += TEXT_ONLY
        why.append("a text-only model answered it without the image")
    right = _num(row.get("panel_right"))
    if right is not None and 0.0 < right < 1.0:
        points += SPLIT * (1.0 - abs(2.0 * right - 1.0))
        why.append(f"the panel is split ({right:.0%} right)")
    judge = _num(row.get("judge_mean"))
    if judge is not None and judge < JUDGE_BAR:
        points += JUDGE_BAR - judge
        why.append(f"the judge scored it {judge:.1f} of 5")
    return round(points, 4), why


def order_by_disagreement(items: pd.DataFrame, difficulty: pd.DataFrame | None,
                          text_only_models: set[str] | None = None) -> pd.DataFrame:
    """``items`` with ``priority`` and ``review_note``, flagged first (highest first), others in their order."""
    df = items.reset_index(drop=True).copy()
    if difficulty is not None and len(difficulty):
        cols = ["item_id", "panel_right", "possibly_wrong_truth", "right_models"]
        df = df.merge(difficulty[[c for c in cols if c in difficulty.columns]], on="item_id", how="left",
                      suffixes=("", "_panel"))
        blind_set = text_only_models or set()
        df["text_only_right"] = [bool(set(m if isinstance(m, (list, tuple)) else list(m if m is not None else []))
                                      & blind_set) for m in df.get("right_models", pd.Series([None] * len(df)))]
    scored = [score(r) for r in df.to_dict("records")]
    df["priority"] = [p for p, _ in scored]
    df["review_note"] = ["Why first: " + "; ".join(w) + "." if w else "" for _, w in scored]
    df["_pos"] = range(len(df))
    df = df.sort_values(["priority", "_pos"], ascending=[False, True], kind="stable")
    return df.drop(columns=["_pos"]).reset_index(drop=True)
