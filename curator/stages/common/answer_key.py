"""The ``synthetic`` generator backend: exact IQA questions from synth labels, no model.

It answers only what the labels determine: the distortion type, its severity and its region. It
says which (criterion, template) pairs it cannot answer — Object Association needs object masks,
"why" about a region has no single right answer — instead of inventing answers.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from curator.distortions import DISTORTIONS, REGION_TEXT
from curator.records import Provenance, canonical_json, new_qa_item, sha256_hex
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
KIND_BY_FAMILY: dict[str, list[str]] = {}
for _d in DISTORTIONS.values():  # the kinds synth can really produce: a distractor is never an impossible answer
    KIND_BY_FAMILY.setdefault(_d.family, []).append(_d.name)
UNSUPPORTED_REASON = {
    "iqa/location/object_association": "needs object masks, which synthetic labels do not have",
}


def _rng(work_id: str, seed: int) -> np.random.Generator:
    return np.random.default_rng(int(sha256_hex(f"{work_id}:{seed}")[:15], 16))


Draw = Callable[[np.random.Generator], list[str]]


def _mcq_spec(crit: str, tpl: str, lab: dict[str, Any]) -> tuple[str, Draw] | None:
    """The right option of a multiple-choice item and a way to draw three distractors, or None."""
    fam, region = lab.get("family"), lab.get("region")
    if lab.get("distortion") == "reference" or fam not in FAMILY_TEXT:
        return None
    if crit == "iqa/type/distortion_types":
        if tpl == "what":
            pool = [t for f, t in FAMILY_TEXT.items() if f != fam]
            return FAMILY_TEXT[fam], lambda rng: [str(x) for x in rng.choice(pool, size=3, replace=False)]
        if tpl == "which":
            # one kind per distractor family, drawn like the right one (family, then kind): two kinds of one
            # family would tell a text-only guesser that neither is right
            others = [f for f in KIND_BY_FAMILY if f != fam]
            return str(lab.get("distortion_name")), lambda rng: [
                str(rng.choice(KIND_BY_FAMILY[f])) for f in rng.choice(others, size=3, replace=False)]
        if tpl in ("how", "why"):
            pool = [t for f, t in FAMILY_HOW.items() if f != fam]
            return FAMILY_HOW[fam], lambda rng: [str(x) for x in rng.choice(pool, size=3, replace=False)]
    if crit == "iqa/location/location_description" and tpl in ("what", "which") and region in REGION_TEXT \
            and region != "whole":
        pool = [t for r, t in REGION_TEXT.items() if r not in ("whole", region)]
        return REGION_TEXT[region], lambda rng: [str(x) for x in rng.choice(pool, size=3, replace=False)]
    return None


def _longer(correct: str, distractors: list[str]) -> int:
    """How many distractors are longer than the right option (0: the right option is the longest)."""
    return sum(len(d) > len(correct) for d in distractors)


def _draws(spec: tuple[str, Draw], rng: np.random.Generator, n: int = 48) -> list[list[str]]:
    return [spec[1](rng) for _ in range(n)]


def feasible_ranks(spec: tuple[str, Draw], work_id: str, seed: int) -> set[int]:
    """Length ranks the right option can take among its options, given the distractor pool."""
    return {_longer(spec[0], d) for d in _draws(spec, _rng(work_id + ":ranks", seed))}


def _mcq(rng: np.random.Generator, spec: tuple[str, Draw], rank: int | None) -> tuple[list[str], str]:
    """Options with the right one at length rank ``rank`` (as near as the pool allows), shuffled.

    The generator spreads ranks evenly over a cell, so "pick the longest option" is right as often
    as chance; distractors of the right option's exact length are avoided (a tie is a cue too).
    """
    correct = spec[0]
    draws = _draws(spec, rng)
    want = rank if rank is not None else _longer(correct, draws[0])
    best = min(draws, key=lambda d: (abs(_longer(correct, d) - want), sum(len(x) == len(correct) for x in d)))
    opts = [correct, *best]
    rng.shuffle(opts)
    return opts, "ABCD"[opts.index(correct)]


def _pick_other(rng: np.random.Generator, pool: list[str], exclude: str | None) -> str:
    return str(rng.choice([p for p in pool if p != exclude]))


def _question(work: dict[str, Any], lab: dict[str, Any], tax: Taxonomy, rng: np.random.Generator,
              want_yes: bool | None = None, rank: int | None = None) -> tuple[str, list[str], str, str] | str:
    """(question, options, answer, rationale) or a reason string when unanswerable.

    ``want_yes`` chooses the answer of a yes_no item and ``rank`` the right option's length rank
    among its options (the generator balances both per cell); None draws them.
    """
    crit, tpl = work["criterion"], work["template"]
    fam, level, region = str(lab.get("family")), int(lab.get("level", 0)), str(lab.get("region"))
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
            yes = (rng.random() < 0.5 if want_yes is None else want_yes) and not is_ref
            ask = fam if yes else _pick_other(rng, fams, fam)
            return (f"Does this image show {FAMILY_NOUN[ask]}?", ["Yes", "No"],
                    "A" if ask == fam else "B", rationale)
        if is_ref:
            return "references carry no distortion type to ask about"
        spec = _mcq_spec(crit, tpl, lab)
        if tpl == "what" and spec:
            opts, ans = _mcq(rng, spec, rank)
            return "What type of distortion is most apparent in this image?", opts, ans, rationale
        if tpl == "which" and spec:
            opts, ans = _mcq(rng, spec, rank)
            return "Which of these distortions has been applied to the image?", opts, ans, rationale
        if tpl in ("how", "why") and spec:
            opts, ans = _mcq(rng, spec, rank)
            if tpl == "why":
                opts = [f"Because {o[0].lower()}{o[1:]}" for o in opts]
                return "Why does this image look degraded?", opts, ans, rationale
            return "How would you best describe the degradation in this image?", opts, ans, rationale
    if crit == "iqa/location/location_description":
        if is_ref or region in (None, "whole", "none"):
            return "the distortion covers the whole image (or none), so there is no region to ask about"
        regions = [r for r in REGION_TEXT if r != "whole"]
        spec = _mcq_spec(crit, tpl, lab)
        if tpl in ("which", "what") and spec:
            opts, ans = _mcq(rng, spec, rank)
            if tpl == "which":
                return f"Which part of the image is affected by {FAMILY_NOUN[fam]}?", opts, ans, rationale
            return f"Where is the {FAMILY_NOUN[fam]} visible? What region shows it?", opts, ans, rationale
        if tpl == "yes_no":
            yes = rng.random() < 0.5 if want_yes is None else want_yes
            ask = region if yes else _pick_other(rng, regions, region)
            return (f"Is the {FAMILY_NOUN[fam]} confined to {REGION_TEXT[ask]}?", ["Yes", "No"],
                    "A" if ask == region else "B", rationale)
        return f"the '{tpl}' template has no single right answer for a location"
    return f"synthetic labels cannot answer {crit}"


def answer_key(criterion: str, template: str, lab: dict[str, Any]) -> str:
    """What decides the right answer of an item on this image: balancing it balances the answers.

    The planner deals images so these keys are equally frequent per cell and per reference, so no
    answer text, severity or region is more likely than another and a text-only guess is chance.
    """
    if template == "yes_no":
        return "any"  # the generator chooses Yes/No per item (balanced per cell)
    if criterion == "iqa/severity/severity_level":
        return str(lab.get("severity"))
    if criterion == "iqa/location/location_description":
        return str(lab.get("region"))
    return str(lab.get("family"))


def only_no(criterion: str, template: str, lab: dict[str, Any]) -> bool:
    """yes_no items that can only be "No" (an undistorted image shows no distortion type)."""
    return template == "yes_no" and lab.get("distortion") == "reference"


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
    want_yes = _yes_no_targets(plan, meta)
    ranks = _rank_targets(plan, meta, seed)
    items: list[dict[str, Any]] = []
    skipped: dict[str, int] = {}
    prompt_hash = sha256_hex(canonical_json([PROMPT_VERSION, list(FAMILY_TEXT.items()), list(FAMILY_HOW.items())]))[:16]
    for w in plan:
        lab = meta.get(w["image_id"], {})
        if not lab.get("synthetic"):
            key = "image has no synthetic labels"
            skipped[key] = skipped.get(key, 0) + 1
            continue
        res = _question(w, lab, tax, _rng(w["work_id"], seed), want_yes.get(w["work_id"]), ranks.get(w["work_id"]))
        if isinstance(res, str):
            key = f"{w['criterion']} [{w['template']}]"
            skipped[key] = skipped.get(key, 0) + 1
            continue
        question, options, answer, rationale = res
        c = tax.get(w["criterion"])
        prov = Provenance(model=GENERATOR, endpoint_host="local", prompt_id=PROMPT_VERSION, prompt_hash=prompt_hash,
                          taxonomy=f"{tax.name}@{tax.version}", seed=seed)
        items.append(new_qa_item(w, domain=c.domain, category=c.category, criterion=c.path, question=question,
                                 options=options, answer=answer, rationale=rationale, provenance=prov,
                                 version=PROMPT_VERSION,
                                 truth={k: lab.get(k) for k in ("ref_id", "distortion", "family", "level", "severity",
                                                                "region")}))
    return items, skipped


def _yes_no_targets(plan: list[dict[str, Any]], meta: dict[str, dict[str, Any]]) -> dict[str, bool]:
    """work id → wanted answer for yes_no items: half Yes per cell, spread evenly over references."""
    cells: dict[str, list[dict[str, Any]]] = {}
    for w in plan:
        if w["template"] == "yes_no" and meta.get(w["image_id"], {}).get("synthetic"):
            cells.setdefault(w["criterion"], []).append(w)
    out: dict[str, bool] = {}
    for crit, ws in cells.items():
        forced = [w for w in ws if only_no(crit, "yes_no", meta[w["image_id"]])]
        free = sorted((w for w in ws if w not in forced),
                      key=lambda w: (str(meta[w["image_id"]].get("ref_id")), sha256_hex(w["work_id"])))
        need_yes = min(len(free), len(ws) // 2)
        for w in forced:
            out[w["work_id"]] = False
        for i, w in enumerate(free):  # Bresenham: Yes at evenly spaced positions, so every reference gets its share
            out[w["work_id"]] = (i + 1) * need_yes // max(1, len(free)) > i * need_yes // max(1, len(free))
    return out


def _rank_targets(plan: list[dict[str, Any]], meta: dict[str, dict[str, Any]], seed: int) -> dict[str, int]:
    """work id → length rank of the right option: as even over ranks 0–3 as each item's pool allows."""
    cells: dict[tuple[str, str], list[tuple[str, set[int], str]]] = {}
    for w in plan:
        lab = meta.get(w["image_id"], {})
        spec = _mcq_spec(w["criterion"], w["template"], lab) if lab.get("synthetic") else None
        if spec:
            cells.setdefault((w["criterion"], w["template"]), []).append(
                (w["work_id"], feasible_ranks(spec, w["work_id"], seed), str(lab.get("ref_id"))))
    out: dict[str, int] = {}
    for entries in cells.values():
        counts: Counter[int] = Counter()
        # the most constrained first; then by reference, so every reference gets a spread of ranks
        for wid, ok, _ in sorted(entries, key=lambda e: (len(e[1]), e[2], sha256_hex(e[0]))):
            r = min(ok, key=lambda k: (counts[k], (k - len(out)) % 4))
            counts[r] += 1
            out[wid] = r
    return out
