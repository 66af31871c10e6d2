"""``curator check``, ``sample``, ``export``, ``eval``, ``demo``: from candidates to a benchmark."""

from __future__ import annotations

from pathlib import Path

import typer

from curator.cli.app import app
from curator.cli.common import LimitOpt, MaxCostOpt, ProjectOpt, WaitOpt, _project, handled


@app.command()
@handled
def check(per_image_cap: int = typer.Option(6, min=0, help="Keep at most this many items per image (0: no cap)."),
          near_duplicate: float = typer.Option(0.9, min=0.0, max=1.0,
                                               help="Similarity at which two questions are duplicates."),
          balance: bool = typer.Option(True, help="Balance answer letters by a seeded option shuffle."),
          require_judge: bool = typer.Option(False, help="Drop items the judge has not seen."),
          require_blind: bool = typer.Option(False, help="Drop items the blind check has not seen."),
          seed: int = typer.Option(None, help="Shuffle seed (default: project seed)."),
          project: Path = ProjectOpt) -> None:
    """Apply deterministic checks, de-duplicate, cap per image and balance answer letters.

    Examples:
        curator check --per-image-cap 4 --require-judge
    """
    from curator.cli.render import kv
    from curator.stages.checks import check as run

    s = run(_project(project), per_image_cap=per_image_cap or None, near_duplicate=near_duplicate, balance=balance,
            require_judge=require_judge, require_blind=require_blind, seed=seed)
    kv("check", s.rows())


@app.command()
@handled
def sample(by: list[str] = typer.Option(None, "--by", help="Stratum column (repeatable; default criterion, template)."),
           mode: str = typer.Option("equal", help="equal (n per stratum), proportional (n total), table."),
           n: int = typer.Option(30, min=1, help="Per-stratum or total count."),
           quota: str = typer.Option(None, help="Quota table (CSV/YAML) or 'published'."),
           bins: list[str] = typer.Option(None, "--bins", help="Score bins: col:q4 or col:0,40,70,100 (repeatable)."),
           train_fraction: float = typer.Option(0.0, min=0.0, max=0.95,
                                                help="Share of images held out as a disjoint train pool."),
           seed: int = typer.Option(None, help="Selection seed (default: project seed)."),
           difficulty_mix: str = typer.Option(None, help="Shares of easy,moderate,hard,tough per stratum "
                                                         "(after `curator calibrate`), e.g. 0.2,0.3,0.3,0.2."),
           project: Path = ProjectOpt) -> None:
    """Pick the items that go to people with stratified quotas.

    Examples:
        curator sample --by criterion --by template --n 20
        curator sample --by criterion --quota published
        curator sample --by criterion --bins score_norm:q3 --mode proportional --n 500
        curator sample --by difficulty --n 50                      # after curator calibrate
        curator sample --by criterion --n 20 --difficulty-mix 0.2,0.3,0.3,0.2
    """
    from curator.cli.render import kv, table
    from curator.stages.sample import sample as run

    mix = None
    if difficulty_mix:
        try:
            mix = [float(x) for x in difficulty_mix.split(",")]
        except ValueError as exc:
            raise typer.BadParameter("four comma-separated shares", param_hint="--difficulty-mix") from exc
    s = run(_project(project), by=by or None, mode=mode, n=n, quota=quota, bins=bins or None,
            train_fraction=train_fraction, seed=seed, difficulty_mix=mix)
    keys = sorted(set(s.before) | set(s.after))
    table("distribution (first stratum column)", ["value", "before", "after"],
          [(k, s.before.get(k, 0), s.after.get(k, 0)) for k in keys])
    if s.shortfall:
        table("shortfall", ["stratum", "quota", "selected"], s.shortfall[:40])
    kv("sample", s.rows())


# ---------------------------------------------------------------------------------- export and eval
@app.command()
@handled
def export(name: str = typer.Option(None, help="Folder name under export/ (default: project name)."),
           source: str = typer.Option(None, help="Item table (default: reviewed > sample > checked > candidates)."),
           splits: str = typer.Option("test", help="test | dev:0.2,test:0.8 | train:0.8,test:0.2"),
           near_duplicate_bits: int = typer.Option(6, min=0, max=64,
                                                   help="Perceptual-hash distance under which images are one."),
           group_by: list[str] = typer.Option(None, "--group-by", help="Label column whose equal values keep images "
                                                                      "in one split (e.g. scene); repeatable."),
           include_vr: bool = typer.Option(True, help="Also export the visual-rating configuration."),
           push_to_hub: str = typer.Option(None, help="Also push to this HF dataset repo (token: HF_TOKEN)."),
           public: bool = typer.Option(False, help="Make the Hub repo public (default private)."),
           seed: int = typer.Option(None, help="Split seed (default: project seed)."),
           version: str = typer.Option(None, help="Version X.Y.Z for the manifest and card; the card gets a "
                                                  "changelog against the export it replaces."),
           project: Path = ProjectOpt) -> None:
    """Write benchmark splits: HF DatasetDict, parquet shards, dataset card, UniPercept files.

    Examples:
        curator export --splits dev:0.2,test:0.8
        curator export --splits dev:0.2,test:0.8 --group-by scene_id
        curator export --push-to-hub my-org/my-bench
        curator export --version 1.1.0       # changelog in the card; a Hub push is tagged v1.1.0
    """
    from curator.cli.render import kv
    from curator.stages.export import export as run

    s = run(_project(project), name=name, source=source, splits=splits, near_duplicate_bits=near_duplicate_bits,
            group_by=group_by or None, include_vr=include_vr, push_to_hub=push_to_hub, public=public, seed=seed,
            version=version)
    kv("export", s.rows())


