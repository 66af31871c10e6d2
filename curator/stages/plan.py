"""``curator plan``: decide the work items (image × criterion × template) before spending money.

Quotas are per (criterion, template) cell; images are dealt to cells least-used first with a
seeded tie-break, so items spread over images and no image exceeds ``per_image_cap``. The plan is
a table (``data/plan.jsonl``); ``generate`` runs it and, being content-addressed, never repeats a
finished item when the plan is rebuilt or extended.
"""

from __future__ import annotations

import fnmatch
import heapq
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from curator.config import Project
from curator.errors import StageError, UsageError
from curator.records import canonical_json, sha256_hex
from curator.store import Store


@dataclass
class PlanSummary:
    work_items: int = 0
    images: int = 0
    cells: int = 0
    by_criterion: Counter[str] = field(default_factory=Counter)
    by_template: Counter[str] = field(default_factory=Counter)
    shortfall: dict[str, int] = field(default_factory=dict)
    unanswerable: dict[str, str] = field(default_factory=dict)
    estimate: dict[str, Any] = field(default_factory=dict)
    table: str = ""


def _load_quota_file(path: Path) -> dict[str, int]:
    """Per-criterion targets from YAML/JSON ``{criterion_path: n}`` or CSV ``criterion,n``."""
    import yaml

    if path.suffix == ".csv":
        import pandas as pd

        df = pd.read_csv(path)
        return {str(r[0]): int(r[1]) for r in df.itertuples(index=False)}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(k): int(v) for k, v in data.items()}


def plan(project: Project, *, domain: list[str] | None = None, criteria: list[str] | None = None,
         templates: list[str] | None = None, per_cell: int = 10, quota: str | None = None,
         per_image_cap: int = 8, seed: int | None = None, backend: str = "model",
         estimate_role: str | None = "generator") -> PlanSummary:
    """Write ``data/plan.jsonl`` and return counts (and a cost estimate when a generator is configured).

    Args:
        domain: keep criteria of these domains (``iaa``, ``iqa``, ``ista``).
        criteria: keep criteria whose path id matches one of these globs (``iqa/*``).
        templates: keep only these question templates.
        per_cell: items per (criterion, template) cell.
        quota: ``published`` (the published per-criterion counts, split over the criterion's
            templates) or a YAML/JSON/CSV file of per-criterion targets; overrides ``per_cell``.
        per_image_cap: at most this many work items per image.
        seed: tie-break seed (default: the project's).
        backend: ``synthetic`` deals each cell only images whose synth labels answer it, and
            reports cells it cannot answer as a shortfall with the reason.
        estimate_role: model role for the cost estimate; None for none.
    """
    _check_args(per_cell, per_image_cap, templates, quota, backend)
    tax = project.load_taxonomy()
    images = Store(project).load_images()
    if images.empty:
        raise StageError("the images table is empty; run `curator ingest` first")
    crits = [c for c in tax.criteria() if (not domain or c.domain in domain)
             and (not criteria or any(fnmatch.fnmatch(c.path, g) for g in criteria))]
    if not crits:
        raise StageError(f"no criterion matches domain={domain} criteria={criteria}")
    targets = _targets(crits, templates, per_cell, quota)
    summary = PlanSummary(images=len(images), cells=len(targets))
    eligible = _synthetic_eligibility(images, tax) if backend == "synthetic" else None
    rows = _deal(images, targets, {c.path: c for c in crits}, eligible, per_image_cap,
                 project.config.seed if seed is None else seed, summary)
    if not rows:
        raise StageError("the plan would hold no work items (every cell is empty or unanswerable: "
                         f"{dict(list(summary.unanswerable.items())[:3])}); the previous plan is kept")
    Store(project).plan.write(rows)
    summary.work_items = len(rows)
    summary.by_criterion = Counter(r["criterion"] for r in rows)
    summary.by_template = Counter(r["template"] for r in rows)
    summary.table = str(Store(project).plan.path)
    if estimate_role and getattr(project.config.models, estimate_role, None) is not None and rows:
        from curator.stages.common.qa_prompt import estimate_cost

        summary.estimate = estimate_cost(project, rows, role=estimate_role)
    return summary


def _check_args(per_cell: int, per_image_cap: int, templates: list[str] | None, quota: str | None,
                backend: str) -> None:
    from curator.taxonomy import TEMPLATES

    if per_cell < 1 or per_image_cap < 1:
        raise UsageError(f"--per-cell ({per_cell}) and --per-image-cap ({per_image_cap}) must be at least 1")
    unknown = [t for t in templates or [] if t not in TEMPLATES]
    if unknown:
        raise UsageError(f"--template {unknown}: unknown; use {', '.join(TEMPLATES)}")
    if quota and quota != "published" and not Path(quota).is_file():
        raise UsageError(f"--quota {quota}: no such file (or use 'published')")
    if backend not in ("model", "synthetic"):
        raise UsageError(f"--backend {backend!r}: use model or synthetic")


def _targets(crits: list[Any], templates: list[str] | None, per_cell: int,
             quota: str | None) -> dict[tuple[str, str], int]:
    """Items wanted per (criterion, template) cell: ``per_cell``, or a per-criterion quota spread over templates."""
    per_crit: dict[str, int] | None = None
    if quota == "published":
        per_crit = {c.path: c.published_items or 0 for c in crits}
    elif quota:
        per_crit = _load_quota_file(Path(quota))
    targets: dict[tuple[str, str], int] = {}
    for c in crits:
        tpls = [t for t in c.templates if not templates or t in templates]
        for i, t in enumerate(tpls):
            if per_crit is not None:
                n = per_crit.get(c.path, 0)
                targets[(c.path, t)] = n // len(tpls) + (1 if i < n % len(tpls) else 0)
            else:
                targets[(c.path, t)] = per_cell
    return targets


