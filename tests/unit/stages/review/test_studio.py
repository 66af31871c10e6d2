"""The Label Studio facade without a server: the install hint, and reading exports one task at a time."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curator.cli import app
from curator.config import Project
from curator.errors import ReviewError
from curator.stages.review.studio import read_export


@pytest.mark.parametrize("verb", [["push"], ["pull"], ["status"]])
def test_review_without_the_sdk_says_how_to_install_it(project: Project, monkeypatch: pytest.MonkeyPatch,
                                                       verb: list[str]) -> None:
    monkeypatch.setitem(sys.modules, "label_studio_sdk", None)  # `import label_studio_sdk` now fails
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "tok")
    state = project.data / "review" / "state.json"
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps({"projects": {"vqa": {"id": 1, "url": "http://127.0.0.1:9", "uid": "u"}}}))
    out = CliRunner().invoke(app, ["review", *verb, "-p", str(project.root), "--image-mode", "inline"]
                             if verb == ["push"] else ["review", *verb, "-p", str(project.root)])
    assert out.exit_code == 1, out.output
    assert 'pip install "curator-bench[review]"' in out.output
    assert "Traceback" not in out.output


def _export(path: Path, tasks: list[dict[str, object]]) -> Path:
    with gzip.open(path, "wt") as f:
        json.dump(tasks, f)
    return path


def test_read_export_keeps_annotations_and_drops_task_data(tmp_path: Path) -> None:
    big = "data:image/png;base64," + "A" * 200_000
    ann = {"id": 7, "completed_by": {"id": 2, "email": "a@b"}, "result": [
        {"from_name": "verdict", "type": "choices", "value": {"choices": ["accept"]}}], "lead_time": 1.5,
           "prediction": {"id": 1, "result": [{"value": {"text": ["q"]}}]}}
    got = list(read_export(_export(tmp_path / "e.json.gz", [
        {"id": 1, "data": {"ext_id": "x-1", "image": big, "question": "q"}, "annotations": [ann]},
        {"id": 2, "data": {"ext_id": "x-2", "image": big}, "annotations": []}])))
    assert [t["data"] for t in got] == [{"ext_id": "x-1"}, {"ext_id": "x-2"}]
    a = got[0]["annotations"][0]
    assert a["result"][0]["value"] == {"choices": ["accept"]} and a["lead_time"] == 1.5 and "prediction" not in a
    assert isinstance(a["lead_time"], float)  # numbers as floats, not Decimals


def test_a_truncated_export_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.json.gz"
    path.write_bytes(gzip.compress(b'[{"id": 1, "data": {"ext_id": "a"}, "annotations": []}, {"id": 2, "da'))
    with pytest.raises(ReviewError, match=r"cut\.json\.gz is not valid JSON.*kept as received"):
        list(read_export(path))
