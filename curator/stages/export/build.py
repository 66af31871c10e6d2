"""``curator export``: benchmark splits as HF ``datasets``, parquet shards and UniPercept's files.

Layout of ``export/<name>/``::

    hf/vqa, hf/vr                 DatasetDict.save_to_disk (images embedded, ClassLabels)
    data/vqa/<split>-00000-of-00001.parquet, data/vqa_<domain>/…, data/vr/…   plain parquet shards
    unipercept/benchmark/…        the official evaluation scripts' files (see :mod:`curator.stages.common.unipercept`)
    README.md (dataset card), plots/*.png, leakage.json, priors.json, manifest.json, eval/ (kept across exports)

Every image is named by its content hash (``<sha256>.<ext>``) wherever it is written, so no file
name carries an answer and two sources with the same file name never collide; the original file
stays in the ``source_file`` column. The folder is built beside the old one and swapped in at the
end, so a failed or killed export leaves the previous export whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from curator._quiet import quiet
from curator.balance import balance_letters
from curator.config import Project
from curator.errors import ExportError, StageError, UsageError
from curator.records import LETTERS, content_id, options_text, vr_item_id
from curator.stages.common.versions import changelog, diff, previous_splits
from curator.stages.export.io import build_atomically
from curator.stages.export.priors import text_only_baselines
from curator.stages.export.splits import assign_groups, image_groups, leakage_report, parse_splits
from curator.store import Store
from curator.taxonomy import TEMPLATES

_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


@dataclass
class ExportSummary:
    out: str = ""
    vqa: dict[str, int] = field(default_factory=dict)
    vr: dict[str, int] = field(default_factory=dict)
    vr_skipped: dict[str, int] = field(default_factory=dict)
    left_out: dict[str, int] = field(default_factory=dict)
    source: str = ""
    leakage_clean: bool = True
    shared_groups: int = 0
    shared_images: int = 0
    priors_flagged: list[str] = field(default_factory=list)
    priors_above_margin: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def rows(self) -> list[tuple[str, str]]:
        out = [("benchmark folder", self.out), ("items from", self.source)]
        out += [(f"vqa {k}", str(v)) for k, v in self.vqa.items()] + [(f"vr {k}", str(v)) for k, v in self.vr.items()]
        out += [(f"vr images left out: {k}", str(v)) for k, v in self.vr_skipped.items()]
        out += [(f"items left out: {k}", str(v)) for k, v in self.left_out.items() if v]
        out.append(("groups / images shared across splits", f"{self.shared_groups} / {self.shared_images}"
                    + ("" if self.leakage_clean else "  LEAKAGE (see leakage.json)")))
        out.append(("text-only priors > random + 5 points", ", ".join(self.priors_flagged) or "none"))
        if self.priors_above_margin:
            out.append(("  above the margin but within luck (small n)", ", ".join(self.priors_above_margin)))
        return out


def check_name(name: str) -> str:
    """A benchmark name is a plain slug: it becomes one folder under ``export/`` and nothing else."""
    if not _SLUG.fullmatch(name or "") or ".." in name:
        raise ExportError(f"export name {name!r} is not a plain name: use letters, digits, '.', '_' and '-' "
                          "(no '/', no '..'; it names one folder under export/)")
    return name


def _source_items(project: Project, source: str | None) -> tuple[pd.DataFrame, str]:
    """The most refined table available: reviewed > sample > checked (kept) > candidates."""
    if source:
        p = Path(source)
        if not p.exists():
            raise StageError(f"--source {p}: no such file")
        df = pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_json(p, lines=True)
        used = str(p)
    else:
        df, path = Store(project).refined_items()
        used = str(path)
    if "keep" in df.columns:
        df = df[df["keep"].astype(bool)]
    left_out: dict[str, int] = {}
    if "review_status" in df.columns:
        left_out = {k: int(v) for k, v in df["review_status"].value_counts().items() if k not in ("accepted", "edited")}
        df = df[df["review_status"].isin(["accepted", "edited"])].copy()
        for col, orig in (("model_question", "question"), ("model_options", "options"), ("model_answer", "answer")):
            if col not in df.columns:  # the model's original survives beside the people's final version
                df[col] = df[orig]
        df["question"], df["options"], df["answer"] = df["final_question"], df["final_options"], df["final_answer"]
    df.attrs["left_out"] = left_out
    return df.reset_index(drop=True), used


def _vr_items(project: Project, images: pd.DataFrame, tax: Any) -> tuple[pd.DataFrame, Counter[str]]:
    """Rated images with the taxonomy domain their score rates; images whose domain is unknown are left out."""
    domains = {d.id for d in tax.domains}
    rows = images[images["score"].notna()].copy()
    rows["dataset"] = rows["source"].fillna("unknown").replace("", "unknown")
    rows["gt_score"] = rows["score"].astype(float)
    declared = rows["score_domain"] if "score_domain" in rows else pd.Series("", index=rows.index)
    fallback = next(iter(domains)) if len(domains) == 1 else ""
    rows["domain"] = declared.fillna("").replace("", fallback)
    desc = Store(project).descriptions_by_image()
    if desc and "ista" in domains:
        extra = images[images["image_id"].isin(desc)].copy()
        extra["dataset"], extra["domain"] = "ista-describe", "ista"
        extra["gt_score"] = extra["image_id"].map(lambda i: float(desc[i]["ista_score"]))
        extra["score_min"], extra["score_max"] = 0.0, 100.0
        extra["score_norm"] = extra["gt_score"]
        rows = pd.concat([rows, extra], ignore_index=True)
    skipped: Counter[str] = Counter()
    unknown = ~rows["domain"].isin(domains)
    for d in rows.loc[unknown, "domain"]:
        skipped["score domain not declared (ingest --score-domain)" if not d else f"score domain {d!r} not in the "
                "taxonomy"] += 1
    rows = rows[~unknown]
    rows["item_id"] = [vr_item_id(d, i) for d, i in zip(rows["dataset"], rows["image_id"], strict=True)]
    people = Store(project).reviewed_vr  # people's ratings (review pull --kind vr), beside the label
    if people.exists():
        rows = rows.merge(people.read(columns=["item_id", "human_score_mean", "n_reviews"]), on="item_id", how="left")
    return rows.rename(columns={"file": "image_path", "score_norm": "gt_norm"}).reset_index(drop=True), skipped


def _features(tax: Any, kind: str) -> Any:
    import datasets as ds

    crits = [c.path for c in tax.criteria()]
    cats = sorted({f"{c.domain}/{c.category}" for c in tax.criteria()})
    domains = [d.id for d in tax.domains]
    if kind == "vqa":
        return ds.Features({
            "id": ds.Value("string"), "image": ds.Image(), "content_id": ds.Value("string"),
            "image_id": ds.Value("string"), "question": ds.Value("string"), "options": ds.Sequence(ds.Value("string")),
            "answer": ds.Value("string"), "question_inline": ds.Value("string"),
            "domain": ds.ClassLabel(names=domains), "category": ds.ClassLabel(names=cats),
            "criterion": ds.ClassLabel(names=crits), "template": ds.ClassLabel(names=list(TEMPLATES)),
            "source": ds.Value("string"), "source_file": ds.Value("string"), "generator": ds.Value("string"),
            "review_status": ds.Value("string"), "model_question": ds.Value("string"),
            "model_options": ds.Sequence(ds.Value("string")), "model_answer": ds.Value("string"),
            "judge_mean": ds.Value("float32"), "blind_hits": ds.Value("int32"), "blind_k": ds.Value("int32"),
            "provenance": ds.Value("string")})
    return ds.Features({
        "id": ds.Value("string"), "image": ds.Image(), "image_id": ds.Value("string"),
        "domain": ds.ClassLabel(names=domains), "dataset": ds.Value("string"), "gt_score": ds.Value("float32"),
        "score_min": ds.Value("float32"), "score_max": ds.Value("float32"), "gt_norm": ds.Value("float32"),
        "source": ds.Value("string"), "source_file": ds.Value("string"),
        "human_score": ds.Value("float32"), "human_ratings": ds.Value("int32")})


def _num(v: Any, default: Any = None) -> Any:
    return default if v is None or (isinstance(v, float) and v != v) else v


def _vqa_row(r: dict[str, Any], files: dict[str, Path], image_source: dict[str, str]) -> dict[str, Any]:
    q = str(r["question"])
    opts = [str(o) for o in r["options"]]
    return {"id": r["item_id"], "image": {"bytes": files[r["image_id"]].read_bytes(), "path": r["image_name"]},
            "content_id": content_id(r["image_id"], r["criterion"], r["template"], q, opts, str(r["answer"])),
            "image_id": r["image_id"], "question": q, "options": opts, "answer": str(r["answer"]),
            "question_inline": f"{q}\n{options_text(opts)}", "domain": r["domain"],
            "category": f"{r['domain']}/{r['category']}", "criterion": r["criterion"], "template": r["template"],
            "source": image_source.get(r["image_id"], ""), "source_file": str(r["source_file"]),
            "generator": str(r.get("generator", "")),
            "review_status": str(_num(r.get("review_status"), "unreviewed")),
            "model_question": str(_num(r.get("model_question"), q)),
            "model_options": [str(o) for o in _num(r.get("model_options"), opts)],
            "model_answer": str(_num(r.get("model_answer"), r["answer"])),
            "judge_mean": _num(r.get("judge_mean")), "blind_hits": _num(r.get("blind_hits")),
            "blind_k": _num(r.get("blind_k")),
            "provenance": r["provenance"] if isinstance(r.get("provenance"), str) else json.dumps(
                _num(r.get("provenance"), {}), default=str)}


def _vr_row(r: dict[str, Any], files: dict[str, Path]) -> dict[str, Any]:
    return {"id": r["item_id"], "image": {"bytes": files[r["image_id"]].read_bytes(), "path": r["image_name"]},
            "image_id": r["image_id"], "domain": r["domain"], "dataset": r["dataset"], "gt_score": r["gt_score"],
            "score_min": _num(r.get("score_min")), "score_max": _num(r.get("score_max")),
            "gt_norm": _num(r.get("gt_norm")), "source": str(r.get("source") or ""),
            "source_file": str(r["source_file"]), "human_score": _num(r.get("human_score_mean")),
            "human_ratings": int(_num(r.get("n_reviews"), 0))}


def _answer_text(items: pd.DataFrame) -> pd.Series:
    return pd.Series([str(list(o)[LETTERS.index(a)]) if a in LETTERS[:len(o)] else "" for o, a in
                      zip(items["options"], items["answer"], strict=True)], index=items.index)


def _balance_per_split(items: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Spread answer letters evenly within each split and template (where a position prior is measured).

    Sampling and splitting undo check's global balance. Items whose options a person edited keep the
    order that person wrote; the model's original order is in ``model_options`` either way.
    """
    edited = items["review_status"].eq("edited") if "review_status" in items else pd.Series(False, index=items.index)
    free = items[~edited]
    if free.empty:
        return items
    parts = [balance_letters(part, seed) for _, part in free.groupby(["split", "template"], sort=False)]
    return pd.concat([*parts, items[edited]]).loc[items.index]


