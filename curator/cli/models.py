"""``curator plan``, ``generate``, ``describe``, ``judge``, ``blind``: the model-calling verbs."""

from __future__ import annotations

from pathlib import Path

import typer

from curator.cli.app import app
from curator.cli.common import LimitOpt, MaxCostOpt, ProjectOpt, RunnerOpt, WaitOpt, _project, _run_model_stage, handled


# ---------------------------------------------------------------------------------------------- plan
@app.command()
@handled
def plan(domain: list[str] = typer.Option(None, "--domain", help="iaa, iqa, ista (repeatable)."),
         criteria: list[str] = typer.Option(None, "--criteria", help="Criterion path glob, e.g. 'iqa/*' (repeatable)."),
         templates: list[str] = typer.Option(None, "--template", help="Question template (repeatable)."),
         per_cell: int = typer.Option(10, min=1, help="Items per (criterion, template) cell."),
         quota: str = typer.Option(None, help="'published' or a YAML/JSON/CSV of per-criterion targets."),
         per_image_cap: int = typer.Option(8, min=1, help="At most this many work items per image."),
         seed: int = typer.Option(None, help="Tie-break seed (default: project seed)."),
         backend: str = typer.Option("model", help="model or synthetic (deal only answerable images)."),
         project: Path = ProjectOpt) -> None:
    """Decide the work items (image x criterion x template) and estimate the cost.

    Examples:
        curator plan --domain iqa --per-cell 20
        curator plan --quota published --per-image-cap 4
    """
    from curator.cli.render import kv, table
    from curator.stages.plan import plan as run

    s = run(_project(project), domain=domain or None, criteria=criteria or None, templates=templates or None,
            per_cell=per_cell, quota=quota, per_image_cap=per_image_cap, seed=seed, backend=backend,
            estimate_role="generator" if backend == "model" else None)
    table("plan by criterion", ["criterion", "n"], sorted(s.by_criterion.items()))
    rows = [("work items", s.work_items), ("images", s.images), ("cells", s.cells), ("table", s.table)]
    rows += [(f"template {k}", v) for k, v in sorted(s.by_template.items())]
    rows += [(f"shortfall {k}", v) for k, v in sorted(s.shortfall.items())]
    if s.estimate:
        e = s.estimate
        rows += [("model", e["model"]), ("input tokens (est.)", f"{e['input_tokens']:,}"),
                 ("cost typical / max", f"${e['cost_typical']:.2f} / ${e['cost_max']:.2f}")]
    kv("plan", rows)


# ------------------------------------------------------------------------------------------ generate
@app.command()
@handled
def generate(backend: str = typer.Option("model", help="model or synthetic."),
             role: str = typer.Option("generator", help="Model role from curator.yaml."),
             limit: int = LimitOpt,
             max_cost: float = MaxCostOpt,
             batch_out: str = typer.Option(None, help="Write an OpenAI Batch input file instead of calling."),
             retry_rejects: bool = typer.Option(False, help="Ask again for items whose reply was rejected before."),
             wait: bool = WaitOpt,
             runner: str = RunnerOpt,
             project: Path = ProjectOpt) -> None:
    """Write QA candidates for the plan (resumable: rerun after any stop).

    Exit codes: 0 done; 1 error or a stop (budget, breaker); 3 items left unfinished (rerun to resume);
    4 another run holds the project; 130 interrupted (requests in flight were saved).

    Examples:
        curator generate --limit 20          # a trial run
        curator generate --max-cost 5
        curator generate --backend synthetic
        curator generate --runner ray        # on Ray Data: RAY_ADDRESS or ray.address, else a local instance
    """
    from curator.cli.render import RichReporter
    from curator.stages.generate import generate as run

    p = _project(project)
    _run_model_stage(lambda: run(p, backend=backend, role=role, limit=limit, max_cost=max_cost, batch_out=batch_out,
                                 retry_rejects=retry_rejects, wait=wait, runner=runner, reporter=RichReporter()), "generate")


