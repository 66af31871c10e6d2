"""``curator eval``: score a model (or a baseline) on an exported benchmark.

VQA: the official prompt; the reply's letter by a robust extractor *and* by UniPercept's
first-character rule, side by side; accuracy overall and per domain, category, criterion and
template; optional CircularEval (right under every rotation of the options); a random-guess
baseline. A ``--text-only`` run of the same model gives multimodal gain (MG = S_v − S_wv) and,
with the blind answerers' hit rate as the text-only LLM score S_t, leakage (ML = max(0, S_wv − S_t)).
VR: the paper's 0–100 prompt, SRCC and PLCC per dataset and per domain, invalid replies counted.
Results: ``<benchmark>/eval/<run>-<split>/`` (predictions, scores, markdown table; see :class:`curator.store.EvalRun`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from curator._quiet import quiet
from curator.config import Project
from curator.engine.client import Engine, Request, Result
from curator.engine.parsing import extract_letter, first_char_letter
from curator.engine.runner import check_run_args as _check_run_args
from curator.errors import StageError
from curator.locking import exclusive
from curator.progress import Reporter
from curator.prompts import render
from curator.records import LETTERS, EvalScores, options_text
from curator.store import EvalRun

GROUPS = ("domain", "category", "criterion", "template")


@dataclass
class EvalSummary:
    run: str = ""
    out: str = ""
    vqa: dict[str, Any] = field(default_factory=dict)
    vr: dict[str, Any] = field(default_factory=dict)
    gain: dict[str, float] = field(default_factory=dict)
    markdown: str = ""
    unfinished: int = 0
    """Requests without a reply (network failures): scored wrong here; rerun to complete them."""


def load_split(bench: Path, kind: str, split: str) -> pd.DataFrame:
    """An exported split as a frame with class labels decoded to names and raw image bytes."""
    import datasets

    path = bench / "hf" / kind
    if not path.exists():
        raise StageError(f"{path} not found: is {bench} a folder written by `curator export`?")
    dd = datasets.load_from_disk(str(path))
    if split not in dd:
        raise StageError(f"{bench} has no {kind} split {split!r} (have {list(dd)})")
    ds = dd[split].cast_column("image", datasets.Image(decode=False))
    df = ds.to_pandas()
    for col, feat in ds.features.items():
        if isinstance(feat, datasets.ClassLabel):
            df[col] = df[col].map(lambda i, f=feat: f.int2str(int(i)))
    return df


def _image_file(bench: Path, row: dict[str, Any]) -> Path:
    img = row["image"]
    suffix = Path(img.get("path") or "x.png").suffix or ".png"
    p = bench / "eval" / "_images" / f"{row['image_id']}{suffix}"
    if not p.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(img["bytes"])
    return p


def _rotations(options: list[str], answer: str, circular: bool) -> list[tuple[list[str], str]]:
    n = len(options)
    if not circular:
        return [(options, answer)]
    a = LETTERS.index(answer)
    return [(options[k:] + options[:k], LETTERS[(a - k) % n]) for k in range(n)]


def accuracy_tables(pred: pd.DataFrame, col: str) -> dict[str, Any]:
    """Overall and per-group accuracy (in %) of boolean column ``col``."""
    out: dict[str, Any] = {"overall": 100.0 * float(pred[col].mean()) if len(pred) else math.nan, "n": len(pred)}
    for g in GROUPS:
        out[g] = {str(k): round(100.0 * float(v), 2) for k, v in pred.groupby(g)[col].mean().items()}
    return out


def vr_metrics(df: pd.DataFrame, logistic: bool = False) -> dict[str, Any]:
    """SRCC/PLCC per dataset over valid predictions, averaged per domain; invalid replies counted."""
    from scipy.stats import pearsonr, spearmanr

    res: dict[str, Any] = {"datasets": {}, "domains": {}}
    for ds_name, part in df.groupby("dataset"):
        valid = part[part["pred"].notna()]
        m = {"n": len(part), "invalid": int(part["pred"].isna().sum()), "srcc": math.nan, "plcc": math.nan}
        if len(valid) >= 3 and valid["pred"].nunique() > 1 and valid["gt_score"].nunique() > 1:
            x, y = valid["pred"].to_numpy(float), valid["gt_score"].to_numpy(float)
            m["srcc"] = float(spearmanr(x, y).statistic)
            m["plcc"] = float(pearsonr(_logistic_fit(x, y) if logistic else x, y).statistic)
        res["datasets"][str(ds_name)] = m
        dom = str(part["domain"].iloc[0])
        res["domains"].setdefault(dom, []).append(m)
    def mean(values: list[float]) -> float:
        valid = [v for v in values if not math.isnan(v)]
        return float(np.mean(valid)) if valid else math.nan

    res["domains"] = {d: {"srcc": mean([m["srcc"] for m in ms]), "plcc": mean([m["plcc"] for m in ms])}
                      for d, ms in res["domains"].items()}
    return res


def _logistic_fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The 4-parameter logistic mapping common in IQA before PLCC; falls back to identity."""
    from scipy.optimize import curve_fit

    def f(t: np.ndarray, b1: float, b2: float, b3: float, b4: float) -> np.ndarray:
        return (b1 - b2) / (1 + np.exp(-(t - b3) / (abs(b4) + 1e-6))) + b2

    try:
        p, _ = curve_fit(f, x, y, p0=[y.max(), y.min(), float(np.mean(x)), float(np.std(x)) or 1.0], maxfev=10000)
        return f(x, *p)
    except (RuntimeError, ValueError):
        return x


