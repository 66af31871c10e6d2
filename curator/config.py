"""The project file (``curator.yaml``) and the project folder it describes.

Settings that can change a model's answer (model, base_url, temperature, max_tokens …) live on
:class:`Endpoint`; settings that cannot (concurrency, rate limits, retries, timeouts) live on
:class:`RunSettings`, so they never enter a cache key. Secrets are never stored here: an endpoint
names the *environment variable* that holds its key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from curator.errors import ConfigError

if TYPE_CHECKING:
    from curator.taxonomy import Taxonomy

CONFIG_NAME = "curator.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunSettings(_Model):
    """How to call an endpoint; none of this can change an answer, so none of it is cached."""

    concurrency: int = Field(32, ge=1, le=4096)
    """Requests in flight at once."""
    rpm: float | None = Field(None, gt=0)
    """Requests per minute; None = unlimited (the default for custom endpoints)."""
    tpm: float | None = Field(None, gt=0)
    """Tokens per minute (prompt + images + max_tokens, estimated); None = unlimited."""
    timeout: float = Field(120.0, gt=0)
    """Longest a request may take before it is abandoned and retried (also the limit before any reply)."""
    adaptive_timeout: bool = True
    """Once 20 replies have arrived, abandon a request after 8 × the 95th-percentile latency (at least
    ``min_timeout``, at most ``timeout``): a few hung connections then cost seconds, not minutes."""
    min_timeout: float = Field(5.0, gt=0)
    max_retries: int = Field(6, ge=0, le=100)
    """Retries after the first attempt (not attempts) for retryable errors."""
    breaker_threshold: int = Field(20, ge=1)
    """Consecutive failed attempts that, with ``breaker_seconds`` of no success, open the circuit."""
    breaker_seconds: float = Field(5.0, ge=0)
    breaker_timeouts: int = Field(3, ge=1)
    """Consecutive timed-out attempts (no success between) that open the circuit: a hanging endpoint."""
    retry_after_cap: float = Field(60.0, ge=0)
    """Longest pause a server's ``Retry-After`` may impose (a 3600 would park the run for an hour)."""


class Endpoint(_Model):
    """One model behind an OpenAI-compatible endpoint, for one role."""

    model: str
    """Model name as the server knows it (``gpt-4o``, ``Qwen/Qwen2.5-VL-7B-Instruct`` …)."""
    base_url: str = "https://api.openai.com/v1"
    """Any OpenAI-compatible server: vLLM, Ollama (http://localhost:11434/v1), SGLang …"""
    replicas: list[str] = Field(default_factory=list)
    """More base URLs serving the same model (one vLLM per node…). The Ray runner spreads its actors over
    ``base_url`` and these; the local runner uses ``base_url``. Replies are cached under ``base_url``'s
    identity, so a reply is paid once whichever replica gave it."""
    api_key_env: str = "OPENAI_API_KEY"
    """Name of the environment variable holding the key (never the key itself)."""
    family: str = ""
    """Model family (``openai``, ``qwen`` …); the judge warns when it equals the generator's."""
    temperature: float = Field(0.0, ge=0)
    max_tokens: int = Field(768, ge=1)
    seed: int | None = 0
    json_schema: Literal["auto", "on", "off"] = "auto"
    """Ask for structured output with a JSON schema; ``auto`` turns it off after the server refuses it."""

    @field_validator("json_schema", mode="before")
    @classmethod
    def _yaml_booleans(cls, v: Any) -> Any:
        # YAML 1.1 reads a bare `off` / `on` as a boolean; the docs write them bare
        return {False: "off", True: "on"}.get(v, v) if isinstance(v, bool) else v

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        from urllib.parse import urlparse

        u = urlparse(v)
        if u.scheme not in ("http", "https") or not u.netloc:
            raise ValueError(f"{v!r} is not an http(s) URL such as http://localhost:8000/v1")
        return v
    text_only: bool = False
    """Blind role: send no image (or a grey one with ``grey_image``)."""
    grey_image: bool = False
    run: RunSettings = Field(default_factory=RunSettings)

    def api_key(self) -> str:
        """The key from the environment; a local server without auth gets a placeholder."""
        from curator.secrets import register

        key = os.environ.get(self.api_key_env, "")
        if not key and "api.openai.com" in self.base_url:
            raise ConfigError(f"no API key: set the environment variable {self.api_key_env} for {self.model}")
        return register(key) or "sk-no-key"

    @property
    def family_name(self) -> str:
        if self.family:
            return self.family.lower()
        low = self.model.lower()
        for fam in ("gpt", "qwen", "internvl", "llava", "gemini", "claude", "llama", "mistral", "glm", "minicpm"):
            if fam in low:
                return "openai" if fam == "gpt" else fam
        return low.split("/")[0]


class Price(_Model):
    """Money per million tokens."""

    input: float = 0.0
    output: float = 0.0


class Models(_Model):
    generator: Endpoint | None = None
    judge: Endpoint | None = None
    blind: list[Endpoint] = Field(default_factory=list)
    panel: list[Endpoint] = Field(default_factory=list)
    """Models that answer every candidate for difficulty calibration; ``text_only: true`` ones see no image."""
    describe: Endpoint | None = None
    eval: Endpoint | None = None


