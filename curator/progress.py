"""Progress reporting as events: stage functions call a :class:`Reporter`; only the CLI renders.

The library never prints. The CLI passes a rich-backed reporter (bar with rate and ETA); tests and
library users get the silent default.
"""

from __future__ import annotations

from typing import Any, Protocol


class Reporter(Protocol):
    def start(self, description: str, total: int | None) -> None: ...
    def advance(self, n: int = 1, **fields: Any) -> None: ...
    def finish(self) -> None: ...


class NullReporter:
    """Reports nothing; the default for library calls."""

    def start(self, description: str, total: int | None) -> None:
        pass

    def advance(self, n: int = 1, **fields: Any) -> None:
        pass

    def finish(self) -> None:
        pass


def reporter_or_null(reporter: Reporter | None) -> Reporter:
    return reporter if reporter is not None else NullReporter()
