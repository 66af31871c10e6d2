"""``curator review …``: the Label Studio round trip (thin wrappers, like the rest of the CLI)."""

from __future__ import annotations

from pathlib import Path

import typer

from curator.cli.common import ProjectOpt, _project, handled

review_app = typer.Typer(help="Human refinement in Label Studio: serve, push, pull, status, stop.",
                         no_args_is_help=True)


@review_app.command("serve")
@handled
def serve(port: int = typer.Option(None, help="Port on 127.0.0.1 (default: label_studio.port)."),
          install: bool = typer.Option(False, help="Install Label Studio into a venv of its own if missing."),
          project: Path = ProjectOpt) -> None:
    """Start a local Label Studio (sqlite, 127.0.0.1, local files from the images folder).

    Examples:
        curator review serve --install
    """
    from curator.stages.review.server import serve as run

    info = run(_project(project), port=port, install=install)
    cred = Path(project) / ".labelstudio" / "credentials.json"
    typer.echo(f"Label Studio is up at {info.url} (pid {info.pid}, log {info.log})\n"
               f"log in as {info.email}; the password and API token are in {cred} (mode 600)\n"
               f"`curator review push` finds them there; other tools: export LABEL_STUDIO_API_KEY from that file")


@review_app.command("stop")
@handled
def stop(project: Path = ProjectOpt) -> None:
    """Stop the Label Studio that `review serve` started.

    Examples:
        curator review stop
    """
    from curator.stages.review.server import stop as run

    typer.echo("stopped" if run(_project(project)) else "no server of this project is running")


@review_app.command("push")
@handled
def push(source: str = typer.Option(None, help="Table to push (default: data/sample.parquet)."),
         kind: str = typer.Option("vqa", help="vqa (questions) or vr (image ratings)."),
         overlap: int = typer.Option(None, min=1, help="Annotators per item (default: keep the project's; 1 "
                                                       "for a new project)."),
         batch_size: int = typer.Option(None, help="Tasks per import call."),
         image_mode: str = typer.Option(None, help="local, url or inline (default: label_studio.image_mode)."),
         new_project: bool = typer.Option(False, help="Create a new Label Studio project."),
         url: str = typer.Option(None, help="Label Studio URL (default: label_studio.url)."),
         order: str = typer.Option("sample", help="sample (table order) or disagreement (items the generator, "
                                                 "judge, blind check and panel disagree on first)."),
         project: Path = ProjectOpt) -> None:
    """Send items to Label Studio; pushing again adds only new items.

    Examples:
        curator review push --overlap 2
        curator review push --order disagreement      # after judge / blind / calibrate
        curator review push --source data/checked.parquet --image-mode inline
    """
    from curator.cli.render import RichReporter, kv
    from curator.stages.review.push import push as run

    s = run(_project(project), source=source, kind=kind, overlap=overlap, batch_size=batch_size,
            image_mode=image_mode, new_project=new_project, url=url, order=order, reporter=RichReporter())
    kv("review push", s.rows())


@review_app.command("pull")
@handled
def pull(kind: str = typer.Option("vqa", help="vqa or vr."), url: str = typer.Option(None, help="Label Studio URL."),
         force: bool = typer.Option(False, help="Replace recorded reviews even with fewer (normally refused)."),
         project: Path = ProjectOpt) -> None:
    """Export annotations (raw copy kept), merge into the HF dataset, compute agreement.

    Examples:
        curator review pull
    """
    from curator.cli.render import kv, table
    from curator.stages.review.pull import pull as run

    s = run(_project(project), kind=kind, url=url, force=force)
    if s.agreement:
        table("agreement", ["group", "items", "2+ reviews", "alpha verdict", "alpha option", "% verdict"],
              [(g, int(a["items"]), int(a["items_with_2plus"]), f"{a['alpha_verdict']:.3f}",
                f"{a['alpha_option']:.3f}", f"{a['percent_verdict']:.1f}") for g, a in s.agreement.items()])
    kv("review pull", s.rows())


@review_app.command("status")
@handled
def status(kind: str = typer.Option("vqa", help="vqa or vr."), url: str = typer.Option(None, help="Label Studio URL."),
           project: Path = ProjectOpt) -> None:
    """Per criterion: total, fully / partly annotated, unreviewed, accepted, edited, rejected, disputed.

    Read live from the server's task list (no export, nothing written).

    Examples:
        curator review status
    """
    from curator.cli.render import table
    from curator.stages.review.status import COLUMNS
    from curator.stages.review.status import status as run

    s = run(_project(project), kind=kind, url=url)
    table(f"review status ({s.overlap} annotators wanted per item)", ["criterion", *COLUMNS], s.table())
    if s.flagged:
        from curator.cli.render import kv

        kv("priority list (review push --order disagreement)",
           [("flagged items reviewed", f"{s.flagged_done} of {s.flagged}"),
            ("reviewed without a gap down to rank", f"{s.priority_prefix} of {s.tasks}")])
