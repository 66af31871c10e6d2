"""UniPercept's own file formats: written so the official scripts run on them as they are, and read back.

The official ``src/eval/eval_vqa.py`` and ``eval_vr.py`` run from the root of a UniPercept checkout
and open each ``image`` path as written, relative to that root. The export therefore mirrors the
checkout's ``benchmark/`` folder::

    unipercept/benchmark/VQA/<DOM>/UniPercept-Bench-<DOM>-<split>.json     one file per split
    unipercept/benchmark/VQA/<DOM>/images/<sha256>.<ext>
    unipercept/benchmark/VR/<DOM>/<DATASET>-<split>/<DATASET>-<split>.json  {"image", "gt_score"} only
    unipercept/benchmark/VR/<DOM>/<DATASET>-<split>/image/<sha256>.<ext>

Copy ``unipercept/benchmark`` into the checkout and the paths resolve. ``<DOM>`` comes from the
taxonomy (the item's domain, an image's score domain), never from a list of dataset names.
:func:`import_vqa` and :func:`import_vr` read the official files back (ours or the published
ones) so ``curator eval`` scores them like any exported benchmark.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from curator.errors import StageError
from curator.records import LETTERS, options_text


def vqa_file(domain: str, split: str) -> str:
    """The VQA file of one domain and split, relative to the ``unipercept/`` folder."""
    dom = domain.upper()
    return f"benchmark/VQA/{dom}/UniPercept-Bench-{dom}-{split}.json"


def vr_dataset_name(dataset: str, split: str) -> str:
    return f"{re.sub(r'[^A-Za-z0-9._-]+', '_', dataset)}-{split}"


def _place(src: Path, dst: Path) -> None:
    """Put one image file in place: a hard link when the file system allows it, else a copy."""
    if dst.exists():
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def write_unipercept(base: Path, items: pd.DataFrame, vr: pd.DataFrame, image_file: dict[str, Path]) -> list[str]:
    """Write the VQA and VR files of every split; returns the JSON files written (relative to ``base``).

    ``items`` and ``vr`` carry ``split``, ``domain``, ``image_id`` and ``image_name`` (the content-hash
    file name); ``image_file`` maps an image id to the file to copy.
    """
    written: list[str] = []
    for (dom, split), part in items.groupby(["domain", "split"]):
        rel = vqa_file(str(dom), str(split))
        img_dir = Path(rel).parent / "images"
        recs = []
        for r in part.to_dict("records"):
            img_rel = (img_dir / r["image_name"]).as_posix()
            _place(image_file[r["image_id"]], base / img_rel)
            opts = list(r["options"])
            recs.append({"image": img_rel, "question": f"{r['question']}\n{options_text(opts)}",
                         "answer": r["answer"], "id": r["item_id"], "options": opts, "domain": str(dom).upper(),
                         "category": r["category"], "criterion": r["criterion"], "template": r["template"]})
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_text(json.dumps(recs, indent=1, ensure_ascii=False), encoding="utf-8")
        written.append(rel)
    if vr is None or vr.empty:
        return written
    for (dom, dataset, split), part in vr.groupby(["domain", "dataset", "split"]):
        name = vr_dataset_name(str(dataset), str(split))
        d = Path("benchmark/VR") / str(dom).upper() / name
        recs = []
        for r in part.to_dict("records"):
            _place(image_file[r["image_id"]], base / d / "image" / r["image_name"])
            recs.append({"image": r["image_name"], "gt_score": float(r["gt_score"])})
        (base / d).mkdir(parents=True, exist_ok=True)
        (base / d / f"{name}.json").write_text(json.dumps(recs, indent=1), encoding="utf-8")
        written.append((d / f"{name}.json").as_posix())
    return written


_OPTION_LINE = re.compile(r"^\s*([A-H])[.)]\s*(.*)$")


def split_inline_question(text: str) -> tuple[str, list[str]]:
    """``stem\nA. x\nB. y`` → (stem, [x, y]); the options must be lettered A, B, C … in order."""
    lines = text.rstrip().split("\n")
    found: list[tuple[str, str]] = []
    while lines:
        m = _OPTION_LINE.match(lines[-1])
        if not m:
            break
        found.insert(0, (m.group(1), m.group(2).strip()))
        lines.pop()
        if m.group(1) == "A":
            break
    letters = "".join(k for k, _ in found)
    if len(found) < 2 or letters != LETTERS[:len(found)]:
        raise ValueError("no lettered options (A. … B. …) at the end of the question")
    return "\n".join(lines).strip(), [t for _, t in found]


def _resolve(path: str, json_file: Path, root: Path | None) -> Path:
    p = Path(path)
    for cand in ([p] if p.is_absolute() else [*([root / p] if root else []), json_file.parent / p, Path.cwd() / p]):
        if cand.exists():
            return cand
    raise StageError(f"{json_file}: image {path!r} not found (give --unipercept-root, the folder the official "
                     "scripts run in)")


def _json_array(f: Path, kind: str) -> list[Any]:
    try:
        data = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise StageError(f"{f}: not a UniPercept {kind} JSON file: {exc}") from exc
    if not isinstance(data, list):
        raise StageError(f"{f}: expected a JSON array of items")
    return data


def import_vqa(files: list[Path], root: Path | None = None) -> pd.DataFrame:
    """Official-format VQA files → rows with question, options, answer, domain and the image file.

    The domain comes from the record's ``domain`` key or the ``UniPercept-Bench-<DOM>`` file name.
    """
    rows = []
    for f in files:
        data = _json_array(f, "VQA")
        m = re.search(r"UniPercept-Bench-([A-Za-z]+)", f.name)
        for n, rec in enumerate(data):
            try:
                stem, opts = split_inline_question(str(rec["question"]))
                answer = str(rec["answer"]).strip().upper()
            except (KeyError, ValueError) as exc:
                raise StageError(f"{f}: item {n}: {exc}") from exc
            if answer not in LETTERS[:len(opts)]:
                raise StageError(f"{f}: item {n}: answer {answer!r} is not a letter of its {len(opts)} options")
            dom = str(rec.get("domain") or (m.group(1) if m else "unknown")).lower()
            img = _resolve(str(rec["image"]), f, root)
            rows.append({"id": str(rec.get("id") or f"{f.stem}-{n:06d}"), "image_file": str(img),
                         "question": stem, "options": opts, "answer": answer, "domain": dom,
                         "category": str(rec.get("category") or dom), "criterion": str(rec.get("criterion") or dom),
                         "template": str(rec.get("template") or "unknown")})
    return pd.DataFrame(rows)


def import_vr(files: list[Path], domain_of: dict[str, str] | None = None) -> pd.DataFrame:
    """Official-format VR files (``<DOM>/<DATASET>/<DATASET>.json``, images in ``image/``) → rating rows."""
    rows = []
    for f in files:
        data = _json_array(f, "VR")
        dom = (domain_of or {}).get(f.stem) or f.parent.parent.name.lower()
        for n, rec in enumerate(data):
            try:
                img = f.parent / "image" / str(rec["image"])
                score = float(rec["gt_score"])
            except (KeyError, TypeError, ValueError) as exc:
                raise StageError(f"{f}: item {n}: needs image and a numeric gt_score ({exc})") from exc
            if not img.exists():
                raise StageError(f"{f}: item {n}: image {img} not found")
            rows.append({"id": f"vr-{f.stem}-{n:06d}", "image_file": str(img), "dataset": f.stem, "domain": dom,
                         "gt_score": score})
    return pd.DataFrame(rows)


def import_benchmark(out: Path, vqa_files: list[Path], vr_files: list[Path] | None = None,
                     root: Path | None = None) -> Path:
    """Official-format files → a benchmark folder ``curator eval`` reads (``hf/vqa``, ``hf/vr``; split ``test``).

    Lets a published UniPercept-Bench file be scored by the same code as our exports, so results
    can be put next to the paper's tables.
    """
    import datasets

    out.mkdir(parents=True, exist_ok=True)
    string = datasets.Value("string")
    if vqa_files:
        df = import_vqa(vqa_files, root)
        feats = datasets.Features({"id": string, "image": datasets.Image(), "image_id": string, "question": string,
                                   "options": datasets.Sequence(string), "answer": string, "domain": string,
                                   "category": string, "criterion": string, "template": string})
        rows = [{**{k: r[k] for k in ("id", "question", "options", "answer", "domain", "category", "criterion",
                                       "template")},
                 "image": {"bytes": Path(r["image_file"]).read_bytes(), "path": Path(r["image_file"]).name},
                 "image_id": _digest(Path(r["image_file"]))} for r in df.to_dict("records")]
        datasets.DatasetDict({"test": datasets.Dataset.from_list(rows, features=feats)}).save_to_disk(
            str(out / "hf" / "vqa"))
    if vr_files:
        df = import_vr(vr_files)
        feats = datasets.Features({"id": string, "image": datasets.Image(), "image_id": string, "domain": string,
                                   "dataset": string, "gt_score": datasets.Value("float32")})
        rows = [{"id": r["id"], "image": {"bytes": Path(r["image_file"]).read_bytes(),
                                          "path": Path(r["image_file"]).name},
                 "image_id": _digest(Path(r["image_file"])), "domain": r["domain"], "dataset": r["dataset"],
                 "gt_score": r["gt_score"]} for r in df.to_dict("records")]
        datasets.DatasetDict({"test": datasets.Dataset.from_list(rows, features=feats)}).save_to_disk(
            str(out / "hf" / "vr"))
    return out


def _digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()
