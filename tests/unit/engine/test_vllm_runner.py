"""runner: ray-vllm — what can run without a GPU: the processor config builds, rows convert both ways."""

from __future__ import annotations

import asyncio
from pathlib import Path

from conftest import photo, save

from curator.config import Endpoint, Project
from curator.engine.cache import ResponseCache
from curator.engine.client import Engine, Request
from curator.engine.vllm_runner import as_openai_response, processor_config, vllm_row


def test_the_processor_config_builds_without_vllm(project: Project) -> None:
    ep = Endpoint(model="Qwen/Qwen2.5-VL-7B-Instruct", base_url="http://unused", api_key_env="NONE")
    cfg = processor_config(ep, project)
    assert cfg.model_source == ep.model and cfg.should_continue_on_error
    assert cfg.batch_size == project.config.ray.batch_size


def test_a_request_becomes_a_vllm_row_with_the_image_inlined_and_guided_json(project: Project, tmp_path: Path) -> None:
    save(photo(1, size=(64, 48)), tmp_path / "a.png")
    ep = Endpoint(model="m", base_url="http://unused", api_key_env="NONE")
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    req = Request(messages=[{"role": "user", "content": [
        {"type": "text", "text": "Which?"},
        {"type": "image_ref", "path": str(tmp_path / "a.png"), "image_id": "x", "domain": "iqa"}]}],
        schema=schema, params={"max_tokens": 32})

    async def body() -> dict:
        async with Engine(ep, ResponseCache(tmp_path / "c.sqlite")) as eng:
            return await eng.body(req)

    row = vllm_row(7, asyncio.run(body()))
    parts = row["messages"][0]["content"]
    assert row["idx"] == 7 and parts[0]["text"] == "Which?"
    assert parts[1]["image_url"]["url"].startswith("data:image/")  # the original bytes, inlined
    assert row["sampling_params"]["max_tokens"] == 32 and row["sampling_params"]["guided_decoding"]["json"] == schema


def test_output_rows_read_back_as_replies_or_errors(tmp_path: Path) -> None:
    ep = Endpoint(model="m", base_url="http://unused", api_key_env="NONE")
    eng = Engine(ep, ResponseCache(tmp_path / "c.sqlite"))
    good = as_openai_response({"idx": 1, "generated_text": '{"answer": "A"}', "num_input_tokens": 10,
                               "num_generated_tokens": 3}, "m")
    assert good is not None
    res = eng._result("k", good, cached=False)
    assert res.ok and res.content == '{"answer": "A"}' and (res.tokens_in, res.tokens_out) == (10, 3)
    assert as_openai_response({"idx": 2, "__inference_error__": "CUDA out of memory"}, "m") is None
