"""The ``curator`` command line: thin wrappers over library functions of the same name.

Every command parses options, calls one library function and renders its result. Imports of the
library happen inside the commands so ``curator --help`` stays instant. Errors: a
:class:`~curator.errors.CuratorError` prints its message and exits 1; usage errors exit 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from curator._cli_common import ProjectOpt, _project, _run_model_stage, handled

WaitOpt = typer.Option(False, "--wait", help="If another model-calling run holds the project, wait for it.")
MaxCostOpt = typer.Option(None, min=0, help="Money cap for this run (0 sends nothing; a reply already cached is free).")
LimitOpt = typer.Option(None, min=0, help="Only this many items (a trial run).")

app = typer.Typer(help="Build human-verified perceptual image benchmarks for multimodal LLMs.",
                  no_args_is_help=True, rich_markup_mode=None, pretty_exceptions_enable=False,
                  add_completion=False)
taxonomy_app = typer.Typer(help="Inspect, validate and export definition taxonomies.", no_args_is_help=True)
app.add_typer(taxonomy_app, name="taxonomy")

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
           score_domain: str = typer.Option(None, help="Taxonomy domain the scores rate: iqa, iaa, ista (presets "
                                                       "set their own)."),
           workers: int = typer.Option(None, min=1, help="Decoding processes (default: all cores)."),
           project: Path = ProjectOpt) -> None:
    """Build the images table from a folder, a label file or an HF dataset.

    Examples:
        curator ingest                                   # the project's images folder
        curator ingest /data/koniq/1024x768 --labels koniq10k_scores_and_distributions.csv --preset koniq10k
        curator ingest photos --labels scores.csv --score-col mos --scale 1:5
    """
    from curator._render import RichReporter, kv, table
    from curator.stages.ingest import ingest as run

    s = run(_project(project), source, labels=labels, preset=preset, path_col=path_col, score_cols=score_col or None,
            scale=scale, source_name=source_name, license=license, hf_image_col=hf_image_col, hf_split=hf_split,
            score_domain=score_domain, workers=workers, reporter=RichReporter())
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
    from curator._render import RichReporter, kv
    from curator.stages.ingest import synth as run

    s = run(_project(project), references, distortions=distortion or None, levels=level or None,
            regions=region or None, whole_fraction=whole_fraction, max_references=max_references, seed=seed,
            workers=workers, reporter=RichReporter())
    kv("synth", s.rows())


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
    from curator._render import kv, table
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
             project: Path = ProjectOpt) -> None:
    """Write QA candidates for the plan (resumable: rerun after any stop).

    Exit codes: 0 done; 1 error or a stop (budget, breaker); 3 items left unfinished (rerun to resume);
    4 another run holds the project; 130 interrupted (requests in flight were saved).

    Examples:
        curator generate --limit 20          # a trial run
        curator generate --max-cost 5
        curator generate --backend synthetic
    """
    from curator._render import RichReporter
    from curator.stages.generate import generate as run

    p = _project(project)
    _run_model_stage(lambda: run(p, backend=backend, role=role, limit=limit, max_cost=max_cost, batch_out=batch_out,
                                 retry_rejects=retry_rejects, wait=wait, reporter=RichReporter()), "generate")


# ------------------------------------------------------------------------------------------ describe
@app.command()
@handled
def describe(role: str = typer.Option("describe", help="Model role (falls back to generator)."),
             limit: int = LimitOpt,
             max_components: int = typer.Option(4, min=1, help="Components per image."),
             max_cost: float = MaxCostOpt,
             wait: bool = WaitOpt,
             project: Path = ProjectOpt) -> None:
    """Write the ISTA structured annotation and texture-richness score per image.

    Examples:
        curator describe --limit 50
    """
    from curator._render import RichReporter
    from curator.stages.describe import describe as run

    p = _project(project)
    _run_model_stage(lambda: run(p, role=role, limit=limit, max_components=max_components, max_cost=max_cost,
                                 wait=wait, reporter=RichReporter()), "describe")


# ----------------------------------------------------------------------------------- quality control
@app.command()
@handled
def judge(role: str = typer.Option("judge", help="Model role of the judge."),
          min_score: int = typer.Option(4, min=1, max=5, help="Keep when every aspect scores at least this (1-5)."),
          limit: int = LimitOpt,
          max_cost: float = MaxCostOpt,
          wait: bool = WaitOpt,
          project: Path = ProjectOpt) -> None:
    """Rate every new candidate on four aspects with a judge of another model family.

    Examples:
        curator judge --min-score 4
    """
    from curator._render import RichReporter, table
    from curator.stages.judge import judge as run

    p = _project(project)
    s = _run_model_stage(lambda: run(p, role=role, min_score=min_score, limit=limit, max_cost=max_cost, wait=wait,
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
          project: Path = ProjectOpt) -> None:
    """Ask text-only answerers every question without the image; drop what they can answer.

    Examples:
        curator blind                       # MMStar's rule: drop when more than 2 of 8 are right
    """
    from curator._render import RichReporter
    from curator.stages.blind import blind as run

    p = _project(project)
    _run_model_stage(lambda: run(p, max_hit_rate=max_hit_rate, limit=limit, max_cost=max_cost, wait=wait,
                                 reporter=RichReporter()), "blind")


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
    from curator._render import kv
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
           project: Path = ProjectOpt) -> None:
    """Pick the items that go to people with stratified quotas.

    Examples:
        curator sample --by criterion --by template --n 20
        curator sample --by criterion --quota published
        curator sample --by criterion --bins score_norm:q3 --mode proportional --n 500
    """
    from curator._render import kv, table
    from curator.stages.sample import sample as run

    s = run(_project(project), by=by or None, mode=mode, n=n, quota=quota, bins=bins or None,
            train_fraction=train_fraction, seed=seed)
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
           project: Path = ProjectOpt) -> None:
    """Write benchmark splits: HF DatasetDict, parquet shards, dataset card, UniPercept files.

    Examples:
        curator export --splits dev:0.2,test:0.8
        curator export --splits dev:0.2,test:0.8 --group-by scene_id
        curator export --push-to-hub my-org/my-bench
    """
    from curator._render import kv
    from curator.stages.export import export as run

    s = run(_project(project), name=name, source=source, splits=splits, near_duplicate_bits=near_duplicate_bits,
            group_by=group_by or None, include_vr=include_vr, push_to_hub=push_to_hub, public=public, seed=seed)
    kv("export", s.rows())


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
    from curator._render import RichReporter, console
    from curator.stages.evaluate import evaluate as run

    s = run(_project(project), benchmark, role=role, baseline=baseline, split=split, circular=circular,
            text_only=text_only, tasks=tasks, plcc_logistic=plcc_logistic, limit=limit, max_cost=max_cost,
            unipercept=unipercept or None, unipercept_root=unipercept_root, wait=wait, reporter=RichReporter())
    from rich.markdown import Markdown

    console.print(Markdown(s.markdown))
    typer.echo(f"written to {s.out}")
    if s.unfinished:
        from curator._cli_common import EXIT_UNFINISHED
        from curator._render import err_console

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
    from curator._render import RichReporter, console, kv
    from curator.demo import demo as run

    r = run(directory, max_references=max_references, per_cell=per_cell, with_review=with_review, seed=seed,
            reporter=RichReporter(), on_stage=lambda name, rows: kv(name, rows))
    from rich.markdown import Markdown

    console.print(Markdown(r.evaluations["random"]))
    typer.echo(f"benchmark: {r.benchmark} (card: {r.benchmark}/README.md)")
    if r.review_url:
        typer.echo(f"Label Studio: {r.review_url} (stop it with `curator review stop -p {directory}`)")


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


def main() -> None:
    """Entry point of the ``curator`` console script."""
    app()


from curator.cli_review import review_app  # noqa: E402  (kept at the end: the review verbs are a sub-app)

app.add_typer(review_app, name="review")

if __name__ == "__main__":
    main()
