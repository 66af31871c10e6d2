"""``curator synth``: reference images + known distortions → images with exact answers.

The way KADID-10k and DepictQA obtained exact labels: degrade a clean reference with a distortion
of known type and level, optionally confined to one region. Every output is ingested with its
reference id, distortion, family, level, severity, region and a synthetic quality score, so the
``synthetic`` generator backend can write IQA questions whose answers are right by construction.

Calibration: each distortion has four levels. Levels 1–2 are "Slight" (visible on inspection),
levels 3–4 "Obvious"; the gap between level 2 and 3 is deliberately wide so the two severities
differ visibly. Strengths scale with image size (``k = max(1, longest side / 512)``). The
parameters are in :data:`DISTORTIONS` and documented in ``docs/synth.md``; a test checks that a
measured statistic moves monotonically with the level for every distortion.
"""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from curator.config import Project
from curator.distortions import (
    CLEAN_VARIANTS,
    DISTORTIONS,
    LEVELS,
    REGIONS,
    VISIBLE_MAX_PSNR,
    clean_variant,
    distort,
    region_psnr,
    severity_of,
)
from curator.errors import CuratorError
from curator.images import IMAGE_SUFFIXES, analysis_image
from curator.progress import Reporter, reporter_or_null
from curator.store import Store
from curator.workers import die_with_parent

# ---------------------------------------------------------------------------------------------- run
SKIMAGE_SAMPLES = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field",
                   "camera", "brick", "grass", "gravel", "coins", "moon")


def sample_references(limit: int | None = None) -> list[tuple[str, Image.Image]]:
    """The sample photographs scikit-image ships (no download), as RGB images."""
    try:
        import skimage.data
    except ImportError as exc:
        raise CuratorError("the scikit-image samples need the synth extra: pip install 'curator-bench[synth]'") from exc
    out = []
    for name in SKIMAGE_SAMPLES[:limit]:
        arr = getattr(skimage.data, name)()
        out.append((name, analysis_image(Image.fromarray(arr)).convert("RGB")))
    return out


def _is_grey(path: Path) -> bool:
    a = np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)
    return bool(np.abs(a[..., 0] - a[..., 1]).max() <= 2 and np.abs(a[..., 1] - a[..., 2]).max() <= 2)


def _job(args: tuple[str, str, str, int, str, int, str]) -> dict[str, Any]:
    ref_path, ref_id, distortion, level, region, seed, out_path = args
    d = DISTORTIONS.get(distortion)
    row: dict[str, Any] = {
        "path": out_path, "ref_id": ref_id, "distortion": distortion, "distortion_name": d.name if d else "none",
        "family": d.family if d else "none", "level": level, "severity": severity_of(level),
        "region": region if d else "none", "synthetic": True, "visible": True,
        "synthetic_quality": round(100.0 * (1 - level / (len(LEVELS) + 1)), 3)}
    if d is None:  # an undistorted variant; ``region`` names it
        row["variant"] = region
        if region != "original" and not Path(out_path).exists():
            clean_variant(Image.open(ref_path).convert("RGB"), region).save(out_path, "PNG", compress_level=1)
        row["region"] = "none"
        return row
    ref = Image.open(ref_path).convert("RGB")
    out = Path(out_path)
    img = Image.open(out).convert("RGB") if out.exists() else distort(ref, distortion, level, region, seed)
    row["region_psnr"] = round(region_psnr(ref, img, region), 2)
    if severity_of(level) == "Slight" and row["region_psnr"] > VISIBLE_MAX_PSNR:
        row["visible"] = False  # not written: a "Slight" label on an invisible change would be a lie
        out.unlink(missing_ok=True)
        return row
    if not out.exists():  # names carry every parameter and the seed
        img.save(out_path, "PNG", compress_level=1)
    return row


@dataclass
class SynthSummary:
    references: int = 0
    images: int = 0
    invisible: int = 0
    by_distortion: Counter[str] | None = None
    ingested: int = 0
    labels: str = ""

    def rows(self) -> list[tuple[str, str]]:
        rows = [("references", str(self.references)), ("images written", str(self.images)),
                ("left out: Slight change below the visibility floor", str(self.invisible)),
                ("ingested (new)", str(self.ingested)), ("labels", self.labels)]
        rows += [(f"  {k}", str(v)) for k, v in sorted((self.by_distortion or {}).items())]
        return rows


