"""The store: every table a project keeps under ``data/``, its file, format and record type."""

from curator.store.store import REFINED, TABLES, EvalRun, ReviewFiles, Store
from curator.store.tables import JsonlTable, ParquetTable, TableSpec

__all__ = ["REFINED", "TABLES", "EvalRun", "JsonlTable", "ParquetTable", "ReviewFiles", "Store", "TableSpec"]
