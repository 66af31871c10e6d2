"""``curator sample``: stratified quotas over any columns, seeded, with a shortfall report.

Strata are the combinations of ``by`` columns (domain, category, criterion, template, answer,
source, or score bins such as ``score_norm:q4`` / ``score_norm:0,40,70,100``). Quotas: ``equal``
(n per stratum), ``proportional`` (n in total, split by stratum size) or a table (CSV/YAML of
stratum → n, or ``published`` for the published per-criterion counts). Within a stratum, items are
taken best judged first, then in seeded random order — the same seed gives the same selection.
Vectorised end to end: one sort and one ``groupby().cumcount()`` over the whole table.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from curator.config import Project
from curator.errors import StageError, UsageError
from curator.store import Store
from curator.store.io import write_parquet


def parse_bins(spec: str) -> tuple[str, int | list[float]]:
    """``col:qN`` (N ≥ 2 quantile bins) or ``col:e0,e1,…`` (increasing edges) → (column, N or edges)."""
    col, _, how = spec.partition(":")
    try:
        if how.startswith("q"):
            n = int(how[1:])
            if n < 2:
                raise ValueError
            return col, n
        edges = [float(x) for x in how.split(",")]
        if len(edges) < 2 or any(b <= a for a, b in itertools.pairwise(edges)):
            raise ValueError
        return col, edges
    except ValueError:
        raise UsageError(f"--bins {spec!r}: use COLUMN:qN (N ≥ 2 quantile bins) or COLUMN:e0,e1,… "
                         "(two or more increasing edges)") from None


def add_bins(df: pd.DataFrame, spec: str) -> str:
    """Add a binned column for ``col:qN`` (quantiles) or ``col:e0,e1,...`` (edges); return its name."""
    col, how = parse_bins(spec)
    if col not in df.columns:
        raise StageError(f"cannot bin {col!r}: no such column (have {sorted(df.columns)[:15]}...)")
    name = f"{col}_bin"
    values = pd.to_numeric(df[col], errors="coerce")
    if isinstance(how, int):
        binned = pd.qcut(values, how, duplicates="drop")
    else:
        binned = pd.cut(values, how, include_lowest=True)
    df[name] = binned.cat.rename_categories([str(c) for c in binned.cat.categories])
    return name


def _quota_table(source: str, by: list[str], project: Project) -> dict[tuple[str, ...], int]:
    if source == "published":
        if by != ["criterion"]:
            raise StageError("--quota published needs --by criterion")
        return {(c.path,): c.published_items or 0 for c in project.load_taxonomy().criteria()}
    path = Path(source)
    if path.suffix == ".csv":
        t = pd.read_csv(path)
        missing = [c for c in [*by, "n"] if c not in t.columns]
        if missing:
            raise StageError(f"{path}: quota table needs columns {[*by, 'n']}, missing {missing}")
        return {tuple(str(r[c]) for c in by): int(r["n"]) for r in t.to_dict("records")}
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {tuple(str(k).split("|")): int(v) for k, v in data.items()}


@dataclass
class SampleSummary:
    candidates: int = 0
    selected: int = 0
    strata: int = 0
    shortfall: list[tuple[str, int, int]] = field(default_factory=list)
    before: dict[str, int] = field(default_factory=dict)
    after: dict[str, int] = field(default_factory=dict)
    train_pool: int = 0
    table: str = ""

    def rows(self) -> list[tuple[str, str]]:
        out = [("eligible candidates", str(self.candidates)), ("strata", str(self.strata)),
               ("selected", str(self.selected)), ("strata short of quota", str(len(self.shortfall)))]
        if self.train_pool:
            out.append(("train pool (disjoint images)", str(self.train_pool)))
        return [*out, ("table", self.table)]


def _strata(df: pd.DataFrame, by: list[str]) -> tuple[np.ndarray, list[str]]:
    """Integer stratum id per row and the ``a|b`` name of each stratum (one Python op per stratum, not per row)."""
    gid = df.groupby(by, sort=False, observed=True, dropna=False).ngroup().to_numpy()
    first = pd.Series(np.arange(len(df))).groupby(gid).first().to_numpy()
    names = df[by].iloc[first].astype(str).agg("|".join, axis=1).tolist()
    return gid, names


def select(df: pd.DataFrame, by: list[str], quotas: dict[tuple[str, ...], int] | int, seed: int
           ) -> tuple[pd.DataFrame, dict[str, int], dict[str, int]]:
    """Rows chosen per stratum (highest judge_mean first, then seeded random).

    Returns:
        (chosen rows with a ``stratum`` column, {stratum: available}, {stratum: selected}).
    """
    rng = np.random.default_rng(seed)
    gid, names = _strata(df, by)
    if isinstance(quotas, int):
        quota: np.ndarray[Any, Any] = np.full(len(names), quotas)
    else:
        q = {"|".join(k): v for k, v in quotas.items()}
        quota = np.array([q.get(n, 0) for n in names])
    judge = -pd.to_numeric(df["judge_mean"], errors="coerce").fillna(0).to_numpy() if "judge_mean" in df else \
        np.zeros(len(df))
    order = np.lexsort((rng.random(len(df)), judge, gid))
    g_sorted = gid[order]
    starts = np.searchsorted(g_sorted, np.arange(len(names)))
    rank = np.arange(len(df)) - starts[g_sorted]
    picked = np.sort(order[rank < quota[g_sorted]])
    chosen = df.iloc[picked].copy()
    chosen["stratum"] = np.asarray(names, dtype=object)[gid[picked]]
    available = dict(zip(names, np.bincount(gid, minlength=len(names)).tolist(), strict=True))
    selected = dict(zip(names, np.bincount(gid[picked], minlength=len(names)).tolist(), strict=True))
    return chosen, available, selected


def sample(project: Project, *, by: list[str] | None = None, mode: str = "equal", n: int = 30,
           quota: str | None = None, bins: list[str] | None = None, train_fraction: float = 0.0,
           seed: int | None = None, source: str | None = None, output: str | None = None,
           difficulty_mix: list[float] | None = None) -> SampleSummary:
    """Select the items that go to people; writes ``data/sample.parquet`` and a report.

    Args:
        by: stratum columns (default: criterion, template).
        mode: ``equal`` (n per stratum), ``proportional`` (n in total) or ``table`` (use ``quota``).
        n: per-stratum or total count, per ``mode``.
        quota: quota table (CSV/YAML) or ``published``; implies ``mode="table"``.
        bins: score-bin specs that add stratum columns (``score_norm:q4``, ``score:1,3,5``).
        train_fraction: put this share of images (seeded, by image) in a disjoint train pool.
        source: input table (default: ``data/checked.parquet``, rows with ``keep``).
        output: output table (default: ``data/sample.parquet``).
        difficulty_mix: shares of easy, moderate, hard, tough items within each stratum (``curator
            calibrate`` first; equal mode: the n of a stratum is split by these shares, largest remainder).
            ``by=["difficulty"]`` stratifies by the bin instead.
    """
    _check_args(train_fraction, n, mode, bins, quota)
    if difficulty_mix is not None and (mode != "equal" or quota or len(difficulty_mix) != 4
                                       or any(x < 0 for x in difficulty_mix) or not sum(difficulty_mix) > 0):
        raise UsageError(f"--difficulty-mix {difficulty_mix}: four non-negative shares (easy, moderate, hard, "
                         "tough), with --mode equal and no --quota")
    seed = project.config.seed if seed is None else seed
    store = Store(project)
    df, by = _pool(store, source, by, bins, with_difficulty=difficulty_mix is not None)
    summary = SampleSummary()
    pool, train = _split_train(df, train_fraction, seed)
    summary.train_pool = len(train)
    summary.candidates = len(pool)
    mode = "table" if quota else mode
    quotas = (_mix_quotas(pool, by, n, difficulty_mix) if difficulty_mix is not None
              else _quotas(project, pool, by, mode, n, quota))
    if difficulty_mix is not None:
        by = [*by, "difficulty"]
    chosen, available, got = select(pool, by, quotas, seed)
    wanted = dict.fromkeys(available, quotas) if isinstance(quotas, int) else {
        **dict.fromkeys(available, 0), **{"|".join(k): v for k, v in quotas.items() if v > 0}}
    summary.shortfall = [(s, want, got.get(s, 0)) for s, want in sorted(wanted.items()) if got.get(s, 0) < want]
    summary.strata = len(wanted)
    summary.selected = len(chosen)
    summary.before = {str(k): int(v) for k, v in pool.groupby(by[0], observed=True).size().items()}
    summary.after = {str(k): int(v) for k, v in chosen.groupby(by[0], observed=True).size().items()}
    if train_fraction > 0:
        store.train_pool.write(train.reset_index(drop=True))
    if output:  # a file of the user's choosing, outside the project's tables
        out = Path(output)
        write_parquet(out, chosen.reset_index(drop=True))
    else:
        out = store.sample.write(chosen.reset_index(drop=True))
    report = {"by": by, "mode": mode, "n": n, "quota": quota, "seed": seed, "selected": summary.selected,
              "shortfall": summary.shortfall, "before": summary.before, "after": summary.after}
    out.with_suffix(".report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    summary.table = str(out)
    return summary


def _check_args(train_fraction: float, n: int, mode: str, bins: list[str] | None, quota: str | None) -> None:
    if not 0.0 <= train_fraction < 1.0:
        raise UsageError(f"--train-fraction {train_fraction}: must be in [0, 1)")
    if n < 1:
        raise UsageError(f"--n {n}: must be at least 1")
    if mode not in ("equal", "proportional", "table"):
        raise UsageError(f"--mode {mode!r}: use equal, proportional or table")
    for spec in bins or []:
        parse_bins(spec)
    if quota and quota != "published" and not Path(quota).is_file():
        raise UsageError(f"--quota {quota}: no such file (or use 'published')")


def _pool(store: Store, source: str | None, by: list[str] | None, bins: list[str] | None,
          with_difficulty: bool = False) -> tuple[pd.DataFrame, list[str]]:
    """The kept items with every stratum column (image columns, score bins, difficulty added when asked for)."""
    src = Path(source) if source else store.checked.path
    if not src.exists():
        raise StageError(f"{src} does not exist; run `curator check` first")
    df = pd.read_parquet(src)
    if "keep" in df.columns:
        df = df[df["keep"]]
    if df.empty:
        raise StageError(f"{src} has no kept items to sample from")
    need_images = bins and any(b.split(":")[0] not in df.columns for b in bins)
    if need_images or "source" in (by or []):
        img = store.load_images()[["image_id", "source", "score", "score_norm"]]
        df = df.merge(img, on="image_id", how="left", suffixes=("", "_img"))
    if (with_difficulty or "difficulty" in (by or [])) and "difficulty" not in df.columns:
        if not store.difficulty.exists():
            raise StageError("stratifying by difficulty needs `curator calibrate` first (no difficulty table)")
        diff = store.difficulty.read(columns=["item_id", "difficulty"])
        df = df.merge(diff, on="item_id", how="left")
        df["difficulty"] = df["difficulty"].fillna("uncalibrated")
    strata = list(by or ["criterion", "template"])
    for spec in bins or []:
        strata.append(add_bins(df, spec))
    missing = [c for c in strata if c not in df.columns]
    if missing:
        raise StageError(f"unknown stratum column(s) {missing}; available: {sorted(df.columns)}")
    return df, strata


def _split_train(df: pd.DataFrame, train_fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(pool, train): a seeded share of *images* set aside, so no image is in both."""
    if train_fraction <= 0:
        return df, df.iloc[0:0]
    h = df["image_id"].map(lambda s: int(s[:8], 16) / 0xFFFFFFFF)
    is_train = ((h + (seed * 0.6180339887) % 1.0) % 1.0) < train_fraction
    return df[~is_train], df[is_train]


