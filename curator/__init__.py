"""curator: build human-verified perceptual image benchmarks for multimodal LLMs.

Every CLI verb is a library function with the same name and arguments::

    from curator import Project, ingest, plan, generate, judge, blind, check, sample, export, evaluate
    p = Project.load("my-bench")
    plan(p, domain=["iqa"], per_cell=20)
    generate(p, max_cost=5.0)

Names are imported lazily so ``import curator`` (and ``curator --help``) stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "BudgetExceeded": "curator.errors",
    "CircuitOpen": "curator.errors",
    "Config": "curator.config",
    "ConfigError": "curator.errors",
    "CuratorError": "curator.errors",
    "Engine": "curator.engine.client",
    "ImageRecord": "curator.records",
    "Project": "curator.config",
    "QAItem": "curator.records",
    "Request": "curator.engine.client",
    "Review": "curator.records",
    "ReviewError": "curator.errors",
    "StageError": "curator.errors",
    "Taxonomy": "curator.taxonomy",
    "TaxonomyError": "curator.errors",
    "blind": "curator.stages.blind",
    "check": "curator.stages.checks",
    "demo": "curator.demo",
    "describe": "curator.stages.describe",
    "evaluate": "curator.stages.evaluate",
    "export": "curator.stages.export",
    "generate": "curator.stages.generate",
    "ingest": "curator.ingest",
    "init": "curator.scaffold",
    "judge": "curator.stages.judge",
    "load_taxonomy": "curator.taxonomy",
    "plan": "curator.stages.plan",
    "pull": "curator.stages.review.pull",
    "push": "curator.stages.review.push",
    "sample": "curator.stages.sample",
    "serve": "curator.stages.review.server",
    "synth": "curator.synth",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'curator' has no attribute {name!r}")
