"""Ingest on a local Ray instance writes the same images and rejects tables as the process pool."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import bad_image_folder

from curator.config import Project
from curator.scaffold import init
from curator.stages.ingest import ingest

pytestmark = pytest.mark.ray


def _tables(p: Project) -> tuple[pd.DataFrame, pd.DataFrame]:
    img = pd.read_parquet(p.data / "images.parquet").drop(columns=["root"]).sort_values("path").reset_index(drop=True)
    rej = pd.read_parquet(p.data / "ingest_rejects.parquet").sort_values("path").reset_index(drop=True)
    rej["detail"] = rej["detail"].str.replace(r"outside-[ab]", "outside", regex=True)  # each project's own link
    return img, rej


def test_ingest_on_ray_matches_the_process_pool(tmp_path: Path, ray_cluster: str) -> None:
    init(tmp_path / "local")
    init(tmp_path / "ray")
    local, on_ray = Project.load(tmp_path / "local"), Project.load(tmp_path / "ray")
    bad_image_folder(local.images_root, tmp_path / "outside-a")  # built twice: its links point inside each root
    bad_image_folder(on_ray.images_root, tmp_path / "outside-b")
    a = ingest(local, workers=2)
    b = ingest(on_ray, runner="ray")
    assert (a.ingested, a.rejected, a.total_images) == (b.ingested, b.rejected, b.total_images)
    img_a, rej_a = _tables(local)
    img_b, rej_b = _tables(on_ray)
    pd.testing.assert_frame_equal(img_a, img_b)
    pd.testing.assert_frame_equal(rej_a, rej_b)
    assert ingest(on_ray, runner="ray").ingested == 0  # resumable the same way
