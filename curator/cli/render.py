"""Terminal rendering for the CLI only: rich progress bars and summary tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

console = Console(stderr=False)
err_console = Console(stderr=True)


class RichReporter:
    """A progress bar with rate, ETA and free-form fields (cost so far, cache hits …)."""

    def __init__(self) -> None:
        self._progress: Progress | None = None
        self._task: Any = None

    def start(self, description: str, total: int | None) -> None:
        self.finish()
        self._progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
            TextColumn("[cyan]{task.fields[rate]}"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[extra]}"),
            console=err_console, transient=False)
        self._progress.start()
        self._task = self._progress.add_task(description, total=total, rate="", extra="")

    def advance(self, n: int = 1, **fields: Any) -> None:
        if self._progress is None:
            return
        task = self._progress.tasks[0]
        speed = task.speed
        extra = "  ".join(f"{k}={v}" for k, v in fields.items())
        shown: dict[str, Any] = {"rate": f"{speed:.1f}/s" if speed else ""}
        if extra:
            shown["extra"] = extra
        self._progress.update(self._task, advance=n, **shown)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def table(title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    t = Table(title=title, title_justify="left")
    for h in header:
        t.add_column(h, justify="right" if h in ("n", "count", "value", "%") else "left")
    for r in rows:
        t.add_row(*[str(x) for x in r])
    console.print(t)


def kv(title: str, rows: Iterable[tuple[str, Any]]) -> None:
    table(title, ["what", "value"], rows)
