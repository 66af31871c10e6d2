from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import bad_image_folder as _bad_folder
from conftest import photo, save

from curator.config import Project
from curator.errors import IngestError
from curator.stages.ingest import ingest
from curator.store import Store


def test_folder_with_every_bad_input_kind(project: Project, tmp_path: Path) -> None:
    root = project.images_root
    expected = _bad_folder(root, tmp_path / "outside")
    s = ingest(project, workers=2)
    rej = pd.read_parquet(project.data / "ingest_rejects.parquet")
    got = dict(zip(rej["path"], rej["reason"], strict=True))
    # of byte-identical files the first in path order is kept, the others are duplicates
    expected = {**expected, "ok/plain.jpg": "duplicate"}
    del expected["dup/copy.jpg"]
    assert got == expected
    assert s.ingested == 7 and s.total_images == 7
    img = Store(project).load_images().set_index("path")
    assert set(img.index) == {"dup/copy.jpg", "ok/ünïcødé 写真.jpg", "modes/cmyk.jpg", "modes/sixteen.png",
                              "modes/palette.png", "modes/alpha.png", "modes/rotated.jpg"}
    assert img.loc["modes/cmyk.jpg", "mode"] == "CMYK"
    assert img.loc["modes/sixteen.png", "mode"].startswith("I")
    assert img.loc["modes/palette.png", "mode"] == "P" and img.loc["modes/alpha.png", "mode"] == "RGBA"
    r = img.loc["modes/rotated.jpg"]
    assert (r["width"], r["height"], r["orientation"]) == (40, 80, 6)
    plain = img.loc["dup/copy.jpg"]
    import hashlib

    assert plain["image_id"] == hashlib.sha256((root / "ok/plain.jpg").read_bytes()).hexdigest()
    assert (plain["width"], plain["height"], plain["format"]) == (96, 64, "JPEG")
    assert len(plain["phash"]) == 16
    # the 16-bit image must not hash as a blown-out white frame
    assert img.loc["modes/sixteen.png", "phash"] != "8000000000000000"


def test_rerun_is_idempotent_and_appends(project: Project) -> None:
    root = project.images_root
    for i in range(3):
        save(photo(i), root / f"a{i}.jpg")
    assert ingest(project, workers=1).ingested == 3
    again = ingest(project, workers=1)
    assert (again.ingested, again.already_present, again.total_images) == (0, 3, 3)
    save(photo(10), root / "new.png", "PNG")
    s = ingest(project, workers=1)
    assert (s.ingested, s.total_images) == (1, 4)
    assert Store(project).load_images()["image_id"].is_unique


def _images(root: Path, names: list[str]) -> None:
    for i, n in enumerate(names):
        save(photo(i + 20), root / n, "PNG" if n.endswith((".png", ".bmp")) else "JPEG")


def test_preset_koniq10k(project: Project, tmp_path: Path) -> None:
    root = project.images_root
    _images(root, ["826373.jpg", "10018.jpg"])
    lab = tmp_path / "koniq10k_scores_and_distributions.csv"
    lab.write_text('"image_name","c1","c2","c3","c4","c5","c_total","MOS","SD","MOS_zscore"\n'
                   '"826373.jpg",0,0,25,73,7,105,3.828571429,0.527277,77.38364692\n'
                   '"10018.jpg",0,7,64,31,2,104,3.269230769,0.6516,57.10743845\n')
    s = ingest(project, labels=lab, preset="koniq10k", workers=1)
    assert s.ingested == 2
    row = Store(project).load_images().set_index("path").loc["826373.jpg"]
    assert row["source"] == "KonIQ-10k" and row["score_name"] == "MOS_zscore"
    assert row["score"] == pytest.approx(77.38364692) and row["score_norm"] == pytest.approx(77.38364692)
    scores = json.loads(row["scores"])
    assert scores["MOS"]["value"] == pytest.approx(3.828571429)
    assert scores["MOS"]["norm"] == pytest.approx(100 * (3.828571429 - 1) / 4)
    assert json.loads(row["meta"])["c_total"] == 105


def test_preset_spaq_xlsx(project: Project, tmp_path: Path) -> None:
    _images(project.images_root, ["00001.jpg", "00002.jpg"])
    lab = tmp_path / "MOS and Image attribute scores.xlsx"
    pd.DataFrame({"Image name": ["00001.jpg", "00002.jpg"], "MOS": [42.65, 61.8], "Brightness": [43.1, 60.0],
                  "Colorfulness": [38.2, 55.5], "Contrast": [45.0, 59.9], "Noisiness": [44.4, 61.0],
                  "Sharpness": [41.2, 63.3]}).to_excel(lab, index=False)
    ingest(project, labels=lab, preset="spaq", workers=1)
    row = Store(project).load_images().set_index("path").loc["00002.jpg"]
    assert (row["source"], row["score_name"], row["score"]) == ("SPAQ", "MOS", 61.8)
    assert json.loads(row["scores"])["Sharpness"]["value"] == 63.3


