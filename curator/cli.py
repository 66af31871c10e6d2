"""The ``curator`` command line: thin wrappers over library functions of the same name.

Every command parses options, calls one library function and renders its result. Imports of the
library happen inside the commands so ``curator --help`` stays instant. Errors: a
:class:`~curator.errors.CuratorError` prints its message and exits 1; usage errors exit 2.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(help="Build human-verified perceptual image benchmarks for multimodal LLMs.",
                  no_args_is_help=True, rich_markup_mode=None, pretty_exceptions_enable=False,
                  add_completion=False)
taxonomy_app = typer.Typer(help="Inspect, validate and export definition taxonomies.", no_args_is_help=True)
app.add_typer(taxonomy_app, name="taxonomy")

ProjectOpt = typer.Option(Path("."), "--project", "-p", help="Project folder (holds curator.yaml).")


def handled(fn: F) -> F:
    """Turn curator's errors into a one-line message and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from curator.errors import CuratorError

        try:
            return fn(*args, **kwargs)
        except CuratorError as exc:
            from curator._render import err_console

            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True, soft_wrap=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            from curator._render import err_console

            err_console.print("[yellow]interrupted; finished work is saved, rerun to resume[/]")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def _project(path: Path) -> Any:
    from curator.config import Project

    return Project.load(path)


# --------------------------------------------------------------------------------------------- init
@app.command()
@handled
def init(directory: Path = typer.Argument(..., help="Folder to create."),
         name: str = typer.Option(None, help="Benchmark name (default: folder name)."),
         force: bool = typer.Option(False, help="Overwrite an existing curator.yaml.")) -> None:
    """Scaffold a benchmark project: a commented curator.yaml and its data folders.

    Examples:
        curator init my-bench
    """
    from curator.scaffold import init as init_project

    cfg = init_project(directory, name=name, force=force)
    typer.echo(f"created {cfg}\nnext: put images in {directory}/images and run `curator ingest -p {directory}`")


# ------------------------------------------------------------------------------------------ taxonomy
@taxonomy_app.command("validate")
@handled
def taxonomy_validate(file: Path = typer.Argument(..., help="Taxonomy YAML file.")) -> None:
    """Validate a taxonomy file; every problem is reported as file:line.

    Examples:
        curator taxonomy validate my-taxonomy.yaml
    """
    from curator.taxonomy import load_taxonomy

    t = load_taxonomy(file)
    c = t.counts()
    typer.echo(f"ok: {t.name} v{t.version}: {c['domains']} domains, {c['categories']} categories, "
               f"{c['criteria']} criteria, {len(t.lexicons)} lexicons")


@taxonomy_app.command("show")
@handled
def taxonomy_show(file: str = typer.Argument("unipercept", help="Taxonomy file or shipped name."),
                  domain: str = typer.Option(None, "--domain", "-d", help="Show one domain only.")) -> None:
    """Print the taxonomy as a tree with counts.

    Examples:
        curator taxonomy show
        curator taxonomy show --domain iqa
    """
    from rich.tree import Tree

    from curator._render import console
    from curator.taxonomy import load_taxonomy

    t = load_taxonomy(file)
    c = t.counts()
    root = Tree(f"[bold]{t.name}[/] v{t.version} — {c['domains']} domains, {c['categories']} categories, "
                f"{c['criteria']} criteria")
    for d in t.domains:
        if domain and d.id != domain:
            continue
        n = sum(len(cat.criteria) for cat in d.categories)
        dn = root.add(f"[bold cyan]{d.abbr}[/] {d.name} ({len(d.categories)} categories, {n} criteria)")
        for cat in d.categories:
            cn = dn.add(f"[bold]{cat.name}[/] [dim]{cat.abbr}[/] ({len(cat.criteria)})")
            for k in cat.criteria:
                pub = "" if k.published_items is None else f" [dim]published: {k.published_items}[/]"
                cn.add(f"{k.name} [dim]{k.path}[/] [green]{','.join(k.templates)}[/]{pub}")
    console.print(root)


@taxonomy_app.command("export")
@handled
def taxonomy_export(file: str = typer.Argument("unipercept", help="Taxonomy file or shipped name."),
                    format: str = typer.Option("md", "--format", "-f", help="md or json."),
                    output: Path = typer.Option(None, "--output", "-o", help="Write here instead of stdout.")) -> None:
    """Export the taxonomy as a Markdown table or JSON (lexicons inlined).

    Examples:
        curator taxonomy export --format json -o taxonomy.json
    """
    import json

    from curator.errors import CuratorError
    from curator.taxonomy import load_taxonomy

    t = load_taxonomy(file)
    if format == "md":
        text = t.to_markdown()
    elif format == "json":
        text = json.dumps(t.to_dict(), indent=2, ensure_ascii=False) + "\n"
    else:
        raise CuratorError(f"--format must be md or json, not {format!r}")
    if output:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}")
    else:
        sys.stdout.write(text)


# -------------------------------------------------------------------------------------------- ingest
@app.command()
@handled
def ingest(source: str = typer.Argument(None, help="Images folder (default: images_root) or hf:<dataset>."),
           labels: Path = typer.Option(None, help="Label file: CSV, TSV, JSONL, JSON, Parquet, Excel."),
           preset: str = typer.Option(None, help="Label format: koniq10k, spaq, kadid10k, ava, pipal."),
           path_col: str = typer.Option("path", help="Column with image paths (relative to the folder)."),
           score_col: list[str] = typer.Option(None, "--score-col", help="Score column (repeatable; first is primary)."),
           scale: str = typer.Option(None, help="Native score scale MIN:MAX (default: observed range)."),
           source_name: str = typer.Option(None, help="Source dataset name stored per image."),
           license: str = typer.Option(None, help="License stored per image."),
           hf_image_col: str = typer.Option("image", help="Image column of an HF dataset."),
           hf_split: str = typer.Option(None, help="Split of an HF dataset."),
           workers: int = typer.Option(None, help="Decoding processes (default: all cores)."),
           project: Path = ProjectOpt) -> None:
    """Build the images table from a folder, a label file or an HF dataset.

    Examples:
        curator ingest                                   # the project's images folder
        curator ingest /data/koniq/1024x768 --labels koniq10k_scores_and_distributions.csv --preset koniq10k
        curator ingest photos --labels scores.csv --score-col mos --scale 1:5
    """
    from curator._render import RichReporter, kv, table
    from curator.ingest import ingest as run

    s = run(_project(project), source, labels=labels, preset=preset, path_col=path_col, score_cols=score_col or None,
            scale=scale, source_name=source_name, license=license, hf_image_col=hf_image_col, hf_split=hf_split,
            workers=workers, reporter=RichReporter())
    kv("ingest", s.rows())
    if s.rejected:
        import pandas as pd

        from curator.config import Project

        rej = pd.read_parquet(Project.load(project).table("ingest_rejects.parquet"))
        table("rejects (data/ingest_rejects.parquet)", ["path", "reason", "detail"],
              rej.head(20).itertuples(index=False))


def main() -> None:
    """Entry point of the ``curator`` console script."""
    app()


if __name__ == "__main__":
    main()
