"""``curator report``: a self-contained static page over a benchmark build.

What it shows: the funnel (planned → generated → judged → blind → checked → sampled → reviewed →
exported, overall and per criterion) with the reasons items were dropped at each step; every item in a
gallery (thumbnail, criterion path, template, question, options with the answer marked, judge and blind
figures, difficulty, reviewers' verdict and the model's original beside the final text, split) with
filters, a text search and paging; and the validity figures the card states. One ``index.html``, our own
small ``report.js`` and ``report.css``, the data as ``data.json`` and as ``data.js`` (a page opened from
disk may not fetch a file, but it may load a script), 256-px thumbnails written once and reused, the card's
plots. No server, no network, no CDN.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from curator.config import Project
from curator.errors import StageError
from curator.records import LETTERS
from curator.stages.common.versions import load_items
from curator.store import Store

ASSETS = Path(__file__).resolve().parent / "assets"
STEPS = ("planned", "generated", "judged", "blind", "checked", "sampled", "reviewed", "exported")
THUMB = 256


@dataclass
class ReportSummary:
    out: str = ""
    items: int = 0
    thumbnails_new: int = 0
    thumbnails_reused: int = 0

    def rows(self) -> list[tuple[str, str]]:
        return [("report", str(Path(self.out) / "index.html")), ("items", str(self.items)),
                ("thumbnails written / reused", f"{self.thumbnails_new} / {self.thumbnails_reused}")]


def report(project: Project, *, out: str | Path | None = None) -> ReportSummary:
    """Write the report folder (default ``<project>/report``) and return where its ``index.html`` is."""
    store = Store(project)
    if not store.candidates.exists():
        raise StageError("nothing to report yet: run `curator generate` first")
    dest = Path(out) if out else project.root / "report"
    (dest / "thumbs").mkdir(parents=True, exist_ok=True)
    export_dir = project.export_dir / project.config.name
    exported = load_items(export_dir) if (export_dir / "data" / "vqa").is_dir() else None
    items = _items(project, store, exported)
    summary = ReportSummary(out=str(dest), items=len(items))
    images = store.load_images()
    files = {i: project.images_root / f for i, f in zip(images["image_id"], images["file"], strict=True)}
    for it in items:
        it["thumb"] = f"thumbs/{it['image_id']}.jpg"
    made, reused = _thumbnails(dest / "thumbs", {it["image_id"] for it in items}, files)
    summary.thumbnails_new, summary.thumbnails_reused = made, reused
    data = {"project": project.config.name, "generated": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "steps": list(STEPS), "funnel": _funnel(items, store), "drops": _drops(store, items),
            "validity": _validity(export_dir, exported, store), "plots": _plots(export_dir, dest), "items": items}
    text = json.dumps(data, ensure_ascii=False, default=str)
    (dest / "data.json").write_text(text, encoding="utf-8")
    (dest / "data.js").write_text("window.REPORT = " + text + ";\n", encoding="utf-8")
    for name in ("index.html", "report.js", "report.css"):
        shutil.copyfile(ASSETS / name, dest / name)
    return summary


def _thumbnails(folder: Path, image_ids: set[str], files: dict[str, Path]) -> tuple[int, int]:
    """256-px JPEG thumbnails, written once: a rerun reuses every one already there."""
    from PIL import Image

    made = reused = 0
    for image_id in sorted(image_ids):
        target = folder / f"{image_id}.jpg"
        if target.exists():
            reused += 1
            continue
        src = files.get(image_id)
        if src is None or not src.is_file():
            continue
        with Image.open(src) as im:
            im.thumbnail((THUMB, THUMB))
            im.convert("RGB").save(target, "JPEG", quality=82)
        made += 1
    return made, reused


def _frame(table: Any) -> pd.DataFrame:
    return table.frame() if table.exists() else pd.DataFrame()


def _items(project: Project, store: Store, exported_items: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Every candidate with what each later step made of it."""
    cands = store.qa_candidates()
    checked = _frame(store.checked).set_index("item_id") if store.checked.exists() else None
    judged = store.judgements().set_index("item_id")
    blind = _frame(store.blind_decisions).set_index("item_id") if store.blind_decisions.exists() else None
    diff = _frame(store.difficulty).set_index("item_id") if store.difficulty.exists() else None
    sampled = set(store.sample.read(columns=["item_id"])["item_id"]) if store.sample.exists() else set()
    reviewed = _frame(store.reviewed).set_index("item_id") if store.reviewed.exists() else None
    exported = exported_items.set_index("id") if exported_items is not None else None
    tax = project.load_taxonomy()
    out = []
    for c in cands.to_dict("records"):
        iid = c["item_id"]
        final = c
        row: dict[str, Any] = {"id": iid, "image_id": c["image_id"], "domain": c["domain"], "criterion": c["criterion"],
                               "template": c["template"], "status": "generated", "reason": "", "split": "",
                               "review": ""}
        crit = tax.get(c["criterion"])
        row["criterion_name"], row["path"] = crit.name, tax.tagged(crit)
        if checked is not None and iid in checked.index:
            ch = checked.loc[iid]
            reasons = list(ch.get("drop_reasons") if ch.get("drop_reasons") is not None else [])
            row["status"], row["reason"] = ("kept", "") if bool(ch["keep"]) else ("dropped", ", ".join(reasons))
            final = {**c, "options": list(ch["options"]), "answer": ch["answer"]}
        if iid in judged.index:
            j = judged.loc[iid]
            row["judge"] = f"{float(j['judge_mean']):.1f}/5" + ("" if bool(j["keep"]) else " (dropped)")
        if blind is not None and iid in blind.index:
            row["blind"] = f"{int(blind.loc[iid, 'blind_hits'])}/{int(blind.loc[iid, 'blind_k'])} right"
        if diff is not None and iid in diff.index:
            row["difficulty"] = str(diff.loc[iid, "difficulty"])
        if iid in sampled:
            row["status"] = "sampled"
        if reviewed is not None and iid in reviewed.index:
            rv = reviewed.loc[iid]
            row["status"] = row["review"] = str(rv["review_status"])
            row["reason"] = str(rv.get("dispute_reason") or "") if row["status"] == "disputed" else ""
            final = {**final, "question": rv["final_question"], "options": list(rv["final_options"]),
                     "answer": rv["final_answer"]}
            row["reviews"] = str(len(json.loads(rv["reviews"] or "[]")))
        if exported is not None and iid in exported.index:
            ex = exported.loc[iid]
            row["status"], row["split"] = "exported", str(ex["split"])
            final = {**final, "question": ex["question"], "options": list(ex["options"]), "answer": ex["answer"]}
        opts = [str(o) for o in final["options"]]
        row["question"], row["options"] = str(final["question"]), opts
        row["answer_index"] = LETTERS.index(final["answer"]) if final["answer"] in LETTERS[:len(opts)] else -1
        row["model_question"] = str(c["question"])
        m_opts = [str(o) for o in c["options"]]
        row["model_answer_text"] = m_opts[LETTERS.index(c["answer"])] if c["answer"] in LETTERS[:len(m_opts)] else ""
        row["text"] = " ".join([iid, row["question"], *opts, row["model_question"]]).lower()
        out.append(row)
    return out