# ------------------------------------------------------------------------------------------ describe
@app.command()
@handled
def describe(role: str = typer.Option("describe", help="Model role (falls back to generator)."),
             limit: int = LimitOpt,
             max_components: int = typer.Option(4, min=1, help="Components per image."),
             max_cost: float = MaxCostOpt,
             wait: bool = WaitOpt,
             runner: str = RunnerOpt,
             project: Path = ProjectOpt) -> None:
    """Write the ISTA structured annotation and texture-richness score per image.

    Examples:
        curator describe --limit 50
    """
    from curator.cli.render import RichReporter
    from curator.stages.describe import describe as run

    p = _project(project)
    _run_model_stage(lambda: run(p, role=role, limit=limit, max_components=max_components, max_cost=max_cost,
                                 wait=wait, runner=runner, reporter=RichReporter()), "describe")


# ----------------------------------------------------------------------------------- quality control
@app.command()
@handled
def judge(role: str = typer.Option("judge", help="Model role of the judge."),
          min_score: int = typer.Option(4, min=1, max=5, help="Keep when every aspect scores at least this (1-5)."),
          limit: int = LimitOpt,
          max_cost: float = MaxCostOpt,
          wait: bool = WaitOpt,
          runner: str = RunnerOpt,
          project: Path = ProjectOpt) -> None:
    """Rate every new candidate on four aspects with a judge of another model family.

    Examples:
        curator judge --min-score 4
    """
    from curator.cli.render import RichReporter, table
    from curator.stages.judge import judge as run

    p = _project(project)
    s = _run_model_stage(lambda: run(p, role=role, min_score=min_score, limit=limit, max_cost=max_cost, wait=wait,
                                     runner=runner,
                                     reporter=RichReporter()), "judge")
    table("judge rejection by criterion and template", ["criterion", "template", "n", "dropped", "%"],
          [(c, t, n, d, f"{pct:.0f}") for c, t, n, d, pct in s.by_cell])


@app.command()
@handled
def blind(max_hit_rate: float = typer.Option(0.25, min=0.0, max=1.0,
                                             help="Drop when more than this share of answerers are right."),
          limit: int = LimitOpt,
          max_cost: float = MaxCostOpt,
          wait: bool = WaitOpt,
          runner: str = RunnerOpt,
          project: Path = ProjectOpt) -> None:
    """Ask text-only answerers every question without the image; drop what they can answer.

    Examples:
        curator blind                       # MMStar's rule: drop when more than 2 of 8 are right
    """
    from curator.cli.render import RichReporter
    from curator.stages.blind import blind as run

    p = _project(project)
    _run_model_stage(lambda: run(p, max_hit_rate=max_hit_rate, limit=limit, max_cost=max_cost, wait=wait, runner=runner,
                                 reporter=RichReporter()), "blind")


# ----------------------------------------------------------------------------------------- calibrate
@app.command()
@handled
def calibrate(circular: bool = typer.Option(False, help="CircularEval: right only under every option rotation."),
              edges: str = typer.Option("0.75,0.5,0.25", help="Lower bounds of easy, moderate, hard on the "
                                                                "fraction of the panel that is right."),
              limit: int = LimitOpt,
              max_cost: float = MaxCostOpt,
              wait: bool = WaitOpt,
              runner: str = RunnerOpt,
              project: Path = ProjectOpt) -> None:
    """Let a panel of models (models.panel) answer every candidate; bin items easy/moderate/hard/tough.

    Items every image-seeing and every text-only panellist misses are flagged as possibly wrong ground
    truth. `curator sample --by difficulty` and `--difficulty-mix` use the bins.

    Examples:
        curator calibrate
        curator calibrate --circular --edges 0.8,0.5,0.2
    """
    from curator.cli.render import RichReporter
    from curator.errors import UsageError
    from curator.stages.calibrate import calibrate as run

    try:
        bounds = tuple(float(x) for x in edges.split(","))
    except ValueError as exc:
        raise UsageError(f"--edges {edges!r}: three comma-separated fractions") from exc
    p = _project(project)
    _run_model_stage(lambda: run(p, circular=circular, edges=bounds, limit=limit, max_cost=max_cost, wait=wait,
                                 runner=runner, reporter=RichReporter()), "calibrate")
