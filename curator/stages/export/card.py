"""The dataset card (``README.md`` with YAML front matter) and its distribution plots."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from curator.config import Project
from curator.store import Store


def _md_table(header: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(x) for x in r) + " |" for r in rows]
    return "\n".join(out)


def construction_stats(project: Project, items: pd.DataFrame) -> dict[str, Any]:
    """Models, prompt versions and the rejection/agreement figures of every stage that ran."""
    stats: dict[str, Any] = {"generators": sorted(items["generator"].astype(str).unique())}
    prov = items.get("provenance")
    if prov is not None:
        hashes: Counter[str] = Counter()
        for p in prov:
            d = json.loads(p) if isinstance(p, str) else (p or {})
            if d:
                hashes[f"{d.get('prompt_id')}#{d.get('prompt_hash')}"] += 1
        stats["prompt_versions"] = dict(hashes)
    store = Store(project)
    judged = store.judged.read()
    if judged:
        stats["judge_models"] = sorted({j["model"] for j in judged})
        stats["judge_rejection_rate"] = sum(not j["keep"] for j in judged) / len(judged)
    blind = store.blind.read()
    if blind:
        stats["blind_models"] = sorted({b["model"] for b in blind})
        stats["blind_hit_rate"] = sum(bool(b["correct"]) for b in blind) / len(blind)
    if store.reviewed.exists():
        rv = store.reviewed.read()
        st = rv["review_status"].value_counts()
        done = int(st.reindex(["accepted", "edited", "rejected"], fill_value=0).sum())  # decided items
        if done:
            stats["human_edit_rate"] = int(st.get("edited", 0)) / done
            stats["human_reject_rate"] = int(st.get("rejected", 0)) / done
        if "answer_changed_on_accept" in rv.columns:
            stats["answer_changed_on_accept"] = int(rv["answer_changed_on_accept"].fillna(False).sum())
        stats["left_out"] = {k: int(st.get(k, 0)) for k in ("disputed", "unreviewed", "rejected")}
    agreement = store.review.agreement
    if agreement.exists():
        stats["agreement"] = json.loads(agreement.read_text()).get("overall", {})
    return stats


def _plots(out: Path, items: pd.DataFrame) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    for col, title in (("criterion", "Items per criterion"), ("template", "Items per template"),
                       ("answer", "Answer letters")):
        counts = items[col].value_counts().sort_index()
        fig, ax = plt.subplots(figsize=(8, max(2.5, 0.28 * len(counts))))
        ax.barh([str(i) for i in counts.index], counts.values, color="#4C72B0")
        ax.set_title(title)
        ax.invert_yaxis()
        fig.tight_layout()
        name = f"plots/{col}.png"
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        made.append(name)
    return made


def _priors_section(priors: dict[str, Any] | None) -> list[str]:
    from curator.stages.export.priors import baseline_rows

    if not priors:
        return []
    flagged = priors["flagged"]
    verdict = (f"**Flagged: {', '.join(flagged)}** — a guesser that never sees the image beats random by more than "
               f"{priors['margin_points']:.0f} points there, beyond what luck explains." if flagged else
               f"No template's text-only prior beats random by more than {priors['margin_points']:.0f} points beyond "
               "what luck explains (one-sided binomial test, Bonferroni over the three guessers, p < "
               f"{priors['alpha']}).")
    return ["## Text-only priors (accuracy %, no image)", "",
            "What a guesser gets from the wording alone, per split and template: the majority answer text, the "
            "longest option, and the most frequent correct letter, each told this split's answer statistics "
            "(an upper bound of what such a prior exploits), next to random (1/k).", "",
            _md_table(["split", "template", "items", "random", "majority answer", "longest option", "position",
                       "flag"], baseline_rows(priors)), "", verdict, ""]


def _unipercept_section(files: list[str] | None) -> list[str]:
    if not files:
        return []
    vqa = [f for f in files if "/VQA/" in f]
    example = next((f for f in vqa if f.endswith("-test.json")), vqa[0] if vqa else "")
    return ["## UniPercept's evaluation scripts", "",
            "`unipercept/benchmark/` mirrors the `benchmark/` folder of a UniPercept checkout: one VQA file per domain "
            "and split (`benchmark/VQA/<DOM>/UniPercept-Bench-<DOM>-<split>.json`, images in `images/` beside it, "
            "named by content hash) and one VR dataset per domain and split (`benchmark/VR/<DOM>/<DATASET>-<split>/`). "
            "Image paths are relative to the checkout's root, the folder the official scripts run in:", "",
            "```bash", "cp -r unipercept/benchmark /path/to/UniPercept/    # merge into the checkout",
            "cd /path/to/UniPercept",
            f"python src/eval/eval_vqa.py --input_json {example} --model_path ckpt/unipercept \\",
            "    --model_name unipercept --output_json results/vqa/curator-test_unipercept.json", "```", "",
            "Files: " + ", ".join(f"`{f}`" for f in files[:12]) + (" …" if len(files) > 12 else ""), ""]


def write_card(project: Project, out: Path, items: pd.DataFrame, vr: pd.DataFrame, tax: Any,
               leak: dict[str, Any], fractions: dict[str, float], features: Any = None,
               priors: dict[str, Any] | None = None, unipercept: list[str] | None = None,
               vr_skipped: dict[str, int] | None = None) -> Path:
    stats = construction_stats(project, items)
    body = [
        f"# {project.config.name}", "",
        f"A perceptual image benchmark built with curator from the `{tax.name}` v{tax.version} taxonomy. "
        "Every item is a multiple-choice question about one image, with its domain, category, criterion and "
        "question template; answers are letters.", "",
        *_splits_section(items, vr, fractions, leak, vr_skipped),
        *_counts_section(items, tax),
        *_difficulty_section(items),
        *_priors_section(priors),
        *_built_section(stats),
        "## Distribution plots", "", *[f"![{p}]({p})" for p in _plots(out, items)], "",
        "## Loading", "", "```python", "from datasets import load_dataset",
        'ds = load_dataset("parquet", data_files={"test": "data/vqa/test-*.parquet"})', "```", "",
        *_unipercept_section(unipercept),
        "## Taxonomy", "", tax.to_markdown().split("\n", 4)[-1],
    ]
    front = _front_matter(project, items, vr, fractions, features)
    text = "---\n" + yaml.safe_dump(front, sort_keys=False) + "---\n\n" + "\n".join(body) + "\n"
    path = out / "README.md"
    path.write_text(text, encoding="utf-8")
    (out / "construction.json").write_text(json.dumps(stats, indent=1, default=str))
    return path


def _front_matter(project: Project, items: pd.DataFrame, vr: pd.DataFrame, fractions: dict[str, float],
                  features: Any) -> dict[str, Any]:
    """The Hub's YAML header: one config per domain plus ``vqa`` (default) and ``vr``."""
    configs = [{"config_name": "vqa", "default": True,
                "data_files": [{"split": s, "path": f"data/vqa/{s}-*.parquet"} for s in fractions]}]
    for d in sorted(items["domain"].unique()):
        configs.append({"config_name": f"vqa_{d}",
                        "data_files": [{"split": s, "path": f"data/vqa_{d}/{s}-*.parquet"} for s in fractions]})
    if len(vr):
        configs.append({"config_name": "vr", "data_files": [{"split": s, "path": f"data/vr/{s}-*.parquet"}
                                                            for s in fractions]})
    front: dict[str, Any] = {
        "license": "other", "task_categories": ["visual-question-answering", "image-classification"],
        "language": ["en"], "tags": ["benchmark", "multiple-choice", "image-quality", "aesthetics", "curator"],
        "pretty_name": project.config.name, "size_categories": ["n<1K" if len(items) < 1000 else "1K<n<10K"],
        "configs": configs}
    if features is not None:
        front["dataset_info"] = [{"config_name": "vqa", "features": features._to_yaml_list()}]
    return front