def _assign_splits(items: pd.DataFrame, vr: pd.DataFrame, images: pd.DataFrame, fractions: dict[str, float],
                   bits: int, group_by: list[str] | None, seed: int,
                   before: dict[str, str] | None = None) -> tuple[pd.Series, pd.Series, dict[str, int]]:
    """One split per group of related images, for VQA items and VR images together; groups with images in
    ``before`` (image id → split of the export being replaced) keep that split."""
    groups = image_groups(images, bits, group_by)
    votes: dict[int, Counter[str]] = {}
    for img, s in (before or {}).items():
        if img in groups:
            votes.setdefault(groups[img], Counter())[s] += 1
    pinned = {g: c.most_common(1)[0][0] for g, c in votes.items()}
    vqa_units = pd.DataFrame({"image_id": items["image_id"], "stratum": "vqa|" + items["criterion"].astype(str) + "|"
                              + items["template"].astype(str) + "|" + _answer_text(items)})
    vr_units = pd.DataFrame({"image_id": vr["image_id"], "stratum": "vr|" + vr["dataset"].astype(str)}) if len(vr) \
        else pd.DataFrame(columns=["image_id", "stratum"])
    decided = assign_groups(pd.concat([vqa_units, vr_units], ignore_index=True), groups, fractions, seed, pinned)
    vqa_split = items["image_id"].map(groups).map(decided)
    vr_split = vr["image_id"].map(groups).map(decided) if len(vr) else pd.Series(dtype=object)
    empty = [s for s in fractions if not (vqa_split == s).any()]
    if empty:
        n_groups = len({groups[i] for i in items["image_id"]})
        raise ExportError(f"split(s) {empty} would get no VQA items: the {len(items)} items come from only "
                          f"{n_groups} group(s) of related images (same reference, group column or near-duplicate), "
                          "and a group is never divided; use fewer splits, other fractions, or more source images")
    return vqa_split, vr_split, groups