class LabelStudioSettings(_Model):
    url: str = "http://127.0.0.1:8089"
    api_key_env: str = "LABEL_STUDIO_API_KEY"
    """Environment variable with a personal access token or legacy token."""
    project_title: str = ""
    image_mode: Literal["local", "url", "inline"] = "local"
    """How tasks reference images: local-file serving, a URL base, or inline data URIs (small sets)."""
    image_url_base: str = ""
    document_root: str = ""
    """The server's LOCAL_FILES_DOCUMENT_ROOT (default: images_root, as `review serve` sets it)."""
    batch_size: int = 1000
    port: int = 8089


class ImagePolicy(_Model):
    max_side_iaa: int = 1024
    """IAA images may be downscaled to this longest side before they are sent."""
    max_bytes: int = Field(15_000_000, ge=1)
    """Largest image payload sent; an IQA/ISTA image above it is a per-item failure, never re-encoded lossily."""
    cache_bytes: int = Field(256_000_000, ge=0)
    """Memory for payloads built once and reused by later requests on the same image (LRU by bytes)."""


class RaySettings(_Model):
    """Where and how the model-calling stages run with ``runner: ray`` (see docs/scale.md)."""

    address: str | None = None
    """A Ray cluster (``ray://host:10001`` or ``host:6379``); ``RAY_ADDRESS`` also works; none starts a local instance."""
    actors: int = Field(2, ge=1, le=4096)
    """Engine actors; the endpoint's concurrency, rpm, tpm and the money cap are divided among them."""
    batch_size: int = Field(16, ge=1)
    """Requests per Ray Data batch (several batches are in flight per actor)."""
    actor_cpus: float = Field(0.25, gt=0)
    """CPUs Ray reserves per actor: they wait on the network, so a fraction is enough."""


class Config(_Model):
    """The whole ``curator.yaml``."""

    name: str = "my-benchmark"
    taxonomy: str = "unipercept"
    """A shipped taxonomy name or a path (relative to the project) to a YAML file."""
    images_root: str = "images"
    seed: int = 0
    models: Models = Field(default_factory=Models)
    prices: dict[str, Price] = Field(default_factory=dict)
    """Per model name; models not listed cost 0 (local servers)."""
    label_studio: LabelStudioSettings = Field(default_factory=LabelStudioSettings)
    images: ImagePolicy = Field(default_factory=ImagePolicy)
    max_cost: float | None = Field(None, ge=0)
    """Money cap of every model-calling run (0 sends nothing); ``--max-cost`` overrides it per run."""
    runner: Literal["local", "ray", "ray-vllm"] = "local"
    """Where model-calling stages run: in this process, on Ray Data against the endpoint, or an in-process
    vLLM on the cluster's GPUs (``--runner`` overrides it per run; docs/scale.md)."""
    ray: RaySettings = Field(default_factory=RaySettings)


class Project:
    """A benchmark project folder: ``curator.yaml`` plus ``data/``, ``cache/``, ``export/``."""

    def __init__(self, root: Path, config: Config) -> None:
        self.root = root.resolve()
        self.config = config

    @classmethod
    def load(cls, root: str | Path = ".") -> Project:
        root = Path(root)
        path = root / CONFIG_NAME
        if not path.is_file():
            raise ConfigError(f"{path}: no {CONFIG_NAME} here; create a project with `curator init {root}`")
        try:
            raw: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.object[exc.start:exc.start + 1]!r}); "
                              "save it as UTF-8") from exc
        except yaml.MarkedYAMLError as exc:
            line = exc.problem_mark.line + 1 if exc.problem_mark else 1
            raise ConfigError(f"{path}:{line}: bad YAML: {exc.problem}") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: bad YAML: {exc}") from exc
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a mapping of settings, got {type(raw).__name__}")
        try:
            cfg = Config.model_validate(raw)
        except ValidationError as exc:
            lines = [f"{path}: {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
            raise ConfigError("invalid project file:\n  " + "\n  ".join(lines)) from exc
        return cls(root, cfg)

    # folders -----------------------------------------------------------------
    @property
    def data(self) -> Path:
        return self._mk(self.root / "data")

    @property
    def cache_dir(self) -> Path:
        env = os.environ.get("CURATOR_CACHE_DIR")
        return self._mk(Path(env) if env else self.root / "cache")

    @property
    def export_dir(self) -> Path:
        return self._mk(self.root / "export")

    @property
    def images_root(self) -> Path:
        p = Path(self.config.images_root)
        return (p if p.is_absolute() else self.root / p).resolve()

    def taxonomy_path(self) -> Path | str:
        t = self.config.taxonomy
        p = self.root / t
        return p if (p.suffix and p.exists()) else t

    def load_taxonomy(self) -> Taxonomy:
        from curator.taxonomy import load_taxonomy

        return load_taxonomy(self.taxonomy_path())

    def endpoint(self, role: str) -> Endpoint:
        ep = getattr(self.config.models, role, None)
        if ep is None:
            raise ConfigError(f"{self.root / CONFIG_NAME}: models.{role} is not configured")
        return ep

    @staticmethod
    def _mk(p: Path) -> Path:
        p.mkdir(parents=True, exist_ok=True)
        return p
