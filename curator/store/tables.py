"""A table on disk, bound to its record type: JSONL (append-only, model output) or Parquet (curated).

The table owns its file name, its format and how it is written (appends flushed per record,
whole-table writes atomic with the required columns checked); stages only say what they read or
write. A missing table is a :class:`StageError` that names the command producing it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from curator.errors import StageError
from curator.records import check_columns, required_columns, typed_table
from curator.store.io import JsonlAppender, iter_jsonl, write_jsonl


@dataclass(frozen=True)
class TableSpec:
    """What a table is: its file in ``data/``, its record type, and who writes and reads it."""

    file: str
    record: type
    producer: str  # the command that writes it
    consumers: tuple[str, ...] = ()


class Table:
    """Shared by both formats: where the table is and what to say when it is not there yet."""

    def __init__(self, data: Path, spec: TableSpec) -> None:
        self.spec = spec
        self.path = data / spec.file

    def exists(self) -> bool:
        return self.path.exists()

    def missing(self) -> StageError:
        return StageError(f"{self.path} does not exist; run `curator {self.spec.producer}` first")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path})"


class JsonlTable(Table):
    """An append-only JSONL table: one record per line, a torn last line skipped with a warning."""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter_jsonl(self.path)

    def read(self) -> list[dict[str, Any]]:
        """Every row (empty when the table does not exist yet)."""
        return list(iter_jsonl(self.path))

    def frame(self) -> pd.DataFrame:
        """The rows as a DataFrame; a missing table is an error naming its producer."""
        if not self.exists():
            raise self.missing()
        return pd.DataFrame(self.read())

    def values(self, key: str, *, final_only: bool = False) -> set[Any]:
        """The set of ``key`` over rows having it (``final_only``: rejects that are not retried)."""
        return {r[key] for r in self if key in r and (not final_only or r.get("final"))}

    def appender(self) -> JsonlAppender:
        """Append rows, each flushed as written and checked for the record's required fields."""
        return _RecordAppender(self.path, self.spec.record)

    def write(self, rows: Iterable[dict[str, Any]]) -> int:
        """Replace the whole table atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return write_jsonl(self.path, rows)


class _RecordAppender(JsonlAppender):
    """A JSONL appender that refuses a row missing a required field of the table's record (before writing it)."""

    def __init__(self, path: Path, record: type) -> None:
        super().__init__(path)
        self._required = required_columns(record)
        self._record = record

    def write(self, record: dict[str, Any]) -> None:
        missing = [k for k in self._required if k not in record]
        if missing:
            raise StageError(f"{self.path}: refusing a row without {', '.join(missing)} (required by "
                             f"{self._record.__name__}); nothing was written")
        super().write(record)


class ParquetTable(Table):
    """A curated table, replaced as a whole and atomically; columns checked against its record type."""

    def read(self, columns: list[str] | None = None) -> pd.DataFrame:
        if not self.exists():
            raise self.missing()
        return pd.read_parquet(self.path, columns=columns)

    def write(self, df: pd.DataFrame) -> Path:
        """Write ``df`` (temp file + rename); refused when a required column is missing."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        check_columns(self.spec.record, df.columns, str(self.path))
        table = typed_table(self.spec.record, pa.Table.from_pandas(df, preserve_index=False))
        tmp = self.path.with_name(self.path.name + ".tmp")
        pq.write_table(table, tmp)
        tmp.replace(self.path)
        return self.path

    def frame(self) -> pd.DataFrame:
        return self.read()
