"""The one constructor of a QA item, for every generator (a model, the synthetic answer key)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from curator.records.ids import item_id
from curator.records.rows import Provenance, QAItem


def new_qa_item(work: Mapping[str, Any], *, domain: str, category: str, criterion: str, question: str,
                options: list[str], answer: str, rationale: str, provenance: Provenance, version: str,
                truth: dict[str, Any] | None = None) -> dict[str, Any]:
    """A ``candidates.jsonl`` row for the work item ``work`` (a ``plan.jsonl`` row).

    The item id hashes the image, criterion, template, generator (``provenance.model``), ``version``
    (the prompt's identity) and the plan slot, so the same question from the same prompt is the same
    item in every run.
    """
    item = QAItem(item_id=item_id(work["image_id"], criterion, work["template"], provenance.model, version,
                                  work.get("slot", 0)),
                  work_id=work["work_id"], image_id=work["image_id"], image_path=work["image_path"], domain=domain,
                  category=category, criterion=criterion, template=work["template"], question=question,
                  options=list(options), answer=answer, rationale=rationale, generator=provenance.model,
                  provenance=asdict(provenance), truth=truth)
    row = asdict(item)
    if truth is None:  # only synthetic items carry an answer key
        del row["truth"]
    return row
