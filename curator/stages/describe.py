"""``curator describe``: the ISTA structured annotation per image, and its texture-richness score.

A model fills UniPercept's structural schema (scene type, components; per component physical
structure, material, geometry and semantics) from the lexicons; the reply is validated (keys, list
types, "N/A"), out-of-lexicon terms are flagged rather than dropped, and the published score
(Eqs. 4–12, :func:`ista_score`) becomes a rating label. Descriptions ground later generation.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from curator.config import Project
from curator.engine.client import Engine, Request, Result, RunStats
from curator.engine.parsing import parse_json_object
from curator.engine.runner import check_run_args as _check_run_args
from curator.locking import exclusive
from curator.progress import Reporter
from curator.prompts import render, source_hash
from curator.secrets import redact
from curator.stages.common.descriptions import FIELDS, terms
from curator.store import Store
from curator.taxonomy import Lexicon, Taxonomy


def component_score(content: dict[str, Any], weights: dict[str, int]) -> int:
    """S(c) = Σ w(BaseMorphology) + |every other field|, "N/A" excluded (UniPercept Eq. 5)."""
    s = 0
    for (group, name) in FIELDS:
        found = terms((content.get(group) or {}).get(name))
        if name == "BaseMorphology":
            s += sum(weights.get(t.lower(), 0) for t in found)
        else:
            s += len(found)
    return s


def ista_score(annotation: dict[str, Any], weights: dict[str, int]) -> int:
    """Texture-richness score of an image: |C| + Σ S(c), or 1 + S(image) without components; ≤ 100."""
    comps = annotation.get("Components") or []
    if comps:
        total = len(comps) + sum(component_score(c.get("DescriptionContent") or {}, weights) for c in comps)
    else:
        total = 1 + component_score(annotation.get("DescriptionContent") or {}, weights)
    return min(100, total)


def validate_annotation(obj: dict[str, Any], lexicons: dict[str, Lexicon]) -> list[dict[str, str]]:
    """Check keys and types; return out-of-lexicon flags. Raises ValueError when unusable."""
    if str(obj.get("SceneType", "")).lower() not in ("single-object", "composite", "single", "a", "b"):
        raise ValueError(f"SceneType must be single-object or composite, got {obj.get('SceneType')!r}")
    comps = obj.get("Components")
    if not isinstance(comps, list) or not comps:
        raise ValueError("Components must be a non-empty list")
    flags = []
    for i, comp in enumerate(comps):
        if not isinstance(comp, dict) or not isinstance(comp.get("DescriptionContent"), dict):
            raise ValueError(f"component {i} has no DescriptionContent object")
        content = comp["DescriptionContent"]
        for (group, name), lex in FIELDS.items():
            value = (content.get(group) or {}).get(name)
            if value is not None and not isinstance(value, list | str):
                raise ValueError(f"component {i}: {group}.{name} must be a list of strings")
            if lex and lex in lexicons:
                flags += [{"component": str(comp.get("ComponentName", i)), "field": name, "term": t}
                          for t in terms(value) if not lexicons[lex].contains(t)]
    return flags


def annotation_schema(max_components: int) -> dict[str, Any]:
    """JSON schema of the structural annotation (UniPercept Fig. 9)."""
    strs = {"type": "array", "items": {"type": "string"}}

    def group(*names: str) -> dict[str, Any]:
        return {"type": "object", "properties": {n: strs for n in names}, "required": list(names),
                "additionalProperties": False}

    content = {"type": "object", "additionalProperties": False,
               "properties": {"PhysicalStructure": group("BaseMorphology", "Arrangement"),
                              "MaterialRepresentation": group("MaterialClass", "SurfaceProperties"),
                              "GeometricComposition": group("PlanarContour", "VolumetricForm"),
                              "SemanticPerception": group("FunctionalInference", "StyleType")},
               "required": ["PhysicalStructure", "MaterialRepresentation", "GeometricComposition",
                            "SemanticPerception"]}
    comp = {"type": "object", "additionalProperties": False, "required": ["ComponentName", "DescriptionContent"],
            "properties": {"ComponentName": {"type": "string"}, "DescriptionContent": content}}
    return {"type": "object", "additionalProperties": False, "required": ["SceneType", "SceneName", "Components"],
            "properties": {"SceneType": {"type": "string", "enum": ["single-object", "composite"]},
                           "SceneName": {"type": "string"},
                           "Components": {"type": "array", "items": comp, "minItems": 1, "maxItems": max_components}}}


def _prompt(tax: Taxonomy, max_components: int) -> str:
    def lx(name: str) -> str:
        lex = tax.lexicons.get(name)
        return ", ".join(lex.terms) if lex else "(free form)"

    return render("describe.j2", max_components=max_components, morphology=lx("morphology"),
                  arrangement=lx("arrangement"), materials=lx("materials"), surface=lx("surface"),
                  shapes_2d=lx("shapes_2d"), shapes_3d=lx("shapes_3d"), styles=lx("styles"))


@dataclass
class DescribeSummary:
    images: int = 0
    already_done: int = 0
    written: int = 0
    flagged_terms: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    unfinished: int = 0
    stats: RunStats | None = None

    def rows(self) -> list[tuple[str, str]]:
        out = [("images", str(self.images)), ("already described", str(self.already_done)),
               ("described", str(self.written)), ("out-of-lexicon terms flagged", str(self.flagged_terms))]
        out += [(f"rejected: {k}", str(v)) for k, v in sorted(self.rejected.items())]
        return out + ([("unfinished — rerun to resume", str(self.unfinished))] if self.unfinished else [])


@exclusive("describe")
def describe(project: Project, *, role: str = "describe", limit: int | None = None, max_components: int = 4,
             max_cost: float | None = None, wait: bool = False, runner: str | None = None,
             reporter: Reporter | None = None) -> DescribeSummary:
    """Annotate every image not yet described; rows go to ``data/describe.jsonl``.

    Args:
        role: model role (falls back to ``generator`` when ``describe`` is not configured).
        limit: describe at most this many images.
        max_components: components per image the model may list.
        wait: when another model-calling run holds the project, wait for it instead of failing.
        runner: ``local`` (this process) or ``ray`` (Ray Data actors; see docs/scale.md); default: the
            project's ``runner``.

    Unusable replies are recorded (final, with the raw text) in ``describe_rejects.jsonl`` and not
    asked again; network failures leave the image to do.
    """
    _check_run_args(limit, max_cost)
    from curator.engine.runner import image_part, run_model_stage

    tax = project.load_taxonomy()
    if role == "describe":
        ep = project.config.models.describe or project.endpoint("generator")
    else:
        ep = project.endpoint(role)
    weights = tax.lexicons["texture_weights"].weights if "texture_weights" in tax.lexicons else {}
    store = Store(project)
    done = store.descriptions.values("image_id") | store.describe_rejects.values("image_id", final_only=True)
    images = [r for r in store.load_images().to_dict("records") if r["image_id"] not in done]
    summary = DescribeSummary(images=len(images) + len(done), already_done=len(done))
    if limit is not None:
        images = images[:limit]
    prompt = _prompt(tax, max_components)
    phash = source_hash("describe.j2")
    schema = annotation_schema(max_components)
    out, rej = store.descriptions.appender(), store.describe_rejects.appender()

    def build(img: dict[str, Any]) -> Request:
        return Request(messages=[{"role": "user", "content": [
            {"type": "text", "text": prompt}, image_part({**img, "image_path": img["file"]}, project, "ista")]}],
            schema=schema, schema_name="ista_annotation")

    async def handle(eng: Engine, img: dict[str, Any], res: Result) -> None:
        transient = res.transient or res.error in ("bad_input", "image_unreadable", "image_too_large")
        try:
            if not res.ok:
                raise ValueError(res.detail)
            ann = parse_json_object(res.content)
            flags = validate_annotation(ann, tax.lexicons)
        except ValueError as exc:
            reason = res.error or "invalid_reply"
            rej.write({"image_id": img["image_id"], "path": img["path"], "reason": reason,
                       "detail": redact(str(exc)), "raw": redact(res.content), "final": not transient})
            summary.rejected[reason] += 1
            summary.unfinished += int(transient)
            return
        out.write({"image_id": img["image_id"], "image_path": img["file"], "annotation": ann, "flags": flags,
                   "ista_score": ista_score(ann, weights), "model": ep.model, "prompt_hash": phash,
                   "cache_key": res.key})
        summary.written += 1
        summary.flagged_terms += len(flags)

    try:
        run_model_stage(project, "describe", summary, ep, images, build, handle, total=len(images),
                        max_cost=max_cost, reporter=reporter, wait=wait, runner=runner)
    finally:
        out.close()
        rej.close()
    return summary