@app.command()
@handled
def diff(old: Path = typer.Argument(..., help="The earlier export folder (or a saved HF DatasetDict)."),
         new: Path = typer.Argument(..., help="The later export folder (or a saved HF DatasetDict)."),
         json_out: Path = typer.Option(None, "--json", help="Also write the full result (every item id) as JSON."),
         by: str = typer.Option("criterion", help="Count table by criterion or split.")) -> None:
    """List added, removed and changed items between two exports, with counts per criterion or split.

    Items are matched by id; a changed item names what changed (question, options, answer, split).

    Examples:
        cp -r export/my-bench /tmp/my-bench-1.0.0 && curator export --version 1.1.0
        curator diff /tmp/my-bench-1.0.0 export/my-bench --json changes.json
    """
    from curator.cli.render import kv, table
    from curator.stages.diff import diff as run

    if by not in ("criterion", "split"):
        raise typer.BadParameter("use criterion or split", param_hint="--by")
    d = run(old, new, json_out=json_out)
    kv("diff", d.rows())
    table(f"changes by {by}", [by, "added", "removed", "changed"], d.table(by))


@app.command("eval")
@handled
def eval_(benchmark: Path = typer.Argument(None, help="Exported benchmark folder (default: export/<name>)."),
          role: str = typer.Option("eval", help="Model role to evaluate."),
          baseline: str = typer.Option(None, help="random (VQA and VR) or statistic (VR); needs no model."),
          split: str = typer.Option("test", help="Split to evaluate."),
          circular: bool = typer.Option(False, help="CircularEval: right under every option rotation."),
          text_only: bool = typer.Option(False, help="No image (for multimodal gain / leakage)."),
          tasks: str = typer.Option("vqa,vr", help="vqa, vr or both."),
          plcc_logistic: bool = typer.Option(False, help="4-parameter logistic fit before PLCC."),
          limit: int = LimitOpt,
          max_cost: float = MaxCostOpt,
          wait: bool = WaitOpt,
          unipercept: list[Path] = typer.Option(None, "--unipercept", help="Official UniPercept VQA/VR JSON file to "
                                                                          "evaluate instead (repeatable)."),
          unipercept_root: Path = typer.Option(None, help="Folder the UniPercept files' image paths are relative to."),
          project: Path = ProjectOpt) -> None:
    """Evaluate a model or a baseline on an exported benchmark; tables as markdown and JSON.

    Examples:
        curator eval --baseline random
        curator eval --role eval --circular
        curator eval --role eval --unipercept benchmark/VQA/IQA/UniPercept-Bench-IQA.json --unipercept-root ~/UniPercept
    """
    from curator.cli.render import RichReporter, console
    from curator.stages.evaluate import evaluate as run

    s = run(_project(project), benchmark, role=role, baseline=baseline, split=split, circular=circular,
            text_only=text_only, tasks=tasks, plcc_logistic=plcc_logistic, limit=limit, max_cost=max_cost,
            unipercept=unipercept or None, unipercept_root=unipercept_root, wait=wait, reporter=RichReporter())
    from rich.markdown import Markdown

    console.print(Markdown(s.markdown))
    typer.echo(f"written to {s.out}")
    if s.unfinished:
        from curator.cli.common import EXIT_UNFINISHED
        from curator.cli.render import err_console

        err_console.print(f"[bold yellow]{s.unfinished} requests unfinished — rerun to resume[/]")
        raise typer.Exit(EXIT_UNFINISHED)


@app.command()
@handled
def demo(directory: Path = typer.Argument(Path("demo-out"), help="Project folder to create or reuse."),
         max_references: int = typer.Option(6, help="scikit-image sample photographs to degrade."),
         per_cell: int = typer.Option(12, help="Work items per (criterion, template) cell."),
         with_review: bool = typer.Option(False, help="Also start Label Studio and push the sample."),
         seed: int = typer.Option(0)) -> None:
    """Run the whole pipeline offline on synthetic data: synth to export to eval.

    Examples:
        curator demo demo-out
    """
    from curator.cli.render import RichReporter, console, kv
    from curator.demo import demo as run

    r = run(directory, max_references=max_references, per_cell=per_cell, with_review=with_review, seed=seed,
            reporter=RichReporter(), on_stage=lambda name, rows: kv(name, rows))
    from rich.markdown import Markdown

    console.print(Markdown(r.evaluations["random"]))
    typer.echo(f"benchmark: {r.benchmark} (card: {r.benchmark}/README.md)")
    typer.echo(f"report: {r.report} (open it in a browser; no server needed)")
    if r.review_url:
        typer.echo(f"Label Studio: {r.review_url} (stop it with `curator review stop -p {directory}`)")


@app.command()
@handled
def report(out: Path = typer.Option(None, help="Folder to write (default: <project>/report)."),
           project: Path = ProjectOpt) -> None:
    """Write a static report page: funnel with drop reasons, item gallery with filters, validity figures.

    Opens from disk in any browser (no server, no network); thumbnails are written once and reused.

    Examples:
        curator report && xdg-open report/index.html
    """
    from curator.cli.render import kv
    from curator.stages.report import report as run

    kv("report", run(_project(project), out=out).rows())
