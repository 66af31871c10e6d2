"""Answer-letter balancing: where the right option stands must tell a guesser nothing.

Used by ``check`` (over every kept item) and again by ``export`` within each split and template,
because sampling and splitting undo a global balance. Only open templates are re-ordered; yes_no
and level options keep their canonical order, and their balance comes from the answers themselves.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from curator.records import LETTERS, sha256_hex

FIXED_ORDER = ("yes_no", "level")


def balance_letters(df: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Re-order options of open-template items so correct letters are spread evenly (seeded).

    Items are ranked by a seeded hash within each option count and assigned target positions in
    turn; yes_no and level items keep their fixed option order.
    """
    df = df.copy()
    open_mask = ~df["template"].isin(FIXED_ORDER)
    rank = df["item_id"].map(lambda i: sha256_hex(f"{seed}:{i}"))
    new_opts, new_ans = list(df["options"]), list(df["answer"])
    for n, idx in df[open_mask].groupby(df.loc[open_mask, "options"].map(len)).groups.items():
        order = sorted(idx, key=lambda i: rank[i])
        for pos, i in enumerate(order):
            opts = list(df.at[i, "options"])
            correct = opts[LETTERS.index(df.at[i, "answer"])] if df.at[i, "answer"] in LETTERS[:n] else None
            if correct is None:
                continue
            rng = np.random.default_rng(int(rank[i][:12], 16))
            others = [o for o in opts if o != correct]
            rng.shuffle(others)
            target = pos % n
            others.insert(target, correct)
            new_opts[df.index.get_loc(i)] = others
            new_ans[df.index.get_loc(i)] = LETTERS[target]
    df["options"], df["answer"] = new_opts, new_ans
    return df


def letter_distribution(df: pd.DataFrame) -> tuple[dict[str, int], float]:
    """Counts of answer letters among open-template items and the χ² p-value against uniform."""
    from scipy.stats import chisquare

    sub = df[~df["template"].isin(FIXED_ORDER)]
    if sub.empty:
        return {}, 1.0
    counts = Counter(sub["answer"])
    n_opts = sub["options"].map(len)
    letters = LETTERS[:int(n_opts.max())]
    expected = [float(sum(1.0 / n for n in n_opts if i < n)) for i in range(len(letters))]
    observed = [counts.get(lt, 0) for lt in letters]
    p = float(chisquare(observed, expected).pvalue) if sum(observed) else 1.0
    return dict(zip(letters, observed, strict=True)), p


