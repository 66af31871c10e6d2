"""``runner: ray-vllm``: an open model in-process on GPU nodes, through Ray Data's vLLM engine processor.

For users with a GPU cluster and no server. Requests are built exactly as for an endpoint (the same
:class:`~curator.engine.types.Request`, the same body with images inlined by the engine's payload
policy), turned into vLLM chat rows (OpenAI-style messages, sampling parameters, JSON-schema guided
decoding when the stage asks for a schema), and every reply is written to the project's response cache
as an OpenAI-shaped response, so the stage's ``handle`` reads it through the same code path
(:meth:`Engine._result`) and a rerun resumes from the cache. ``should_continue_on_error=True``: a row the
engine fails on comes back with its error instead of failing the job.

What ran here (2 CPU cores, no GPU): the processor config builds and the row conversions are tested;
``build_processor`` and vLLM itself need ``ray[llm]`` (vllm pinned to a CUDA torch, 221 packages) and
were not run (docs/scale.md).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from curator.config import Endpoint, Project
from curator.engine.cache import ResponseCache
from curator.engine.client import Engine
from curator.engine.types import Request, Result, RunStats
from curator.errors import ConfigError
from curator.progress import Reporter, reporter_or_null

T = TypeVar("T")


def processor_config(endpoint: Endpoint, project: Project) -> Any:
    """Ray Data's vLLM processor config for ``endpoint.model`` (a Hugging Face id or a local path)."""
    from ray.data.llm import vLLMEngineProcessorConfig

    settings = project.config.ray
    return vLLMEngineProcessorConfig(
        model_source=endpoint.model, batch_size=settings.batch_size, concurrency=settings.actors,
        should_continue_on_error=True, prepare_multimodal_stage=True, chat_template_stage=True,
        tokenize_stage=True, detokenize_stage=True, engine_kwargs={"max_model_len": 16384})


def vllm_row(idx: int, body: dict[str, Any]) -> dict[str, Any]:
    """A chat-completions body as a vLLM processor row (messages, sampling parameters, guided JSON)."""
    sampling: dict[str, Any] = {"temperature": body.get("temperature", 0.0), "max_tokens": body.get("max_tokens", 512)}
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        sampling["guided_decoding"] = {"json": fmt["json_schema"]["schema"]}
    return {"idx": idx, "messages": body["messages"], "sampling_params": sampling}


def as_openai_response(row: dict[str, Any], model: str) -> dict[str, Any] | None:
    """A processor output row as an OpenAI chat-completions response; None when vLLM failed on the row."""
    if row.get("__inference_error__"):
        return None
    return {"object": "chat.completion", "model": model,
            "choices": [{"index": 0, "finish_reason": row.get("finish_reason") or "stop",
                         "message": {"role": "assistant", "content": str(row.get("generated_text") or "")}}],
            "usage": {"prompt_tokens": int(row.get("num_input_tokens") or 0),
                      "completion_tokens": int(row.get("num_generated_tokens") or 0)}}


def run_with_vllm(project: Project, endpoint: Endpoint, items: Iterable[T], build: Callable[[T], Request | None],
                  handle: Callable[[Engine, T, Result], Awaitable[None]], *, total: int | None, description: str,
                  max_cost: float | None, reporter: Reporter | None = None) -> RunStats:
    """Run ``items`` through an in-process vLLM on the cluster's GPUs; the same contract as the other runners."""
    from curator.engine.ray_runner import connect

    try:
        from ray.data.llm import build_processor
    except ImportError as exc:
        raise ConfigError('runner ray-vllm needs Ray\'s LLM extra on GPU nodes: pip install "ray[llm]"') from exc
    ray = connect(project.config.ray.address)
    stats, rep = RunStats(), reporter_or_null(reporter)
    t0 = time.perf_counter()
    items = list(items)
    cache = ResponseCache(project.cache_dir / "responses.sqlite")

    async def main() -> None:
        async with Engine(endpoint, cache, prices=project.config.prices, max_cost=max_cost,
                          image_policy=project.config.images) as eng:
            reqs = {i: build(it) for i, it in enumerate(items)}
            keys = {i: eng.key(r) for i, r in reqs.items() if r is not None}
            todo = [i for i in keys if keys[i] not in cache]
            rows = [vllm_row(i, await eng.body(reqs[i])) for i in todo]  # type: ignore[arg-type]
            if rows:
                processor = build_processor(processor_config(endpoint, project), postprocess=lambda r: r)
                for row in processor(ray.data.from_items(rows)).iter_rows():
                    resp = as_openai_response(row, endpoint.model)
                    if resp is not None:
                        cache.put(keys[int(row["idx"])], endpoint.model, resp)
            rep.start(description, total)
            for i, key in keys.items():
                data = cache.get(key)
                res = (eng._result(key, data, cached=False) if data is not None else
                       Result(ok=False, key=key, error="vllm_error", detail="the vLLM engine failed on this row",
                              transient=True))
                stats.started += 1
                stats.completed += 1
                await handle(eng, items[i], res)
                rep.advance(1)
            rep.finish()

    try:
        asyncio.run(main())
    finally:
        cache.close()
    stats.elapsed = time.perf_counter() - t0
    return stats
