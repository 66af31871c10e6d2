"""Helpers shared by the CLI modules: the project option, error handling, project loading."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer

F = TypeVar("F", bound=Callable[..., Any])

ProjectOpt = typer.Option(Path("."), "--project", "-p", help="Project folder (holds curator.yaml).")
WaitOpt = typer.Option(False, "--wait", help="If another model-calling run holds the project, wait for it.")
MaxCostOpt = typer.Option(None, min=0, help="Money cap for this run (0 sends nothing; a reply already cached is free).")
LimitOpt = typer.Option(None, min=0, help="Only this many items (a trial run).")
RunnerOpt = typer.Option(None, "--runner", help="local (this process), ray (Ray Data against the endpoint) or "
                                                "ray-vllm (vLLM on GPU nodes); default: runner in curator.yaml.")


EXIT_ERROR = 1
"""A curator error: bad input, a stopped run (budget, breaker) … the message says what to fix."""
EXIT_USAGE = 2
"""A command line that does not parse or an option out of range; nothing was changed."""
EXIT_UNFINISHED = 3
"""The run ended but left items to do (network failures, a stop): rerun the same command to resume."""
EXIT_BUSY = 4
"""Another model-calling run holds the project; rerun later or pass --wait."""
EXIT_INTERRUPTED = 130


def handled(fn: F) -> F:
    """Turn curator's errors into a one-line message and a documented exit code (see ``EXIT_*``)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from curator.errors import CuratorError, Interrupted, ProjectBusy, UsageError
        from curator.secrets import install_log_filter, redact

        install_log_filter()
        try:
            return fn(*args, **kwargs)
        except CuratorError as exc:
            from rich.markup import escape

            from curator.cli.render import err_console

            err_console.print(f"[bold red]error:[/] {escape(redact(str(exc)))}", highlight=False, soft_wrap=True)
            code = (EXIT_BUSY if isinstance(exc, ProjectBusy) else EXIT_INTERRUPTED if isinstance(exc, Interrupted)
                    else EXIT_USAGE if isinstance(exc, UsageError) else EXIT_ERROR)
            raise typer.Exit(code) from None
        except KeyboardInterrupt:
            from curator.cli.render import err_console

            err_console.print("[yellow]interrupted; finished work is saved, rerun to resume[/]")
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper  # type: ignore[return-value]


def _project(path: Path) -> Any:
    from curator.config import Project

    return Project.load(path)


def _render_stats(stats: Any, title: str) -> None:
    from curator.cli.render import kv

    if stats is not None:
        kv(title, stats.rows())


def _run_model_stage(fn: Callable[[], Any], title: str) -> Any:
    """Run a model-calling stage and print its summary — also on a clean stop (budget, breaker).

    Exits with :data:`EXIT_UNFINISHED` when the run ended with items left to do.
    """
    from curator.cli.render import err_console, kv
    from curator.errors import EngineError

    try:
        summary = fn()
    except EngineError as exc:
        part = getattr(exc, "summary", None)
        if part is not None:
            kv(title, part.rows())
        _render_stats(getattr(exc, "stats", None), "engine")
        raise
    kv(title, summary.rows())
    for st in getattr(summary, "runs", None) or [getattr(summary, "stats", None)]:
        _render_stats(st, "engine")
    left = int(getattr(summary, "unfinished", 0) or 0)
    if left:
        err_console.print(f"[bold yellow]{left} items unfinished — rerun to resume[/] (exit code {EXIT_UNFINISHED})")
        raise typer.Exit(EXIT_UNFINISHED)
    return summary
