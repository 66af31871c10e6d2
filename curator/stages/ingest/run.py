"""``curator ingest``: folders, label files and HF datasets → the images table.

Output: ``data/images.parquet`` (one row per unique image, see :class:`curator.records.ImageRecord`)
and ``data/ingest_rejects.parquet`` (path, reason, detail). Re-running appends only new files;
bad files are rejected with a reason and never stop the run.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from curator.config import Project
from curator.errors import IngestError
from curator.images import IMAGE_SUFFIXES, REJECT_REASONS, UNSUPPORTED_SUFFIXES, inspect_image
from curator.presets import PRESETS, read_any
from curator.progress import Reporter, reporter_or_null
from curator.stages.ingest.hf import materialize_hf
from curator.store import Store
from curator.workers import die_with_parent


@dataclass
class IngestSummary:
    """What one ingest run did."""

    scanned: int = 0
    ingested: int = 0
    already_present: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)
    total_images: int = 0
    table: str = ""

    def rows(self) -> list[tuple[str, str]]:
        out = [("files scanned", str(self.scanned)), ("ingested (new)", str(self.ingested)),
               ("already in table", str(self.already_present))]
        out += [(f"rejected: {k}", str(v)) for k, v in sorted(self.rejected.items())]
        out += [(f"note: {k}", str(v)) for k, v in sorted(self.notes.items())]
        out.append(("images in table", str(self.total_images)))
        return out


def _within(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
        return True
    except (ValueError, OSError, RuntimeError):
        return False


def _scan_folder(root: Path) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    """Image files under ``root`` as (absolute, relative) pairs, plus rejects for escaping links."""
    found: list[tuple[str, str]] = []
    rejects: list[dict[str, Any]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        d = Path(dirpath)
        for name in list(dirnames):
            sub = d / name
            if sub.is_symlink():
                if not _within(sub, root):
                    rejects.append({"path": sub.relative_to(root).as_posix(), "reason": "outside_root",
                                    "detail": f"directory symlink to {os.readlink(sub)}"})
                dirnames.remove(name)
        dirnames[:] = sorted(n for n in dirnames if not n.startswith("."))
        for name in sorted(filenames):
            p = d / name
            if p.suffix.lower() in UNSUPPORTED_SUFFIXES:
                rejects.append({"path": p.relative_to(root).as_posix(), "reason": "unsupported_format",
                                "detail": f"{p.suffix} images cannot be read here (convert to PNG or JPEG)"})
                continue
            if p.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            rel = p.relative_to(root).as_posix()
            if p.is_symlink() and not _within(p, root):
                rejects.append({"path": rel, "reason": "outside_root", "detail": f"symlink to {os.readlink(p)}"})
                continue
            if p.is_symlink() and not p.exists():
                rejects.append({"path": rel, "reason": "missing", "detail": "broken symlink"})
                continue
            found.append((str(p.resolve()), rel))
    return found, rejects


def image_location(root: Path, rel: str, images_root: Path) -> str:
    """Where later stages find an image: relative to ``images_root`` when inside it, else absolute.

    Stages resolve it as ``images_root / location`` (an absolute location stays absolute), so a
    folder ingested from anywhere works through every stage, and the project stays relocatable
    when its images live under ``images_root``.
    """
    full = (root / rel).resolve()
    try:
        return full.relative_to(images_root.resolve()).as_posix()
    except ValueError:
        return full.as_posix()


def _parse_scale(scale: str | None) -> tuple[float, float] | None:
    if not scale:
        return None
    try:
        lo, hi = (float(x) for x in scale.split(":"))
    except ValueError as exc:
        raise IngestError(f"--scale must look like MIN:MAX (e.g. 1:5), got {scale!r}") from exc
    if hi <= lo:
        raise IngestError(f"--scale {scale!r}: MAX must be greater than MIN")
    return lo, hi


def _label_frame(labels: Path, preset: str | None, path_col: str, score_cols: list[str] | None,
                 scale: str | None) -> tuple[pd.DataFrame, dict[str, tuple[float, float] | None], str, str, str]:
    if preset:
        if preset not in PRESETS:
            raise IngestError(f"unknown preset {preset!r}; known: {', '.join(sorted(PRESETS))}")
        pr = PRESETS[preset]
        df = pr.read(labels)
        scales = dict(pr.scales)
        if score_cols:
            scales = {c: scales.get(c, _parse_scale(scale)) for c in score_cols}
        missing = [c for c in ["path", *scales] if c not in df.columns]
        if missing:
            raise IngestError(f"{labels}: not a {pr.source} label file: missing column(s) {missing}; "
                              f"found {list(df.columns)[:12]}")
        return df, scales, pr.source, pr.license, pr.domain
    df = read_any(labels)
    if path_col not in df.columns:
        raise IngestError(f"{labels}: no path column {path_col!r} (columns: {list(df.columns)[:12]}); "
                          "pass --path-col")
    df = df.rename(columns={path_col: "path"})
    cols = score_cols or []
    bad = [c for c in cols if c not in df.columns]
    if bad:
        raise IngestError(f"{labels}: score column(s) {bad} not found (columns: {list(df.columns)[:12]})")
    sc = _parse_scale(scale)
    return df, {c: sc for c in cols}, labels.stem, "", ""


def _score_fields(row: dict[str, Any], scales: dict[str, tuple[float, float] | None],
                  observed: dict[str, tuple[float, float]]) -> dict[str, Any]:
    scores: dict[str, Any] = {}
    for col, sc in scales.items():
        v = row.get(col)
        if v is None or (isinstance(v, float) and pd.isna(v)):
            continue
        lo, hi = sc if sc is not None else observed[col]
        val = float(v)
        scores[col] = {"value": val, "min": lo, "max": hi, "norm": 100.0 * (val - lo) / (hi - lo) if hi > lo else 0.0,
                       "scale": "declared" if sc is not None else "observed_minmax"}
    out: dict[str, Any] = {"scores": json.dumps(scores)}
    if scores:
        name = next(iter(scores))
        s = scores[name]
        out.update(score=s["value"], score_name=name, score_min=s["min"], score_max=s["max"], score_norm=s["norm"])
    return out


def ingest(project: Project, source: str | Path | None = None, *, labels: str | Path | None = None,
           preset: str | None = None, path_col: str = "path", score_cols: list[str] | None = None,
           scale: str | None = None, source_name: str | None = None, license: str | None = None,
           hf_image_col: str = "image", hf_split: str | None = None, score_domain: str | None = None,
           workers: int | None = None, runner: str = "local", reporter: Reporter | None = None) -> IngestSummary:
    """Build or extend the images table.

    Args:
        project: the benchmark project.
        source: an images folder (default: the project's ``images_root``) or ``hf:<name-or-path>``.
        labels: a label file (CSV, TSV, JSONL, JSON, Parquet, Excel; or a preset's own format)
            whose paths are relative to the images folder. Without it, every image file is taken.
        preset: a known label format (``koniq10k``, ``spaq``, ``kadid10k``, ``ava``, ``pipal``).
        path_col: column holding image paths (generic label files).
        score_cols: score columns; the first is the primary score.
        scale: native scale ``MIN:MAX`` of the score columns (generic files); omitted = observed range.
        source_name: provenance name stored per image (default: folder or preset dataset name).
        license: licence string stored per image.
        hf_image_col: image column of an HF dataset source.
        hf_split: split of an HF dataset source.
        score_domain: the taxonomy domain the scores rate (``iqa``, ``iaa``, ``ista``); a preset sets
            its own. It decides the VR configuration and prompt of the exported ratings.
        workers: decoding processes (default: all cores).
        runner: ``local`` (a process pool) or ``ray`` (Ray Data tasks on ``ray.address``/``RAY_ADDRESS``, else
            a local instance; for folders every node sees). The tables are the same either way.
        reporter: progress events.
    """
    if runner not in ("local", "ray"):
        from curator.errors import UsageError

        raise UsageError(f"--runner {runner!r}: use local or ray")
    src = _source(project, source, labels, preset, path_col, score_cols, scale, source_name, license, hf_image_col,
                  hf_split, score_domain)
    store = Store(project)
    store.fold_image_parts()  # a killed run's committed chunks first: resume, never redo
    existing = store.load_images() if store.images.exists() else pd.DataFrame()
    known_files = set(existing["file"]) if len(existing) else set()
    known_ids = dict(zip(existing["image_id"], existing["file"], strict=True)) if len(existing) else {}
    if src.frame is not None:
        label_rows, todo, rejects, notes = _labelled_files(src.frame, src.scales, src.root, labels)
    else:
        (todo, rejects), label_rows, notes = _scan_folder(src.root), {}, Counter()
    summary = IngestSummary(scanned=len(todo) + len(rejects), notes=notes)
    fresh = [(a, r) for a, r in todo if image_location(src.root, r, project.images_root) not in known_files]
    summary.already_present = len(todo) - len(fresh)
    base = {"root": store.root_text(src.root), "source": src.name, "license": src.license}
    rep = reporter_or_null(reporter)
    rep.start("ingest", len(fresh))
    chunk: list[dict[str, Any]] = []
    for res in _inspect_all(fresh, workers or os.cpu_count() or 1, runner, project.config.ray.address):
        rep.advance(1)
        if not res.pop("ok"):
            rejects.append(res)
        elif res["image_id"] in known_ids:
            rejects.append({"path": res["path"], "reason": "duplicate",
                            "detail": f"same bytes as {known_ids[res['image_id']]}"})
        else:
            known_ids[res["image_id"]] = res["path"]
            chunk.append(_image_row(res, label_rows.get(res["path"], {}), src.scales, base, src.domain,
                                    image_location(src.root, res["path"], project.images_root)))
            summary.ingested += 1
            if len(chunk) >= CHUNK:
                store.commit_image_part(chunk)
                chunk = []
    rep.finish()
    store.commit_image_part(chunk)
    summary.total_images = store.fold_image_parts()
    _write_rejects(store, rejects)
    summary.rejected = Counter(r["reason"] for r in rejects)
    summary.table = str(store.images.path)
    return summary


@dataclass
class _Source:
    """Where images come from and what the label file says about them."""

    root: Path
    frame: pd.DataFrame | None
    scales: dict[str, tuple[float, float] | None]
    name: str
    license: str
    domain: str


def _source(project: Project, source: str | Path | None, labels: str | Path | None, preset: str | None,
            path_col: str, score_cols: list[str] | None, scale: str | None, source_name: str | None,
            license: str | None, hf_image_col: str, hf_split: str | None, score_domain: str | None) -> _Source:
    """Resolve the images folder (or materialise an HF dataset) and read the label file, if any."""
    frame: pd.DataFrame | None = None
    scales: dict[str, tuple[float, float] | None] = {}
    src_name, lic = source_name or "", license or ""
    if isinstance(source, str) and source.startswith("hf:"):
        root, frame = materialize_hf(project, source[3:], hf_image_col, hf_split)
        src_name = src_name or source[3:]
        scales = {c: _parse_scale(scale) for c in (score_cols or [])}
    else:
        root = Path(source).resolve() if source else project.images_root
        if not root.is_dir():
            raise IngestError(f"{root}: not a folder of images")
        src_name = src_name or root.name
    domain = score_domain or ""
    if labels is not None:
        frame, scales, ds_name, ds_lic, ds_domain = _label_frame(Path(labels), preset, path_col, score_cols, scale)
        src_name = source_name or ds_name
        lic = license or ds_lic
        domain = score_domain or ds_domain
    if domain:
        known = [d.id for d in project.load_taxonomy().domains]
        if domain not in known:
            raise IngestError(f"--score-domain {domain!r} is not a domain of the taxonomy ({', '.join(known)})")
    return _Source(root.resolve(), frame, scales, src_name, lic, domain)


CHUNK = 256
"""Images per committed chunk: a killed ingest keeps everything up to its last chunk."""


def _image_row(res: dict[str, Any], lab: dict[str, Any], scales: dict[str, Any], base: dict[str, Any], domain: str,
               file: str) -> dict[str, Any]:
    meta = {k: v for k, v in lab.items() if k not in ("path", "scores", "score", "score_name", "score_min",
                                                        "score_max", "score_norm", "_row") and k not in scales}
    if res.get("frames", 1) > 1:
        meta["frames_note"] = f"{res['frames']} frames; only the first is used"
    return {**res, **base, "file": file, "score": lab.get("score"), "score_name": lab.get("score_name", ""),
            "score_min": lab.get("score_min"), "score_max": lab.get("score_max"), "score_norm": lab.get("score_norm"),
            "scores": lab.get("scores", "{}"), "score_domain": domain if lab.get("score") is not None else "",
            "meta": json.dumps(meta, default=str)}


def _inspect_all(files: list[tuple[str, str]], workers: int, runner: str = "local", address: str | None = None) -> Any:
    """Inspect files in worker processes (or Ray tasks), yielding results in order."""
    if runner == "ray":
        from curator.stages.ingest.on_ray import inspect_on_ray

        yield from inspect_on_ray(files, address)
        return
    if not files:
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=die_with_parent) as pool:
        yield from pool.map(inspect_image, [a for a, _ in files], [r for _, r in files], chunksize=8)


def _labelled_files(frame: pd.DataFrame, scales: dict[str, tuple[float, float] | None], root: Path,
                    labels: str | Path | None) -> tuple[dict[str, dict[str, Any]], list[tuple[str, str]],
                                                        list[dict[str, Any]], Counter[str]]:
    """Label rows by relative path, files to inspect, rejects (bad scores, conflicts, missing) and notes."""
    rejects: list[dict[str, Any]] = []
    notes: Counter[str] = Counter()
    frame = frame.reset_index(drop=True)
    frame["_row"] = frame.index + 2  # the line in a CSV with a header
    bad = _bad_scores(frame, scales, labels)
    for rel, why in bad.items():
        rejects.append({"path": rel, "reason": "bad_label", "detail": why})
    good = frame[~frame["path"].astype(str).isin(bad)]
    finite = {c: good[c].astype(float) for c in scales}
    observed = {c: (float(v.min()), float(v.max())) for c, v in finite.items() if scales[c] is None and len(v)}
    label_rows: dict[str, dict[str, Any]] = {}
    todo: list[tuple[str, str]] = []
    for path, rows in good.groupby(good["path"].astype(str), sort=False):
        rel = path.replace("\\", "/")
        if len(rows) > 1:
            distinct = rows[list(scales)].drop_duplicates() if scales else rows.iloc[:1]
            if len(distinct) > 1:
                rejects.append({"path": rel, "reason": "conflicting_labels", "detail": f"{labels}: rows "
                                f"{', '.join(map(str, rows['_row']))} give different scores for this image"})
                continue
            notes["duplicate label rows with equal scores (one kept)"] += len(rows) - 1
        row = rows.iloc[0].to_dict()
        p = root / rel
        if not _within(p, root):
            rejects.append({"path": rel, "reason": "outside_root", "detail": f"resolves to {p.resolve()}"})
            continue
        if not p.exists():
            rejects.append({"path": rel, "reason": "missing", "detail": REJECT_REASONS["missing"]})
            continue
        rel = p.resolve().relative_to(root).as_posix()
        label_rows[rel] = {**row, **_score_fields(row, scales, observed)}
        todo.append((str(p.resolve()), rel))
    return label_rows, todo, rejects, notes


def _bad_scores(frame: pd.DataFrame, scales: dict[str, Any], labels: str | Path | None) -> dict[str, str]:
    """path → why its score cannot be used (not a number, not finite), naming the file, line and column."""
    import numpy as np

    bad: dict[str, str] = {}
    for col in scales:
        raw = frame[col]
        num = pd.to_numeric(raw, errors="coerce")
        wrong = (raw.notna() & num.isna()) | np.isinf(num.fillna(0.0))
        for i in frame.index[wrong]:
            bad.setdefault(str(frame.at[i, "path"]), f"{labels}:{frame.at[i, '_row']}: {col} = {raw[i]!r} is not "
                                                     "a finite number")
        frame[col] = num
    return bad


def _write_rejects(store: Store, rejects: list[dict[str, Any]]) -> None:
    t = store.ingest_rejects
    old = t.read() if t.exists() else pd.DataFrame(columns=["path", "reason", "detail"])
    new = pd.DataFrame(rejects, columns=["path", "reason", "detail"])
    t.write(pd.concat([old[~old["path"].isin(new["path"])], new], ignore_index=True))
