"""``curator export``: benchmark splits as a HF DatasetDict, parquet shards, UniPercept files and a card."""

from curator.stages.export.build import ExportSummary, export

__all__ = ["ExportSummary", "export"]