_INT = re.compile(r"-?\d+(?:\.\d+)?")


def parse_score(reply: str) -> float | None:
    m = _INT.search(reply or "")
    if not m:
        return None
    v = float(m.group())
    return v if 0 <= v <= 100 else None


@quiet
@exclusive("eval")
def evaluate(project: Project, benchmark: str | Path | None = None, *, role: str = "eval", baseline: str | None = None,
             split: str = "test", circular: bool = False, text_only: bool = False, tasks: str = "vqa,vr",
             plcc_logistic: bool = False, limit: int | None = None, seed: int | None = None,
             max_cost: float | None = None, unipercept: Sequence[str | Path] | None = None,
             unipercept_root: str | Path | None = None, wait: bool = False,
             reporter: Reporter | None = None) -> EvalSummary:
    """Evaluate a model role, or a baseline (``random``; ``statistic`` for VR), on a benchmark.

    Args:
        benchmark: an exported folder (default: ``export/<project name>``).
        role: model role to evaluate (ignored with ``baseline``).
        baseline: ``random`` (needs no model; VQA and VR) or ``statistic`` (VR from image sharpness).
        split: split to evaluate.
        circular: CircularEval — an item counts only if right under every rotation of its options.
        text_only: send no image (for multimodal gain and leakage).
        tasks: ``vqa``, ``vr`` or both.
        plcc_logistic: fit a 4-parameter logistic before PLCC.
        unipercept: official UniPercept files to evaluate instead of an export (VQA
            ``UniPercept-Bench-<DOM>*.json`` and/or VR ``<DATASET>.json`` with ``image/`` beside it);
            they are imported once into ``export/imported-<name>/``.
        unipercept_root: the folder the VQA files' image paths are relative to (a UniPercept checkout).
        wait: when another model-calling run holds the project, wait for it instead of failing.
    """
    _check_run_args(limit, max_cost)
    if unipercept:
        bench = _import_unipercept(project, [Path(f) for f in unipercept], unipercept_root)
    else:
        bench = Path(benchmark) if benchmark else project.export_dir / project.config.name
    seed = project.config.seed if seed is None else seed
    kinds = [t.strip() for t in tasks.split(",") if t.strip()]
    if baseline:
        run = f"baseline-{baseline}" + ("-circular" if circular else "")
    else:
        ep = project.endpoint(role)
        run = ep.model.replace("/", "__") + ("-text-only" if text_only else "") + ("-circular" if circular else "")
    files = EvalRun.of(bench, run, split)
    summary = EvalSummary(run=run, out=str(files.dir))
    tally = _Tally()
    preds: list[dict[str, Any]] = []
    if "vqa" in kinds and (bench / "hf" / "vqa").exists():
        df = load_split(bench, "vqa", split)
        if limit:
            df = df.head(limit)
        vqa_preds = _vqa(project, bench, df, baseline, role, circular, text_only, seed, max_cost, reporter, tally,
                         wait)
        preds += [{**p, "task": "vqa"} for p in vqa_preds.to_dict("records")]
        summary.vqa = {"robust": accuracy_tables(vqa_preds, "correct"),
                       "official_first_char": accuracy_tables(vqa_preds, "correct_official"),
                       "random_guess_expected": random_expectation(df["options"].map(len), circular),
                       "circular": circular}
        summary.gain = _gain(bench, run, split, summary.vqa["robust"]["overall"], df)
    if "vr" in kinds and (bench / "hf" / "vr").exists():
        df = load_split(bench, "vr", split)
        if limit:
            df = df.head(limit)
        vr_preds = _vr(project, bench, df, baseline, role, seed, max_cost, reporter, tally, wait)
        preds += [{**p, "task": "vr"} for p in vr_preds.drop(columns=["image"]).to_dict("records")]
        summary.vr = vr_metrics(vr_preds, plcc_logistic)
    summary.unfinished = tally.unfinished
    summary.markdown = scores_markdown(summary)
    files.write(({k: v for k, v in p.items() if k != "image"} for p in preds),
                EvalScores(run=run, split=split, vqa=summary.vqa, vr=summary.vr, multimodal=summary.gain,
                           unfinished=summary.unfinished), summary.markdown, default=_jsonable)
    return summary


