"""Checking a generator's reply: one item of the template asked for, or a ValueError saying why not.

yes_no and level items are stored with their canonical options (Yes/No, the scale in order) and
the letter of the *meaning* the model chose, whatever order the model wrote its options in.
"""

from __future__ import annotations

import re
from typing import Any

from curator.records import LETTERS
from curator.taxonomy import MAX_OPTIONS

_ENUMERATOR = re.compile(r"^\s*(?:\(\s*(?P<p>[A-Ha-h1-8])\s*\)|(?P<d>[A-Ha-h1-8])\s*[.):])\s+")
_STEM = {"what": "what", "which": "which", "how": "how", "why": "why"}
_POLAR = frozenset({
    "is", "are", "am", "was", "were", "does", "do", "did", "can", "could", "has", "have", "had", "will", "would",
    "shall", "should", "may", "might", "must", "isn't", "aren't", "doesn't", "don't", "didn't", "can't", "hasn't",
    "haven't", "wasn't", "weren't"})


def strip_enumerator(option: str, position: int) -> str:
    """Drop a leading enumerator ("A.", "(b)", "C)", "1.") only when it names this option's position.

    "e.g. the top half" keeps its text: "e." is followed by a letter, and a real enumerator must
    also match where the option stands.
    """
    m = _ENUMERATOR.match(option)
    if m:
        tag = (m.group("p") or m.group("d")).upper()
        if tag in (LETTERS[position], str(position + 1)):
            return option[m.end():].strip()
    return option.strip()


def _clean_options(raw: Any) -> list[str]:
    if not isinstance(raw, list):
        raise ValueError("options must be a list")
    return [strip_enumerator(str(o), i) for i, o in enumerate(raw)]


def _first_word(question: str) -> str:
    m = re.match(r"\s*([A-Za-z']+)", question)
    return m.group(1).lower() if m else ""


def _fixed_scale_answer(obj: dict[str, Any], labels: list[str], what: str) -> str:
    """The canonical label the reply means, for templates whose options are a fixed list.

    Models often write the options themselves, in any order: the chosen option's *text* is what
    counts, so a letter is read against the model's own list. Options that are not exactly a
    permutation of ``labels`` make the item something other than this template.
    """
    ans = str(obj.get("answer") or "").strip().rstrip(".")
    low = {lab.lower(): lab for lab in labels}
    opts = labels
    if obj.get("options") is not None:
        opts = _clean_options(obj.get("options"))
        if sorted(o.lower() for o in opts) != sorted(low):
            raise ValueError(f"{what} options must be exactly {labels} in some order, got {opts[:10]}")
    if ans.lower() in low:
        return low[ans.lower()]
    letter = ans.upper().strip("() ")
    if len(letter) == 1 and letter in LETTERS[:len(opts)]:
        return low[opts[LETTERS.index(letter)].lower()]
    raise ValueError(f"{what} answer {ans!r} is neither one of {labels} nor a letter of the options")


def validate_reply(obj: dict[str, Any], template: str, scale_labels: list[str] | None) -> tuple[str, list[str], str, str]:
    """(question, options, answer letter, rationale) or ValueError naming what is wrong.

    yes_no and level items are stored with their canonical options (Yes/No, the scale in order)
    and the letter of the *meaning* the model chose.
    """
    q = str(obj.get("question") or "").strip()
    if not q:
        raise ValueError("empty question")
    rationale = str(obj.get("rationale") or "").strip()
    ans = str(obj.get("answer") or "").strip()
    if template in ("yes_no", "level"):
        opts = ["Yes", "No"] if template == "yes_no" else list(scale_labels or [])
        if not opts:
            raise ValueError("the criterion has no scale for the level template")
        polar = _first_word(q) in _POLAR
        if template == "yes_no" and not polar:
            raise ValueError(f"a yes_no question must be answerable by Yes or No (start like 'Is', 'Does'…): {q[:80]!r}")
        if template == "level" and polar:
            raise ValueError(f"a level question must ask for a level, not for Yes or No: {q[:80]!r}")
        letter = LETTERS[opts.index(_fixed_scale_answer(obj, opts, template))]
        return q, opts, letter, rationale
    opts = _clean_options(obj.get("options"))
    if not 2 <= len(opts) <= MAX_OPTIONS:
        raise ValueError(f"{len(opts)} options; the template needs 2..{MAX_OPTIONS}")
    if any(not o for o in opts):
        raise ValueError("an option is empty")
    if len({o.lower() for o in opts}) != len(opts):
        raise ValueError("duplicate options")
    letter = ans.upper().strip("(). ")
    if len(letter) != 1 or letter not in LETTERS[:len(opts)]:
        hit = [i for i, o in enumerate(opts) if o.lower() == ans.lower()]
        if not hit:
            raise ValueError(f"answer {ans!r} is not among the {len(opts)} options")
        letter = LETTERS[hit[0]]
    stem = _STEM[template]
    if stem not in q.lower():
        raise ValueError(f"a '{template}' question must contain '{stem}': {q[:80]!r}")
    return q, opts, letter, rationale
