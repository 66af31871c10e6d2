"""Async OpenAI-compatible chat-completions client: cache, admission, budget, retries, breaker.

Why not ``openai.AsyncOpenAI`` on the hot path: on a 2-core machine the SDK spends about 5 ms of
CPU per call (pydantic models, httpx), which caps throughput at a third of what the server can do
(see ``benchmarks/engine.py``). This module speaks the same wire protocol with one pooled aiohttp
session and plain JSON; the SDK is still used for what it is good at (Batch files, see
:mod:`curator.engine.batch`).

Flow of one request: cache lookup (a hit makes no network call and costs nothing) → admission
(endpoint-wide pause, rpm/tpm buckets; the worker pool bounds concurrency) → budget reservation of
the worst case → POST → every 200 is settled at its real usage *and cached*, whatever the stage
then makes of it (a paid reply is never thrown away) → otherwise classify, back off with jitter
honouring ``Retry-After``, or fail the item. Work is streamed: ``run`` pulls items from an iterator
with a fixed pool of workers, so 10⁶ queued items cost no memory. Nothing a single item does —
an unreadable image, an odd reply body — stops a run; only the breaker, the budget or Ctrl-C do,
and then in-flight requests finish and are saved first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import urlparse

import aiohttp
import numpy as np

from curator.config import Endpoint, ImagePolicy, Price
from curator.engine.admission import Admission
from curator.engine.breaker import Breaker
from curator.engine.budget import Budget
from curator.engine.cache import ResponseCache, request_key
from curator.engine.payloads import PayloadCache
from curator.engine.pool import run_pool
from curator.engine.replies import read_reply, read_usage
from curator.engine.retry import backoff, parse_retry_after
from curator.engine.types import Request, Result, RunStats, RunStopping, classify, estimate_tokens
from curator.images import PayloadError
from curator.progress import Reporter, reporter_or_null
from curator.secrets import redact

log = logging.getLogger(__name__)
T = TypeVar("T")

BACKOFF_BASE = float(os.environ.get("CURATOR_BACKOFF_BASE", "0.5"))
"""First retry waits about this long (×0.5–1.5 jitter), doubling per retry up to BACKOFF_CAP."""
BACKOFF_CAP = 30.0
REPLY_FAILURES = frozenset({"refusal", "truncated", "empty_reply", "malformed_reply", "malformed_usage"})
"""Failures of a paid 200 reply: final for the item (asking again gets the same), never the endpoint's fault."""