@quiet
def export(project: Project, *, name: str | None = None, source: str | None = None, splits: str = "test",
           near_duplicate_bits: int = 6, group_by: list[str] | None = None, include_vr: bool = True,
           push_to_hub: str | None = None, public: bool = False, seed: int | None = None,
           version: str | None = None) -> ExportSummary:
    """Write the benchmark folder (see the module docstring).

    Args:
        name: folder name under ``export/`` (default: the project name); a plain slug.
        source: item table to export (default: the most refined one that exists).
        splits: ``test``, ``dev:0.2,test:0.8`` … (grouped by related images, stratified by criterion,
            template and answer; VQA and VR split together). Answer letters are balanced again within
            each split and template (the model's original options stay in ``model_options``).
        near_duplicate_bits: images whose perceptual hashes differ in fewer bits are related.
        group_by: label-file columns whose equal values make images related (a scene or source id);
            reference columns (``ref_id``, ``ref_img`` …) are always used.
        include_vr: also export the visual-rating configuration from the images' scores.
        push_to_hub: also push to this Hugging Face repo (token from ``HF_TOKEN``); private unless ``public``.
        version: a version ``X.Y.Z`` recorded in the manifest and the card, whose changelog is the diff
            against the export it replaces; a Hub push tags the revision ``vX.Y.Z``.
    """

    name = check_name(name or project.config.name)
    if version is not None and not re.fullmatch(r"\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?", version):
        raise UsageError(f"--version {version!r}: use semantic versioning, X.Y.Z")
    seed = project.config.seed if seed is None else seed
    tax = project.load_taxonomy()
    fractions = parse_splits(splits)
    items, used = _source_items(project, source)
    left_out = dict(items.attrs.get("left_out", {}))
    if items.empty:
        raise ExportError(f"{used} holds no exportable items (after keep/review filters)")
    images = Store(project).load_images()
    vr, vr_skipped = _vr_items(project, images, tax) if include_vr else (pd.DataFrame(), Counter())
    before = previous_splits(project.export_dir / name, fractions)
    items["split"], vr_split, _ = _assign_splits(items, vr, images, fractions, near_duplicate_bits, group_by, seed,
                                                 before)
    items = _balance_per_split(items, seed)
    if len(vr):
        vr["split"] = vr_split
    root = project.images_root
    files = {i: root / f for i, f in zip(images["image_id"], images["file"], strict=True)}
    missing = sorted({i for i in [*items["image_id"], *vr.get("image_id", [])] if not files.get(i, Path()).is_file()})
    if missing:
        raise ExportError(f"{len(missing)} image file(s) used by items are gone, e.g. {files.get(missing[0])}; "
                          "restore them or re-ingest")
    name_of = {i: i + (Path(f).suffix.lower() or ".png") for i, f in zip(images["image_id"], images["file"],
                                                                          strict=True)}
    source_file = dict(zip(images["image_id"], images["file"], strict=True))
    for df in (items, vr):
        if len(df):
            df["image_name"] = df["image_id"].map(name_of)
            df["source_file"] = df["image_id"].map(source_file)
    summary = ExportSummary(source=used, vr_skipped=dict(vr_skipped), left_out=left_out)

    def build(out: Path) -> None:
        _write_all(project, out, name, items, vr, images, files, tax, fractions, summary, seed=seed,
                   bits=near_duplicate_bits, group_by=group_by, used=used)
        if version:
            _record_version(out, project.export_dir / name, version)

    final = build_atomically(project.export_dir, name, build)
    summary.out = str(final)
    summary.files = sorted(str(p.relative_to(final)) for p in final.rglob("*")
                           if p.is_file() and not {"hf", "eval", "images", "image"} & set(p.parts))[:50]
    if push_to_hub:
        import datasets

        _push(datasets.load_from_disk(str(final / "hf" / "vqa")),
              datasets.load_from_disk(str(final / "hf" / "vr")) if (final / "hf" / "vr").exists() else None,
              push_to_hub, private=not public, card=final / "README.md", version=version)
    return summary