def _splits_section(items: pd.DataFrame, vr: pd.DataFrame, fractions: dict[str, float], leak: dict[str, Any],
                    vr_skipped: dict[str, int] | None) -> list[str]:
    split_rows = [[s, int((items["split"] == s).sum()), int((vr["split"] == s).sum()) if len(vr) else 0]
                  for s in fractions]
    return [
        "## Splits", "", _md_table(["split", "VQA items", "VR images"], split_rows), "",
        "Splits are drawn by group of related images, jointly for VQA and VR: images that share a reference "
        f"or a group column ({', '.join(f'`{c}`' for c in leak.get('group_columns', [])) or 'none present'}) or "
        f"whose perceptual hashes differ in fewer than {leak['threshold_bits']} bits are one group, and a group "
        "lies in exactly one split. Recomputed from the images table (`leakage.json`): "
        f"**{leak.get('shared_groups', 0)} groups and {leak.get('shared_images', 0)} images shared across splits, "
        f"{leak.get('near_duplicate_pairs', 0)} near-duplicate pairs** "
        f"({'clean' if leak['clean'] else 'LEAKAGE FOUND'}).", "",
        *([f"VR images left out: {', '.join(f'{v} ({k})' for k, v in vr_skipped.items())}.", ""]
          if vr_skipped else []),
    ]


