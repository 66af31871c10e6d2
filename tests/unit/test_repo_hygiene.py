"""A fresh clone must work on any machine: no tracked link leaves the repository, no tracked text
names a folder of the machine it was made on, and the ignore rules cover links as well as folders."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# absolute folders of build machines and homes: /work/..., /home/<user>/..., /root/..., /Users/..., C:\Users\...
MACHINE_PATH = re.compile(r"(?<![\w.])(/work/|/home/[a-z_][\w-]*/|/root/|/Users/[^/\s]+/|[A-Z]:\\\\Users\\\\)")


def _tracked() -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files", "-s"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.fail(f"{ROOT} is not a git checkout; these checks need `git ls-files`")
    return out.splitlines()


def test_no_tracked_symlink_leaves_the_repository() -> None:
    bad = []
    for line in _tracked():
        mode, _, _, path = line.split(maxsplit=3)
        if mode != "120000":
            continue
        target = os.readlink(ROOT / path) if (ROOT / path).is_symlink() else ""
        resolved = (ROOT / path).parent.joinpath(target).resolve() if target else None
        if not target or os.path.isabs(target) or resolved is None or ROOT not in resolved.parents:
            bad.append(f"{path} -> {target or '?'}")
    assert not bad, f"tracked symlinks leading out of the repository: {bad}"


def test_no_tracked_text_names_a_machine_path() -> None:
    hits = []
    for line in _tracked():
        path = line.split(maxsplit=3)[3]
        if path == "tests/unit/test_repo_hygiene.py":
            continue
        p = ROOT / path
        if p.is_symlink() or not p.is_file() or p.stat().st_size > 2_000_000:
            continue
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for n, row in enumerate(text.splitlines(), 1):
            if MACHINE_PATH.search(row):
                hits.append(f"{path}:{n}: {row.strip()[:100]}")
    assert not hits, "tracked files name absolute paths of a build machine:\n" + "\n".join(hits)


@pytest.mark.parametrize("name", [".venv", ".ls-venv"])
def test_ignore_rules_match_a_link_or_file_as_well_as_a_folder(name: str) -> None:
    # `git check-ignore --no-index` asks the rules alone; a rule written `name/` matches folders only
    res = subprocess.run(["git", "check-ignore", "--no-index", "-q", name], cwd=ROOT, capture_output=True)
    assert res.returncode == 0, f"{name} as a file or symlink is not ignored by .gitignore"
