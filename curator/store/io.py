"""Reading and writing stage tables without ever losing finished work.

JSONL is append-only and flushed per record; a torn last line (a run killed mid-write) is skipped
with a warning rather than failing the next run. Parquet tables are written to a temporary file
and renamed, so a crash leaves the previous version intact.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def iter_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Yield records of a JSONL file; a malformed line is logged with its number and skipped."""
    if not path.exists():
        return
    with path.open("rb") as fh:
        for n, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                yield json.loads(raw)
            except json.JSONDecodeError:
                log.warning("%s:%d: skipping a torn or malformed line", path, n)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return list(iter_jsonl(path))


class JsonlAppender:
    """Append records to a JSONL file, each flushed (and fsynced on close) as it is written."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._repair_tail(path)
        self.path = path
        self._fh = path.open("a", encoding="utf-8")

    @staticmethod
    def _repair_tail(path: Path) -> None:
        """Terminate a torn last line so the next record starts on its own line."""
        if path.exists() and path.stat().st_size:
            with path.open("rb+") as fh:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    fh.write(b"\n")

    def write(self, record: dict[str, Any]) -> None:
        self._fh.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> int:
    """Write a whole JSONL file atomically (temp file + rename)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    n = 0
    with tmp.open("w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
            n += 1
    os.replace(tmp, path)
    return n


def write_parquet(path: Path, df: Any) -> None:
    """Write a pandas DataFrame to Parquet atomically."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def read_table(path: Path) -> Any:
    """Read a stage table (``.parquet`` or ``.jsonl``) into a pandas DataFrame."""
    import pandas as pd

    if not path.exists():
        from curator.errors import StageError

        raise StageError(f"{path} does not exist; run the stage that writes it first")
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.DataFrame(read_jsonl(path))
