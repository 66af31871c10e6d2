"""Helpers shared by the CLI modules: the project option, error handling, project loading."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer

F = TypeVar("F", bound=Callable[..., Any])

ProjectOpt = typer.Option(Path("."), "--project", "-p", help="Project folder (holds curator.yaml).")


def handled(fn: F) -> F:
    """Turn curator's errors into a one-line message and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from curator.errors import CuratorError

        try:
            return fn(*args, **kwargs)
        except CuratorError as exc:
            from rich.markup import escape

            from curator._render import err_console

            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            from curator._render import err_console

            err_console.print("[yellow]interrupted; finished work is saved, rerun to resume[/]")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def _project(path: Path) -> Any:
    from curator.config import Project

    return Project.load(path)