class Engine:
    """Calls one endpoint (one role) for a stage. Create one per stage run; use ``async with``."""

    def __init__(self, endpoint: Endpoint, cache: ResponseCache, *, prices: dict[str, Price] | None = None,
                 max_cost: float | None = None, image_policy: ImagePolicy | None = None,
                 reporter: Reporter | None = None, send_to: str | None = None) -> None:
        self.ep = endpoint
        self.run_cfg = endpoint.run
        self.cache = cache
        self.budget = Budget(max_cost, (prices or {}).get(endpoint.model, Price()))
        self.policy = image_policy or ImagePolicy()
        self.reporter = reporter_or_null(reporter)
        self.stats = RunStats()
        self.structured = endpoint.json_schema != "off"
        # send_to: one of the endpoint's replicas; the cache key keeps the endpoint's own identity
        self._url = (send_to or endpoint.base_url).rstrip("/") + "/chat/completions"
        self._host = urlparse(endpoint.base_url).netloc
        self._admission = Admission(self.run_cfg.rpm, self.run_cfg.tpm)
        self._breaker = Breaker(self.run_cfg.breaker_threshold, self.run_cfg.breaker_seconds,
                                self.run_cfg.breaker_timeouts)
        self._payloads = PayloadCache(self.policy)
        self._latencies: deque[float] = deque(maxlen=200)
        self._session: aiohttp.ClientSession | None = None
        self._stop_reason = ""
        self._api_key = endpoint.api_key()

    @property
    def endpoint_host(self) -> str:
        return self._host

    @property
    def stopping(self) -> str:
        return self._stop_reason

    def stop(self, reason: str) -> None:
        """Take no new work; requests in flight finish (or time out) and are saved."""
        if not self._stop_reason:
            self._stop_reason = reason
            log.warning("%s", reason)

    # ---------------------------------------------------------------------------------- keys & body
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
                c = [{"type": "image", "sha256": p["image_id"], "policy": PayloadCache.policy_name(p, self.policy)}
                     if p.get("type") == "image_ref" else p for p in c]
            msgs.append({**m, "content": c})
        material: dict[str, Any] = {"endpoint": self._host + urlparse(self.ep.base_url).path, "model": self.ep.model,
                                    "messages": msgs, "params": self._params(req), "schema": req.schema}
        if req.cache_salt:
            material["salt"] = req.cache_salt
        return request_key(material)

    def _envelope(self, req: Request, msgs: list[dict[str, Any]]) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.ep.model, "messages": msgs, **self._params(req)}
        if req.schema is not None and self.structured:
            body["response_format"] = {"type": "json_schema",
                                       "json_schema": {"name": req.schema_name, "schema": req.schema, "strict": True}}
        return body

    async def body(self, req: Request) -> dict[str, Any]:
        """The JSON body sent to ``/chat/completions``; image payloads are built off the event loop."""
        msgs = []
        for m in req.messages:
            c = m.get("content")
            if isinstance(c, list):
                c = [{"type": "image_url", "image_url": {"url": await self._payloads.data_uri(p)}}
                     if p.get("type") == "image_ref" else p for p in c]
            msgs.append({**m, "content": c})
        return self._envelope(req, msgs)

    def body_sync(self, req: Request) -> dict[str, Any]:
        """:meth:`body` for synchronous callers (Batch input files)."""
        return asyncio.run(self.body(req))

    # ------------------------------------------------------------------------------------- calling
    async def __aenter__(self) -> Engine:
        conn = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=60)
        self._session = aiohttp.ClientSession(
            connector=conn, timeout=aiohttp.ClientTimeout(total=self.run_cfg.timeout),
            headers={"Authorization": f"Bearer {self._api_key}", "Content-Type": "application/json"},
            json_serialize=lambda o: json.dumps(o, separators=(",", ":")))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _result(self, key: str, data: Any, *, cached: bool, charged: float = 0.0) -> Result:
        """The outcome of a 200 body (fresh or from the cache)."""
        reply, usage = read_reply(data), read_usage(data)
        res = Result(ok=True, key=key, content=reply.content, finish_reason=reply.finish_reason,
                     refusal=reply.refusal, tokens_in=usage.tokens_in, tokens_out=usage.tokens_out,
                     cost=0.0 if cached else charged, from_cache=cached, logprobs=reply.logprobs)
        if reply.error:
            res.ok, res.error, res.detail = False, reply.error, reply.detail
        elif isinstance(data, dict) and data.get("usage") is not None and not usage.known:
            res.ok, res.error, res.detail = False, "malformed_usage", usage.problem
        elif res.refusal:
            res.ok, res.error, res.detail = False, "refusal", res.refusal[:300]
        elif res.finish_reason == "length":
            res.ok, res.error, res.detail = False, "truncated", "finish_reason=length: raise max_tokens"
        elif not res.content.strip():
            res.ok, res.error, res.detail = False, "empty_reply", "the model returned no content"
        res.detail = redact(res.detail)
        return res

    def _timeout(self) -> float:
        cfg = self.run_cfg
        if cfg.adaptive_timeout and len(self._latencies) >= 20:
            p95 = float(np.percentile(np.fromiter(self._latencies, float), 95))
            return min(cfg.timeout, max(cfg.min_timeout, 8.0 * p95))
        return cfg.timeout

    async def call(self, req: Request) -> Result:
        """One request with cache, admission, budget and retries; never raises for per-request failures.

        Raises:
            RunStopping: the run is stopping (budget, breaker, Ctrl-C) before this request was sent.
        """
        key = self.key(req)
        hit = self.cache.get(key)
        if hit is not None:
            self.stats.cache_hits += 1
            return self._result(key, hit, cached=True)
        if self._stop_reason:
            raise RunStopping()
        assert self._session is not None, "use `async with Engine(...)`"
        max_tokens = int(self._params(req).get("max_tokens", 0))
        est_in = estimate_tokens(req.messages, 0)
        body: dict[str, Any] | None = None
        attempt = 0
        while True:
            reservation = await self._reserve(key, attempt, est_in, max_tokens)
            if isinstance(reservation, Result):
                return reservation
            if body is None:
                try:
                    body = await self.body(req)
                except PayloadError as exc:
                    self.budget.release(reservation)
                    return Result(ok=False, key=key, error=exc.reason, detail=redact(str(exc)))
            attempt += 1
            sent = await self._attempt(body, key, reservation, attempt)
            if isinstance(sent, Result):
                return sent
            status, text, reason, retry_after, t0 = sent
            if status == 400 and "response_format" in body and self.ep.json_schema == "auto" and (
                    "response_format" in text or "json_schema" in text):
                if self.structured:
                    log.warning("%s rejected JSON-schema output; continuing without it (tolerant parsing)", self._host)
                self.structured = False
                body = None
                continue
            failed = await self._after_failure(key, status, text, reason, retry_after, attempt, t0)
            if failed is not None:
                return failed

    async def _reserve(self, key: str, attempt: int, est_in: int, max_tokens: int) -> Any:
        """Wait for admission, then reserve the request's worst case from the budget.

        A run that is stopping (budget, breaker, Ctrl-C) raises :class:`RunStopping` for a request not yet
        sent, and gives a retry a transient "stopped" result: the item stays to do.
        """
        await self._admission.admit(est_in + max_tokens)
        if not self._stop_reason:
            reservation = self.budget.reserve(est_in, max_tokens)
            if reservation is not None:
                return reservation
            self.stop(f"budget: {self.budget.describe()}; the next request could cost up to "
                      f"${self.budget.worst_case(est_in, max_tokens).amount:.4f}")
        if attempt == 0:
            raise RunStopping()
        return Result(ok=False, key=key, attempts=attempt, error="stopped", detail=self._stop_reason, transient=True)

    async def _attempt(self, body: dict[str, Any], key: str, reservation: Any,
                       attempt: int) -> Result | tuple[int, str, str, float | None, float]:
        """Send once. A usable 200 is settled into a Result; anything else is (status, text, reason,
        Retry-After, send time), with the reservation settled (the provider may have billed a timeout or
        a malformed 200) or released."""
        self.stats.network_requests += 1
        retry_after: float | None = None
        reason = ""
        t0 = time.monotonic()
        try:
            status, text, retry_after = await self._send(body, t0)
        except asyncio.TimeoutError:
            status, text, reason = -1, f"no reply within {self._timeout():.1f} s", "timeout"
        except aiohttp.ClientError as exc:
            status, text, reason = -1, f"{type(exc).__name__}: {exc}", "connection_error"
        if status == 200:
            try:
                data = json.loads(text)
            except ValueError:
                data = None
            if isinstance(data, dict):
                self._latencies.append(time.monotonic() - t0)
                return self._settle(key, data, reservation, attempt)
            status, reason, text = -1, "malformed_http_body", f"200 with a body that is not JSON: {text[:200]}"
        if reason in ("timeout", "malformed_http_body"):
            self.budget.settle(reservation, None)  # the provider may have done (and billed) the work
            self.stats.cost = self.budget.spent
        else:
            self.budget.release(reservation)
        return status, text, reason, retry_after, t0

    async def _after_failure(self, key: str, status: int, text: str, reason: str, retry_after: float | None,
                             attempt: int, t0: float) -> Result | None:
        """Feed the breaker and the endpoint-wide pause; None when the request should be tried again."""
        retryable, reason, detail = classify(status, text, reason)
        detail = redact(detail)
        self._breaker.failure(reason, detail, fatal=status in (401, 403, 404), sent_at=t0)
        if self._breaker.reason:
            self.stop(self._breaker.reason)
        if status == 429 or (status == 503 and retry_after is not None):
            self._admission.pause(min(self.run_cfg.retry_after_cap,
                                      retry_after if retry_after is not None else backoff(attempt, BACKOFF_BASE,
                                                                                           BACKOFF_CAP)))
        if retryable and attempt <= self.run_cfg.max_retries and not self._stop_reason:
            self.stats.retries += 1
            delay = backoff(attempt, BACKOFF_BASE, BACKOFF_CAP)
            if retry_after is not None:
                delay = min(self.run_cfg.retry_after_cap, retry_after)
            await asyncio.sleep(delay)
            return None
        self.stats.failures[reason] += 1
        # only a paid reply is final for the item; an HTTP failure costs nothing to try again on the next
        # run (a wrong key or a server error is the endpoint's fault, not the item's) — except a prompt
        # the model can never take
        return Result(ok=False, key=key, attempts=attempt, error=reason, detail=detail[:500],
                      transient=reason != "context_too_long")

    async def _post(self, body: dict[str, Any], timeout: float) -> tuple[int, str, float | None]:
        assert self._session is not None
        async with self._session.post(self._url, json=body, timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            return resp.status, await resp.text(), parse_retry_after(resp.headers.get("Retry-After"))

    async def _send(self, body: dict[str, Any], t0: float) -> tuple[int, str, float | None]:
        """POST with the timeout in force; a request sent before latencies were known is re-checked
        every second, so the first wave cannot keep a hung request for the whole configured timeout."""
        if len(self._latencies) >= 20 or not self.run_cfg.adaptive_timeout:
            return await self._post(body, self._timeout())
        task = asyncio.ensure_future(self._post(body, self.run_cfg.timeout))
        try:
            while True:
                remaining = t0 + self._timeout() - time.monotonic()
                if remaining <= 0:
                    raise asyncio.TimeoutError
                done, _ = await asyncio.wait({task}, timeout=min(remaining, 1.0))
                if done:
                    return task.result()
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    def _settle(self, key: str, data: dict[str, Any], reservation: Any, attempt: int) -> Result:
        """A 200 arrived: bill it, keep it, and tell the caller what it is worth."""
        usage = read_usage(data)
        actual = self.budget.cost(usage.tokens_in, usage.tokens_out) if usage.known else (
            0.0 if self.budget.price.input == self.budget.price.output == 0 else None)
        charged = self.budget.settle(reservation, actual, usage.tokens_in if usage.known else None)
        self.cache.put(key, self.ep.model, data)  # paid for: kept whatever the stage makes of it
        self._breaker.success()
        res = self._result(key, data, cached=False, charged=charged)
        res.attempts = attempt
        s = self.stats
        s.tokens_in += res.tokens_in
        s.tokens_out += res.tokens_out
        s.cost = self.budget.spent
        if not res.ok:
            s.failures[res.error] += 1
        cap = self.budget.cap
        if cap is not None and self.budget.spent >= cap:
            self.stop(f"budget: {self.budget.describe()}")
        return res

    # ---------------------------------------------------------------------------------------- runs
    async def run(self, items: Iterable[T], build: Callable[[T], Request | None],
                  handle: Callable[[T, Result], Awaitable[None]], total: int | None = None,
                  description: str = "") -> RunStats:
        """Stream ``items`` through ``build`` → call → ``handle`` with a bounded pool of workers
        (:func:`curator.engine.pool.run_pool`).

        Raises:
            BudgetExceeded / CircuitOpen / Interrupted: after every in-flight item has been handled and saved.
        """
        return await run_pool(self, items, build, handle, total=total, description=description)


__all__ = ["Engine", "Request", "Result", "RunStats", "classify", "estimate_tokens"]
