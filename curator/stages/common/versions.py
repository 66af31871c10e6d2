"""What changed between two exported benchmark versions (``curator diff``, and the card's changelog).

Items are matched by their id, which names the generation an item came from and stays the same across
rebuilds and human edits; ``content_id`` (image, criterion, template, final question, option texts and
right answer) says whether what the item *says* changed. For each matched item the changed fields are
named: question, options (the set of option texts), answer (the right option's text), split. Letter
order is not a change: export balances answer letters anew in every build. Items only in NEW are
added, only in OLD removed. Counts are given per criterion and per split (of NEW for added and changed
items, of OLD for removed ones).
Either side is an export folder (``export/<name>``) or a folder of a saved Hugging Face dataset
(``hf/vqa`` inside one, or a ``DatasetDict`` saved with ``save_to_disk``).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from curator.errors import UsageError
from curator.records import LETTERS

FIELDS = ("question", "options", "answer", "split")


@dataclass
class DiffSummary:
    old: str
    new: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)  # item id → changed fields
    by_criterion: dict[str, Counter[str]] = field(default_factory=dict)
    by_split: dict[str, Counter[str]] = field(default_factory=dict)
    unchanged: int = 0

    def rows(self) -> list[tuple[str, str]]:
        fields = Counter(f for fs in self.changed.values() for f in fs)
        return [("old", self.old), ("new", self.new), ("added", str(len(self.added))),
                ("removed", str(len(self.removed))), ("changed", str(len(self.changed))),
                *[(f"  {f} changed", str(fields[f])) for f in FIELDS if fields[f]],
                ("unchanged", str(self.unchanged))]

    def table(self, by: str = "criterion") -> list[tuple[Any, ...]]:
        counts = self.by_criterion if by == "criterion" else self.by_split
        return [(k, c["added"], c["removed"], c["changed"]) for k, c in sorted(counts.items())]

    def to_json(self) -> dict[str, Any]:
        return {"old": self.old, "new": self.new, "added": self.added, "removed": self.removed,
                "changed": self.changed, "unchanged": self.unchanged,
                "by_criterion": {k: dict(v) for k, v in sorted(self.by_criterion.items())},
                "by_split": {k: dict(v) for k, v in sorted(self.by_split.items())}}


def load_items(where: str | Path) -> pd.DataFrame:
    """The VQA items of an export (id, content id, criterion, question, options, answer, split), images left out."""
    root = Path(where)
    shards = sorted((root / "data" / "vqa").glob("*.parquet")) if (root / "data" / "vqa").is_dir() else []
    cols = ["id", "image_id", "criterion", "question", "options", "answer"]
    if shards:
        frames = []
        for f in shards:
            df = pd.read_parquet(f, columns=cols)
            frames.append(df.assign(split=f.name.split("-")[0]))
        return pd.concat(frames, ignore_index=True)
    for hf in (root / "hf" / "vqa", root):
        if (hf / "dataset_dict.json").exists():
            import datasets

            dd = datasets.load_from_disk(str(hf))
            return pd.concat([dd[s].select_columns(cols).to_pandas().assign(split=s) for s in dd],
                             ignore_index=True)
    raise UsageError(f"{root}: not an export (no data/vqa/*.parquet) nor a saved Hugging Face DatasetDict")


def previous_splits(export_dir: Path, fractions: dict[str, float]) -> dict[str, str]:
    """image id → split in the export ``export_dir`` (VQA and VR), when it was split into the same splits.

    A rebuild keeps these, so a new version never moves an image (and every item on it) across splits;
    a different set of splits or fractions starts afresh.
    """
    manifest = export_dir / "manifest.json"
    if not manifest.exists() or json.loads(manifest.read_text()).get("splits") != fractions:
        return {}
    items = load_items(export_dir)
    out = dict(zip(items["image_id"], items["split"], strict=True))
    for f in sorted((export_dir / "data" / "vr").glob("*.parquet")) if (export_dir / "data" / "vr").is_dir() else []:
        out.update(dict.fromkeys(pd.read_parquet(f, columns=["image_id"])["image_id"], f.name.split("-")[0]))
    return out


def diff(old: str | Path, new: str | Path) -> DiffSummary:
    """Added, removed and changed items between two exports, with counts per criterion and split."""
    a, b = load_items(old), load_items(new)
    a_by, b_by = a.set_index("id"), b.set_index("id")
    out = DiffSummary(old=str(old), new=str(new))
    out.added = sorted(set(b_by.index) - set(a_by.index))
    out.removed = sorted(set(a_by.index) - set(b_by.index))

    def count(row: Any, what: str) -> None:
        out.by_criterion.setdefault(str(row["criterion"]), Counter())[what] += 1
        out.by_split.setdefault(str(row["split"]), Counter())[what] += 1

    for i in out.added:
        count(b_by.loc[i], "added")
    for i in out.removed:
        count(a_by.loc[i], "removed")
    for i in sorted(set(a_by.index) & set(b_by.index)):
        x, y = a_by.loc[i], b_by.loc[i]
        fields = [f for f in FIELDS if _view(x, f) != _view(y, f)]
        if fields:
            out.changed[str(i)] = fields
            count(y, "changed")
        else:
            out.unchanged += 1
    return out


def _view(row: Any, f: str) -> Any:
    """A field as the diff compares it: options as a set of texts, the answer as the right option's text."""
    opts = [str(o) for o in row["options"]]
    if f == "options":
        return sorted(opts)
    if f == "answer":
        a = str(row["answer"])
        return opts[LETTERS.index(a)] if a in LETTERS[:len(opts)] else a
    return str(row[f])


def changelog(d: DiffSummary, version: str, previous: str) -> str:
    """The card's changelog section for ``version`` against the previous export."""
    fields = Counter(f for fs in d.changed.values() for f in fs)
    lines = ["## Changelog", "", f"**{version}** (against {previous}): {len(d.added)} added, {len(d.removed)} "
             f"removed, {len(d.changed)} changed"
             + (" (" + ", ".join(f"{fields[f]} {f}" for f in FIELDS if fields[f]) + ")" if fields else "")
             + f", {d.unchanged} unchanged.", ""]
    if d.by_criterion:
        lines += ["| criterion | added | removed | changed |", "|---|---|---|---|",
                  *[f"| `{c}` | {n} | {r} | {ch} |" for c, n, r, ch in d.table("criterion")], ""]
    return "\n".join(lines)


def write_json(d: DiffSummary, path: str | Path) -> Path:
    p = Path(path)
    p.write_text(json.dumps(d.to_json(), indent=1))
    return p
