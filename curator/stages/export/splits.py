"""Group-wise splits shared by every configuration, and the leakage report that checks them.

Images are *related* when they share a reference (the synthetic ``ref_id``, a preset's reference
column such as KADID/PIPAL's ``ref_img``), a value of a user group column (``--group-by scene``),
or a perceptual hash within a few bits (near-duplicates). Related images form one group (union-find)
and a group is dealt to exactly one split, jointly for VQA items and VR images: an image and its
relatives are in one split across both configurations. Groups are dealt greedily to the split whose
per-stratum deficit is largest, so every criterion, template and answer approaches the target
fractions. The leakage report recomputes shared images, shared group values and near-duplicate
pairs from the images table alone, so it does not trust the assignment it checks.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd

from curator.errors import StageError

GROUP_COLUMNS = ("ref_id", "ref_img", "reference", "reference_id")
"""Columns that name a reference image when a label file or `synth` provides them; always used."""


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
    for i in range(len(h) - 1):
        d = _popcount(np.bitwise_xor(h[i + 1:], h[i]))
        for j in np.nonzero(d < threshold)[0]:
            pairs.append((i, i + 1 + int(j), int(d[j])))
    return pairs


def group_values(images: pd.DataFrame, group_by: list[str] | None = None) -> dict[str, list[tuple[str, str]]]:
    """image_id → [(column, value)] of every group column the image carries (table column or label metadata)."""
    cols = list(dict.fromkeys([*GROUP_COLUMNS, *(group_by or [])]))
    metas = [json.loads(m) if isinstance(m, str) and m else {} for m in images.get("meta", [""] * len(images))]
    out: dict[str, list[tuple[str, str]]] = {}
    records = images.to_dict("records")
    for rec, meta in zip(records, metas, strict=True):
        vals = []
        for c in cols:
            v = rec.get(c) if c in rec else meta.get(c)
            if v is not None and not (isinstance(v, float) and np.isnan(v)) and str(v) != "":
                vals.append((c, str(v)))
        out[rec["image_id"]] = vals
    missing = [c for c in (group_by or []) if not any(c == k for vs in out.values() for k, _ in vs)]
    if missing:
        raise StageError(f"--group-by {missing}: no image carries that column (it must be a column of the labels "
                         "file given to `curator ingest`, or of the images table)")
    return out


def image_groups(images: pd.DataFrame, threshold: int, group_by: list[str] | None = None) -> dict[str, int]:
    """image_id → group id: shared reference / group-column values and near-duplicates merged (union-find)."""
    ids = list(images["image_id"])
    parent = list(range(len(ids)))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def union(a: int, b: int) -> None:
        parent[find(a)] = find(b)

    first: dict[tuple[str, str], int] = {}
    for k, vals in enumerate(group_values(images, group_by).values()):
        for key in vals:
            union(k, first.setdefault(key, k))
    if threshold > 0:
        for i, j, _ in near_duplicate_pairs(ids, list(images["phash"]), threshold):
            union(i, j)
    return {iid: find(k) for k, iid in enumerate(ids)}


def assign_groups(units: pd.DataFrame, groups: dict[str, int], fractions: dict[str, float], seed: int,
                  pinned: dict[int, str] | None = None) -> dict[int, str]:
    """Group id → split: whole groups, each dealt to the split whose per-stratum deficit is largest.

    ``units`` has one row per item to be split (VQA items and VR images together) with columns
    ``image_id`` and ``stratum``; a group's weight in a stratum is its number of units there.
    ``pinned`` groups keep the split they had (a new version of a benchmark must not move its test
    items into dev); only the other groups are dealt, and refined, around them.
    """
    g = units["image_id"].map(groups)
    if g.isna().any():
        missing = units.loc[g.isna(), "image_id"].iloc[0]
        raise StageError(f"image {missing} is used by an item but is not in the images table")
    order = list(pd.unique(g))
    if len(fractions) == 1:
        return dict.fromkeys(order, next(iter(fractions)))
    totals = units["stratum"].value_counts().to_dict()
    current: dict[str, dict[str, int]] = {s: defaultdict(int) for s in fractions}
    sizes: dict[str, int] = dict.fromkeys(fractions, 0)
    group_counts = units.groupby(g.to_numpy())["stratum"].value_counts()
    rng = np.random.default_rng(seed)
    rng.shuffle(order)
    # large groups first (seeded tie order): small ones then even out what the large ones leave
    weight = g.value_counts()
    order.sort(key=lambda x: -int(weight[x]))
    decided: dict[int, str] = {}
    n_total = len(units)
    fixed = {int(grp): s for grp, s in (pinned or {}).items() if s in fractions and grp in set(order)}
    for grp, s in fixed.items():
        decided[grp] = s
        counts = group_counts.loc[grp].to_dict()
        sizes[s] += sum(counts.values())
        for c, n in counts.items():
            current[s][c] += n
    for grp in order:
        if int(grp) in fixed:
            continue
        counts = group_counts.loc[grp].to_dict()
        best, best_need = next(iter(fractions)), -np.inf
        for s, frac in fractions.items():
            need = sum((frac * totals[c] - current[s][c]) * n for c, n in counts.items())
            need += (frac * n_total - sizes[s]) * 1e-3  # tie-break towards the split furthest below its size
            if need > best_need:
                best, best_need = s, need
        decided[int(grp)] = best
        sizes[best] += sum(counts.values())
        for c, n in counts.items():
            current[best][c] += n
    if len(order) <= REFINE_MAX_GROUPS:
        _refine(decided, group_counts, totals, fractions, fixed=set(fixed))
    return decided


REFINE_MAX_GROUPS = 400
"""Below this many groups, improve the greedy deal by moves and swaps (coarse groups need it)."""


def _refine(decided: dict[int, str], group_counts: pd.Series, totals: dict[str, int], fractions: dict[str, float],
            max_rounds: int = 200, fixed: set[int] | None = None) -> None:
    """Move or swap groups between splits while that lowers Σ (count − fraction × total)² over strata.

    With few, large groups (12 references in a demo) the greedy deal can leave a split's answers
    lopsided; a local search over moves and pairwise swaps fixes most of it and never makes a
    split empty.
    """
    strata = sorted(totals)
    col = {c: i for i, c in enumerate(strata)}
    splits = list(fractions)
    groups = list(decided)
    movable = [g for g in groups if g not in (fixed or set())]
    vec = {g: np.zeros(len(strata)) for g in groups}
    for (g, c), n in group_counts.items():
        vec[int(g)][col[c]] = n
    target = {s: fractions[s] * np.array([totals[c] for c in strata], dtype=float) for s in splits}
    cur = {s: sum((vec[g] for g in groups if decided[g] == s), np.zeros(len(strata))) for s in splits}

    def cost(a: np.ndarray, s: str) -> float:
        return float(((a - target[s]) ** 2).sum())

    for _ in range(max_rounds):
        best: tuple[Any, Any, str] | None = None
        best_gain = 1e-9
        for g in movable:
            a = decided[g]
            if sum(decided[x] == a for x in groups) > 1:  # a move must not empty its split
                for b in splits:
                    if b != a:
                        gain = (cost(cur[a], a) + cost(cur[b], b) - cost(cur[a] - vec[g], a)
                                - cost(cur[b] + vec[g], b))
                        if gain > best_gain:
                            best, best_gain = (g, None, b), gain
            for h in movable:
                b = decided[h]
                if h <= g or b == a:
                    continue
                d = vec[h] - vec[g]
                gain = cost(cur[a], a) + cost(cur[b], b) - cost(cur[a] + d, a) - cost(cur[b] - d, b)
                if gain > best_gain:
                    best, best_gain = (g, h, b), gain
        if best is None:
            return
        g, h, b = best
        a = decided[g]
        cur[a] -= vec[g]
        cur[b] += vec[g]
        decided[g] = b
        if h is not None:
            cur[b] -= vec[h]
            cur[a] += vec[h]
            decided[h] = a


def leakage_report(split_images: dict[str, set[str]], images: pd.DataFrame, threshold: int,
                   group_by: list[str] | None = None) -> dict[str, Any]:
    """What two splits share, recomputed from the images table: images, group values, near-duplicates.

    ``split_images`` maps a split to every image it uses in any configuration (VQA and VR).
    """
    names = sorted(split_images)
    vals = group_values(images, group_by)
    phash_of = dict(zip(images["image_id"], images["phash"], strict=True))
    report: dict[str, Any] = {"threshold_bits": threshold, "group_columns": sorted({c for v in vals.values()
                                                                                    for c, _ in v}), "pairs": {}}
    for a_i, a in enumerate(names):
        for b in names[a_i + 1:]:
            ia, ib = split_images[a], split_images[b]
            ga = {kv for i in ia for kv in vals.get(i, [])}
            gb = {kv for i in ib for kv in vals.get(i, [])}
            near = 0
            if threshold > 0:
                hb = _phash_ints([phash_of.get(x, "") for x in sorted(ib - ia)])
                for h in _phash_ints([phash_of.get(x, "") for x in sorted(ia - ib)]):
                    if len(hb):
                        near += int((_popcount(np.bitwise_xor(hb, h)) < threshold).sum())
            shared_groups = sorted(f"{c}={v}" for c, v in ga & gb)
            report["pairs"][f"{a}|{b}"] = {"shared_images": len(ia & ib), "shared_groups": len(shared_groups),
                                           "near_duplicate_pairs": near, "examples": shared_groups[:10]}
    pairs = report["pairs"].values()
    report["shared_images"] = sum(p["shared_images"] for p in pairs)
    report["shared_groups"] = sum(p["shared_groups"] for p in pairs)
    report["near_duplicate_pairs"] = sum(p["near_duplicate_pairs"] for p in pairs)
    report["clean"] = report["shared_images"] == report["shared_groups"] == report["near_duplicate_pairs"] == 0
    return report
