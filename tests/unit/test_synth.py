from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

import pytest
from conftest import photo
from PIL import Image

from curator.config import Project
from curator.ingest import load_images
from curator.scaffold import init
from curator.stages.generate import generate
from curator.stages.plan import plan
from curator.stages.synthetic import FAMILY_HOW, FAMILY_NOUN, FAMILY_TEXT
from curator.synth import DISTORTIONS, LEVELS, REGION_TEXT, distort, sample_references, severity_of, statistic, synth
from curator.tables import read_jsonl


@pytest.mark.parametrize("name", sorted(DISTORTIONS))
def test_statistic_is_monotonic_in_level(name: str) -> None:
    d = DISTORTIONS[name]
    refs = [img for _, img in sample_references(3)] + [photo(5, size=(300, 200))]
    for ref in refs:
        values = [statistic(d.statistic, ref, ref)] + [statistic(d.statistic, ref, distort(ref, name, lv)) for lv in LEVELS]
        assert all(a > b for a, b in itertools.pairwise(values)), (name, d.statistic, values)


def test_severity_mapping() -> None:
    assert [severity_of(lv) for lv in (0, 1, 2, 3, 4)] == ["None", "Slight", "Slight", "Obvious", "Obvious"]


def test_region_confines_the_distortion() -> None:
    ref = photo(2, size=(200, 100))
    out = distort(ref, "gaussian_noise", 4, "left")
    import numpy as np

    a, b = np.asarray(ref, dtype=int), np.asarray(out, dtype=int)
    assert (a[:, 100:] == b[:, 100:]).all() and (a[:, :100] != b[:, :100]).any()


def _files_digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*.png"))}


def test_same_seed_same_bytes_and_items(tmp_path: Path) -> None:
    digests, items = [], []
    for k in range(2):
        init(tmp_path / f"p{k}")
        p = Project.load(tmp_path / f"p{k}")
        synth(p, max_references=2, distortions=["gaussian_noise", "impulse_noise", "jpeg"], seed=7, workers=2)
        digests.append(_files_digest(p.images_root / "synth"))
        plan(p, domain=["iqa"], per_cell=10, backend="synthetic", estimate_role=None)
        generate(p, backend="synthetic")
        rows = read_jsonl(p.table("candidates.jsonl"))
        items.append([(r["item_id"], r["question"], r["options"], r["answer"]) for r in rows])
    assert digests[0] == digests[1] and len(digests[0]) == 2 + 2 * 3 * 4
    assert items[0] == items[1] and items[0]


def test_synthetic_items_are_exactly_right(project: Project) -> None:
    s = synth(project, max_references=3, seed=1, workers=2)
    assert s.images == 3 + 3 * 4 * len(DISTORTIONS)  # the first three samples are colour photographs
    labels = {r["path"]: r for r in read_jsonl(project.table("synth_labels.jsonl"))}
    images = load_images(project)
    assert len(images) == s.images
    by_id = {r.image_id: labels[r.path] for r in images.itertuples()}
    row = images.iloc[0]
    assert json.loads(row["meta"])["synthetic"] is True and row["source"] == "synthetic"
    ps = plan(project, domain=["iqa"], per_cell=25, backend="synthetic", estimate_role=None)
    assert "iqa/location/object_association:what" in ps.unanswerable
    g = generate(project, backend="synthetic")
    items = read_jsonl(project.table("candidates.jsonl"))
    assert g.written == len(items) == ps.work_items and len(items) > 200
    checked = 0
    for it in items:
        lab = by_id[it["image_id"]]
        chosen = it["options"]["ABCD".index(it["answer"])]
        crit, tpl = it["criterion"], it["template"]
        if crit == "iqa/severity/severity_level":
            assert chosen == lab["severity"]
        elif crit == "iqa/type/distortion_types" and tpl == "yes_no":
            asked = next(f for f, t in FAMILY_NOUN.items() if it["question"] == f"Does this image show {t}?")
            assert chosen == ("Yes" if asked == lab["family"] else "No")
        elif crit == "iqa/type/distortion_types" and tpl == "what":
            assert chosen == FAMILY_TEXT[lab["family"]]
        elif crit == "iqa/type/distortion_types" and tpl == "which":
            assert chosen == lab["distortion_name"]
        elif crit == "iqa/type/distortion_types":
            assert chosen.removeprefix("Because ").lower() == FAMILY_HOW[lab["family"]].lower()
        elif crit == "iqa/location/location_description" and tpl == "yes_no":
            asked = next(r for r, t in REGION_TEXT.items() if it["question"].endswith(f"{t}?"))
            assert chosen == ("Yes" if asked == lab["region"] else "No")
        elif crit == "iqa/location/location_description":
            assert chosen == REGION_TEXT[lab["region"]]
        else:
            raise AssertionError(f"unexpected item {crit} {tpl}")
        assert len(set(it["options"])) == len(it["options"])
        checked += 1
    assert checked == len(items)
    letters = {it["answer"] for it in items if it["template"] in ("what", "which")}
    assert letters == {"A", "B", "C", "D"}  # options are shuffled


def test_grey_references_skip_colour_distortions(project: Project, tmp_path: Path) -> None:
    (tmp_path / "refs").mkdir()
    photo(1).convert("L").save(tmp_path / "refs" / "grey.png")
    s = synth(project, tmp_path / "refs", distortions=["saturation_up", "gaussian_blur"], workers=1)
    assert s.by_distortion == {"reference": 1, "gaussian_blur": 4}
    Image.open(project.images_root / "synth" / "refs" / "grey.png").verify()
