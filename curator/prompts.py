"""Jinja prompt templates from ``prompts/``; each rendered prompt is versioned by the hash of its source."""

from __future__ import annotations

import functools

import jinja2

from curator.records import sha256_hex
from curator.resources import data_dir


@functools.lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(data_dir("prompts"))),
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=False,
                              trim_blocks=False, autoescape=False)


def render(name: str, **context: object) -> str:
    """Render ``prompts/<name>`` (e.g. ``generate.j2``, ``templates/why.j2``)."""
    return _env().get_template(name).render(**context).strip()


@functools.lru_cache(maxsize=64)
def source_hash(*names: str) -> str:
    """Short hash of the template sources: changes whenever a prompt's text changes."""
    env = _env()
    assert env.loader is not None
    text = "\n".join(env.loader.get_source(env, n)[0] for n in names)
    return sha256_hex(text)[:16]
