"""The root Typer application every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(help="Build human-verified perceptual image benchmarks for multimodal LLMs.",
                  no_args_is_help=True, rich_markup_mode=None, pretty_exceptions_enable=False,
                  add_completion=False)
