"""Image-grouped, criterion-stratified splits and the leakage report that proves them.

Items of the same image — and of near-duplicate images (perceptual-hash distance under a
threshold) — form one group; groups are dealt to splits greedily so every criterion approaches
the target fractions. The leakage report recomputes image and near-duplicate overlap between
every pair of splits from scratch.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd

from curator.errors import StageError


def parse_splits(spec: str) -> dict[str, float]:
    """``test`` or ``dev:0.2,test:0.8`` → {name: fraction} summing to 1."""
    if ":" not in spec:
        return {spec.strip(): 1.0}
    out = {}
    for part in spec.split(","):
        name, _, frac = part.partition(":")
        try:
            out[name.strip()] = float(frac)
        except ValueError as exc:
            raise StageError(f"bad split spec {spec!r}; use e.g. test or dev:0.2,test:0.8") from exc
    total = sum(out.values())
    if not 0.99 <= total <= 1.01 or any(v <= 0 for v in out.values()):
        raise StageError(f"split fractions must be positive and sum to 1, got {out}")
    return out


def _phash_ints(phashes: list[str]) -> np.ndarray:
    return np.array([int(h, 16) if isinstance(h, str) and h else 0 for h in phashes], dtype=np.uint64)


def _popcount(x: np.ndarray) -> np.ndarray:
    return np.unpackbits(x.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)


def near_duplicate_pairs(ids: list[str], phashes: list[str], threshold: int) -> list[tuple[int, int, int]]:
    """Index pairs (i < j) whose 64-bit perceptual hashes differ in fewer than ``threshold`` bits."""
    h = _phash_ints(phashes)
    pairs = []
    for i in range(len(h)):
        if i + 1 >= len(h):
            break
        d = _popcount(np.bitwise_xor(h[i + 1:], h[i]))
        for j in np.nonzero(d < threshold)[0]:
            pairs.append((i, i + 1 + int(j), int(d[j])))
    return pairs


def image_groups(images: pd.DataFrame, threshold: int) -> dict[str, int]:
    """image_id → group id, merging near-duplicates (union-find)."""
    ids = list(images["image_id"])
    parent = list(range(len(ids)))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    if threshold > 0:
        for i, j, _ in near_duplicate_pairs(ids, list(images["phash"]), threshold):
            parent[find(i)] = find(j)
    return {iid: find(k) for k, iid in enumerate(ids)}


def assign_splits(items: pd.DataFrame, groups: dict[str, int], fractions: dict[str, float], seed: int,
                  stratify: str = "criterion") -> pd.Series:
    """A split name per item: whole groups, dealt to the split whose per-criterion deficit is largest."""
    if len(fractions) == 1:
        return pd.Series(next(iter(fractions)), index=items.index)
    g = items["image_id"].map(groups)
    totals = items[stratify].value_counts().to_dict()
    current: dict[str, dict[str, int]] = {s: defaultdict(int) for s in fractions}
    group_counts = items.groupby(g)[stratify].value_counts()
    order = list(g.dropna().unique())
    np.random.default_rng(seed).shuffle(order)
    decided: dict[Any, str] = {}
    for grp in order:
        counts = group_counts.loc[grp].to_dict()
        best, best_need = None, -np.inf
        for s, frac in fractions.items():
            need = sum((frac * totals[c] - current[s][c]) * n for c, n in counts.items())
            if need > best_need:
                best, best_need = s, need
        decided[grp] = best  # type: ignore[assignment]
        for c, n in counts.items():
            current[best][c] += n  # type: ignore[index]
    return g.map(decided)


def leakage_report(split_items: dict[str, pd.DataFrame], phash_of: dict[str, str], threshold: int) -> dict[str, Any]:
    """Shared images and near-duplicate image pairs between every pair of splits (all zero when clean)."""
    names = sorted(split_items)
    report: dict[str, Any] = {"threshold_bits": threshold, "pairs": {}}
    for a_i, a in enumerate(names):
        for b in names[a_i + 1:]:
            ia, ib = set(split_items[a]["image_id"]), set(split_items[b]["image_id"])
            la, lb = sorted(ia), sorted(ib)
            ha, hb = _phash_ints([phash_of.get(x, "") for x in la]), _phash_ints([phash_of.get(x, "") for x in lb])
            near = 0
            for h in ha:
                if len(hb):
                    near += int((_popcount(np.bitwise_xor(hb, h)) < threshold).sum()) if threshold > 0 else 0
            report["pairs"][f"{a}|{b}"] = {"shared_images": len(ia & ib), "near_duplicate_pairs": near - len(ia & ib)
                                           if threshold > 0 else 0}
    report["clean"] = all(v["shared_images"] == 0 and v["near_duplicate_pairs"] <= 0 for v in report["pairs"].values())
    return report
