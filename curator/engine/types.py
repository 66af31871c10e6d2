"""What goes into and comes out of the engine: a request, its result, a run's figures, token estimates.

Kept apart from the client so stages, the batch writer and tests can name these types without the
request machinery.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Request:
    """One chat-completions call.

    ``messages`` are OpenAI messages whose image parts may be
    ``{"type": "image_ref", "path", "image_id", "domain", "width", "height"}``; they are turned into
    data URIs only when sent, and enter the cache key by ``image_id`` (a content hash), never bytes.
    ``cache_salt`` enters the key but not the body: it asks the same question anew (``--retry-rejects``).
    """

    messages: list[dict[str, Any]]
    schema: dict[str, Any] | None = None
    schema_name: str = "reply"
    params: dict[str, Any] = field(default_factory=dict)
    cache_salt: str = ""


@dataclass(slots=True)
class Result:
    ok: bool
    key: str
    content: str = ""
    finish_reason: str = ""
    refusal: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    from_cache: bool = False
    attempts: int = 0
    error: str = ""  # reason code when not ok: rate_limited, server_error_503, timeout, fatal_400, truncated …
    detail: str = ""
    logprobs: Any = None
    transient: bool = False
    """A failure a later run may not repeat (no paid reply: network, 429, 5xx, 401, timeout): the item stays to do."""


@dataclass
class RunStats:
    """End-of-run figures; rendered as the summary table."""

    completed: int = 0
    started: int = 0
    not_started: int = 0
    network_requests: int = 0
    cache_hits: int = 0
    retries: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    elapsed: float = 0.0
    stopped: str = ""

    def rows(self) -> list[tuple[str, str]]:
        rate = self.network_requests / self.elapsed if self.elapsed else 0.0
        out = [("items completed", str(self.completed)), ("network requests", str(self.network_requests)),
               ("cache hits", str(self.cache_hits)), ("retries", str(self.retries))]
        out += [(f"failed: {k}", str(v)) for k, v in sorted(self.failures.items())]
        if self.not_started:
            out.append(("not started (stopped first)", str(self.not_started)))
        out += [("tokens in / out", f"{self.tokens_in:,} / {self.tokens_out:,}"), ("cost", f"${self.cost:.4f}"),
                ("requests/s", f"{rate:.1f}"), ("elapsed", f"{self.elapsed:.1f} s")]
        if self.stopped:
            out.append(("stopped", self.stopped))
        return out


def estimate_tokens(messages: list[dict[str, Any]], max_tokens: int) -> int:
    """Prompt characters / 4 + OpenAI-style image tiles (85 + 170 per 512-px tile) + ``max_tokens``."""
    n = 0
    for m in messages:
        content = m.get("content")
        parts = content if isinstance(content, list) else [{"type": "text", "text": content or ""}]
        for p in parts:
            if p.get("type") == "text":
                n += len(p.get("text", "")) // 4 + 1
            elif p.get("type") in ("image_ref", "image_url"):
                w, h = float(p.get("width") or 1024), float(p.get("height") or 1024)
                scale = min(1.0, 2048 / max(w, h))
                w, h = w * scale, h * scale
                scale = min(1.0, 768 / min(w, h))
                tiles = -(-int(w * scale) // 512) * -(-int(h * scale) // 512)
                n += 85 + 170 * tiles
    return n + 4 * len(messages) + max_tokens


def classify(status: int, text: str, reason: str) -> tuple[bool, str, str]:
    """(retryable, reason code, detail) for a non-200 outcome."""
    if status == -1:
        return True, reason, text
    detail = text[:500]
    if status == 429:
        return True, "rate_limited", detail
    if status in (408, 409) or status >= 500:
        return True, f"server_error_{status}", detail
    low = text.lower()
    if "context_length" in low or "maximum context" in low or "too long" in low:
        return False, "context_too_long", detail
    return False, f"fatal_{status}", detail


class RunStopping(Exception):
    """Raised inside a worker when the run is stopping: the item is left for the next run."""
