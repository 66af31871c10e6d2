"""``curator export``: benchmark splits as HF ``datasets``, parquet shards and UniPercept-style files.

Layout of ``export/<name>/``::

    hf/vqa, hf/vr                 DatasetDict.save_to_disk (images embedded, ClassLabels)
    data/vqa/<split>-00000-of-00001.parquet, data/vqa_<domain>/…, data/vr/…   plain parquet shards
    unipercept/VQA/<DOM>/UniPercept-Bench-<DOM>.json + unipercept/images/…  (official eval code reads it)
    unipercept/VR/<DOM>/<DATASET>/<DATASET>.json + image/                    ({"image", "gt_score"})
    README.md (dataset card), plots/*.png, leakage.json, manifest.json
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from curator._quiet import quiet
from curator.config import Project
from curator.errors import ExportError, StageError
from curator.records import options_text
from curator.stages.splits import assign_splits, image_groups, leakage_report, parse_splits
from curator.taxonomy import TEMPLATES

VR_DOMAIN = {"KonIQ-10k": "iqa", "SPAQ": "iqa", "KADID-10k": "iqa", "PIPAL": "iqa", "AVA": "iaa", "synthetic": "iqa",
             "ista-describe": "ista"}


@dataclass
class ExportSummary:
    out: str = ""
    vqa: dict[str, int] = field(default_factory=dict)
    vr: dict[str, int] = field(default_factory=dict)
    source: str = ""
    leakage_clean: bool = True
    files: list[str] = field(default_factory=list)

    def rows(self) -> list[tuple[str, str]]:
        out = [("benchmark folder", self.out), ("items from", self.source)]
        out += [(f"vqa {k}", str(v)) for k, v in self.vqa.items()] + [(f"vr {k}", str(v)) for k, v in self.vr.items()]
        out.append(("leakage between splits", "none" if self.leakage_clean else "FOUND (see leakage.json)"))
        return out


def _source_items(project: Project, source: str | None) -> tuple[pd.DataFrame, str]:
    """The most refined table available: reviewed > sample > checked (kept) > candidates."""
    if source:
        p = Path(source)
        df = pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_json(p, lines=True)
        used = str(p)
    else:
        for name in ("reviewed.parquet", "sample.parquet", "checked.parquet", "candidates.jsonl"):
            p = project.table(name)
            if p.exists():
                df = pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_json(p, lines=True)
                used = str(p)
                break
        else:
            raise StageError("nothing to export: run generate (and optionally check, sample, review) first")
    if "keep" in df.columns:
        df = df[df["keep"].astype(bool)]
    if "review_status" in df.columns:
        df = df[df["review_status"].isin(["accepted", "edited"])].copy()
        df["question"], df["options"], df["answer"] = df["final_question"], df["final_options"], df["final_answer"]
    return df.reset_index(drop=True), used


def _vr_items(project: Project, images: pd.DataFrame) -> pd.DataFrame:
    rows = images[images["score"].notna()].copy()
    rows["dataset"] = rows["source"].fillna("unknown")
    rows["gt_score"] = rows["score"].astype(float)
    from curator.stages.describe import load_descriptions

    desc = load_descriptions(project)
    if desc:
        extra = images[images["image_id"].isin(desc)].copy()
        extra["dataset"] = "ista-describe"
        extra["gt_score"] = extra["image_id"].map(lambda i: float(desc[i]["ista_score"]))
        extra["score_min"], extra["score_max"] = 0.0, 100.0
        extra["score_norm"] = extra["gt_score"]
        rows = pd.concat([rows, extra], ignore_index=True)
    rows["domain"] = rows["dataset"].map(lambda d: VR_DOMAIN.get(d, "iqa"))
    rows["item_id"] = "vr-" + rows["dataset"].str.replace(" ", "_") + "-" + rows["image_id"].str.slice(0, 16)
    return rows.rename(columns={"path": "image_path", "score_norm": "gt_norm"}).reset_index(drop=True)


def _features(tax: Any, kind: str) -> Any:
    import datasets as ds

    crits = [c.path for c in tax.criteria()]
    cats = sorted({f"{c.domain}/{c.category}" for c in tax.criteria()})
    domains = [d.id for d in tax.domains]
    if kind == "vqa":
        return ds.Features({
            "id": ds.Value("string"), "image": ds.Image(), "image_id": ds.Value("string"),
            "question": ds.Value("string"), "options": ds.Sequence(ds.Value("string")),
            "answer": ds.Value("string"), "question_inline": ds.Value("string"),
            "domain": ds.ClassLabel(names=domains), "category": ds.ClassLabel(names=cats),
            "criterion": ds.ClassLabel(names=crits), "template": ds.ClassLabel(names=list(TEMPLATES)),
            "source": ds.Value("string"), "generator": ds.Value("string"), "review_status": ds.Value("string"),
            "model_question": ds.Value("string"), "model_options": ds.Sequence(ds.Value("string")),
            "model_answer": ds.Value("string"), "judge_mean": ds.Value("float32"), "blind_hits": ds.Value("int32"),
            "blind_k": ds.Value("int32"), "provenance": ds.Value("string")})
    return ds.Features({
        "id": ds.Value("string"), "image": ds.Image(), "image_id": ds.Value("string"),
        "domain": ds.ClassLabel(names=domains), "dataset": ds.Value("string"), "gt_score": ds.Value("float32"),
        "score_min": ds.Value("float32"), "score_max": ds.Value("float32"), "gt_norm": ds.Value("float32"),
        "source": ds.Value("string")})


def _num(v: Any, default: Any = None) -> Any:
    return default if v is None or (isinstance(v, float) and v != v) else v


def _vqa_row(r: dict[str, Any], root: Path, image_source: dict[str, str]) -> dict[str, Any]:
    path = root / r["image_path"]
    q = str(r["question"])
    opts = [str(o) for o in r["options"]]
    return {"id": r["item_id"], "image": {"bytes": path.read_bytes(), "path": Path(r["image_path"]).name},
            "image_id": r["image_id"], "question": q, "options": opts, "answer": str(r["answer"]),
            "question_inline": f"{q}\n{options_text(opts)}", "domain": r["domain"],
            "category": f"{r['domain']}/{r['category']}", "criterion": r["criterion"], "template": r["template"],
            "source": image_source.get(r["image_id"], ""), "generator": str(r.get("generator", "")),
            "review_status": str(_num(r.get("review_status"), "unreviewed")),
            "model_question": str(_num(r.get("model_question"), q)),
            "model_options": [str(o) for o in _num(r.get("model_options"), opts)],
            "model_answer": str(_num(r.get("model_answer"), r["answer"])),
            "judge_mean": _num(r.get("judge_mean")), "blind_hits": _num(r.get("blind_hits")),
            "blind_k": _num(r.get("blind_k")),
            "provenance": r["provenance"] if isinstance(r.get("provenance"), str) else json.dumps(
                _num(r.get("provenance"), {}), default=str)}


def _vr_row(r: dict[str, Any], root: Path) -> dict[str, Any]:
    path = root / r["image_path"]
    return {"id": r["item_id"], "image": {"bytes": path.read_bytes(), "path": Path(r["image_path"]).name},
            "image_id": r["image_id"], "domain": r["domain"], "dataset": r["dataset"], "gt_score": r["gt_score"],
            "score_min": _num(r.get("score_min")), "score_max": _num(r.get("score_max")),
            "gt_norm": _num(r.get("gt_norm")), "source": str(r.get("source") or "")}


@quiet
def export(project: Project, *, name: str | None = None, source: str | None = None, splits: str = "test",
           near_duplicate_bits: int = 6, include_vr: bool = True, push_to_hub: str | None = None,
           public: bool = False, seed: int | None = None) -> ExportSummary:
    """Write the benchmark folder (see the module docstring).

    Args:
        name: folder name under ``export/`` (default: the project name).
        source: item table to export (default: the most refined one that exists).
        splits: ``test``, ``dev:0.2,test:0.8`` or ``train:0.8,test:0.2`` (grouped by image, stratified by criterion).
        near_duplicate_bits: images whose perceptual hashes differ in fewer bits count as one image.
        include_vr: also export the visual-rating configuration from the images' scores.
        push_to_hub: also push to this Hugging Face repo (token from ``HF_TOKEN``); private unless ``public``.
    """
    import datasets

    from curator.ingest import load_images
    from curator.stages.card import write_card

    seed = project.config.seed if seed is None else seed
    tax = project.load_taxonomy()
    fractions = parse_splits(splits)
    items, used = _source_items(project, source)
    if items.empty:
        raise ExportError(f"{used} holds no exportable items (after keep/review filters)")
    images = load_images(project)
    groups = image_groups(images, near_duplicate_bits)
    items["split"] = assign_splits(items, groups, fractions, seed)
    out = project.export_dir / (name or project.config.name)
    if out.exists():
        shutil.rmtree(out)
    (out / "plots").mkdir(parents=True)
    src_of = dict(zip(images["image_id"], images["source"].fillna(""), strict=True))
    phash_of = dict(zip(images["image_id"], images["phash"], strict=True))
    root = project.images_root
    summary = ExportSummary(out=str(out), source=used)

    vqa_dd = datasets.DatasetDict()
    feats = _features(tax, "vqa")
    for sp in fractions:
        part = items[items["split"] == sp]
        recs = part.to_dict("records")
        vqa_dd[sp] = datasets.Dataset.from_generator(lambda recs=recs: (_vqa_row(r, root, src_of) for r in recs),
                                                     features=feats, keep_in_memory=False)
        summary.vqa[sp] = len(part)
    vqa_dd.save_to_disk(str(out / "hf" / "vqa"))
    for sp, ds in vqa_dd.items():
        ds.to_parquet(str(out / "data" / "vqa" / f"{sp}-00000-of-00001.parquet"))
        for dom in tax.domains:
            sub = ds.filter(lambda ex, d=tax.domains.index(dom): ex["domain"] == d)
            if len(sub):
                sub.to_parquet(str(out / "data" / f"vqa_{dom.id}" / f"{sp}-00000-of-00001.parquet"))
    leak = leakage_report({sp: items[items["split"] == sp] for sp in fractions}, phash_of, near_duplicate_bits)

    vr = _vr_items(project, images) if include_vr else pd.DataFrame()
    vr_dd = datasets.DatasetDict()
    if len(vr):
        vr["split"] = assign_splits(vr.assign(criterion=vr["dataset"]), groups, fractions, seed)
        for sp in fractions:
            recs = vr[vr["split"] == sp].to_dict("records")
            vr_dd[sp] = datasets.Dataset.from_generator(lambda recs=recs: (_vr_row(r, root) for r in recs),
                                                        features=_features(tax, "vr"))
            summary.vr[sp] = len(recs)
            vr_dd[sp].to_parquet(str(out / "data" / "vr" / f"{sp}-00000-of-00001.parquet"))
        vr_dd.save_to_disk(str(out / "hf" / "vr"))
        leak["vr"] = leakage_report({sp: vr[vr["split"] == sp] for sp in fractions}, phash_of, near_duplicate_bits)
        leak["clean"] = leak["clean"] and leak["vr"]["clean"]
    summary.leakage_clean = bool(leak["clean"])
    (out / "leakage.json").write_text(json.dumps(leak, indent=1))
    _write_unipercept(out, items, vr, root)
    write_card(project, out, items, vr, tax, leak, fractions, features=feats)
    (out / "manifest.json").write_text(json.dumps({
        "name": name or project.config.name, "source_table": used, "taxonomy": f"{tax.name}@{tax.version}",
        "splits": fractions, "seed": seed, "near_duplicate_bits": near_duplicate_bits,
        "vqa": summary.vqa, "vr": summary.vr,
        "item_ids_sha256": __import__("hashlib").sha256("\n".join(sorted(items["item_id"])).encode()).hexdigest()},
        indent=1))
    if push_to_hub:
        _push(vqa_dd, vr_dd, push_to_hub, private=not public, card=out / "README.md")
    summary.files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and "hf" not in p.parts)[:50]
    return summary


def _write_unipercept(out: Path, items: pd.DataFrame, vr: pd.DataFrame, root: Path) -> None:
    """UniPercept-style JSON: VQA per domain (inline options, letter answer) and VR per dataset."""
    base = out / "unipercept"
    img_dir = base / "images"
    for dom, part in items.groupby("domain"):
        recs = []
        for r in part.to_dict("records"):
            rel = Path("images") / r["image_path"]
            (base / rel).parent.mkdir(parents=True, exist_ok=True)
            if not (base / rel).exists():
                shutil.copy2(root / r["image_path"], base / rel)
            opts = list(r["options"])
            recs.append({"image": rel.as_posix(), "question": f"{r['question']}\n{options_text(opts)}",
                         "answer": r["answer"], "id": r["item_id"], "options": opts, "domain": dom.upper(),
                         "category": r["category"], "criterion": r["criterion"], "template": r["template"],
                         "split": r["split"]})
        d = base / "VQA" / dom.upper()
        d.mkdir(parents=True, exist_ok=True)
        (d / f"UniPercept-Bench-{dom.upper()}.json").write_text(json.dumps(recs, indent=1, ensure_ascii=False))
    img_dir.mkdir(parents=True, exist_ok=True)
    if vr is None or vr.empty:
        return
    for (dom, dataset), part in vr.groupby(["domain", "dataset"]):
        d = base / "VR" / dom.upper() / str(dataset)
        (d / "image").mkdir(parents=True, exist_ok=True)
        recs = []
        for r in part.to_dict("records"):
            fname = Path(r["image_path"]).name
            if not (d / "image" / fname).exists():
                shutil.copy2(root / r["image_path"], d / "image" / fname)
            recs.append({"image": fname, "gt_score": r["gt_score"]})
        (d / f"{dataset}.json").write_text(json.dumps(recs, indent=1))


def _push(vqa: Any, vr: Any, repo: str, *, private: bool, card: Path) -> None:
    import os

    token = os.environ.get("HF_TOKEN")
    if not token:
        raise ExportError("--push-to-hub needs a Hugging Face token in the HF_TOKEN environment variable")
    try:
        vqa.push_to_hub(repo, config_name="vqa", private=private, token=token)
        if len(vr):
            vr.push_to_hub(repo, config_name="vr", private=private, token=token)
        from huggingface_hub import HfApi

        HfApi(token=token).upload_file(path_or_fileobj=str(card), path_in_repo="README.md", repo_id=repo,
                                       repo_type="dataset")
    except Exception as exc:
        raise ExportError(f"push to the Hub ({repo}) failed: {type(exc).__name__}: {exc}") from exc