def _counts_section(items: pd.DataFrame, tax: Any) -> list[str]:
    """Items per criterion (beside the published counts), per template and per answer letter."""
    domains = set(items["domain"].unique())
    counts = items.groupby("criterion").size()
    crit_rows = []
    for c in tax.criteria():
        n = int(counts.get(c.path, 0))
        if n or c.domain in domains:
            crit_rows.append([c.domain.upper(), tax.category(f"{c.domain}/{c.category}").name, c.name, f"`{c.path}`", n,
                              c.published_items if c.published_items is not None else ""])
    tpl = items.groupby(["domain", "template"]).size().unstack(fill_value=0)
    letters = items["answer"].value_counts().sort_index()
    return [
        "## Items per criterion", "",
        _md_table(["domain", "category", "criterion", "path id", "items", "published (UniPercept)"], crit_rows), "",
        "## Items per template", "",
        _md_table(["domain", *tpl.columns.tolist()], [[d, *map(int, r)] for d, r in tpl.iterrows()]), "",
        "## Answer letters", "", _md_table(["letter", "items"], [[k, int(v)] for k, v in letters.items()]), "",
    ]


def _difficulty_section(items: pd.DataFrame) -> list[str]:
    """How hard the items are for the calibration panel (``curator calibrate``), per domain and per template."""
    if "difficulty" not in items.columns or not items["difficulty"].notna().any():
        return []
    bins = [b for b in ("easy", "moderate", "hard", "tough", "uncalibrated") if (items["difficulty"] == b).any()]
    out = ["## Difficulty (calibration panel)", "",
           "Bins by the fraction of the panel that answered right (`curator calibrate`).", ""]
    for col in ("domain", "template"):
        t = items.groupby([col, "difficulty"]).size().unstack(fill_value=0).reindex(columns=bins, fill_value=0)
        out += [_md_table([col, *bins], [[k, *map(int, r)] for k, r in t.iterrows()]), ""]
    return out


def _built_section(stats: dict[str, Any]) -> list[str]:
    """How the items were made and filtered: generators, prompts, judge, blind check, people."""
    def pct(key: str) -> str:
        return f"{100 * stats[key]:.1f}%" if key in stats else "not run"

    ag = stats.get("agreement", {})
    return [
        "## How it was built", "",
        _md_table(["what", "value"], [
            ["generator(s)", ", ".join(stats["generators"])],
            ["prompt versions", ", ".join(f"{k} ({v})" for k, v in stats.get("prompt_versions", {}).items())],
            ["judge model(s)", ", ".join(stats.get("judge_models", [])) or "not run"],
            ["judge rejection rate", pct("judge_rejection_rate")],
            ["blind answerers", ", ".join(stats.get("blind_models", [])) or "not run"],
            ["blind hit rate (text-only answers that were right)", pct("blind_hit_rate")],
            ["human edit rate", pct("human_edit_rate")], ["human reject rate", pct("human_reject_rate")],
            ["answers changed by an 'accept' (counted as edits)", stats.get("answer_changed_on_accept", "n/a")],
            ["left out of the export (disputed / unreviewed / rejected)",
             " / ".join(str(v) for v in stats["left_out"].values()) if "left_out" in stats else "n/a"],
            ["(rates over items people decided: accepted, edited or rejected)", ""],
            ["annotator agreement (Krippendorff alpha, verdicts)",
             f"{ag['alpha_verdict']:.3f}" if ag and ag.get("alpha_verdict") == ag.get("alpha_verdict") else "n/a"]]),
        "",
    ]
