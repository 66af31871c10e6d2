"""The ``curator`` command line: thin wrappers over library functions of the same name.

Every command parses options, calls one library function and renders its result. Imports of the
library happen inside the commands so ``curator --help`` stays instant. Errors: a
:class:`~curator.errors.CuratorError` prints its message and exits 1; usage errors exit 2.
The commands live in modules by theme and register on :data:`curator.cli.app.app` when imported,
in the order below, which is the order of ``curator --help``.
"""

from __future__ import annotations

import importlib

from curator.cli.app import app
from curator.cli.review import review_app

for _module in ("project", "models", "bench", "batch"):
    importlib.import_module(f"curator.cli.{_module}")
app.add_typer(review_app, name="review")


def main() -> None:
    """Entry point of the ``curator`` console script."""
    app()


__all__ = ["app", "main"]
