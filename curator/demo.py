"""``curator demo``: the whole pipeline offline on the embedded default.

scikit-image's sample photographs → synthetic distortions with exact labels → the ``synthetic``
generator → checks → stratified sample → export (HF DatasetDict, card, plots, UniPercept files) →
evaluation with the random baseline (VQA, VR) and a measured-statistic baseline (VR). No API key,
no network. ``with_review`` also starts Label Studio and pushes the sample.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curator.config import CONFIG_NAME, Project
from curator.progress import Reporter


@dataclass
class DemoResult:
    project: str
    benchmark: str = ""
    stages: list[tuple[str, list[tuple[str, str]], float]] = field(default_factory=list)
    evaluations: dict[str, Any] = field(default_factory=dict)
    review_url: str = ""
    report: str = ""


def demo(directory: str | Path, *, max_references: int = 6, per_cell: int = 12, with_review: bool = False,
         seed: int = 0, reporter: Reporter | None = None, on_stage: Callable[[str, list[tuple[str, str]]], None]
         | None = None) -> DemoResult:
    """Run every stage on synthetic data in ``directory`` (created if needed; rerunnable).

    Args:
        max_references: scikit-image sample photographs to degrade.
        per_cell: work items per (criterion, template) cell.
        with_review: also start Label Studio (``review serve``) and push the sample to it.
        on_stage: called with (stage name, summary rows) as each stage finishes.
    """
    from curator.scaffold import init
    from curator.stages.checks import check
    from curator.stages.evaluate import evaluate
    from curator.stages.export import export
    from curator.stages.generate import generate
    from curator.stages.ingest import synth
    from curator.stages.plan import plan
    from curator.stages.report import report
    from curator.stages.sample import sample
    from curator.store import EvalRun

    if with_review:  # fail before minutes of work, not after them
        from curator.stages.review.studio import sdk

        sdk()
    root = Path(directory)
    if not (root / CONFIG_NAME).exists():
        init(root, name="curator-demo")
    project = Project.load(root)
    result = DemoResult(project=str(root.resolve()))

    def stage(name: str, fn: Callable[[], Any], rows: Callable[[Any], list[tuple[str, str]]]) -> Any:
        t0 = time.perf_counter()
        out = fn()
        r = rows(out)
        result.stages.append((name, r, time.perf_counter() - t0))
        if on_stage:
            on_stage(name, r)
        return out

    stage("synth", lambda: synth(project, max_references=max_references, seed=seed, reporter=reporter),
          lambda s: s.rows()[:3])
    stage("plan", lambda: plan(project, domain=["iqa"], per_cell=per_cell, backend="synthetic", seed=seed,
                               per_image_cap=6, estimate_role=None),
          lambda s: [("work items", str(s.work_items)), ("cells", str(s.cells)),
                     ("cells synthetic labels cannot answer", str(len(s.unanswerable)))])
    stage("generate", lambda: generate(project, backend="synthetic"), lambda s: s.rows())
    stage("check", lambda: check(project, seed=seed), lambda s: s.rows()[:-1])
    # every kept item: the planner balanced answers per reference, and a random subset would undo it
    stage("sample", lambda: sample(project, n=per_cell, seed=seed), lambda s: s.rows()[:-1])
    ex = stage("export", lambda: export(project, splits="dev:0.25,test:0.75", seed=seed), lambda s: s.rows())
    result.benchmark = ex.out
    rnd = stage("eval (random baseline)", lambda: evaluate(project, baseline="random", seed=seed),
                lambda s: [("VQA accuracy, robust %", f"{s.vqa['robust']['overall']:.1f}"),
                           ("VQA random-guess expectation %", f"{s.vqa['random_guess_expected']:.1f}"),
                           ("VR SRCC / PLCC", " / ".join(f"{m['srcc']:.3f} / {m['plcc']:.3f}"
                                                         for m in s.vr["domains"].values())),
                           ("scores", str(EvalRun(Path(s.out)).markdown))])
    stat = stage("eval (statistic baseline, VR)", lambda: evaluate(project, baseline="statistic", tasks="vr"),
                 lambda s: [("VR SRCC / PLCC", " / ".join(f"{m['srcc']:.3f} / {m['plcc']:.3f}"
                                                          for m in s.vr["domains"].values())),
                            ("scores", str(EvalRun(Path(s.out)).markdown))])
    result.evaluations = {"random": rnd.markdown, "statistic": stat.markdown}
    rep = stage("report", lambda: report(project), lambda s: s.rows())
    result.report = str(Path(rep.out) / "index.html")
    if with_review:
        from curator.stages.review.push import push
        from curator.stages.review.server import serve

        info = stage("review serve", lambda: serve(project, install=True), lambda i: [("url", i.url)])
        stage("review push", lambda: push(project), lambda s: s.rows())
        result.review_url = info.url
    return result
