"""Loading a taxonomy file: strict validation, every problem as ``file:line``, ``extends:`` over a base.

A user taxonomy may ``extends:`` the shipped one and add or override nodes without copying it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curator._yaml import LineDict, LineList, YamlSyntaxError, line_of, load_yaml_lines
from curator.errors import TaxonomyError
from curator.resources import data_dir
from curator.taxonomy.model import TEMPLATES, Category, Criterion, Domain, Level, Lexicon, Scale, Taxonomy


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
    """This file's nodes applied over ``base``; every problem at once, as ``file:line: message``."""
    problems: list[str] = []
    scales, lexicons = _scales_and_lexicons(src, data, base, problems)
    tree = _base_tree(base)
    seen: dict[str, int] = {}
    dom_list: LineList = data.get("domains") or LineList()
    for di, d in enumerate(dom_list):
        _merge_domain(_Ctx(src, data, scales, lexicons, problems, seen), tree, di, d)
    if problems:
        raise TaxonomyError(problems)
    return Taxonomy(
        name=str(data.get("name") or (base.name + "+ext" if base else src.stem)),
        version=str(data.get("version") or (base.version if base else "0")),
        description=" ".join(str(data.get("description") or (base.description if base else "")).split()),
        domains=tuple(_freeze_domain(did, entry) for did, entry in tree.items()), scales=scales, lexicons=lexicons,
        source=str(src))


@dataclass
class _Ctx:
    """What merging one file's nodes needs to know and where it reports problems."""

    src: Path
    data: LineDict
    scales: dict[str, Scale]
    lexicons: dict[str, Lexicon]
    problems: list[str]
    seen: dict[str, int]  # node path → line of its first definition in this file

    def first(self, key: str, line: int, what: str) -> bool:
        """Record a node's line; False (and a problem) when this file defines it twice."""
        if key in self.seen:
            self.problems.append(f"{self.src}:{line}: duplicate {what} (first at line {self.seen[key]})")
            return False
        self.seen[key] = line
        return True


def _scales_and_lexicons(src: Path, data: LineDict, base: Taxonomy | None,
                         problems: list[str]) -> tuple[dict[str, Scale], dict[str, Lexicon]]:
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
    return scales, lexicons


def _base_tree(base: Taxonomy | None) -> dict[str, dict[str, Any]]:
    """The base taxonomy as mutable nested dicts keyed by id, for this file's nodes to be applied on."""
    tree: dict[str, dict[str, Any]] = {}
    for d in base.domains if base else ():
        tree[d.id] = {"node": d, "cats": {c.id: {"node": c, "crits": {k.id: k for k in c.criteria}}
                                         for c in d.categories}}
    return tree


def _merge_domain(ctx: _Ctx, tree: dict[str, dict[str, Any]], di: int, d: dict[str, Any]) -> None:
    dline = line_of(ctx.data, ("domains", di))
    did = d["id"]
    if not ctx.first(f"d:{did}", dline, f"domain id {did!r}"):
        return
    entry = tree.setdefault(did, {"node": None, "cats": {}})
    if entry["node"] is None:
        missing = [k for k in ("name", "definition") if k not in d]
        if missing:
            ctx.problems.append(f"{ctx.src}:{dline}: new domain {did!r} needs {', '.join(missing)}")
    entry["raw"] = d
    for ci, c in enumerate(d.get("categories") or []):
        cline = line_of(ctx.data, ("domains", di, "categories", ci))
        cpath = f"{did}/{c['id']}"
        if not ctx.first(f"c:{cpath}", cline, f"category id {cpath!r}"):
            continue
        centry = entry["cats"].setdefault(c["id"], {"node": None, "crits": {}})
        if centry["node"] is None:
            missing = [k for k in ("name", "definition") if k not in c]
            if missing:
                ctx.problems.append(f"{ctx.src}:{cline}: new category {cpath!r} needs {', '.join(missing)}")
        centry["raw"] = c
        for ki, k in enumerate(c.get("criteria") or []):
            kline = line_of(ctx.data, ("domains", di, "categories", ci, "criteria", ki))
            crit = _criterion(ctx, kline, did, c["id"], k, centry["crits"])
            if crit is not None:
                centry["crits"][k["id"]] = crit


def _criterion(ctx: _Ctx, kline: int, did: str, cid: str, k: dict[str, Any],
               existing: dict[str, Criterion]) -> Criterion | None:
    """One criterion node checked against the scales, lexicons and base; None when it cannot be added."""
    kpath = f"{did}/{cid}/{k['id']}"
    where = f"{ctx.src}:{kline}: criterion {kpath!r}"
    if not ctx.first(kpath, kline, f"criterion id {kpath!r}"):
        return None
    if k["id"] in existing and not k.get("override"):
        ctx.problems.append(f"{where} already exists in the base taxonomy; set `override: true` to replace it")
        return None
    templates = tuple(k["templates"])
    if len(set(templates)) != len(templates):
        ctx.problems.append(f"{where} lists a template twice")
    scale = k.get("scale")
    if "level" in templates and not scale:
        ctx.problems.append(f"{where} uses the level template but names no scale")
    if scale and scale not in ctx.scales:
        ctx.problems.append(f"{where}: unknown scale {scale!r} (defined: {', '.join(sorted(ctx.scales)) or 'none'})")
    lex = k.get("lexicon")
    if lex and lex not in ctx.lexicons:
        ctx.problems.append(f"{where}: unresolved lexicon reference {lex!r} "
                            f"(defined: {', '.join(sorted(ctx.lexicons)) or 'none'})")
    return Criterion(id=k["id"], name=k["name"].strip(), definition=" ".join(k["definition"].split()),
                     templates=templates, domain=did, category=cid, scale=scale, lexicon=lex,
                     published_items=k.get("published_items"), notes=str(k.get("notes", "")),
                     source=f"{ctx.src}:{kline}")


def _freeze_domain(did: str, entry: dict[str, Any]) -> Domain:
    """A merged domain entry as an immutable node (this file's text over the base's)."""
    raw, old = entry.get("raw", {}), entry["node"]
    cats = []
    for cid, centry in entry["cats"].items():
        craw, cold = centry.get("raw", {}), centry["node"]
        cats.append(Category(
            id=cid, name=craw.get("name") or cold.name, abbr=craw.get("abbr") or (cold.abbr if cold else cid),
            definition=" ".join((craw.get("definition") or cold.definition).split()), domain=did,
            criteria=tuple(centry["crits"].values())))
    return Domain(
        id=did, name=raw.get("name") or old.name, abbr=raw.get("abbr") or (old.abbr if old else did.upper()),
        definition=" ".join((raw.get("definition") or old.definition).split()), categories=tuple(cats),
        rating_aspect=str(raw.get("rating_aspect") or (old.rating_aspect if old else "")
                          or raw.get("name") or old.name).strip().lower())
