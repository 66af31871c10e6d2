"""``curator batch …``: OpenAI Batch / vLLM run_batch files."""

from __future__ import annotations

from pathlib import Path

import typer

from curator.cli.app import app
from curator.cli.common import ProjectOpt, _project, handled

batch_app = typer.Typer(help="OpenAI Batch / vLLM run_batch files: submit, poll, import.", no_args_is_help=True)
app.add_typer(batch_app, name="batch")


@batch_app.command("submit")
@handled
def batch_submit(file: Path = typer.Argument(..., help="Batch input file from --batch-out."),
                 role: str = typer.Option("generator"), project: Path = ProjectOpt) -> None:
    """Upload a batch input file and create the batch.

    Examples:
        curator generate --batch-out batch.jsonl && curator batch submit batch.jsonl
    """
    from curator.engine.batch import submit

    typer.echo(submit(_project(project), file, role=role))


@batch_app.command("status")
@handled
def batch_status(batch_id: str = typer.Argument(...), role: str = typer.Option("generator"),
                 download_to: Path = typer.Option(None, help="Save the output file here when completed."),
                 project: Path = ProjectOpt) -> None:
    """Poll a batch and download its results when done.

    Examples:
        curator batch status batch_abc --download-to results.jsonl
    """
    from curator.engine.batch import status

    typer.echo(status(_project(project), batch_id, role=role, download_to=download_to))


@batch_app.command("import")
@handled
def batch_import(file: Path = typer.Argument(..., help="Batch output file (OpenAI or vLLM run_batch)."),
                 project: Path = ProjectOpt) -> None:
    """Load batch results into the request cache; rerun the stage to complete from cache.

    Examples:
        curator batch import results.jsonl && curator generate
    """
    from curator.engine.batch import import_results

    typer.echo(import_results(_project(project), file))
