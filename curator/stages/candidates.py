"""Loading the candidate table that generation writes and every later stage reads."""

from __future__ import annotations

from typing import Any

import pandas as pd

from curator.config import Project
from curator.errors import StageError
from curator.records import options_text
from curator.store.io import iter_jsonl

CANDIDATES = "candidates.jsonl"


def load_candidates(project: Project) -> pd.DataFrame:
    """All candidates, de-duplicated by item id (the last write wins: a repaired item replaces nothing)."""
    path = project.table(CANDIDATES)
    rows = list(iter_jsonl(path))
    if not rows:
        raise StageError(f"{path} has no candidates; run `curator generate` first")
    df = pd.DataFrame(rows).drop_duplicates("item_id", keep="first").reset_index(drop=True)
    return df


def inline_question(row: dict[str, Any] | Any) -> str:
    """UniPercept's evaluation form: the stem followed by ``A. …`` lines."""
    return f"{row['question']}\n{options_text(list(row['options']))}"
