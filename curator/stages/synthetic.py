"""The ``synthetic`` generator backend: exact IQA questions from synth labels, no model.

It answers only what the labels determine: the distortion type, its severity and its region. It
says which (criterion, template) pairs it cannot answer — Object Association needs object masks,
"why" about a region has no single right answer — instead of inventing answers.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from curator.records import canonical_json, item_id, sha256_hex
from curator.synth import REGION_TEXT
from curator.taxonomy import Taxonomy

GENERATOR = "synthetic"
PROMPT_VERSION = "synthetic/v2"

FAMILY_TEXT = {
    "blur": "Blur", "noise": "Noise", "compression": "Compression artefacts", "brightness": "A brightness shift",
    "contrast": "Reduced contrast", "saturation": "A saturation shift", "pixelation": "Pixelation",
    "quantization": "Colour quantization (banding)",
}
FAMILY_NOUN = {
    "blur": "blur", "noise": "noise", "compression": "compression artefacts", "brightness": "brightness shift",
    "contrast": "contrast loss", "saturation": "saturation shift", "pixelation": "pixelation",
    "quantization": "colour banding",
}
FAMILY_HOW = {
    "blur": "Edges and fine detail are smeared",
    "noise": "Random grain or speckles are scattered over it",
    "compression": "Blocky or ringing compression artefacts appear",
    "brightness": "The exposure is pushed too bright or too dark",
    "contrast": "Tones are flattened towards grey",
    "saturation": "Colours are unnaturally strong or washed out",
    "pixelation": "Detail is replaced by visible square blocks",
    "quantization": "Smooth gradients break into flat colour bands",
}
KIND_BY_FAMILY = {
    "blur": ["Gaussian blur", "Motion blur"], "noise": ["Gaussian noise", "Impulse noise"],
    "compression": ["JPEG compression", "WebP compression", "JPEG 2000 compression"],
    "brightness": ["Brightness increase", "Brightness decrease"], "contrast": ["Contrast decrease"],
    "saturation": ["Saturation increase", "Saturation decrease"], "pixelation": ["Pixelation"],
    "quantization": ["Colour quantization"],
}
UNSUPPORTED_REASON = {
    "iqa/location/object_association": "needs object masks, which synthetic labels do not have",
}


def _rng(work_id: str, seed: int) -> np.random.Generator:
    return np.random.default_rng(int(sha256_hex(f"{work_id}:{seed}")[:15], 16))


def _mcq(rng: np.random.Generator, correct: str, pool: list[str], n: int = 4) -> tuple[list[str], str]:
    distract = [p for p in pool if p != correct]
    picks = list(rng.choice(distract, size=min(n - 1, len(distract)), replace=False))
    opts = [correct, *picks]
    rng.shuffle(opts)
    return [str(o) for o in opts], "ABCD"[opts.index(correct)]


def _question(work: dict[str, Any], lab: dict[str, Any], tax: Taxonomy, rng: np.random.Generator
              ) -> tuple[str, list[str], str, str] | str:
    """(question, options, answer, rationale) or a reason string when unanswerable."""
    crit, tpl = work["criterion"], work["template"]
    fam, level, region = lab.get("family"), int(lab.get("level", 0)), lab.get("region")
    is_ref = lab.get("distortion") == "reference"
    fams = list(FAMILY_TEXT)
    what = f"{lab.get('distortion_name')} at level {level}/4 ({lab.get('severity')}) on {REGION_TEXT.get(region, '')}"
    rationale = (f"Synthetic ground truth: reference '{lab.get('ref_id')}' is undistorted." if is_ref else
                 f"Synthetic ground truth: {what} of reference '{lab.get('ref_id')}'.")
    if crit in UNSUPPORTED_REASON:
        return UNSUPPORTED_REASON[crit]
    if crit == "iqa/severity/severity_level":
        scale = tax.scale_for(tax.get(crit))
        opts = scale.labels if scale else ["None", "Slight", "Obvious"]
        return ("How severe is the visible distortion in this image?", opts,
                "ABC"[opts.index(str(lab.get("severity")))], rationale)
    if crit == "iqa/type/distortion_types":
        if tpl == "yes_no":
            ask = fam if (not is_ref and rng.random() < 0.5) else str(rng.choice([f for f in fams if f != fam]))
            return (f"Does this image show {FAMILY_NOUN[ask]}?", ["Yes", "No"],
                    "A" if ask == fam else "B", rationale)
        if is_ref:
            return "references carry no distortion type to ask about"
        if tpl == "what":
            opts, ans = _mcq(rng, FAMILY_TEXT[fam], list(FAMILY_TEXT.values()))
            return "What type of distortion is most apparent in this image?", opts, ans, rationale
        if tpl == "which":
            pool = [k for f, ks in KIND_BY_FAMILY.items() if f != fam for k in ks]
            opts, ans = _mcq(rng, str(lab.get("distortion_name")), [str(lab.get("distortion_name")), *pool])
            return "Which of these distortions has been applied to the image?", opts, ans, rationale
        if tpl in ("how", "why"):
            opts, ans = _mcq(rng, FAMILY_HOW[fam], list(FAMILY_HOW.values()))
            if tpl == "why":
                opts = [f"Because {o[0].lower()}{o[1:]}" for o in opts]
                return "Why does this image look degraded?", opts, ans, rationale
            return "How would you best describe the degradation in this image?", opts, ans, rationale
    if crit == "iqa/location/location_description":
        if is_ref or region in (None, "whole", "none"):
            return "the distortion covers the whole image (or none), so there is no region to ask about"
        regions = [r for r in REGION_TEXT if r != "whole"]
        if tpl in ("which", "what"):
            opts, ans = _mcq(rng, REGION_TEXT[region], [REGION_TEXT[r] for r in regions])
            if tpl == "which":
                return f"Which part of the image is affected by {FAMILY_NOUN[fam]}?", opts, ans, rationale
            return f"Where is the {FAMILY_NOUN[fam]} visible? What region shows it?", opts, ans, rationale
        if tpl == "yes_no":
            ask = region if rng.random() < 0.5 else str(rng.choice([r for r in regions if r != region]))
            return (f"Is the {FAMILY_NOUN[fam]} confined to {REGION_TEXT[ask]}?", ["Yes", "No"],
                    "A" if ask == region else "B", rationale)
        return f"the '{tpl}' template has no single right answer for a location"
    return f"synthetic labels cannot answer {crit}"


def answerable(criterion: str, template: str, lab: dict[str, Any], tax: Taxonomy) -> str | None:
    """None when the synthetic labels answer this (criterion, template) for the image, else why not."""
    if not lab.get("synthetic"):
        return "image has no synthetic labels"
    res = _question({"criterion": criterion, "template": template}, lab, tax, np.random.default_rng(0))
    return res if isinstance(res, str) else None


def synthetic_items(plan: list[dict[str, Any]], images: Any, tax: Taxonomy, *, seed: int = 0
                    ) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Build QA items for the plan's work items; returns (items, {reason: count}) of skipped work."""
    meta = {r.image_id: json.loads(r.meta or "{}") for r in images.itertuples()}
    items, skipped = [], {}
    prompt_hash = sha256_hex(canonical_json([PROMPT_VERSION, list(FAMILY_TEXT.items()), list(FAMILY_HOW.items())]))[:16]
    for w in plan:
        lab = meta.get(w["image_id"], {})
        if not lab.get("synthetic"):
            key = "image has no synthetic labels"
            skipped[key] = skipped.get(key, 0) + 1
            continue
        res = _question(w, lab, tax, _rng(w["work_id"], seed))
        if isinstance(res, str):
            key = f"{w['criterion']} [{w['template']}]"
            skipped[key] = skipped.get(key, 0) + 1
            continue
        question, options, answer, rationale = res
        c = tax.get(w["criterion"])
        items.append({
            "item_id": item_id(w["image_id"], w["criterion"], w["template"], GENERATOR, PROMPT_VERSION, w.get("slot", 0)),
            "work_id": w["work_id"], "image_id": w["image_id"], "image_path": w["image_path"], "domain": c.domain,
            "category": c.category, "criterion": c.path, "template": w["template"], "question": question,
            "options": options, "answer": answer, "rationale": rationale, "generator": GENERATOR,
            "provenance": {"model": GENERATOR, "endpoint_host": "local", "prompt_id": PROMPT_VERSION,
                           "prompt_hash": prompt_hash, "taxonomy": f"{tax.name}@{tax.version}", "params": {},
                           "seed": seed, "tokens_in": 0, "tokens_out": 0, "cost": 0.0, "cache_key": ""},
            "truth": {k: lab.get(k) for k in ("ref_id", "distortion", "family", "level", "severity", "region")},
        })
    return items, skipped
