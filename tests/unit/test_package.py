"""The public surface and the import direction (lower layers never import stages or the CLI)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import curator


def test_all_is_sorted_unique_and_importable() -> None:
    assert curator.__all__ == sorted(set(curator.__all__))
    for name in curator.__all__:
        assert getattr(curator, name) is not None


@pytest.mark.parametrize("module", ["curator.records", "curator.taxonomy", "curator.config", "curator.errors",
                                    "curator.engine.client", "curator.images", "curator.store.io"])
def test_lower_layers_do_not_import_higher_ones(module: str) -> None:
    code = (f"import sys, {module}\n"
            "bad = [m for m in sys.modules if m.startswith(('curator.stages', 'curator.cli', 'curator.demo'))]\n"
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"{module} pulls in {out}"
