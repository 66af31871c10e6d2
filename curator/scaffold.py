"""``curator init``: scaffold a benchmark project folder with a commented ``curator.yaml``."""

from __future__ import annotations

from pathlib import Path

from curator.config import CONFIG_NAME
from curator.errors import ConfigError

TEMPLATE = """\
# curator project file. Every key is optional; `curator --help` lists the commands that read it.
name: {name}

# The definition taxonomy: a shipped name (unipercept) or a path to your own YAML, which may
# `extends: unipercept` to add or override criteria without copying the whole tree.
taxonomy: unipercept

# Folder holding the images (relative to this file). `curator ingest` reads from here.
images_root: images
seed: 0

# Model endpoints by role. Any OpenAI-compatible server works: OpenAI, vLLM, Ollama, SGLang.
# Keys are read from the environment variable named in api_key_env; never write a key here.
models:
  generator:
    model: gpt-4o-2024-08-06
    base_url: https://api.openai.com/v1
    api_key_env: OPENAI_API_KEY
    family: openai
    temperature: 0.7
    max_tokens: 768
    run: {{concurrency: 32, rpm: 5000, tpm: 2000000, timeout: 120, max_retries: 6}}
  judge:
    # UniPercept judged with a different model family (Qwen2.5-VL); so should you.
    model: Qwen/Qwen2.5-VL-72B-Instruct
    base_url: http://127.0.0.1:8000/v1      # e.g. `vllm serve Qwen/Qwen2.5-VL-72B-Instruct`
    api_key_env: VLLM_API_KEY
    family: qwen
    run: {{concurrency: 64}}                  # custom endpoints: no rate limit unless you set one
  blind:
    # Text-only answerers for the blind check (MMStar used 8). The image is never sent.
    - {{model: llama3.1:8b, base_url: "http://127.0.0.1:11434/v1", api_key_env: OLLAMA_API_KEY, text_only: true}}
  eval:
    model: gpt-4o-mini
    base_url: https://api.openai.com/v1
    api_key_env: OPENAI_API_KEY

# Money per million tokens, by model name (models not listed cost 0).
prices:
  gpt-4o-2024-08-06: {{input: 2.50, output: 10.00}}
  gpt-4o-mini: {{input: 0.15, output: 0.60}}

# Stop any model-calling stage once this much money is spent (finished work is kept).
max_cost: 50.0

# Where model-calling stages run: local (this process), ray (Ray Data actors against the endpoint, each
# with a share of its limits; pip install "curator-bench[ray]") or ray-vllm (vLLM on GPU nodes). docs/scale.md
runner: local
# ray:
#   address: ray://head-node:10001          # or RAY_ADDRESS; none starts a local instance
#   actors: 8

images:
  max_side_iaa: 1024       # IAA images may be downscaled; IQA/ISTA always go out as original bytes
  max_bytes: 15000000

label_studio:
  url: http://127.0.0.1:8089                # `curator review serve` starts one here
  api_key_env: LABEL_STUDIO_API_KEY
  image_mode: local                         # local | url | inline
  image_url_base: ""                        # for image_mode: url
  batch_size: 1000
"""


def init(directory: str | Path, *, name: str | None = None, force: bool = False) -> Path:
    """Create a project folder with ``curator.yaml`` and its data folders.

    Args:
        directory: folder to create (may exist and be non-empty).
        name: benchmark name; defaults to the folder name.
        force: overwrite an existing ``curator.yaml``.

    Returns:
        The path of the written ``curator.yaml``.
    """
    root = Path(directory)
    cfg = root / CONFIG_NAME
    if cfg.exists() and not force:
        raise ConfigError(f"{cfg} exists; pass --force to overwrite it")
    for sub in ("images", "data", "cache", "export"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    cfg.write_text(TEMPLATE.format(name=name or root.resolve().name), encoding="utf-8")
    gi = root / ".gitignore"
    if not gi.exists():
        gi.write_text("cache/\nexport/\n.labelstudio/\n", encoding="utf-8")
    return cfg
