"""Arrow schemas derived from the record dataclasses, and the checks the store runs on every write."""

from __future__ import annotations

import dataclasses
import types
import typing
from functools import cache
from typing import Any

import pyarrow as pa

from curator.errors import StageError

_SCALARS: dict[Any, pa.DataType] = {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_()}


def _arrow_type(hint: Any) -> tuple[pa.DataType, bool]:
    """(Arrow type, nullable) of a field's type hint; dicts are JSON text in Parquet."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _arrow_type(inner[0])[0], True
    if hint in _SCALARS:
        return _SCALARS[hint], False
    if typing.get_origin(hint) is list:
        return pa.list_(_arrow_type(args[0])[0] if args else pa.string()), False
    return pa.string(), False  # dict[...] / Any: stored as JSON text


@cache
def arrow_schema(record: type) -> pa.Schema:
    """The Arrow schema of a record dataclass (field order kept; optional fields nullable)."""
    hints = typing.get_type_hints(record)
    fields = []
    for f in dataclasses.fields(record):
        typ, nullable = _arrow_type(hints[f.name])
        fields.append(pa.field(f.name, typ, nullable=nullable or f.default is None))
    return pa.schema(fields)


def required_columns(record: type) -> list[str]:
    """Fields without a default: every row of the table has them."""
    return [f.name for f in dataclasses.fields(record)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]


def check_columns(record: type, columns: typing.Iterable[str], where: str) -> None:
    """A table about to be written lacks a required column: say which, before anything is replaced."""
    missing = [c for c in required_columns(record) if c not in set(columns)]
    if missing:
        raise StageError(f"{where}: refusing to write rows without {', '.join(missing)} "
                         f"(required by {record.__name__})")


def typed_table(record: type, table: pa.Table) -> pa.Table:
    """Give columns that came out all-null (an empty stage, a filter that never ran) their declared type."""
    schema = arrow_schema(record)
    for i, name in enumerate(table.column_names):
        if pa.types.is_null(table.schema.field(i).type) and name in schema.names:
            table = table.set_column(i, pa.field(name, schema.field(name).type, nullable=True),
                                     table.column(i).cast(schema.field(name).type))
    return table
