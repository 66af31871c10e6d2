"""curator's one error tree.

Every error a user can cause or meet is a :class:`CuratorError`; the CLI catches exactly this
class, prints its message and exits 1. Third-party exceptions are wrapped at the boundary with
``raise ... from exc`` so the message names what to fix and the cause stays in the traceback.

::

    CuratorError
    ├── ConfigError          curator.yaml missing, malformed, unknown keys, missing secrets
    ├── TaxonomyError        a taxonomy or lexicon file that does not validate (file:line each)
    ├── IngestError          a label file or source that cannot be read at all
    ├── EngineError          model calls
    │   ├── CircuitOpen      the run can only fail; stopped after saving finished work
    │   ├── BudgetExceeded   --max-cost reached; finished work is saved
    │   └── Interrupted      Ctrl-C: requests in flight were finished and saved
    ├── ProjectBusy          another model-calling run holds the project's lock
    ├── UsageError           an argument out of range or naming nothing (CLI exit 2; nothing changed)
    ├── StageError           a stage's input table is missing or inconsistent
    ├── ReviewError          Label Studio: unreachable, bad token, rejected config, deleted project
    └── ExportError          export or hub push failed
"""

from __future__ import annotations

from typing import Any


class CuratorError(Exception):
    """Root of every error curator raises on purpose."""


class ConfigError(CuratorError):
    """The project configuration cannot be used as written."""


class TaxonomyError(CuratorError):
    """A taxonomy file failed validation.

    Attributes:
        problems: one ``file:line: message`` string per problem found, so an editor can jump to each.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        head = f"{len(self.problems)} problem(s) in taxonomy:" if len(self.problems) > 1 else "taxonomy:"
        super().__init__(head + "\n" + "\n".join(f"  {p}" for p in self.problems))


class IngestError(CuratorError):
    """A whole source could not be read (single bad images go to the rejects table instead)."""


class EngineError(CuratorError):
    """A model call failed in a way the caller must hear about."""

    stats: Any = None
    """The run's figures when a run stopped early (the CLI still prints the run table)."""


class CircuitOpen(EngineError):
    """Too many consecutive failures: the run can only fail, so it stopped."""


class BudgetExceeded(EngineError):
    """The configured money budget was reached."""


class Interrupted(EngineError):
    """The user pressed Ctrl-C; requests in flight were finished and saved first."""


class UsageError(CuratorError):
    """An argument is out of its allowed range or names nothing; the message names the option."""


class ProjectBusy(CuratorError):
    """Another model-calling run holds the project's lock (it names the holder)."""


class StageError(CuratorError):
    """A stage cannot run on the tables it was given."""


class ReviewError(CuratorError):
    """The Label Studio round trip failed; the message says what to fix."""


class ExportError(CuratorError):
    """Writing or publishing the benchmark failed."""
