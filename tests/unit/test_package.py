"""The public surface: every lazy export exists, and type checkers see the same names."""

from __future__ import annotations

import ast
from pathlib import Path

import curator


def test_all_is_sorted_unique_and_importable() -> None:
    assert curator.__all__ == sorted(set(curator.__all__))
    for name in curator.__all__:
        assert getattr(curator, name) is not None


def test_type_checkers_see_every_lazy_export() -> None:
    """The TYPE_CHECKING imports in curator/__init__.py name exactly the lazy exports, from the same modules."""
    tree = ast.parse(Path(curator.__file__).read_text())
    guarded = next(n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING")
    seen = {a.name: node.module for node in guarded.body if isinstance(node, ast.ImportFrom) for a in node.names}
    assert seen == curator._EXPORTS
