from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from curator.errors import TaxonomyError
from curator.resources import data_dir
from curator.taxonomy import TEMPLATES, load_taxonomy


def test_shipped_taxonomy_is_complete() -> None:
    t = load_taxonomy()
    assert t.counts() == {"domains": 3, "categories": 16, "criteria": 44}
    assert [len(list(t.criteria(d))) for d in ("iaa", "iqa", "ista")] == [31, 4, 9]
    assert sum(c.published_items or 0 for c in t.criteria()) == 3073
    per_domain = {d.id: sum(k.published_items or 0 for k in t.criteria(d.id)) for d in t.domains}
    assert per_domain == {"iaa": 1015, "iqa": 1088, "ista": 970}
    io_ = t.get("iaa/emotion/interpretive_openness")
    assert io_.published_items == 0 and "no items" in io_.notes


def test_level_criteria_use_the_domain_scale() -> None:
    t = load_taxonomy()
    level = [c for c in t.criteria() if "level" in c.templates]
    assert len(level) == 9
    assert {c.path for c in level if c.domain == "iqa"} == {"iqa/severity/severity_level"}
    assert all(c.templates == ("level",) for c in level)
    assert t.scale_for(t.get("iqa/severity/severity_level")).labels == ["None", "Slight", "Obvious"]
    assert t.scale_for(t.get("iaa/comprehensive/level")).labels == ["Low", "Medium", "High"]
    assert all(lv.gloss for lv in t.scales["iqa_severity"].levels)
    others = [c for c in t.criteria() if "level" not in c.templates]
    assert all(set(c.templates) == {"yes_no", "what", "which", "how", "why"} for c in others)


def test_lexicons_match_the_published_sizes() -> None:
    t = load_taxonomy()
    assert len(t.lexicons["morphology"].terms) == 42
    assert {g: len(v) for g, v in t.lexicons["materials"].groups.items()} == {
        "natural": 7, "man_made": 16, "environmental": 3}
    assert len(t.lexicons["shapes_2d"].terms) == 33 and len(t.lexicons["shapes_3d"].terms) == 32
    assert len(t.lexicons["styles"].terms) == 15
    w = t.lexicons["texture_weights"].weights
    assert sum(1 for v in w.values() if v == 3) == 24 and w["smooth"] == 1 and w["woven"] == 2
    assert "fibrous" not in w
    assert t.lexicons["morphology"].contains("Marbled")


def test_lookup_and_tag() -> None:
    t = load_taxonomy()
    c = t.get("iqa/severity/severity_level")
    assert c.name == "Severity Level"
    assert t.tagged(t.get("iaa/composition/visual_balance")) == "<IAA><Composition & Design><Visual Balance>"
    with pytest.raises(KeyError, match="no criterion"):
        t.get("iqa/nope/x")


def test_shipped_file_validates_against_schema() -> None:
    schema = json.loads((data_dir("taxonomy") / "schema.json").read_text())
    jsonschema.validate(yaml.safe_load((data_dir("taxonomy") / "unipercept.yaml").read_text()), schema)


def _write(tmp_path: Path, text: str, name: str = "t.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


GOOD = """\
name: mini
version: "1"
scales:
  s3: {levels: [{label: Low}, {label: High}]}
domains:
  - id: d
    name: Domain
    definition: A domain.
    categories:
      - id: c
        name: Cat
        definition: A category.
        criteria:
          - id: k1
            name: K1
            definition: First.
            templates: [yes_no, what]
"""


def _problems(path: Path) -> list[str]:
    with pytest.raises(TaxonomyError) as ei:
        load_taxonomy(path)
    return ei.value.problems


def test_bad_yaml_names_file_and_line(tmp_path: Path) -> None:
    p = _write(tmp_path, GOOD.replace("templates: [yes_no, what]", "templates: [yes_no, what"))
    (msg,) = _problems(p)
    assert msg.startswith(f"{p.resolve()}:") and "bad YAML" in msg


def test_duplicate_ids_empty_definition_unknown_template(tmp_path: Path) -> None:
    text = GOOD + """\
          - id: k1
            name: K1 again
            definition: "   "
            templates: [yes_no, whom]
"""
    probs = _problems(_write(tmp_path, text))
    assert any(":20: " in p and "empty definition" in p for p in probs), probs
    assert any(":21: " in p and "unknown template 'whom'" in p for p in probs), probs
    text = GOOD + """\
          - id: k1
            name: K1 again
            definition: Second.
            templates: [why]
"""
    (dup,) = _problems(_write(tmp_path, text))
    assert ":18: " in dup and "duplicate criterion id 'd/c/k1' (first at line 14)" in dup


def test_level_without_scale_and_unresolved_refs(tmp_path: Path) -> None:
    text = GOOD + """\
          - id: lv
            name: Level
            definition: Grade.
            templates: [level]
          - id: lx
            name: Lex
            definition: Uses a lexicon.
            templates: [what]
            lexicon: nowhere
            scale: s9
"""
    probs = _problems(_write(tmp_path, text))
    assert any(":18: " in p and "level template but names no scale" in p for p in probs)
    assert any(":22: " in p and "unresolved lexicon reference 'nowhere'" in p for p in probs)
    assert any(":22: " in p and "unknown scale 's9'" in p for p in probs)


def test_missing_lexicon_file(tmp_path: Path) -> None:
    text = GOOD.replace("scales:", "lexicons:\n  foo: lex/foo.yaml\nscales:")
    (p,) = _problems(_write(tmp_path, text))
    assert ":4: " in p and "lexicon 'foo'" in p and "not found" in p


def test_extend_shipped_taxonomy_without_copying(tmp_path: Path) -> None:
    (tmp_path / "lex").mkdir()
    (tmp_path / "lex" / "moods.yaml").write_text("name: moods\nterms: [calm, tense]\n")
    p = _write(tmp_path, """\
extends: unipercept
version: "1.0.0+lab"
lexicons:
  moods: lex/moods.yaml
domains:
  - id: iaa
    categories:
      - id: emotion
        criteria:
          - id: mood_word
            name: Mood Word
            definition: The single word that best names the mood.
            templates: [what, which]
            lexicon: moods
          - id: viewer_engagement
            override: true
            name: Viewer Engagement
            definition: Our lab's own wording.
            templates: [yes_no]
  - id: vid
    name: Video Quality
    definition: Temporal artefacts.
    categories:
      - id: flicker
        name: Flicker
        definition: Brightness fluctuation.
        criteria:
          - {id: presence, name: Flicker Presence, definition: Is there flicker., templates: [yes_no]}
""")
    t = load_taxonomy(p)
    assert t.counts() == {"domains": 4, "categories": 17, "criteria": 46}
    assert t.get("iaa/emotion/mood_word").lexicon == "moods"
    assert t.get("iaa/emotion/viewer_engagement").definition == "Our lab's own wording."
    assert t.get("iqa/severity/severity_level").scale == "iqa_severity"  # inherited
    # an existing id without override is a duplicate
    bad = _write(tmp_path, p.read_text().replace("            override: true\n", ""), "bad.yaml")
    (msg,) = _problems(bad)
    assert "already exists in the base taxonomy" in msg and ":15: " in msg


def test_templates_constant() -> None:
    assert TEMPLATES == ("yes_no", "what", "which", "how", "why", "level")
