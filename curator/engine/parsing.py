"""Tolerant parsing of model replies: fenced JSON, text around the JSON, trailing commas."""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.S)


def parse_json_object(text: str) -> dict[str, Any]:
    """The first JSON object in ``text``.

    Raises:
        ValueError: with a short reason when no object can be recovered.
    """
    if not text or not text.strip():
        raise ValueError("empty reply")
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    for cand in candidates:
        start = cand.find("{")
        while start != -1:
            depth, in_str, esc = 0, False, False
            for i in range(start, len(cand)):
                ch = cand[i]
                if in_str:
                    if esc:
                        esc = False
                    elif ch == "\\":
                        esc = True
                    elif ch == '"':
                        in_str = False
                elif ch == '"':
                    in_str = True
                elif ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                    if depth == 0:
                        blob = cand[start:i + 1]
                        for attempt in (blob, re.sub(r",\s*([}\]])", r"\1", blob)):
                            try:
                                obj = json.loads(attempt)
                            except json.JSONDecodeError:
                                continue
                            if isinstance(obj, dict):
                                return obj
                        break
            start = cand.find("{", start + 1)
    raise ValueError("no JSON object found in the reply")


_LETTER_PATTERNS = [
    re.compile(r"^\s*\(?([A-H])\)?\s*[.):]?\s*$"),  # "B", "(B)", "B."
    re.compile(r"(?:answer|option|choice)\s*(?:is|:)?\s*[\"'(\[]*([A-H])\b", re.I),  # "The answer is (B)"
    re.compile(r"^\s*\(?([A-H])[.):]\s"),  # "B. Slight", "B) Slight"
    re.compile(r"\*\*\(?([A-H])\)?[.):]?\*\*"),  # "**B**"
]


def extract_letter(reply: str, options: list[str] | None = None) -> str | None:
    """The option letter a free-text reply chose, or None.

    Survives "The answer is (B)", "B. Slight", "**B**" and, given ``options``, a reply that only
    repeats one option's text.
    """
    if not reply:
        return None
    text = reply.strip()
    for pat in _LETTER_PATTERNS:
        m = pat.search(text)
        if m:
            letter = m.group(1).upper()
            if options is None or "ABCDEFGH".index(letter) < len(options):
                return letter
    if options:
        low = text.lower().strip(" .")
        hits = [i for i, o in enumerate(options) if o.lower().strip(" .") == low]
        if not hits:
            hits = [i for i, o in enumerate(options) if re.search(rf"\b{re.escape(o.lower())}\b", low)]
        if len(hits) == 1:
            return "ABCDEFGH"[hits[0]]
    return None


def first_char_letter(reply: str) -> str:
    """UniPercept's official rule: the first character of the stripped, upper-cased reply."""
    s = (reply or "").strip().upper()
    return s[:1] if s else "?"
