"""``curator init``, ``taxonomy …``, ``ingest``, ``synth``: a project, its definitions and its images."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from curator.cli.app import app
from curator.cli.common import ProjectOpt, _project, handled


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



taxonomy_app = typer.Typer(help="Inspect, validate and export definition taxonomies.", no_args_is_help=True)
app.add_typer(taxonomy_app, name="taxonomy")

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

    from curator.cli.render import console
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
           score_domain: str = typer.Option(None, help="Taxonomy domain the scores rate: iqa, iaa, ista (presets "
                                                       "set their own)."),
           workers: int = typer.Option(None, min=1, help="Decoding processes (default: all cores)."),
           runner: str = typer.Option("local", help="local (a process pool) or ray (Ray Data, shared folders)."),
           project: Path = ProjectOpt) -> None:
    """Build the images table from a folder, a label file or an HF dataset.

    Examples:
        curator ingest                                   # the project's images folder
        curator ingest /data/koniq/1024x768 --labels koniq10k_scores_and_distributions.csv --preset koniq10k
        curator ingest photos --labels scores.csv --score-col mos --scale 1:5
    """
    from curator.cli.render import RichReporter, kv, table
    from curator.stages.ingest import ingest as run

    s = run(_project(project), source, labels=labels, preset=preset, path_col=path_col, score_cols=score_col or None,
            scale=scale, source_name=source_name, license=license, hf_image_col=hf_image_col, hf_split=hf_split,
            score_domain=score_domain, workers=workers, runner=runner, reporter=RichReporter())
    kv("ingest", s.rows())
    if s.rejected:
        from curator.config import Project
        from curator.store import Store

        t = Store(Project.load(project)).ingest_rejects
        rej = t.read()
        table(f"rejects ({t.path})", ["path", "reason", "detail"],
              rej.head(20).itertuples(index=False))


# --------------------------------------------------------------------------------------------- synth
@app.command()
@handled
def synth(references: Path = typer.Argument(None, help="Folder of reference images (default: scikit-image samples)."),
          distortion: list[str] = typer.Option(None, "--distortion", help="Distortion id (repeatable; default all)."),
          level: list[int] = typer.Option(None, "--level", help="Level 1-4 (repeatable; default all)."),
          region: list[str] = typer.Option(None, "--region", help="whole, left, right, top, bottom, centre."),
          whole_fraction: float = typer.Option(0.4, help="Share of images distorted everywhere."),
          max_references: int = typer.Option(None, min=1, help="Use at most this many references."),
          seed: int = typer.Option(0, help="Same seed, same bytes."),
          workers: int = typer.Option(None, min=1, help="Processes (default: all cores)."),
          project: Path = ProjectOpt) -> None:
    """Degrade reference images with known distortions and ingest them with exact labels.

    Examples:
        curator synth --max-references 8
        curator synth refs/ --distortion jpeg --distortion gaussian_blur --level 1 --level 4
    """
    from curator.cli.render import RichReporter, kv
    from curator.stages.ingest import synth as run

    s = run(_project(project), references, distortions=distortion or None, levels=level or None,
            regions=region or None, whole_fraction=whole_fraction, max_references=max_references, seed=seed,
            workers=workers, reporter=RichReporter())
    kv("synth", s.rows())
