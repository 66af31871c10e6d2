"""curator: build human-verified perceptual image benchmarks for multimodal LLMs.

Every CLI verb is a library function with the same name and arguments::

    from curator import Project, ingest, plan, generate, judge, blind, check, sample, export, evaluate
    p = Project.load("my-bench")
    plan(p, domain=["iqa"], per_cell=20)
    generate(p, max_cost=5.0)

Names are imported lazily so ``import curator`` (and ``curator --help``) stays fast; type checkers
and editors read the ``TYPE_CHECKING`` imports below, so every name keeps its real signature.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the same names as _EXPORTS, for mypy and editors (tests/unit/test_package.py keeps them equal)
    from curator.config import Config, Project
    from curator.demo import demo
    from curator.engine.client import Engine, Request
    from curator.errors import (
        BudgetExceeded,
        CircuitOpen,
        ConfigError,
        CuratorError,
        ReviewError,
        StageError,
        TaxonomyError,
    )
    from curator.records import ImageRow, QAItem, Review
    from curator.scaffold import init
    from curator.stages.blind import blind
    from curator.stages.calibrate import calibrate
    from curator.stages.checks import check
    from curator.stages.describe import describe
    from curator.stages.diff import diff
    from curator.stages.evaluate import evaluate
    from curator.stages.export import export
    from curator.stages.generate import generate
    from curator.stages.ingest import ingest, synth
    from curator.stages.judge import judge
    from curator.stages.plan import plan
    from curator.stages.report import report
    from curator.stages.review.pull import pull
    from curator.stages.review.push import push
    from curator.stages.review.server import serve
    from curator.stages.sample import sample
    from curator.taxonomy import Taxonomy, load_taxonomy

__version__ = "0.1.0"

_EXPORTS = {
    "BudgetExceeded": "curator.errors",
    "CircuitOpen": "curator.errors",
    "Config": "curator.config",
    "ConfigError": "curator.errors",
    "CuratorError": "curator.errors",
    "Engine": "curator.engine.client",
    "ImageRow": "curator.records",
    "Project": "curator.config",
    "QAItem": "curator.records",
    "Request": "curator.engine.client",
    "Review": "curator.records",
    "ReviewError": "curator.errors",
    "StageError": "curator.errors",
    "Taxonomy": "curator.taxonomy",
    "TaxonomyError": "curator.errors",
    "blind": "curator.stages.blind",
    "calibrate": "curator.stages.calibrate",
    "check": "curator.stages.checks",
    "demo": "curator.demo",
    "describe": "curator.stages.describe",
    "diff": "curator.stages.diff",
    "evaluate": "curator.stages.evaluate",
    "export": "curator.stages.export",
    "generate": "curator.stages.generate",
    "ingest": "curator.stages.ingest",
    "init": "curator.scaffold",
    "judge": "curator.stages.judge",
    "load_taxonomy": "curator.taxonomy",
    "plan": "curator.stages.plan",
    "pull": "curator.stages.review.pull",
    "push": "curator.stages.review.push",
    "report": "curator.stages.report",
    "sample": "curator.stages.sample",
    "serve": "curator.stages.review.server",
    "synth": "curator.stages.ingest",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'curator' has no attribute {name!r}")
