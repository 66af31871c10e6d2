"""OpenAI Batch / vLLM ``run_batch`` files out, results back into the request cache.

``write_batch_file`` writes one line per pending request in the Batch input format
(``{"custom_id", "method", "url", "body"}``), which vLLM's offline ``run_batch`` reads too; the
``custom_id`` is the request's cache key. ``import_results`` puts every successful result into the
cache, so the normal command then completes from cache with no network call. ``submit`` and
``status`` drive the OpenAI Batch API through the ``openai`` SDK.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from curator.config import Endpoint, Project
from curator.engine.cache import ResponseCache
from curator.engine.client import Engine, Request
from curator.errors import EngineError


def write_batch_file(project: Project, endpoint: Endpoint, requests: Iterable[Request], path: str | Path) -> int:
    """Write pending (uncached) requests; returns how many lines were written."""
    from curator.engine.runner import open_cache

    cache = open_cache(project)
    eng = Engine(endpoint, cache, image_policy=project.config.images)
    n = 0
    seen: set[str] = set()
    with Path(path).open("w", encoding="utf-8") as fh:
        for req in requests:
            key = eng.key(req)
            if key in seen or key in cache:
                continue
            seen.add(key)
            fh.write(json.dumps({"custom_id": key, "method": "POST", "url": "/v1/chat/completions",
                                 "body": eng.body_sync(req)}) + "\n")
            n += 1
    cache.close()
    return n


def import_results(project: Project, path: str | Path, *, model: str = "") -> dict[str, int]:
    """Load a Batch output file into the cache; returns counts of imported and failed lines."""
    if not Path(path).is_file():
        from curator.errors import UsageError

        raise UsageError(f"batch import {path}: no such file")
    cache = ResponseCache(project.cache_dir / "responses.sqlite")
    counts = {"imported": 0, "failed": 0, "malformed": 0}
    try:
        for _n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                key = rec["custom_id"]
                resp = rec.get("response") or {}
            except (json.JSONDecodeError, KeyError, TypeError):
                counts["malformed"] += 1
                continue
            body = resp.get("body") if isinstance(resp, dict) else None
            if resp.get("status_code") == 200 and isinstance(body, dict):
                # every paid reply is kept, usable or not: the stage judges it, as for a live reply
                cache.put(key, model or str(body.get("model", "")), body)
                counts["imported"] += 1
            else:
                counts["failed"] += 1
    finally:
        cache.close()
    return counts


def _client(endpoint: Endpoint) -> Any:
    import openai

    return openai.OpenAI(base_url=endpoint.base_url, api_key=endpoint.api_key())


def submit(project: Project, path: str | Path, *, role: str = "generator") -> str:
    """Upload a batch input file and create the batch; returns the batch id."""
    ep = project.endpoint(role)
    try:
        client = _client(ep)
        with Path(path).open("rb") as fh:
            f = client.files.create(file=fh, purpose="batch")
        b = client.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h")
    except Exception as exc:
        raise EngineError(f"batch submit to {ep.base_url} failed: {type(exc).__name__}: {exc}") from exc
    return str(b.id)


def status(project: Project, batch_id: str, *, role: str = "generator", download_to: str | Path | None = None
           ) -> dict[str, Any]:
    """Poll a batch; when completed and ``download_to`` is given, save its output file there."""
    ep = project.endpoint(role)
    try:
        client = _client(ep)
        b = client.batches.retrieve(batch_id)
        info = {"id": b.id, "status": b.status, "counts": getattr(b, "request_counts", None)}
        if b.status == "completed" and download_to and b.output_file_id:
            Path(download_to).write_bytes(client.files.content(b.output_file_id).read())
            info["downloaded"] = str(download_to)
    except Exception as exc:
        raise EngineError(f"batch status from {ep.base_url} failed: {type(exc).__name__}: {exc}") from exc
    return info
