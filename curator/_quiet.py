"""Silence third-party progress bars inside a library call (only curator's own bars are shown)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


@contextlib.contextmanager
def quiet_datasets() -> Iterator[None]:
    from datasets.utils import logging as ds_logging

    was_enabled = ds_logging.is_progress_bar_enabled()
    ds_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            ds_logging.enable_progress_bar()


def quiet(fn: F) -> F:
    """Decorator form of :func:`quiet_datasets` that keeps the wrapped signature."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with quiet_datasets():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
