"""Content ids: every id curator writes is a hash of what the thing is, so every stage is idempotent."""

from __future__ import annotations

import hashlib
import json
from typing import Any

LETTERS = "ABCDEFGH"


def canonical_json(obj: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces) used for every hash curator computes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def sha256_hex(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def item_id(image_id: str, criterion: str, template: str, generator: str, prompt_version: str, slot: int = 0) -> str:
    """Content id of a QA item: image bytes hash + criterion + template + generator + prompt version.

    ``slot`` distinguishes several items planned for the same (image, criterion, template).
    """
    key = canonical_json([image_id, criterion, template, generator, prompt_version, slot])
    return "q" + sha256_hex(key)[:23]


def content_id(image_id: str, criterion: str, template: str, question: str, options: list[str], answer: str) -> str:
    """What an item *says*: image, criterion, template and the final question, option texts and right answer.

    Beside the item id (which names the generation it came from and stays the same when people edit
    it), two exports hold the same item content exactly when their content ids are equal. The option
    *order* does not count (letter balancing reorders options between exports); the right answer counts
    by its text.
    """
    opts = [str(o) for o in options]
    right = opts[LETTERS.index(answer)] if answer in LETTERS[:len(opts)] else answer
    return "c" + sha256_hex(canonical_json([image_id, criterion, template, question, sorted(opts), right]))[:23]


def vr_item_id(dataset: str, image_id: str) -> str:
    """Id of a visual-rating item (one image rated on one dataset's scale), the same in review and export."""
    return f"vr-{(dataset or 'unknown').replace(' ', '_')}-{image_id[:16]}"


def options_text(options: list[str]) -> str:
    """The inline ``A. …`` option block UniPercept's evaluation code expects inside the question."""
    return "\n".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(options))


def inline_question(row: Any) -> str:
    """UniPercept's evaluation form: the stem followed by ``A. …`` lines."""
    return f"{row['question']}\n{options_text(list(row['options']))}"
