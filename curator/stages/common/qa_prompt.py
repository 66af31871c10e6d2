"""The generation prompt: what a generator is asked for one work item, and what that will cost.

Shared by ``generate`` (which sends the requests) and ``plan`` (which estimates their cost before
anything is spent), so the estimate is computed from exactly the requests a run would send.
"""

from __future__ import annotations

import json
from typing import Any

from curator.config import Endpoint, Project
from curator.engine.client import Request, estimate_tokens
from curator.engine.runner import image_part
from curator.errors import StageError
from curator.prompts import render, source_hash
from curator.records import LETTERS
from curator.stages.common.descriptions import description_text
from curator.store import Store
from curator.taxonomy import MAX_OPTIONS, Criterion, Taxonomy

PROMPT_ID = "generate/v1"


def reply_schema(template: str, scale_labels: list[str] | None) -> dict[str, Any]:
    """JSON schema of the generator's reply for one question template."""
    props: dict[str, Any] = {"question": {"type": "string"}}
    if template == "yes_no":
        props["answer"] = {"type": "string", "enum": ["Yes", "No"]}
    elif template == "level":
        props["answer"] = {"type": "string", "enum": list(scale_labels or [])}
    else:
        props["options"] = {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": MAX_OPTIONS}
        props["answer"] = {"type": "string", "enum": list(LETTERS[:MAX_OPTIONS])}
    props["rationale"] = {"type": "string"}
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


def grounding_text(meta: dict[str, Any], description: dict[str, Any] | None) -> str:
    """The image's professional context: expert text from the label file and/or the ISTA description."""
    parts = [str(meta[k]) for k in ("grounding", "expert_text", "assessment", "caption", "notes") if meta.get(k)]
    if description:
        parts.append(description_text(description))
    return "\n".join(parts)


def build_prompt(tax: Taxonomy, c: Criterion, template: str, grounding: str) -> str:
    scale = tax.scale_for(c)
    lex = tax.lexicons.get(c.lexicon) if c.lexicon else None
    keys = "question, answer, rationale" if template in ("yes_no", "level") else "question, options, answer, rationale"
    return render("generate.j2", tag=tax.tagged(c), criterion=c,
                  category_definition=tax.category(f"{c.domain}/{c.category}").definition,
                  lexicon_terms=", ".join(lex.terms[:60]) if lex else "", grounding=grounding, template=template,
                  template_rules=render(f"templates/{template}.j2", scale=scale), keys=keys)


def prompt_hash(template: str) -> str:
    return source_hash("generate.j2", f"templates/{template}.j2")



def context(project: Project) -> tuple[Taxonomy, dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """What every generation request draws on: the taxonomy, the images by id, their descriptions by id."""
    store = Store(project)
    rows = {r["image_id"]: r for r in store.load_images().to_dict("records")}
    return project.load_taxonomy(), rows, store.descriptions_by_image()



def request_for(project: Project, tax: Taxonomy, images: dict[str, dict[str, Any]],
             descriptions: dict[str, dict[str, Any]], w: dict[str, Any], ep: Endpoint) -> Request:
    c = tax.get(w["criterion"])
    img = images.get(w["image_id"])
    if img is None:
        raise StageError(f"plan item {w['work_id']} names image {w['image_id']} that is not in the images table")
    meta = json.loads(img.get("meta") or "{}")
    prompt = build_prompt(tax, c, w["template"], grounding_text(meta, descriptions.get(w["image_id"])))
    scale = tax.scale_for(c)
    content = [{"type": "text", "text": prompt},
               image_part({**img, "image_path": img["file"]}, project, c.domain)]
    return Request(messages=[{"role": "user", "content": content}],
                   schema=reply_schema(w["template"], scale.labels if scale else None), schema_name="qa_item")



def estimate_cost(project: Project, rows: list[dict[str, Any]], role: str = "generator") -> dict[str, Any]:
    """Plan-time estimate: tokens from the rendered prompts and image tiles; output at ``max_tokens`` (upper bound)."""
    from curator.config import Price

    ep = project.endpoint(role)
    tax, images, descriptions = context(project)
    price = project.config.prices.get(ep.model, Price())
    sample = rows[:: max(1, len(rows) // 200)]
    tin = sum(estimate_tokens(request_for(project, tax, images, descriptions, w, ep).messages, 0) for w in sample)
    tin = int(tin * len(rows) / max(1, len(sample)))
    tout_max = ep.max_tokens * len(rows)
    tout_typ = 200 * len(rows)
    return {"model": ep.model, "requests": len(rows), "input_tokens": tin, "output_tokens_max": tout_max,
            "cost_typical": tin / 1e6 * price.input + tout_typ / 1e6 * price.output,
            "cost_max": tin / 1e6 * price.input + tout_max / 1e6 * price.output}
