"""The definition taxonomy: Domain → Category → Criterion, with scales and lexicons.

Everything downstream (planning, prompts, checks, sampling, the labeling config, the dataset card)
reads criteria from here, so validation is strict and every problem is reported as ``file:line``.
A user taxonomy may ``extends:`` the shipped one and add or override nodes without copying it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curator._yaml import LineDict, LineList, YamlSyntaxError, line_of, load_yaml_lines
from curator.errors import TaxonomyError
from curator.resources import data_dir

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


def shipped_taxonomy_path(name: str = "unipercept") -> Path:
    return data_dir("taxonomy") / f"{name}.yaml"


def _schema() -> dict[str, Any]:
    return json.loads((data_dir("taxonomy") / "schema.json").read_text(encoding="utf-8"))


def _read(path: Path, problems: list[str]) -> Any:
    if not path.is_file():
        problems.append(f"{path}:1: file not found")
        return None
    try:
        data = load_yaml_lines(path)
    except YamlSyntaxError as exc:
        problems.append(str(exc))
        return None
    except UnicodeDecodeError as exc:
        problems.append(f"{path}:1: not UTF-8 text ({exc.reason})")
        return None
    if not isinstance(data, LineDict):
        problems.append(f"{path}:1: expected a mapping at the top level, got {type(data).__name__}")
        return None
    return data


def _schema_problems(path: Path, data: LineDict) -> list[str]:
    import jsonschema

    validator = jsonschema.Draft202012Validator(_schema())
    out = []
    for err in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        where = tuple(err.absolute_path)
        loc = "/".join(map(str, where)) or "(top)"
        msg = err.message
        if err.validator == "enum" and where and where[-2:-1] == ("templates",):
            msg = f"unknown template {err.instance!r} (known: {', '.join(TEMPLATES)})"
        elif err.validator in ("minLength", "pattern") and isinstance(err.instance, str) and not err.instance.strip():
            msg = f"empty {where[-1] if where else 'value'}"
        elif err.validator == "additionalProperties":
            msg = msg.replace("Additional properties are not allowed", "unknown key(s)")
        out.append(f"{path}:{line_of(data, where)}: {loc}: {msg}")
    return out


def _load_lexicon(name: str, path: Path, problems: list[str]) -> Lexicon | None:
    data = _read(path, problems)
    if data is None:
        return None
    terms: list[str] = [str(t) for t in data.get("terms", [])]
    groups = {str(g): tuple(str(t) for t in ts) for g, ts in (data.get("groups") or {}).items()}
    weights: dict[str, int] = {}
    for w, ts in (data.get("weights") or {}).items():
        for t in ts:
            weights[str(t)] = int(w)
    for ts in groups.values():
        terms.extend(t for t in ts if t not in terms)
    if not terms and not weights:
        problems.append(f"{path}:{data.line}: lexicon {name!r} has no terms, groups or weights")
        return None
    return Lexicon(name=name, description=str(data.get("description", "")), terms=tuple(terms),
                   groups=groups, weights=weights)


def _resolve_extends(ref: str, here: Path) -> Path:
    p = Path(ref)
    if not p.suffix:
        return shipped_taxonomy_path(ref)
    return p if p.is_absolute() else (here.parent / p)


def load_taxonomy(path: str | Path | None = None, *, _seen: tuple[Path, ...] = ()) -> Taxonomy:
    """Load and validate a taxonomy file (default: the shipped ``unipercept``).

    Raises:
        TaxonomyError: listing every problem found as ``file:line: message``.
    """
    src = Path(path) if path is not None else shipped_taxonomy_path()
    if not src.suffix and not src.exists():
        src = shipped_taxonomy_path(str(path))
    src = src.resolve()
    problems: list[str] = []
    data = _read(src, problems)
    if data is None:
        raise TaxonomyError(problems)
    problems.extend(_schema_problems(src, data))
    if problems:
        raise TaxonomyError(problems)

    base: Taxonomy | None = None
    if "extends" in data:
        parent = _resolve_extends(str(data["extends"]), src).resolve()
        if parent in _seen or parent == src:
            raise TaxonomyError([f"{src}:{data.key_lines['extends']}: extends loop through {parent}"])
        try:
            base = load_taxonomy(parent, _seen=(*_seen, src))
        except TaxonomyError as exc:
            raise TaxonomyError([f"{src}:{data.key_lines['extends']}: base taxonomy {parent} is invalid",
                                 *exc.problems]) from exc
    return _build(src, data, base)


def _build(src: Path, data: LineDict, base: Taxonomy | None) -> Taxonomy:
    problems: list[str] = []
    scales = dict(base.scales) if base else {}
    for sid, s in (data.get("scales") or {}).items():
        scales[sid] = Scale(id=sid, name=str(s.get("name", sid)),
                            levels=tuple(Level(str(lv["label"]), str(lv.get("gloss", ""))) for lv in s["levels"]))
    lexicons = dict(base.lexicons) if base else {}
    for lid, rel in (data.get("lexicons") or {}).items():
        lp = (src.parent / rel).resolve()
        lex = _load_lexicon(lid, lp, problems)
        if lex is None and not lp.is_file():
            problems[-1] = f"{src}:{line_of(data, ('lexicons', lid))}: lexicon {lid!r}: file {lp} not found"
        if lex is not None:
            lexicons[lid] = lex

    # start from the base as mutable nested dicts keyed by id, then apply this file's nodes
    tree: dict[str, dict[str, Any]] = {}
    if base:
        for d in base.domains:
            tree[d.id] = {"node": d, "cats": {c.id: {"node": c, "crits": {k.id: k for k in c.criteria}}
                                             for c in d.categories}}
    seen_paths: dict[str, int] = {}
    dom_list: LineList = data.get("domains") or LineList()
    for di, d in enumerate(dom_list):
        dline = line_of(data, ("domains", di))
        did = d["id"]
        if f"d:{did}" in seen_paths:
            problems.append(f"{src}:{dline}: duplicate domain id {did!r} (first at line {seen_paths['d:' + did]})")
            continue
        seen_paths[f"d:{did}"] = dline
        entry = tree.setdefault(did, {"node": None, "cats": {}})
        if entry["node"] is None:
            missing = [k for k in ("name", "definition") if k not in d]
            if missing:
                problems.append(f"{src}:{dline}: new domain {did!r} needs {', '.join(missing)}")
        entry["raw"] = d
        for ci, c in enumerate(d.get("categories") or []):
            cline = line_of(data, ("domains", di, "categories", ci))
            cpath = f"{did}/{c['id']}"
            if f"c:{cpath}" in seen_paths:
                problems.append(f"{src}:{cline}: duplicate category id {cpath!r} "
                                f"(first at line {seen_paths['c:' + cpath]})")
                continue
            seen_paths[f"c:{cpath}"] = cline
            centry = entry["cats"].setdefault(c["id"], {"node": None, "crits": {}})
            if centry["node"] is None:
                missing = [k for k in ("name", "definition") if k not in c]
                if missing:
                    problems.append(f"{src}:{cline}: new category {cpath!r} needs {', '.join(missing)}")
            centry["raw"] = c
            for ki, k in enumerate(c.get("criteria") or []):
                kline = line_of(data, ("domains", di, "categories", ci, "criteria", ki))
                kpath = f"{cpath}/{k['id']}"
                if kpath in seen_paths:
                    problems.append(f"{src}:{kline}: duplicate criterion id {kpath!r} (first at line {seen_paths[kpath]})")
                    continue
                seen_paths[kpath] = kline
                if k["id"] in centry["crits"] and not k.get("override"):
                    problems.append(f"{src}:{kline}: criterion {kpath!r} already exists in the base taxonomy; "
                                    "set `override: true` to replace it")
                    continue
                templates = tuple(k["templates"])
                if len(set(templates)) != len(templates):
                    problems.append(f"{src}:{kline}: criterion {kpath!r} lists a template twice")
                scale = k.get("scale")
                if "level" in templates and not scale:
                    problems.append(f"{src}:{kline}: criterion {kpath!r} uses the level template but names no scale")
                if scale and scale not in scales:
                    problems.append(f"{src}:{kline}: criterion {kpath!r}: unknown scale {scale!r} "
                                    f"(defined: {', '.join(sorted(scales)) or 'none'})")
                lex = k.get("lexicon")
                if lex and lex not in lexicons:
                    problems.append(f"{src}:{kline}: criterion {kpath!r}: unresolved lexicon reference {lex!r} "
                                    f"(defined: {', '.join(sorted(lexicons)) or 'none'})")
                centry["crits"][k["id"]] = Criterion(
                    id=k["id"], name=k["name"].strip(), definition=" ".join(k["definition"].split()),
                    templates=templates, domain=did, category=c["id"], scale=scale, lexicon=lex,
                    published_items=k.get("published_items"), notes=str(k.get("notes", "")),
                    source=f"{src}:{kline}")
    if problems:
        raise TaxonomyError(problems)

    domains = []
    for did, entry in tree.items():
        raw, old = entry.get("raw", {}), entry["node"]
        cats = []
        for cid, centry in entry["cats"].items():
            craw, cold = centry.get("raw", {}), centry["node"]
            cats.append(Category(
                id=cid, name=craw.get("name") or cold.name, abbr=craw.get("abbr") or (cold.abbr if cold else cid),
                definition=" ".join((craw.get("definition") or cold.definition).split()), domain=did,
                criteria=tuple(centry["crits"].values())))
        domains.append(Domain(
            id=did, name=raw.get("name") or old.name, abbr=raw.get("abbr") or (old.abbr if old else did.upper()),
            definition=" ".join((raw.get("definition") or old.definition).split()), categories=tuple(cats),
            rating_aspect=str(raw.get("rating_aspect") or (old.rating_aspect if old else "")
                              or raw.get("name") or old.name).strip().lower()))
    return Taxonomy(
        name=str(data.get("name") or (base.name + "+ext" if base else src.stem)),
        version=str(data.get("version") or (base.version if base else "0")),
        description=" ".join(str(data.get("description") or (base.description if base else "")).split()),
        domains=tuple(domains), scales=scales, lexicons=lexicons, source=str(src))
