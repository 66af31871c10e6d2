"""UniPercept's ISTA description fields, and the prose a description becomes in a generation prompt.

``describe`` writes descriptions against these fields; ``generate`` grounds its questions in them.
"""

from __future__ import annotations

from typing import Any

FIELDS: dict[tuple[str, str], str | None] = {
    ("PhysicalStructure", "BaseMorphology"): "morphology",
    ("PhysicalStructure", "Arrangement"): "arrangement",
    ("MaterialRepresentation", "MaterialClass"): "materials",
    ("MaterialRepresentation", "SurfaceProperties"): "surface",
    ("GeometricComposition", "PlanarContour"): "shapes_2d",
    ("GeometricComposition", "VolumetricForm"): "shapes_3d",
    ("SemanticPerception", "FunctionalInference"): None,
    ("SemanticPerception", "StyleType"): "styles",
}


def terms(value: Any) -> list[str]:
    """A field's terms without "N/A" placeholders (a bare string counts as a one-term list)."""
    items = value if isinstance(value, list) else ([value] if isinstance(value, str) else [])
    return [str(t).strip() for t in items if str(t).strip() and str(t).strip().upper() not in ("N/A", "NA", "NONE")]


def description_text(row: dict[str, Any]) -> str:
    """A compact prose rendering of an annotation, for generation prompts."""
    ann = row.get("annotation") or {}
    parts = [f"Scene: {ann.get('SceneType', '?')} ({ann.get('SceneName', '')})."]
    for comp in ann.get("Components") or []:
        c = comp.get("DescriptionContent") or {}
        bits = [f"{name}: {', '.join(terms((c.get(g) or {}).get(name)))}" for (g, name) in FIELDS
                if terms((c.get(g) or {}).get(name))]
        parts.append(f"{comp.get('ComponentName', 'component')}: " + "; ".join(bits) + ".")
    return " ".join(parts)