def _record_version(out: Path, previous: Path, version: str) -> None:
    """The version in the manifest and the card, and a changelog against the export this one replaces."""
    manifest = json.loads((out / "manifest.json").read_text())
    before = json.loads((previous / "manifest.json").read_text()) if (previous / "manifest.json").exists() else {}
    manifest["version"] = version
    manifest["previous_version"] = before.get("version")
    text = (out / "README.md").read_text()
    title, rest = text.split("\n# ", 1)[0], text.split("\n# ", 1)[1]
    head, body = rest.split("\n", 1)
    section = f"Version **{version}**.\n"
    if (previous / "data" / "vqa").is_dir():
        d = diff(previous, out)
        manifest["changes"] = {"added": len(d.added), "removed": len(d.removed), "changed": len(d.changed)}
        section += "\n" + changelog(d, version, before.get("version") or "the previous export") + "\n"
    (out / "README.md").write_text(f"{title}\n# {head}\n\n{section}{body}")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))


def _write_all(project: Project, out: Path, name: str, items: pd.DataFrame, vr: pd.DataFrame, images: pd.DataFrame,
               files: dict[str, Path], tax: Any, fractions: dict[str, float], summary: ExportSummary, *, seed: int,
               bits: int, group_by: list[str] | None, used: str) -> None:
    import datasets

    from curator.stages.common.unipercept import write_unipercept
    from curator.stages.export.card import write_card

    (out / "plots").mkdir(parents=True)
    src_of = dict(zip(images["image_id"], images["source"].fillna(""), strict=True))
    vqa_dd = datasets.DatasetDict()
    feats = _features(tax, "vqa")
    for sp in fractions:
        recs = items[items["split"] == sp].to_dict("records")
        vqa_dd[sp] = datasets.Dataset.from_generator(lambda recs=recs: (_vqa_row(r, files, src_of) for r in recs),
                                                     features=feats, keep_in_memory=False)
        summary.vqa[sp] = len(recs)
    vqa_dd.save_to_disk(str(out / "hf" / "vqa"))
    for sp, ds in vqa_dd.items():
        ds.to_parquet(str(out / "data" / "vqa" / f"{sp}-00000-of-00001.parquet"))
        for dom in tax.domains:
            sub = ds.filter(lambda ex, d=tax.domains.index(dom): ex["domain"] == d)
            if len(sub):
                sub.to_parquet(str(out / "data" / f"vqa_{dom.id}" / f"{sp}-00000-of-00001.parquet"))
    if len(vr):
        vr_dd = datasets.DatasetDict()
        for sp in fractions:
            recs = vr[vr["split"] == sp].to_dict("records")
            vr_dd[sp] = datasets.Dataset.from_generator(lambda recs=recs: (_vr_row(r, files) for r in recs),
                                                        features=_features(tax, "vr"))
            summary.vr[sp] = len(recs)
            vr_dd[sp].to_parquet(str(out / "data" / "vr" / f"{sp}-00000-of-00001.parquet"))
        vr_dd.save_to_disk(str(out / "hf" / "vr"))
    split_images = {sp: set(items.loc[items["split"] == sp, "image_id"])
                    | (set(vr.loc[vr["split"] == sp, "image_id"]) if len(vr) else set()) for sp in fractions}
    leak = leakage_report(split_images, images, bits, group_by)
    summary.leakage_clean, summary.shared_groups, summary.shared_images = (
        bool(leak["clean"]), int(leak["shared_groups"]), int(leak["shared_images"]))
    (out / "leakage.json").write_text(json.dumps(leak, indent=1))
    priors = text_only_baselines(items)
    summary.priors_flagged, summary.priors_above_margin = priors["flagged"], priors["above_margin"]
    (out / "priors.json").write_text(json.dumps(priors, indent=1))
    uni_files = write_unipercept(out / "unipercept", items, vr, files)
    write_card(project, out, items, vr, tax, leak, fractions, features=feats, priors=priors, unipercept=uni_files,
               vr_skipped=summary.vr_skipped)
    (out / "manifest.json").write_text(json.dumps({
        "name": name, "source_table": used, "taxonomy": f"{tax.name}@{tax.version}", "splits": fractions,
        "seed": seed, "near_duplicate_bits": bits, "group_by": group_by or [], "image_names": "sha256 of the bytes",
        "vqa": summary.vqa, "vr": summary.vr,
        "item_ids_sha256": hashlib.sha256("\n".join(sorted(items["item_id"])).encode()).hexdigest()}, indent=1))


def _push(vqa: Any, vr: Any, repo: str, *, private: bool, card: Path, version: str | None = None) -> None:
    token = os.environ.get("HF_TOKEN")
    if not token:
        raise ExportError("--push-to-hub needs a Hugging Face token in the HF_TOKEN environment variable")
    try:
        vqa.push_to_hub(repo, config_name="vqa", private=private, token=token)
        if vr is not None and len(vr):
            vr.push_to_hub(repo, config_name="vr", private=private, token=token)
        from huggingface_hub import HfApi

        api = HfApi(token=token)
        api.upload_file(path_or_fileobj=str(card), path_in_repo="README.md", repo_id=repo, repo_type="dataset")
        if version:
            api.create_tag(repo, tag=f"v{version}", repo_type="dataset")
    except Exception as exc:
        raise ExportError(f"push to the Hub ({repo}) failed: {type(exc).__name__}: {exc}") from exc