def _import_unipercept(project: Project, files: list[Path], root: str | Path | None) -> Path:
    from curator.stages.common.unipercept import import_benchmark

    missing = [f for f in files if not f.is_file()]
    if missing:
        raise StageError(f"--unipercept {missing[0]}: no such file")
    vqa = [f for f in files if f.name.startswith("UniPercept-Bench")]
    vr = [f for f in files if f not in vqa]
    name = "imported-" + "-".join(sorted({f.stem for f in files}))[:80]
    return import_benchmark(project.export_dir / name, vqa, vr, Path(root) if root else None)


def random_expectation(n_options: pd.Series, circular: bool) -> float:
    """Expected accuracy (%) of uniform guessing: 1/k per item, or (1/k)^k under CircularEval.

    Under CircularEval an item counts only when every one of its k rotations is answered right,
    and independent guesses manage that with probability (1/k)^k.
    """
    k = n_options.astype(float)
    return round(100.0 * float(((1.0 / k) ** k if circular else 1.0 / k).mean()), 2)


def _jsonable(o: Any) -> Any:
    if isinstance(o, np.integer | np.floating):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


@dataclass
class _Tally:
    """What a model-calling eval run left undone (an item without a reply is scored wrong and counted here)."""

    unfinished: int = 0
    stats: Any = None


def _vqa(project: Project, bench: Path, df: pd.DataFrame, baseline: str | None, role: str, circular: bool,
         text_only: bool, seed: int, max_cost: float | None, reporter: Reporter | None, tally: _Tally,
         wait: bool) -> pd.DataFrame:
    jobs = []
    for r in df.to_dict("records"):
        opts = list(r["options"])
        for k, (o, a) in enumerate(_rotations(opts, r["answer"], circular)):
            jobs.append({"id": r["id"], "rot": k, "options": o, "answer": a, "question": r["question"], "row": r})
    replies: dict[tuple[str, int], str] = {}
    if baseline == "random":
        rng = np.random.default_rng(seed)
        for j in jobs:
            replies[(j["id"], j["rot"])] = LETTERS[int(rng.integers(len(j["options"])))]
    elif baseline:
        raise StageError(f"unknown VQA baseline {baseline!r}: use random")
    else:
        from curator.engine.runner import image_part, run_model_stage

        ep = project.endpoint(role)

        def build(j: dict[str, Any]) -> Request:
            text = render("eval_vqa.j2", question=f"{j['question']}\n{options_text(j['options'])}")
            if text_only:
                return Request(messages=[{"role": "user", "content": text}], params={"max_tokens": 64})
            img = {"image_path": str(_image_file(bench, j["row"])), "image_id": j["row"]["image_id"]}
            part = image_part(img, project, j["row"]["domain"])
            part["path"] = img["image_path"]
            return Request(messages=[{"role": "user", "content": [{"type": "text", "text": text}, part]}],
                           params={"max_tokens": 64})

        async def handle(eng: Engine, j: dict[str, Any], res: Result) -> None:
            replies[(j["id"], j["rot"])] = res.content if res.ok else ""
            tally.unfinished += int(not res.ok and (res.transient or res.error == "bad_input"))

        run_model_stage(project, "eval vqa", tally, ep, jobs, build, handle, total=len(jobs), max_cost=max_cost,
                        reporter=reporter, wait=wait)
    by_id: dict[str, list[dict[str, Any]]] = {}
    for j in jobs:
        by_id.setdefault(j["id"], []).append(j)
    rows = []
    for r in df.to_dict("records"):
        rots = by_id[r["id"]]
        robust = [extract_letter(replies.get((j["id"], j["rot"]), ""), j["options"]) for j in rots]
        official = [first_char_letter(replies.get((j["id"], j["rot"]), "")) for j in rots]
        rows.append({"id": r["id"], **{g: r[g] for g in GROUPS}, "answer": r["answer"],
                     "reply": replies.get((r["id"], 0), ""), "pred": robust[0], "pred_official": official[0],
                     "correct": all(p == j["answer"] for p, j in zip(robust, rots, strict=True)),
                     "correct_official": all(p == j["answer"] for p, j in zip(official, rots, strict=True)),
                     "rotations": [{"rotation": j["rot"], "options": j["options"], "answer": j["answer"],
                                    "reply": replies.get((j["id"], j["rot"]), ""), "pred": p, "pred_official": o}
                                   for j, p, o in zip(rots, robust, official, strict=True)],
                     "blind_hits": r.get("blind_hits"), "blind_k": r.get("blind_k")})
    return pd.DataFrame(rows)