def test_preset_kadid10k(project: Project, tmp_path: Path) -> None:
    _images(project.images_root, ["I01_01_01.png", "I01_10_05.png"])
    lab = tmp_path / "dmos.csv"
    lab.write_text("dist_img,ref_img,dmos,var\nI01_01_01.png,I01.png,4.57,0.496\nI01_10_05.png,I01.png,1.63,0.54\n")
    ingest(project, labels=lab, preset="kadid10k", workers=1)
    row = Store(project).load_images().set_index("path").loc["I01_10_05.png"]
    assert row["score"] == 1.63 and row["score_norm"] == pytest.approx(100 * 0.63 / 4)
    meta = json.loads(row["meta"])
    assert (meta["distortion"], meta["level"], meta["ref_img"]) == ("jpeg", 5, "I01.png")


def test_preset_ava(project: Project, tmp_path: Path) -> None:
    _images(project.images_root, ["953619.jpg", "953958.jpg"])
    lab = tmp_path / "AVA.txt"
    lab.write_text("1 953619 0 1 5 17 38 36 15 6 5 1 1 22 1396\n2 953958 10 7 15 26 26 21 10 8 1 2 1 21 1396\n")
    ingest(project, labels=lab, preset="ava", workers=1)
    row = Store(project).load_images().set_index("path").loc["953619.jpg"]
    counts = [0, 1, 5, 17, 38, 36, 15, 6, 5, 1]
    mean = sum((i + 1) * c for i, c in enumerate(counts)) / sum(counts)
    assert row["score"] == pytest.approx(mean) and (row["score_min"], row["score_max"]) == (1.0, 10.0)
    assert json.loads(row["meta"])["challenge"] == 1396


def test_preset_pipal_observed_scale(project: Project, tmp_path: Path) -> None:
    _images(project.images_root, ["A0001_00_00.bmp", "A0001_01_00.bmp", "A0002_00_00.bmp"])
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "A0001.txt").write_text("A0001_00_00.bmp,1448.3678\nA0001_01_00.bmp,1157.0\n")
    (tmp_path / "labels" / "A0002.txt").write_text("A0002_00_00.bmp,1600.5\n")
    ingest(project, labels=tmp_path / "labels", preset="pipal", workers=1)
    img = Store(project).load_images().set_index("path")
    assert img.loc["A0002_00_00.bmp", "score_norm"] == pytest.approx(100.0)
    assert img.loc["A0001_01_00.bmp", "score_norm"] == pytest.approx(0.0)
    assert json.loads(img.loc["A0001_00_00.bmp", "scores"])["elo"]["scale"] == "observed_minmax"


def test_generic_label_file_missing_and_escaping_paths(project: Project, tmp_path: Path) -> None:
    _images(project.images_root, ["x.jpg"])
    lab = tmp_path / "labels.jsonl"
    lab.write_text('{"file": "x.jpg", "mos": 3.5, "note": "sharp"}\n{"file": "gone.jpg", "mos": 2}\n'
                   '{"file": "../../etc/passwd", "mos": 1}\n')
    s = ingest(project, labels=lab, path_col="file", score_cols=["mos"], scale="1:5", workers=1)
    assert s.ingested == 1 and s.rejected == {"missing": 1, "outside_root": 1}
    row = Store(project).load_images().iloc[0]
    assert row["score_norm"] == pytest.approx(62.5) and json.loads(row["meta"]) == {"note": "sharp"}


def test_label_file_errors_are_clear(project: Project, tmp_path: Path) -> None:
    lab = tmp_path / "l.csv"
    lab.write_text("name,score\na.jpg,1\n")
    with pytest.raises(IngestError, match="no path column 'path'"):
        ingest(project, labels=lab)
    with pytest.raises(IngestError, match="not a KonIQ-10k label file"):
        ingest(project, labels=lab, preset="koniq10k")
    with pytest.raises(IngestError, match="unknown preset"):
        ingest(project, labels=lab, preset="nope")
    with pytest.raises(IngestError, match="MIN:MAX"):
        ingest(project, labels=lab, path_col="name", score_cols=["score"], scale="five")


def test_hf_dataset_source(project: Project, tmp_path: Path) -> None:
    import datasets

    paths = [save(photo(i + 40), tmp_path / "hfsrc" / f"{i}.jpg") for i in range(3)]
    ds = datasets.Dataset.from_dict({"image": [str(p) for p in paths], "mos": [1.0, 2.0, 3.0]})
    ds = ds.cast_column("image", datasets.Image())
    ds.save_to_disk(tmp_path / "hfds")
    s = ingest(project, f"hf:{tmp_path / 'hfds'}", score_cols=["mos"], scale="1:5", workers=1)
    assert s.ingested == 3
    img = Store(project).load_images()
    assert sorted(img["score_norm"]) == [0.0, 25.0, 50.0]
    assert all(p.startswith("hf/hfds/") for p in img["path"])
