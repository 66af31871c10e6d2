"""An ingest source: a Hugging Face dataset (a hub name in the cache, or a folder saved with ``save_to_disk``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from curator.config import Project
from curator.errors import IngestError
from curator.images import IMAGE_SUFFIXES


def materialize_hf(project: Project, ref: str, image_col: str, split: str | None) -> tuple[Path, pd.DataFrame]:
    """Write an HF dataset's images under ``images_root/hf/<name>/`` and return its label frame."""
    import datasets

    try:
        if Path(ref).exists():
            ds = datasets.load_from_disk(ref)
        else:
            ds = datasets.load_dataset(ref, split=split or "train")
    except Exception as exc:
        raise IngestError(f"cannot load HF dataset {ref!r}: {type(exc).__name__}: {exc}") from exc
    if isinstance(ds, datasets.DatasetDict):
        ds = ds[split] if split else ds[next(iter(ds))]
    if image_col not in ds.column_names:
        raise IngestError(f"HF dataset {ref!r} has no column {image_col!r} (columns: {ds.column_names})")
    ds = ds.cast_column(image_col, datasets.Image(decode=False))
    name = Path(ref).name.replace("/", "__") or "hf"
    root = project.images_root
    out_dir = root / "hf" / name
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, rec in enumerate(ds):
        img = rec[image_col] or {}
        data, src_path = img.get("bytes"), img.get("path") or ""
        if data is None and src_path and Path(src_path).exists():
            data = Path(src_path).read_bytes()
        suffix = Path(src_path).suffix.lower() if src_path else ""
        if suffix not in IMAGE_SUFFIXES:
            suffix = ".png"
        target = out_dir / f"{i:07d}{suffix}"
        if not target.exists():
            target.write_bytes(data or b"")
        meta = {k: v for k, v in rec.items() if k != image_col and isinstance(v, str | int | float | bool)}
        rows.append({"path": target.relative_to(root).as_posix(), **meta})
    return root, pd.DataFrame(rows)