def _funnel(items: list[dict[str, Any]], store: Store) -> list[dict[str, Any]]:
    """Counts per step, overall, per domain and per criterion (an item counts at every step it passed);
    a step that never ran shows "not run", not a count."""
    ran = {"judged": store.judged.exists(), "blind": store.blind_decisions.exists() or store.blind.exists(),
           "checked": store.checked.exists(), "sampled": store.sample.exists(), "reviewed": store.reviewed.exists(),
           "exported": any(it["status"] == "exported" for it in items)}
    planned: Counter[str] = Counter()
    for w in store.plan:
        planned["all"] += 1
        planned[w["domain"]] += 1
        planned[w["criterion"]] += 1
    reached = {"generated": lambda it: True,
               "judged": lambda it: "judge" in it and "dropped" not in it["judge"],
               "blind": lambda it: it["reason"].find("blind") < 0,
               "checked": lambda it: it["status"] not in ("generated", "dropped"),
               "sampled": lambda it: it["status"] not in ("generated", "dropped", "kept"),
               "reviewed": lambda it: it["status"] in ("accepted", "edited", "exported"),
               "exported": lambda it: it["status"] == "exported"}
    groups: dict[str, list[dict[str, Any]]] = {"all": items}
    for it in items:
        groups.setdefault(it["domain"], []).append(it)
        groups.setdefault(it["criterion"], []).append(it)
    rows = []
    for key, its in groups.items():
        counts: list[Any] = [planned.get(key, 0)]
        counts += [sum(1 for it in its if ok(it)) if ran.get(step, True) else "not run" for step, ok in reached.items()]
        rows.append({"key": key, "counts": counts})
    return rows


def _drops(store: Store, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    gen = Counter(r.get("reason", "?") for r in store.generate_rejects if r.get("final"))
    out += [{"step": "generate", "reason": k, "items": v} for k, v in gen.most_common()]
    judge = sum(1 for it in items if "dropped" in it.get("judge", ""))
    if judge:
        out.append({"step": "judge", "reason": "an aspect scored under the bar", "items": judge})
    check = Counter(r.strip() for it in items if it["status"] == "dropped" for r in it["reason"].split(","))
    out += [{"step": "check", "reason": k, "items": v} for k, v in check.most_common() if k]
    review = Counter(it["status"] for it in items if it["status"] in ("rejected", "disputed", "unreviewed"))
    out += [{"step": "review", "reason": k, "items": v} for k, v in review.most_common()]
    return out


def _validity(export_dir: Path, exported: pd.DataFrame | None, store: Store) -> dict[str, str]:
    out: dict[str, str] = {}
    if (export_dir / "leakage.json").exists():
        leak = json.loads((export_dir / "leakage.json").read_text())
        out["split leakage"] = (f"{'clean' if leak.get('clean') else 'LEAKAGE FOUND'}: {leak.get('shared_groups', 0)} "
                                f"groups, {leak.get('shared_images', 0)} images shared across splits")
    if (export_dir / "priors.json").exists():
        pri = json.loads((export_dir / "priors.json").read_text())
        out["text-only priors"] = (f"{len(pri.get('flagged') or [])} split/template cells above random "
                                   f"(significant), {len(pri.get('above_margin') or [])} above the margin")
    if exported is not None:
        letters = Counter(exported["answer"])
        out["answer letters"] = ", ".join(f"{k} {v}" for k, v in sorted(letters.items()))
    if store.review.agreement.exists():
        ov = json.loads(store.review.agreement.read_text()).get("overall", {})
        if ov:
            out["annotator agreement (Krippendorff α, verdicts)"] = f"{ov.get('alpha_verdict', float('nan')):.3f}"
    return out or {"exported": "not yet (run `curator export`)"}


def _plots(export_dir: Path, dest: Path) -> list[str]:
    src = export_dir / "plots"
    if not src.is_dir():
        return []
    (dest / "plots").mkdir(exist_ok=True)
    names = []
    for p in sorted(src.glob("*.png")):
        shutil.copyfile(p, dest / "plots" / p.name)
        names.append(f"plots/{p.name}")
    return names
