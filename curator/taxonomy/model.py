"""The taxonomy's nodes: Domain → Category → Criterion, with scales and lexicons (immutable)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

TEMPLATES: tuple[str, ...] = ("yes_no", "what", "which", "how", "why", "level")
"""The question-template bank; ``level`` needs a scale, the rest are open multiple choice."""

MAX_OPTIONS = 4
"""Open templates carry 2..4 options, the official evaluation prompt accepts A-D."""


@dataclass(frozen=True, slots=True)
class Level:
    """One step of an ordinal scale."""

    label: str
    gloss: str = ""


@dataclass(frozen=True, slots=True)
class Scale:
    """An ordinal scale used by the ``level`` template (options in this order)."""

    id: str
    name: str
    levels: tuple[Level, ...]

    @property
    def labels(self) -> list[str]:
        return [lv.label for lv in self.levels]


@dataclass(frozen=True, slots=True)
class Lexicon:
    """A controlled vocabulary; ``groups`` keeps the published grouping (e.g. natural/man-made)."""

    name: str
    description: str = ""
    terms: tuple[str, ...] = ()
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    weights: dict[str, int] = field(default_factory=dict)

    def contains(self, term: str) -> bool:
        """Case-insensitive membership, as annotators and models vary capitalisation."""
        low = term.strip().lower()
        return any(t.lower() == low for t in self.terms)


@dataclass(frozen=True, slots=True)
class Criterion:
    """A leaf of the taxonomy: what a question asks about."""

    id: str
    name: str
    definition: str
    templates: tuple[str, ...]
    domain: str
    category: str
    scale: str | None = None
    lexicon: str | None = None
    published_items: int | None = None
    notes: str = ""
    source: str = ""

    @property
    def path(self) -> str:
        """Stable path id, e.g. ``iqa/severity/severity_level``."""
        return f"{self.domain}/{self.category}/{self.id}"


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    name: str
    abbr: str
    definition: str
    domain: str
    criteria: tuple[Criterion, ...]


@dataclass(frozen=True, slots=True)
class Domain:
    id: str
    name: str
    abbr: str
    definition: str
    categories: tuple[Category, ...]
    rating_aspect: str = ""
    """What a 0–100 rating of this domain rates ("quality", "aesthetics" …): the VR prompt's word."""


@dataclass(frozen=True, slots=True)
class Taxonomy:
    """A validated taxonomy. Build one with :func:`load_taxonomy`."""

    name: str
    version: str
    description: str
    domains: tuple[Domain, ...]
    scales: dict[str, Scale]
    lexicons: dict[str, Lexicon]
    source: str = ""

    def criteria(self, domain: str | None = None) -> Iterator[Criterion]:
        """Iterate criteria in file order, optionally within one domain."""
        for d in self.domains:
            if domain is None or d.id == domain:
                for c in d.categories:
                    yield from c.criteria

    def categories(self, domain: str | None = None) -> Iterator[Category]:
        for d in self.domains:
            if domain is None or d.id == domain:
                yield from d.categories

    def domain(self, domain_id: str) -> Domain:
        for d in self.domains:
            if d.id == domain_id:
                return d
        raise KeyError(f"no domain {domain_id!r} in taxonomy {self.name!r} (have: {[d.id for d in self.domains]})")

    def category(self, path: str) -> Category:
        """Look up a category by ``domain/category``."""
        dom, _, cat = path.partition("/")
        for c in self.domain(dom).categories:
            if c.id == cat:
                return c
        raise KeyError(f"no category {path!r} in taxonomy {self.name!r}")

    def get(self, path: str) -> Criterion:
        """Look up a criterion by path id (``iqa/severity/severity_level``)."""
        for c in self.criteria():
            if c.path == path:
                return c
        raise KeyError(f"no criterion {path!r} in taxonomy {self.name!r}")

    def scale_for(self, criterion: Criterion) -> Scale | None:
        return self.scales.get(criterion.scale) if criterion.scale else None

    def counts(self) -> dict[str, int]:
        return {
            "domains": len(self.domains),
            "categories": sum(len(d.categories) for d in self.domains),
            "criteria": sum(1 for _ in self.criteria()),
        }

    def tagged(self, criterion: Criterion) -> str:
        """The ``<Domain><Category><Criterion>`` tag the generator prompt is fed with."""
        dom = self.domain(criterion.domain)
        cat = self.category(f"{criterion.domain}/{criterion.category}")
        return f"<{dom.abbr}><{cat.name}><{criterion.name}>"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (lexicons inlined) for export and for the dataset card."""
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "scales": {k: {"name": s.name, "levels": [{"label": lv.label, "gloss": lv.gloss} for lv in s.levels]}
                       for k, s in self.scales.items()},
            "domains": [
                {"id": d.id, "name": d.name, "abbr": d.abbr, "definition": d.definition,
                 "categories": [
                     {"id": c.id, "name": c.name, "abbr": c.abbr, "definition": c.definition,
                      "criteria": [
                          {"id": k.id, "path": k.path, "name": k.name, "definition": k.definition,
                           "templates": list(k.templates), "scale": k.scale, "lexicon": k.lexicon,
                           "published_items": k.published_items, "notes": k.notes}
                          for k in c.criteria]}
                     for c in d.categories]}
                for d in self.domains],
            "lexicons": {k: {"terms": list(v.terms), "groups": {g: list(t) for g, t in v.groups.items()},
                             "weights": v.weights} for k, v in self.lexicons.items()},
        }

    def to_markdown(self, domain: str | None = None) -> str:
        """A Markdown table of the taxonomy (used by ``taxonomy export`` and the dataset card)."""
        rows = ["| Domain | Category | Criterion | Path id | Templates | Published items | Definition |",
                "|---|---|---|---|---|---|---|"]
        for d in self.domains:
            if domain and d.id != domain:
                continue
            for c in d.categories:
                for k in c.criteria:
                    pub = "" if k.published_items is None else str(k.published_items)
                    tpl = ", ".join(k.templates) + (f" ({k.scale})" if k.scale else "")
                    rows.append(f"| {d.abbr} | {c.name} | {k.name} | `{k.path}` | {tpl} | {pub} | "
                                f"{k.definition.replace('|', '/')} |")
        counts = self.counts()
        head = (f"# Taxonomy `{self.name}` v{self.version}\n\n{self.description}\n\n"
                f"{counts['domains']} domains, {counts['categories']} categories, {counts['criteria']} criteria.\n\n")
        return head + "\n".join(rows) + "\n"


# ----------------------------------------------------------------------------------------------
# loading and validation
