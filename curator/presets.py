"""Column maps and native score scales of well-known IQA/IAA label files.

Each preset reads the file *as the dataset ships it* and returns a frame with a ``path`` column and
one column per score, plus the declared scale of each score. Anything else in the file is kept as
metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from curator.errors import IngestError

KADID_TYPES = {
    1: "gaussian blur", 2: "lens blur", 3: "motion blur", 4: "color diffusion", 5: "color shift",
    6: "color quantization", 7: "color saturation 1", 8: "color saturation 2", 9: "jpeg2000", 10: "jpeg",
    11: "white noise", 12: "white noise in color component", 13: "impulse noise", 14: "multiplicative noise",
    15: "denoise", 16: "brighten", 17: "darken", 18: "mean shift", 19: "jitter", 20: "non-eccentricity patch",
    21: "pixelate", 22: "quantization", 23: "color block", 24: "high sharpen", 25: "contrast change",
}


@dataclass(frozen=True)
class Preset:
    """How to read one dataset's label file.

    ``scales`` maps score column -> (min, max) of its native scale; ``None`` means the scale is
    not fixed (e.g. PIPAL's Elo) and is taken from the observed min/max, which is declared as such.
    The first entry of ``scales`` is the primary score.
    """

    name: str
    source: str
    read: Callable[[Path], pd.DataFrame]
    scales: dict[str, tuple[float, float] | None] = field(default_factory=dict)
    license: str = ""
    domain: str = "iqa"
    """The taxonomy domain its scores rate (KonIQ rates quality, AVA aesthetics)."""


def read_any(path: Path) -> pd.DataFrame:
    """Read a generic label file by its suffix: CSV, TSV, JSONL/JSON, Parquet or Excel."""
    suf = path.suffix.lower()
    try:
        if suf == ".csv":
            return pd.read_csv(path)
        if suf in (".tsv", ".tab"):
            return pd.read_csv(path, sep="\t")
        if suf in (".jsonl", ".ndjson"):
            return pd.read_json(path, lines=True)
        if suf == ".json":
            return pd.read_json(path)
        if suf == ".parquet":
            return pd.read_parquet(path)
        if suf in (".xlsx", ".xls"):
            return pd.read_excel(path)
    except Exception as exc:  # pandas raises many types; all mean "cannot parse this file"
        raise IngestError(f"{path}: cannot read label file: {type(exc).__name__}: {exc}") from exc
    raise IngestError(f"{path}: unknown label-file type {suf!r} (use .csv, .tsv, .jsonl, .json, .parquet, .xlsx)")


def _koniq(path: Path) -> pd.DataFrame:
    df = read_any(path)
    return df.rename(columns={"image_name": "path"})


def _spaq(path: Path) -> pd.DataFrame:
    df = read_any(path)
    return df.rename(columns={"Image name": "path"})


def _kadid(path: Path) -> pd.DataFrame:
    df = read_any(path).rename(columns={"dist_img": "path"})
    parts = df["path"].str.extract(r"I(\d+)_(\d+)_(\d+)")
    df["distortion"] = parts[1].astype(int).map(KADID_TYPES)
    df["level"] = parts[2].astype(int)
    return df


def _ava(path: Path) -> pd.DataFrame:
    cols = ["index", "image_id", *[f"n{i}" for i in range(1, 11)], "tag1", "tag2", "challenge"]
    try:
        df = pd.read_csv(path, sep=r"\s+", header=None, names=cols)
    except Exception as exc:
        raise IngestError(f"{path}: not an AVA.txt file: {exc}") from exc
    counts = df[[f"n{i}" for i in range(1, 11)]].to_numpy(dtype=float)
    total = counts.sum(axis=1)
    df["mean_score"] = (counts * range(1, 11)).sum(axis=1) / total.clip(min=1)
    df["n_votes"] = total.astype(int)
    df["path"] = df["image_id"].astype(str) + ".jpg"
    return df.drop(columns=[f"n{i}" for i in range(1, 11)])


def _pipal(path: Path) -> pd.DataFrame:
    files = sorted(path.glob("*.txt")) if path.is_dir() else [path]
    frames = [pd.read_csv(f, header=None, names=["path", "elo"]) for f in files]
    if not frames:
        raise IngestError(f"{path}: no PIPAL label .txt files found")
    df = pd.concat(frames, ignore_index=True)
    df["ref_img"] = df["path"].str.slice(0, 5) + ".bmp"
    return df


PRESETS: dict[str, Preset] = {
    "koniq10k": Preset("koniq10k", "KonIQ-10k", _koniq, {"MOS_zscore": (0.0, 100.0), "MOS": (1.0, 5.0)},
                       "CC BY-NC 4.0 (KonIQ-10k)"),
    "spaq": Preset("spaq", "SPAQ", _spaq, {"MOS": (0.0, 100.0), "Brightness": (0.0, 100.0),
                                           "Colorfulness": (0.0, 100.0), "Contrast": (0.0, 100.0),
                                           "Noisiness": (0.0, 100.0), "Sharpness": (0.0, 100.0)}),
    "kadid10k": Preset("kadid10k", "KADID-10k", _kadid, {"dmos": (1.0, 5.0)}),
    "ava": Preset("ava", "AVA", _ava, {"mean_score": (1.0, 10.0)}, domain="iaa"),
    "pipal": Preset("pipal", "PIPAL", _pipal, {"elo": None}),
}
