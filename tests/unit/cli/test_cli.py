"""CLI: run the real commands and check results through the library."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import photo, save
from typer.testing import CliRunner

from curator.cli import app
from curator.config import Project
from curator.store import Store

runner = CliRunner()


def test_help_lists_every_verb() -> None:
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0
    for verb in ("init", "taxonomy", "ingest"):
        assert verb in res.output


def test_help_imports_no_heavy_module() -> None:
    code = ("import sys; from curator.cli import app\n"
            "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('pandas', 'datasets', 'openai', 'PIL', 'numpy', 'aiohttp', 'ray') if m in sys.modules]\n"
            "print('HEAVY=' + ','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "HEAVY="


def test_init_then_ingest(tmp_path: Path) -> None:
    proj = tmp_path / "b"
    res = runner.invoke(app, ["init", str(proj)])
    assert res.exit_code == 0, res.output
    assert (proj / "curator.yaml").exists() and (proj / "data").is_dir()
    assert "# Model endpoints by role" in (proj / "curator.yaml").read_text()
    assert runner.invoke(app, ["init", str(proj)]).exit_code == 1  # refuses to overwrite
    for i in range(3):
        save(photo(i), proj / "images" / f"{i}.jpg")
    (proj / "images" / "broken.jpg").write_bytes(b"")
    res = runner.invoke(app, ["ingest", "-p", str(proj), "--workers", "1"])
    assert res.exit_code == 0, res.output
    assert "empty_file" in res.output
    assert len(Store(Project.load(proj)).load_images()) == 3


def test_taxonomy_commands(tmp_path: Path) -> None:
    res = runner.invoke(app, ["taxonomy", "show"])
    assert res.exit_code == 0 and "3 domains, 16 categories, 44 criteria" in res.output
    assert "Interpretive Openness" in res.output
    res = runner.invoke(app, ["taxonomy", "show", "--domain", "ista"])
    assert "Stylistic Classification" in res.output and "Visual Balance" not in res.output
    out = tmp_path / "t.json"
    assert runner.invoke(app, ["taxonomy", "export", "--format", "json", "-o", str(out)]).exit_code == 0
    data = json.loads(out.read_text())
    assert sum(len(c["criteria"]) for d in data["domains"] for c in d["categories"]) == 44
    res = runner.invoke(app, ["taxonomy", "export", "--format", "md"])
    assert "`iqa/severity/severity_level`" in res.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nversion: '1'\ndomains:\n  - id: d\n    name: [unclosed\n")
    res = runner.invoke(app, ["taxonomy", "validate", str(bad)])
    assert res.exit_code == 1 and f"{bad.resolve()}:5" in res.output.replace("\n", "")
    res = runner.invoke(app, ["taxonomy", "validate", "taxonomy/unipercept.yaml"])
    assert res.exit_code == 0 and "44 criteria" in res.output


def test_missing_project_is_a_clear_error(tmp_path: Path) -> None:
    res = runner.invoke(app, ["ingest", "-p", str(tmp_path)])
    assert res.exit_code == 1 and "curator init" in res.output
