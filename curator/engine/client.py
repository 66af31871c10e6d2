"""Async OpenAI-compatible chat-completions client with admission, backoff, breaker, cache, cost.

Why not ``openai.AsyncOpenAI`` on the hot path: on a 2-core machine the SDK spends about 5 ms of
CPU per call (pydantic models, httpx), which caps throughput at a third of what the server can do
(see ``benchmarks/engine.py``). This module speaks the same wire protocol with one pooled aiohttp
session and plain JSON; the SDK is still used for what it is good at (Batch files, see
:mod:`curator.engine.batch`).

Flow of one request: cache lookup (a hit makes no network call) → admission (rpm/tpm buckets; the
worker pool bounds concurrency) → POST → classify → success is cached at once, or retry with
exponential backoff + jitter honouring ``Retry-After``, or fail. Work is streamed: ``run`` pulls
items from an iterator with a fixed pool of workers, so 10⁶ queued items cost no memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import aiohttp

from curator.config import Endpoint, ImagePolicy, Price
from curator.engine.admission import Admission
from curator.engine.cache import ResponseCache, request_key
from curator.errors import BudgetExceeded, CircuitOpen, EndpointFatal
from curator.images import make_payload
from curator.progress import Reporter, reporter_or_null

log = logging.getLogger(__name__)
T = TypeVar("T")

BACKOFF_BASE = float(os.environ.get("CURATOR_BACKOFF_BASE", "0.5"))
"""First retry waits about this long (×0.5–1.5 jitter), doubling per retry up to BACKOFF_CAP."""
BACKOFF_CAP = 30.0


@dataclass(slots=True)
class Request:
    """One chat-completions call.

    ``messages`` are OpenAI messages whose image parts may be
    ``{"type": "image_ref", "path", "image_id", "domain", "width", "height"}``; they are turned into
    data URIs only when sent, and enter the cache key by ``image_id`` (a content hash), never bytes.
    """

    messages: list[dict[str, Any]]
    schema: dict[str, Any] | None = None
    schema_name: str = "reply"
    params: dict[str, Any] = field(default_factory=dict)


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
    error: str = ""  # reason code when not ok: rate_limited, server_error, timeout, fatal_400 ...
    detail: str = ""
    logprobs: Any = None


@dataclass
class RunStats:
    """End-of-run figures; rendered as the summary table."""

    completed: int = 0
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
        out += [("tokens in / out", f"{self.tokens_in:,} / {self.tokens_out:,}"), ("cost", f"${self.cost:.4f}"),
                ("requests/s", f"{rate:.1f}"), ("elapsed", f"{self.elapsed:.1f} s")]
        if self.stopped:
            out.append(("stopped", self.stopped))
        return out


class _Stop(Exception):
    pass


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
                w, h = p.get("width") or 1024, p.get("height") or 1024
                scale = min(1.0, 2048 / max(w, h))
                w, h = w * scale, h * scale
                scale = min(1.0, 768 / min(w, h))
                tiles = -(-int(w * scale) // 512) * -(-int(h * scale) // 512)
                n += 85 + 170 * tiles
    return n + 4 * len(messages) + max_tokens


class Engine:
    """Calls one endpoint (one role) for a stage. Create one per stage run; use ``async with``."""

    def __init__(self, endpoint: Endpoint, cache: ResponseCache, *, prices: dict[str, Price] | None = None,
                 max_cost: float | None = None, image_policy: ImagePolicy | None = None,
                 reporter: Reporter | None = None) -> None:
        self.ep = endpoint
        self.cache = cache
        self.price = (prices or {}).get(endpoint.model, Price())
        self.max_cost = max_cost
        self.policy = image_policy or ImagePolicy()
        self.reporter = reporter_or_null(reporter)
        self.stats = RunStats()
        self.structured = endpoint.json_schema != "off"
        self._url = endpoint.base_url.rstrip("/") + "/chat/completions"
        self._host = urlparse(endpoint.base_url).netloc
        self._admission = Admission(endpoint.run.concurrency, endpoint.run.rpm, endpoint.run.tpm)
        self._session: aiohttp.ClientSession | None = None
        self._payloads: OrderedDict[str, str] = OrderedDict()
        self._consecutive_failures = 0
        self._stop_reason = ""
        self._fatal: Exception | None = None

    @property
    def endpoint_host(self) -> str:
        return self._host

    # ---------------------------------------------------------------------------------- keys & body
    def _image_policy(self, part: dict[str, Any]) -> str:
        return f"max{self.policy.max_side_iaa}" if part.get("domain") == "iaa" else "original"

    def _params(self, req: Request) -> dict[str, Any]:
        p: dict[str, Any] = {"temperature": self.ep.temperature, "max_tokens": self.ep.max_tokens}
        if self.ep.seed is not None:
            p["seed"] = self.ep.seed
        p.update(req.params)
        return p

    def key(self, req: Request) -> str:
        """The cache key: everything that determines the answer, nothing that does not."""
        msgs = []
        for m in req.messages:
            c = m.get("content")
            if isinstance(c, list):
                c = [{"type": "image", "sha256": p["image_id"], "policy": self._image_policy(p)}
                     if p.get("type") == "image_ref" else p for p in c]
            msgs.append({**m, "content": c})
        return request_key({"endpoint": self._host + urlparse(self.ep.base_url).path, "model": self.ep.model,
                            "messages": msgs, "params": self._params(req), "schema": req.schema})

    def _data_uri(self, part: dict[str, Any]) -> str:
        k = f"{part['image_id']}:{self._image_policy(part)}"
        uri = self._payloads.get(k)
        if uri is None:
            payload = make_payload(Path(part["path"]), domain=part.get("domain", ""),
                                   max_side=self.policy.max_side_iaa, max_bytes=self.policy.max_bytes)
            uri = payload.data_uri()
            self._payloads[k] = uri
            if len(self._payloads) > 32:
                self._payloads.popitem(last=False)
        else:
            self._payloads.move_to_end(k)
        return uri

    def body(self, req: Request) -> dict[str, Any]:
        """The JSON body sent to ``/chat/completions`` (images as data URIs)."""
        msgs = []
        for m in req.messages:
            c = m.get("content")
            if isinstance(c, list):
                c = [{"type": "image_url", "image_url": {"url": self._data_uri(p)}} if p.get("type") == "image_ref"
                     else p for p in c]
            msgs.append({**m, "content": c})
        body: dict[str, Any] = {"model": self.ep.model, "messages": msgs, **self._params(req)}
        if req.schema is not None and self.structured:
            body["response_format"] = {"type": "json_schema",
                                       "json_schema": {"name": req.schema_name, "schema": req.schema, "strict": True}}
        return body

    # ------------------------------------------------------------------------------------- calling
    async def __aenter__(self) -> Engine:
        conn = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=60)
        self._session = aiohttp.ClientSession(
            connector=conn, timeout=aiohttp.ClientTimeout(total=self.ep.run.timeout),
            headers={"Authorization": f"Bearer {self.ep.api_key()}", "Content-Type": "application/json"},
            json_serialize=lambda o: json.dumps(o, separators=(",", ":")))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _from_response(self, key: str, data: dict[str, Any], cached: bool) -> Result:
        choice = (data.get("choices") or [{}])[0]
        msg = choice.get("message") or {}
        usage = data.get("usage") or {}
        tin, tout = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
        cost = tin / 1e6 * self.price.input + tout / 1e6 * self.price.output
        res = Result(ok=True, key=key, content=msg.get("content") or "", finish_reason=choice.get("finish_reason") or "",
                     refusal=msg.get("refusal") or "", tokens_in=tin, tokens_out=tout, cost=0.0 if cached else cost,
                     from_cache=cached, logprobs=choice.get("logprobs"))
        if res.refusal:
            res.ok, res.error, res.detail = False, "refusal", res.refusal[:300]
        elif res.finish_reason == "length":
            res.ok, res.error, res.detail = False, "truncated", "finish_reason=length: raise max_tokens"
        elif not res.content.strip():
            res.ok, res.error, res.detail = False, "empty_reply", "the model returned no content"
        return res

    def invalidate(self, key: str) -> None:
        """Drop a cached reply the caller found invalid, so it is never reused as a success."""
        with self.cache._lock:
            self.cache._db.execute("DELETE FROM responses WHERE key = ?", (key,))

    async def call(self, req: Request) -> Result:
        """One request with cache, admission, retries; never raises for per-request failures."""
        key = self.key(req)
        hit = self.cache.get(key)
        if hit is not None:
            self.stats.cache_hits += 1
            return self._from_response(key, hit, cached=True)
        if self._stop_reason:
            raise _Stop()
        assert self._session is not None, "use `async with Engine(...)`"
        attempt = 0
        body: dict[str, Any] | None = None
        est = estimate_tokens(req.messages, int(self._params(req).get("max_tokens", 0)))
        while True:
            await self._admission.admit(est)
            if body is None:
                body = self.body(req)
            attempt += 1
            self.stats.network_requests += 1
            retry_after: float | None = None
            try:
                async with self._session.post(self._url, json=body) as resp:
                    status = resp.status
                    text = await resp.text()
                    ra = resp.headers.get("Retry-After")
                    retry_after = float(ra) if ra and ra.replace(".", "", 1).isdigit() else None
            except asyncio.TimeoutError:
                status, text, reason = -1, "", "timeout"
            except aiohttp.ClientError as exc:
                status, text, reason = -1, str(exc), "connection_error"
            if status == 200:
                try:
                    data = json.loads(text)
                    if not isinstance(data, dict) or "choices" not in data:
                        raise ValueError("no choices")
                except ValueError:
                    status, reason = -1, "malformed_http_body"
                else:
                    res = self._from_response(key, data, cached=False)
                    res.attempts = attempt
                    if res.ok:
                        self.cache.put(key, self.ep.model, data)
                    self._account(res)
                    return res
            retryable, reason, detail = self._classify(status, text, reason if status == -1 else "")
            if status == 400 and "response_format" in body and self.ep.json_schema == "auto" and (
                    "response_format" in text or "json_schema" in text):
                if self.structured:
                    log.warning("%s rejected JSON-schema output; continuing without it (tolerant parsing)",
                                self._host)
                self.structured = False
                body = None
                continue
            if status == 429:
                self._admission.requests.pause(retry_after or 1.0)
            if retryable and attempt <= self.ep.run.max_retries:
                self.stats.retries += 1
                delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5)
                if retry_after is not None:
                    delay = max(retry_after, 0.0) + random.uniform(0, 0.1)
                await asyncio.sleep(delay)
                continue
            res = Result(ok=False, key=key, attempts=attempt, error=reason, detail=detail[:500])
            self._account(res, fatal=not retryable and status in (401, 403, 404))
            return res

    @staticmethod
    def _classify(status: int, text: str, reason: str) -> tuple[bool, str, str]:
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

    def _account(self, res: Result, fatal: bool = False) -> None:
        s = self.stats
        if res.ok:
            self._consecutive_failures = 0
            s.tokens_in += res.tokens_in
            s.tokens_out += res.tokens_out
            s.cost += res.cost
            if self.max_cost is not None and s.cost >= self.max_cost and not self._stop_reason:
                self._stop_reason = f"budget: spent ${s.cost:.4f} of max ${self.max_cost:.4f}"
            return
        if res.error in ("refusal", "truncated", "empty_reply"):
            self._consecutive_failures = 0  # the endpoint works; the reply was unusable
            s.tokens_in += res.tokens_in
            s.tokens_out += res.tokens_out
            return
        self._consecutive_failures += 1
        if fatal or self._consecutive_failures >= self.ep.run.breaker_threshold:
            why = "a fatal error every request would hit" if fatal else (
                f"{self._consecutive_failures} consecutive failed requests")
            self._stop_reason = self._stop_reason or f"circuit open after {why} ({res.error}: {res.detail[:200]})"

    # ---------------------------------------------------------------------------------------- runs
    async def run(self, items: Iterable[T], build: Callable[[T], Request | None],
                  handle: Callable[[T, Result], Awaitable[None]], total: int | None = None,
                  description: str = "") -> RunStats:
        """Stream ``items`` through ``build`` → call → ``handle`` with a bounded pool of workers.

        Raises:
            BudgetExceeded / CircuitOpen: after every in-flight item has been handled and saved.
        """
        it = iter(items)
        t0 = time.perf_counter()
        self.reporter.start(description or f"{self.ep.model}", total)

        async def worker() -> None:
            while not self._stop_reason:
                try:
                    item = next(it)
                except StopIteration:
                    return
                req = build(item)
                if req is None:
                    continue
                try:
                    res = await self.call(req)
                    await handle(item, res)  # a repair call inside may hit the stop too
                except _Stop:
                    return
                self.stats.completed += 1
                self.reporter.advance(1, cost=f"${self.stats.cost:.3f}", hits=self.stats.cache_hits)

        try:
            await asyncio.gather(*(worker() for _ in range(self.ep.run.concurrency)))
        finally:
            self.stats.elapsed = time.perf_counter() - t0
            self.reporter.finish()
        if self._stop_reason:
            self.stats.stopped = self._stop_reason
            exc_type = BudgetExceeded if self._stop_reason.startswith("budget") else CircuitOpen
            err = exc_type(f"{self._stop_reason}; finished work is saved — fix the cause and rerun to resume")
            err.stats = self.stats  # type: ignore[attr-defined]  # the CLI still prints the run table
            raise err
        return self.stats


def run_sync(coro: Awaitable[T]) -> T:
    """Run a coroutine from synchronous library code (the CLI and stage functions)."""
    with contextlib.suppress(ImportError):
        import uvloop  # noqa: F401  # optional speed-up, not a dependency

    return asyncio.run(coro)  # type: ignore[arg-type]


__all__ = ["EndpointFatal", "Engine", "Request", "Result", "RunStats", "estimate_tokens", "run_sync"]
