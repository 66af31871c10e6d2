"""Reading a 200 reply body: whatever shape a server sends, one item's outcome, never an exception.

Servers differ: content may be a string or a list of text parts; some send ``choices: [null]``,
``choices`` as an object, numeric content or usage that is negative or not a number. Each odd
shape becomes a per-item failure with a reason; usage is read separately so billing is settled
even for replies the stage cannot use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Reply:
    content: str = ""
    finish_reason: str = ""
    refusal: str = ""
    logprobs: Any = None
    error: str = ""
    """'' when the body has a usable shape, else a reason code (``malformed_reply``)."""
    detail: str = ""


@dataclass(slots=True)
class Usage:
    tokens_in: int = 0
    tokens_out: int = 0
    known: bool = False
    """False when the body carries no usage, or usage that is not two non-negative numbers."""
    problem: str = ""


def read_usage(data: Any) -> Usage:
    usage = data.get("usage") if isinstance(data, dict) else None
    if usage is None:
        return Usage(problem="no usage in the reply")
    if not isinstance(usage, dict):
        return Usage(problem=f"usage is {type(usage).__name__}, not an object")
    vals = []
    for k in ("prompt_tokens", "completion_tokens"):
        v = usage.get(k, 0)
        if isinstance(v, bool) or not isinstance(v, int | float) or v != v or v < 0:
            return Usage(problem=f"usage.{k} is {v!r}, not a non-negative number")
        vals.append(int(v))
    return Usage(vals[0], vals[1], known=True)


def _text(content: Any) -> str | None:
    """A message's content as text: a string, or the text parts of a list; None when it is neither."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for p in content:
            if isinstance(p, str):
                parts.append(p)
            elif isinstance(p, dict) and isinstance(p.get("text"), str):
                parts.append(p["text"])
            else:
                return None
        return "".join(parts)
    return None


def read_reply(data: Any) -> Reply:
    """The first choice of a chat-completions body, or a ``malformed_reply`` with what is wrong."""
    if not isinstance(data, dict):
        return Reply(error="malformed_reply", detail=f"body is {type(data).__name__}, not an object")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        return Reply(error="malformed_reply", detail=f"choices is {type(choices).__name__}: {str(choices)[:80]}")
    choice = choices[0]
    if not isinstance(choice, dict):
        return Reply(error="malformed_reply", detail=f"choices[0] is {choice!r}")
    msg = choice.get("message")
    if not isinstance(msg, dict):
        return Reply(error="malformed_reply", detail=f"choices[0].message is {type(msg).__name__}")
    text = _text(msg.get("content"))
    if text is None:
        return Reply(error="malformed_reply", detail=f"message content is {type(msg.get('content')).__name__}: "
                                                     f"{str(msg.get('content'))[:80]}")
    refusal = msg.get("refusal")
    return Reply(content=text, finish_reason=str(choice.get("finish_reason") or ""),
                 refusal=refusal if isinstance(refusal, str) else "", logprobs=choice.get("logprobs"))