def synth(project: Project, references: str | Path | None = None, *, distortions: list[str] | None = None,
          levels: list[int] | None = None, regions: list[str] | None = None, whole_fraction: float = 0.4,
          max_references: int | None = None, seed: int = 0, workers: int | None = None,
          reporter: Reporter | None = None) -> SynthSummary:
    """Write degraded copies of reference images and ingest them with exact labels.

    Args:
        project: the benchmark project; images go to ``<images_root>/synth/``.
        references: a folder of reference images; default: scikit-image's sample photographs.
        distortions: distortion ids (default: all of :data:`DISTORTIONS`).
        levels: levels 1–4 to produce (default: all).
        regions: regions a distortion may be confined to (default: all six); one is drawn per image.
        whole_fraction: probability that an image is distorted everywhere rather than in one region.
        max_references: use at most this many references.
        seed: fixes regions and noise, so the same seed gives the same bytes.
        workers: processes (default: all cores).
    """
    from curator.stages.ingest.run import ingest

    dist_ids = distortions or list(DISTORTIONS)
    unknown = [d for d in dist_ids if d not in DISTORTIONS]
    if unknown:
        raise CuratorError(f"unknown distortion(s) {unknown}; known: {', '.join(DISTORTIONS)}")
    lvls = levels or list(LEVELS)
    if any(lv not in LEVELS for lv in lvls):
        raise CuratorError(f"levels must be among {LEVELS}, got {lvls}")
    out_dir = project.images_root / "synth"
    (out_dir / "refs").mkdir(parents=True, exist_ok=True)
    refs = _references(out_dir / "refs", references, max_references)
    jobs = _jobs(refs, out_dir, dist_ids, lvls, regions or list(REGIONS), whole_fraction, seed)
    rows, invisible = _run_jobs(project, jobs, workers, reporter_or_null(reporter))
    table = Store(project).synth_labels
    table.write(rows)
    ing = ingest(project, project.images_root, labels=table.path, score_cols=["synthetic_quality"], scale="0:100",
                 source_name="synthetic", license="derived from the reference images' licence", score_domain="iqa",
                 workers=workers)
    return SynthSummary(references=len(refs), images=len(rows), invisible=invisible, ingested=ing.ingested,
                        labels=str(table.path), by_distortion=Counter(r["distortion"] for r in rows))


def _references(ref_dir: Path, references: str | Path | None, max_references: int | None) -> list[tuple[str, Path]]:
    """(reference id, PNG copy under ``ref_dir``) for scikit-image's samples or a folder of the user's."""
    refs: list[tuple[str, Path]] = []
    if references is None:
        for name, img in sample_references(max_references):
            p = ref_dir / f"{name}.png"
            if not p.exists():
                img.save(p, "PNG")
            refs.append((name, p))
    else:
        folder = Path(references)
        if not folder.is_dir():
            raise CuratorError(f"{folder}: not a folder of reference images")
        files = sorted(f for f in folder.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES)[:max_references]
        for f in files:
            p = ref_dir / f"{f.stem}.png"
            if not p.exists():
                analysis_image(Image.open(f)).convert("RGB").save(p, "PNG")
            refs.append((f.stem, p))
    if not refs:
        raise CuratorError("no reference images found")
    return refs


def _jobs(refs: list[tuple[str, Path]], out_dir: Path, dist_ids: list[str], lvls: list[int], regs: list[str],
          whole_fraction: float, seed: int) -> list[tuple[str, str, str, int, str, int, str]]:
    """One job per output image: clean variants of each reference, and each distortion × level in a seeded region."""
    rng = np.random.default_rng(seed)
    jobs = []
    for ref_id, p in refs:
        for variant in CLEAN_VARIANTS:
            target = p if variant == "original" else out_dir / f"{ref_id}__clean_{variant}__s{seed}.png"
            jobs.append((str(p), ref_id, "reference", 0, variant, seed, str(target)))
        grey = _is_grey(p)
        for d in dist_ids:
            if grey and DISTORTIONS[d].family == "saturation":
                continue  # a no-op on a grey image: its label would be a lie
            for lv in lvls:
                region = "whole" if (rng.random() < whole_fraction or len(regs) == 1) else str(
                    rng.choice([r for r in regs if r != "whole"] or ["whole"]))
                if region not in regs:
                    region = regs[0]
                out = out_dir / f"{ref_id}__{d}__L{lv}__{region}__s{seed}.png"
                jobs.append((str(p), ref_id, d, lv, region, seed, str(out)))
    return jobs


def _run_jobs(project: Project, jobs: list[tuple[str, str, str, int, str, int, str]], workers: int | None,
              rep: Reporter) -> tuple[list[dict[str, Any]], int]:
    """Write the images in worker processes; (label rows of the visible ones, how many were invisible)."""
    rep.start("synth", len(jobs))
    rows, invisible = [], 0
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count(), initializer=die_with_parent) as pool:
        for row in pool.map(_job, jobs, chunksize=4):
            rep.advance(1)
            if not row.pop("visible"):
                invisible += 1
                continue
            row["path"] = Path(row["path"]).relative_to(project.images_root).as_posix()
            rows.append(row)
    rep.finish()
    return rows, invisible
