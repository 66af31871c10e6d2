from __future__ import annotations

import pytest
from conftest import FakeOpenAI, photo, save, use_fake

from curator.config import Project
from curator.stages.common.qa_prompt import build_prompt, grounding_text
from curator.stages.describe import describe, ista_score, validate_annotation
from curator.stages.ingest import ingest
from curator.store import Store
from curator.taxonomy import load_taxonomy

TAX = load_taxonomy()
W = TAX.lexicons["texture_weights"].weights


def comp(name: str, morph: list[str], arr: list[str] = (), mat: list[str] = (), surf: list[str] = (),
         c2: list[str] = (), c3: list[str] = (), func: list[str] = (), style: list[str] = ()) -> dict:
    return {"ComponentName": name, "DescriptionContent": {
        "PhysicalStructure": {"BaseMorphology": list(morph), "Arrangement": list(arr)},
        "MaterialRepresentation": {"MaterialClass": list(mat), "SurfaceProperties": list(surf)},
        "GeometricComposition": {"PlanarContour": list(c2), "VolumetricForm": list(c3)},
        "SemanticPerception": {"FunctionalInference": list(func), "StyleType": list(style)}}}


def test_ista_score_hand_computed() -> None:
    # altar: marbled(3) + smooth(1) + 1 arrangement + 2 materials + 1 surface + 1 + 1 + N/A + 1 style = 11
    altar = comp("altar", ["marbled", "smooth"], ["horizontal"], ["Wood", "Stone"], ["matte"], ["Rectangle"],
                 ["Cuboid"], ["N/A"], ["Engraved"])
    # cloth: woven(2) + fibrous(0: in the lexicon, in no weight group) + plain(1: weighted, not in lexicon) = 3, + 1 material
    cloth = comp("cloth", ["woven", "fibrous", "plain"], mat=["Fabric"])
    ann = {"SceneType": "composite", "SceneName": "chapel", "Components": [altar, cloth]}
    assert ista_score(ann, W) == 2 + 11 + 4
    assert ista_score({"SceneType": "single-object", "DescriptionContent": altar["DescriptionContent"]}, W) == 1 + 11
    many = {"SceneType": "composite", "Components": [comp(f"c{i}", ["cracked"] * 10) for i in range(5)]}
    assert ista_score(many, W) == 100  # clipped


def test_validation_flags_out_of_lexicon_terms() -> None:
    ann = {"SceneType": "single-object", "SceneName": "x",
           "Components": [comp("vase", ["Marbled", "sparkly"], mat=["Ceramic", "Unobtainium"], c3=["N/A"])]}
    flags = validate_annotation(ann, TAX.lexicons)
    assert {(f["field"], f["term"]) for f in flags} == {("BaseMorphology", "sparkly"), ("MaterialClass", "Unobtainium")}
    with pytest.raises(ValueError, match="SceneType"):
        validate_annotation({"SceneType": "blob", "Components": []}, TAX.lexicons)
    with pytest.raises(ValueError, match="Components"):
        validate_annotation({"SceneType": "composite", "Components": []}, TAX.lexicons)


def test_describe_against_fake_server_grounds_generation(project: Project, fake: FakeOpenAI) -> None:
    for i in range(3):
        save(photo(i), project.images_root / f"{i}.png", "PNG")
    ingest(project, workers=1)
    project = use_fake(project, fake, roles=("generator",))
    s = describe(project)
    assert s.written == 3 and s.flagged_terms > 0  # the fake's terms are not in the lexicons
    rows = Store(project).descriptions_by_image()
    assert len(rows) == 3 and all(isinstance(r["ista_score"], int) and r["ista_score"] >= 2 for r in rows.values())
    assert describe(project).written == 0  # resumable
    r = next(iter(rows.values()))
    text = grounding_text({"expert_text": "Soft light."}, r)
    assert text.startswith("Soft light.\nScene: ")
    prompt = build_prompt(TAX, TAX.get("ista/physical/base_morphology"), "what", text)
    assert "Professional assessment of this image" in prompt and "marbled" in prompt