def _deal(images: pd.DataFrame, targets: dict[tuple[str, str], int], by_path: dict[str, Any],
          eligible: Any, per_image_cap: int, seed: int, summary: PlanSummary) -> list[dict[str, Any]]:
    """Deal images to cells in a seeded random order, least-loaded images first, at most ``per_image_cap`` each.

    With the synthetic backend only images whose labels answer a cell are dealt to it; a cell none
    can answer is a shortfall with its reason.
    """
    rng = np.random.default_rng(seed)
    image_ids = list(images["image_id"])
    paths = dict(zip(images["image_id"], images["file"], strict=True))
    load: Counter[str] = Counter()
    rows: list[dict[str, Any]] = []
    cells = list(targets)
    rng.shuffle(cells)
    for cpath, tpl in cells:
        want = targets[(cpath, tpl)]
        if want <= 0:
            continue
        ties = rng.random(len(image_ids))
        ok = eligible(cpath, tpl) if eligible else None
        if ok is not None and isinstance(ok, str):
            summary.shortfall[f"{cpath}:{tpl}"] = want
            summary.unanswerable[f"{cpath}:{tpl}"] = ok
            continue
        if ok is not None:
            chosen = _deal_balanced(ok, want, load, per_image_cap, ties_of=dict(zip(image_ids, ties, strict=True)))
        else:
            heap = [(load[i], ties[k], i) for k, i in enumerate(image_ids) if load[i] < per_image_cap]
            chosen = heapq.nsmallest(want, heap)
        if len(chosen) < want:
            summary.shortfall[f"{cpath}:{tpl}"] = want - len(chosen)
        c = by_path[cpath]
        for _, _, img in chosen:
            load[img] += 1
            rows.append({"work_id": "w" + sha256_hex(canonical_json([img, cpath, tpl, 0]))[:23], "image_id": img,
                         "image_path": paths[img], "domain": c.domain, "category": c.category, "criterion": cpath,
                         "template": tpl, "slot": 0})
    rows.sort(key=lambda r: (r["criterion"], r["template"], r["image_path"]))
    return rows


def _deal_balanced(ok: dict[str, tuple[str, str]], want: int, load: Counter[str], cap: int,
                   ties_of: dict[str, float]) -> list[tuple[int, float, str]]:
    """Images for one synthetic cell: an equal share per reference, answer keys laid end to end.

    Reference r takes the keys ``start_r, start_r + 1, …`` (mod K) where ``start_r`` is the number of
    items dealt before it, so the whole cell runs through the keys in order (balanced to ±1) and
    every reference holds a consecutive, balanced slice: any union of references (a split) stays
    balanced too. A reference that runs out of a key gives the next key; a shortfall is filled from
    whichever references still have images.
    """
    pools: dict[str, dict[str, list[str]]] = {}
    for img, (ref, key) in ok.items():
        if load[img] < cap:
            pools.setdefault(ref, {}).setdefault(key, []).append(img)
    if not pools:
        return []
    keys = sorted({k for per in pools.values() for k in per})
    for per in pools.values():
        for lst in per.values():
            lst.sort(key=lambda i: (load[i], ties_of[i]))
    refs = sorted(pools, key=lambda r: min(ties_of[i] for lst in pools[r].values() for i in lst))
    chosen: list[tuple[int, float, str]] = []
    dealt: Counter[str] = Counter()

    def take(per: dict[str, list[str]], at: int) -> bool:
        key = keys[at % len(keys)]
        if not per.get(key):  # this reference lacks the key: give the rarest key it has so far
            have = [k for k in keys if per.get(k)]
            if not have:
                return False
            key = min(have, key=lambda k: (dealt[k], (keys.index(k) - at) % len(keys)))
        img = per[key].pop(0)
        dealt[key] += 1
        chosen.append((load[img], ties_of[img], img))
        return True

    base, extra = divmod(want, len(refs))
    for r_i, ref in enumerate(refs):
        for _ in range(base + (1 if r_i < extra else 0)):
            if not take(pools[ref], len(chosen)):
                break
    while len(chosen) < want and any(take(pools[ref], len(chosen)) for ref in refs):
        pass
    return chosen


def _synthetic_eligibility(images: Any, tax: Any) -> Any:
    """For the synthetic backend: cell -> {image id: (reference, answer key)} it can answer, or a reason."""
    from curator.stages.common.answer_key import answer_key, answerable

    metas = {r.image_id: json.loads(r.meta or "{}") for r in images.itertuples()}

    def check(cpath: str, tpl: str) -> dict[str, tuple[str, str]] | str:
        reasons: Counter[str] = Counter()
        ok: dict[str, tuple[str, str]] = {}
        for img, lab in metas.items():
            why = answerable(cpath, tpl, lab, tax)
            if why is None:
                ok[img] = (str(lab.get("ref_id", img)), answer_key(cpath, tpl, lab))
            else:
                reasons[why] += 1
        return ok if ok else (reasons.most_common(1)[0][0] if reasons else "no images")

    return check
