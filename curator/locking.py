"""One model-calling run per project at a time.

Two ``curator generate`` on one project would each pay for every item and both append to the same
tables. Model-calling stages therefore hold an exclusive ``flock`` on ``data/.lock`` for their
whole run; the file says who holds it (command, pid, host, start time). The kernel drops the lock
when the holder exits, even by ``kill -9``, so a stale file never blocks anyone.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

from curator.config import Project
from curator.errors import ProjectBusy

_HELD: dict[str, int] = {}
"""Locks this process holds (path → depth): a stage that runs sub-stages takes the lock once."""


@contextlib.contextmanager
def project_lock(project: Project, command: str, *, wait: bool = False) -> Iterator[None]:
    """Hold the project's lock; raise :class:`ProjectBusy` naming the holder (or wait with ``wait``)."""
    path = project.data / ".lock"
    if _HELD.get(str(path)):
        _HELD[str(path)] += 1
        try:
            yield
        finally:
            _HELD[str(path)] -= 1
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise ProjectBusy(f"{project.root} is busy: {_holder(fd)} holds {path}; wait for it to finish, or "
                              "pass --wait to queue behind it") from None
        info = {"command": command, "pid": os.getpid(), "host": socket.gethostname(),
                "started": time.strftime("%Y-%m-%d %H:%M:%S"), "argv": " ".join(sys.argv[:6])}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        _HELD[str(path)] = 1
        try:
            yield
        finally:
            _HELD.pop(str(path), None)
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "another curator run"
    return f"`curator {info.get('command')}` (pid {info.get('pid')} on {info.get('host')}, since {info.get('started')})"


P = ParamSpec("P")
R = TypeVar("R")


def exclusive(command: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run a stage function under the project lock, taken *before* it reads what is already done.

    The function's first argument is the project; its ``wait`` keyword (default False) says whether
    to queue behind another run. Reading the done-set before the lock would let a queued run redo
    what the run ahead of it finished.
    """

    def deco(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            project = args[0] if args else kwargs["project"]
            with project_lock(project, command, wait=bool(kwargs.get("wait", False))):  # type: ignore[arg-type]
                return fn(*args, **kwargs)

        return wrapper

    return deco