def _vr(project: Project, bench: Path, df: pd.DataFrame, baseline: str | None, role: str, seed: int,
        max_cost: float | None, reporter: Reporter | None, tally: _Tally, wait: bool) -> pd.DataFrame:
    df = df.copy()
    if baseline == "random":
        df["reply"] = ""
        df["pred"] = np.random.default_rng(seed).uniform(0, 100, len(df))
        return df
    if baseline == "statistic":
        from io import BytesIO

        from PIL import Image

        from curator.distortions import sharpness

        vals = np.array([np.log1p(sharpness(Image.open(BytesIO(r["image"]["bytes"])).convert("RGB")))
                         for r in df.to_dict("records")])
        lo, hi = vals.min(), vals.max()
        df["reply"] = ""
        df["pred"] = 100 * (vals - lo) / (hi - lo) if hi > lo else 50.0
        return df
    if baseline:
        raise StageError(f"unknown VR baseline {baseline!r}: use random or statistic")
    from curator.engine.runner import image_part, run_model_stage

    ep = project.endpoint(role)
    replies: dict[str, str] = {}
    aspect = {d.id: d.rating_aspect for d in project.load_taxonomy().domains}

    def build(r: dict[str, Any]) -> Request:
        path = str(_image_file(bench, r))
        part = image_part({"image_path": path, "image_id": r["image_id"]}, project, r["domain"])
        part["path"] = path
        text = render("eval_vr.j2", aspect=aspect.get(r["domain"]) or r["domain"])
        return Request(messages=[{"role": "user", "content": [{"type": "text", "text": text}, part]}],
                       params={"max_tokens": 16})

    async def handle(eng: Engine, r: dict[str, Any], res: Result) -> None:
        replies[r["id"]] = res.content if res.ok else ""
        tally.unfinished += int(not res.ok and (res.transient or res.error == "bad_input"))

    run_model_stage(project, "eval vr", tally, ep, df.to_dict("records"), build, handle, total=len(df),
                    max_cost=max_cost, reporter=reporter, wait=wait)
    df["reply"] = df["id"].map(replies).fillna("")
    df["pred"] = df["reply"].map(parse_score)
    return df


def _gain(bench: Path, run: str, split: str, acc: float, df: pd.DataFrame) -> dict[str, float]:
    """MG and ML when both an image run and a text-only run of the same model exist (same split)."""
    base = run.replace("-text-only", "")
    other = EvalRun.of(bench, base + "-text-only" if run == base else base, split).read_scores()
    if run.startswith("baseline") or other is None:
        return {}
    o = other["vqa"]["robust"]["overall"]
    s_v, s_wv = (acc, o) if run == base else (o, acc)
    out = {"S_v": s_v, "S_wv": s_wv, "MG": s_v - s_wv}
    if "blind_hits" in df and df["blind_k"].notna().any():
        s_t = 100.0 * float((df["blind_hits"] / df["blind_k"]).mean())
        out.update(S_t=s_t, ML=max(0.0, s_wv - s_t))
    return out


def scores_markdown(s: EvalSummary) -> str:
    lines = [f"# Evaluation: {s.run}", ""]
    if s.unfinished:
        lines += [f"**{s.unfinished} requests got no reply (network failures) and are scored wrong — rerun to "
                  "complete them from where this run stopped.**", ""]
    if s.vqa:
        r, o = s.vqa["robust"], s.vqa["official_first_char"]
        lines += ["## VQA accuracy (%)", "", "| group | value | robust extraction | official first-char rule |",
                  "|---|---|---|---|", f"| overall | all | {r['overall']:.2f} | {o['overall']:.2f} |"]
        for g in GROUPS:
            for k, v in r[g].items():
                lines.append(f"| {g} | {k} | {v:.2f} | {o[g].get(k, float('nan')):.2f} |")
        rule = " (CircularEval: (1/k)^k per item)" if s.vqa.get("circular") else " (1/k per item)"
        lines += ["", f"Random-guess expectation: {s.vqa['random_guess_expected']:.2f}%{rule} over {r['n']} items.", ""]
    if s.gain:
        lines += ["## Multimodal gain and leakage", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {v:.2f} |" for k, v in s.gain.items()] + [""]
    if s.vr:
        lines += ["## VR (SRCC / PLCC)", "", "| dataset | n | invalid | SRCC | PLCC |", "|---|---|---|---|---|"]
        for d, m in s.vr["datasets"].items():
            lines.append(f"| {d} | {m['n']} | {m['invalid']} | {m['srcc']:.3f} | {m['plcc']:.3f} |")
        lines += ["", "| domain | SRCC | PLCC |", "|---|---|---|"]
        lines += [f"| {d} | {m['srcc']:.3f} | {m['plcc']:.3f} |" for d, m in s.vr["domains"].items()]
    return "\n".join(lines) + "\n"
