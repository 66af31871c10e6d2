from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

import pytest
from conftest import photo
from PIL import Image

from curator.config import Project
from curator.distortions import DISTORTIONS, LEVELS, REGION_TEXT, distort, severity_of, statistic
from curator.scaffold import init
from curator.stages.common.answer_key import FAMILY_HOW, FAMILY_NOUN, FAMILY_TEXT
from curator.stages.generate import generate
from curator.stages.ingest.synth import sample_references, synth
from curator.stages.plan import plan
from curator.store import Store
from curator.store.io import read_jsonl


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
        rows = read_jsonl(p.data / "candidates.jsonl")
        items.append([(r["item_id"], r["question"], r["options"], r["answer"]) for r in rows])
    assert digests[0] == digests[1] and len(digests[0]) == 2 * 3 + 2 * 3 * 4  # 3 clean versions per reference
    assert items[0] == items[1] and items[0]


def test_synthetic_items_are_exactly_right(project: Project) -> None:
    s = synth(project, max_references=3, seed=1, workers=2)
    # the first three samples are colour photographs; each gives 3 clean versions and 4 levels of every distortion
    assert s.images == 3 * 3 + 3 * 4 * len(DISTORTIONS) - s.invisible
    labels = {r["path"]: r for r in read_jsonl(project.data / "synth_labels.jsonl")}
    images = Store(project).load_images()
    assert len(images) == s.images
    by_id = {r.image_id: labels[r.path] for r in images.itertuples()}
    row = images.iloc[0]
    assert json.loads(row["meta"])["synthetic"] is True and row["source"] == "synthetic"
    ps = plan(project, domain=["iqa"], per_cell=25, backend="synthetic", estimate_role=None)
    assert "iqa/location/object_association:what" in ps.unanswerable
    g = generate(project, backend="synthetic")
    items = read_jsonl(project.data / "candidates.jsonl")
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
    assert s.by_distortion == {"reference": 3, "gaussian_blur": 4 - s.invisible}
    Image.open(project.images_root / "synth" / "refs" / "grey.png").verify()


def test_slight_means_visible(tmp_path: Path) -> None:
    init(tmp_path / "p")
    p = Project.load(tmp_path / "p")
    s = synth(p, max_references=12, distortions=["pixelation", "gaussian_blur"], levels=[1, 2, 3], seed=0, workers=2)
    labels = read_jsonl(p.data / "synth_labels.jsonl")
    slight = [r for r in labels if r["severity"] == "Slight"]
    assert slight and all(r["region_psnr"] <= 38.0 for r in slight)
    assert s.invisible >= 1  # 2-pixel blocks on the smooth moon change nothing at all
    assert not any(r["ref_id"] == "moon" and r["distortion"] == "pixelation" and r["level"] == 1 for r in labels)
    clean = [r for r in labels if r["severity"] == "None"]
    assert sorted({r["variant"] for r in clean}) == ["crop", "flip", "original"] and len(clean) == 36


def test_synthetic_answers_are_balanced_per_cell(tmp_path: Path) -> None:
    from collections import Counter

    init(tmp_path / "p")
    p = Project.load(tmp_path / "p")
    synth(p, max_references=6, seed=1, workers=2)
    plan(p, domain=["iqa"], per_cell=36, backend="synthetic", per_image_cap=6, estimate_role=None)
    generate(p, backend="synthetic")
    rows = read_jsonl(p.data / "candidates.jsonl")
    cells: dict[tuple[str, str], Counter[str]] = {}
    for r in rows:
        text = r["options"][ord(r["answer"]) - 65]
        cells.setdefault((r["criterion"], r["template"]), Counter())[text if r["template"] in ("yes_no", "level")
                                                                     or "location" in r["criterion"] else
                                                                     r["truth"]["family"]] += 1
    assert cells
    for cell, counts in cells.items():
        assert sum(counts.values()) == 36, cell
        assert max(counts.values()) - min(counts.values()) <= 1, (cell, counts)
