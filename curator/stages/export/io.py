"""Build an export folder beside the old one and swap it in, so nothing is lost on failure or kill.

The new folder is written to ``export/.<name>.building-<pid>``; the previous export's ``eval/``
results are linked into it; then the two folders are exchanged in one ``renameat2(RENAME_EXCHANGE)``
call where the kernel offers it (Linux), or by two renames with a recovery step at the next start
otherwise. At no moment is ``export/<name>`` missing or half-written when the exchange is atomic.
"""

from __future__ import annotations

import ctypes
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from curator.errors import ExportError


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux ``renameat2``); False where the call is unavailable."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def build_atomically(parent: Path, name: str, build: Callable[[Path], None]) -> Path:
    """Run ``build(tmp)`` and swap ``tmp`` in as ``parent/name``; the old folder's ``eval/`` is kept."""
    final = parent / name
    previous = parent / f".{name}.previous"
    if previous.exists() and not final.exists():  # a kill between the two fallback renames
        os.rename(previous, final)
    for stale in parent.glob(f".{name}.building-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = parent / f".{name}.building-{os.getpid()}"
    tmp.mkdir(parents=True)
    try:
        build(tmp)
        if (final / "eval").is_dir():
            shutil.copytree(final / "eval", tmp / "eval", copy_function=_link_or_copy, dirs_exist_ok=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if not final.exists():
        os.rename(tmp, final)
        return final
    if not exchange(tmp, final):
        if previous.exists():
            shutil.rmtree(previous)
        os.rename(final, previous)
        os.rename(tmp, final)
        tmp = previous
    try:
        shutil.rmtree(tmp)
    except OSError as exc:  # the new export is in place; only the old copy is left behind
        raise ExportError(f"export written to {final}, but the previous copy {tmp} could not be removed: {exc}") from exc
    return final
