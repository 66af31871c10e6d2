"""MMStar's rule for text-only answerers: an item goes when more than ``rate × k`` of k got it right blind.

``blind`` records its decision with the settings of the run; ``check`` applies the recorded
decision, or this rule at its default over every stored answer when a project predates recorded
decisions.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import pandas as pd

from curator.store import Store

COLUMNS = ["item_id", "blind_k", "blind_hits", "blind_drop"]


def max_hits(k: int, max_hit_rate: float) -> int:
    """Most correct blind answers an item may get and stay: floor(rate × k) (2 of 8 at 0.25)."""
    return math.floor(max_hit_rate * k + 1e-9)


def decide(answers: list[dict[str, Any]], models: list[str] | None = None, max_hit_rate: float = 0.25) -> pd.DataFrame:
    """Per item: blind_k, blind_hits, blind_drop — over items every answerer has answered."""
    if not answers:
        return pd.DataFrame(columns=COLUMNS)
    df = pd.DataFrame(answers).drop_duplicates(["item_id", "model"], keep="last")
    if models is not None:
        df = df[df["model"].isin(models)]
    k = df["model"].nunique()
    g = df.groupby("item_id").agg(blind_k=("model", "nunique"), blind_hits=("correct", "sum")).reset_index()
    g = g[g["blind_k"] == k].copy()
    g["blind_hits"] = g["blind_hits"].astype(int)
    g["blind_drop"] = g["blind_hits"] > max_hits(k, max_hit_rate)
    return g


def decisions(store: Store) -> pd.DataFrame:
    """The last ``curator blind`` decision per item (empty when blind never ran)."""
    if store.blind_decisions.exists():
        return store.blind_decisions.read()
    if store.blind.exists():
        logging.getLogger(__name__).warning("no stored blind decision: applying the default rule (rate 0.25) to "
                                            "every stored answerer; rerun `curator blind` to record your settings")
        return decide(store.blind.read())
    return pd.DataFrame(columns=COLUMNS)
