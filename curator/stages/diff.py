"""``curator diff OLD NEW``: added, removed and changed items between two exports (see stages/common/versions)."""

from __future__ import annotations

from pathlib import Path

from curator.stages.common.versions import DiffSummary, write_json
from curator.stages.common.versions import diff as _diff


def diff(old: str | Path, new: str | Path, *, json_out: str | Path | None = None) -> DiffSummary:
    """Compare two exports (folders, or saved Hugging Face DatasetDicts); optionally write the result as JSON."""
    d = _diff(old, new)
    if json_out:
        write_json(d, json_out)
    return d
