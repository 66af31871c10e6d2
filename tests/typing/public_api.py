"""Probe for the typed public API, checked by mypy (scripts/test.sh), never run.

``curator`` exports its names lazily; these lines fail the type check if the lazy exports ever
become ``Any`` again (each ``type: ignore`` must be *needed*: mypy runs with
``warn_unused_ignores``), and the good calls must type-check.
"""

from __future__ import annotations

import curator

project = curator.Project.load(".")
summary = curator.generate(project, limit=3, max_cost=1.0)
written: int = summary.written
curator.plan(project, domain=["iqa"], per_cell=2)

curator.generate(project, nonsense=True)  # type: ignore[call-arg]
curator.generate("not a project")  # type: ignore[arg-type]
curator.export(project, splits=0.5)  # type: ignore[arg-type]
not_a_count: str = summary.written  # type: ignore[assignment]