def _mix_quotas(pool: pd.DataFrame, by: list[str], n: int, mix: list[float]) -> dict[tuple[str, ...], int]:
    """n per stratum of ``by``, split over the difficulty bins by ``mix`` (largest remainder, sums to n)."""
    bins = ("easy", "moderate", "hard", "tough")
    share = np.array(mix, dtype=float) / sum(mix) * n
    counts = np.floor(share).astype(int)
    for k in np.argsort(-(share - counts), kind="stable")[: n - int(counts.sum())]:
        counts[k] += 1
    keys = {tuple(map(str, k if isinstance(k, tuple) else (k,))) for k in pool.groupby(by, observed=True).groups}
    return {(*k, b): int(c) for k in sorted(keys) for b, c in zip(bins, counts, strict=True)}


def _quotas(project: Project, pool: pd.DataFrame, by: list[str], mode: str, n: int,
            quota: str | None) -> dict[tuple[str, ...], int] | int:
    """Items wanted per stratum: n each (equal), n in total by largest remainder (proportional), or a table."""
    if mode == "equal":
        return n
    if mode == "proportional":
        sizes = pool.groupby(by, observed=True).size()
        share = sizes / sizes.sum() * n
        floor = np.floor(share).astype(int)
        rest = n - int(floor.sum())
        order = (share - floor).sort_values(ascending=False).index[:rest]
        floor.loc[order] += 1
        return {tuple(map(str, k if isinstance(k, tuple) else (k,))): int(v) for k, v in floor.items()}
    if mode == "table":
        if not quota:
            raise StageError("mode 'table' needs a quota table (--quota FILE or published)")
        return _quota_table(quota, by, project)
    raise StageError(f"unknown mode {mode!r}: equal, proportional or table")

