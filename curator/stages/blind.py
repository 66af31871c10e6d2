"""``curator blind``: text-only answerers try every question without the image (after MMStar).

Each configured ``models.blind`` endpoint answers each new candidate from its text alone (or with a
flat grey image when ``grey_image`` is set); answers are stored per (item, model) in
``data/blind.jsonl``. An item is dropped when more answerers than ``max_hit_rate × k`` got it right:
MMStar's "more than 2 of 8" is ``max_hit_rate = 0.25``. The hits later feed the dataset card and
the multimodal-gain / leakage figures of evaluation.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from curator.config import Project
from curator.engine.client import Engine, Request, Result, RunStats
from curator.engine.parsing import extract_letter
from curator.engine.runner import check_run_args as _check_run_args
from curator.errors import ConfigError
from curator.locking import exclusive
from curator.progress import Reporter
from curator.prompts import render
from curator.records import LETTERS, inline_question, sha256_hex
from curator.secrets import redact
from curator.stages.common.blind_rule import decide, max_hits
from curator.store import Store


def _grey_part(project: Project) -> dict[str, Any]:
    from PIL import Image

    path = project.cache_dir / "grey-448.png"
    if not path.exists():
        Image.new("RGB", (448, 448), (128, 128, 128)).save(path, "PNG")
    buf = io.BytesIO(path.read_bytes())
    return {"type": "image_ref", "path": str(path), "image_id": sha256_hex(buf.getvalue()), "domain": "iqa",
            "width": 448, "height": 448}


@dataclass
class BlindSummary:
    k: int = 0
    answered: int = 0
    already_done: int = 0
    items: int = 0
    dropped: int = 0
    threshold: int = 0
    hits_histogram: dict[int, int] = field(default_factory=dict)
    failed: Counter[str] = field(default_factory=Counter)
    unfinished: int = 0
    stats: RunStats | None = None
    runs: list[RunStats] = field(default_factory=list)

    def rows(self) -> list[tuple[str, str]]:
        out = [("text-only answerers (k)", str(self.k)), ("answers now", str(self.answered)),
               ("answers already stored", str(self.already_done)), ("items with all k answers", str(self.items)),
               ("drop rule", f"hits > {self.threshold}"),
               ("dropped", f"{self.dropped} ({100 * self.dropped / self.items:.1f}%)" if self.items else "0")]
        out += [(f"items with {h} hit(s)", str(n)) for h, n in sorted(self.hits_histogram.items())]
        out += [(f"failed: {k}", str(v)) for k, v in sorted(self.failed.items())]
        if self.unfinished:
            out.append(("unfinished — rerun to resume", str(self.unfinished)))
        return out


@exclusive("blind")
def blind(project: Project, *, max_hit_rate: float = 0.25, limit: int | None = None, max_cost: float | None = None,
          wait: bool = False, runner: str | None = None,
             reporter: Reporter | None = None) -> BlindSummary:
    """Ask every blind answerer every new question without the image; summarise hits per item.

    A reply that names no option (or a refusal, a cut-short reply) counts as a wrong answer and is
    recorded, so it is never paid for again; a network failure leaves the (item, model) to do.
    """
    _check_run_args(limit, max_cost)
    from curator.engine.runner import run_model_stage

    eps = project.config.models.blind
    if not eps:
        raise ConfigError("models.blind lists no text-only answerers in curator.yaml")
    models = [ep.model for ep in eps]
    if len(set(models)) != len(models):
        raise ConfigError(f"models.blind repeats a model ({models}); the same model twice counts as one answerer")
    store = Store(project)
    cands = store.qa_candidates().to_dict("records")
    done = {(r["item_id"], r["model"]) for r in store.blind}
    summary = BlindSummary(k=len(eps), already_done=len(done), threshold=max_hits(len(eps), max_hit_rate))
    out = store.blind.appender()
    try:
        for ep in eps:
            todo = [c for c in cands if (c["item_id"], ep.model) not in done]
            if limit is not None:
                todo = todo[:limit]
            grey = _grey_part(project) if ep.grey_image else None

            def build(it: dict[str, Any], grey: dict[str, Any] | None = grey) -> Request:
                letters = ", ".join(LETTERS[:len(it["options"])])
                text = render("blind.j2", letters=letters, question=inline_question(it))
                content: Any = [{"type": "text", "text": text}, grey] if grey else text
                return Request(messages=[{"role": "user", "content": content}], params={"max_tokens": 16})

            async def handle(eng: Engine, it: dict[str, Any], res: Result, model: str = ep.model) -> None:
                if not res.ok:
                    summary.failed[res.error] += 1
                    if res.transient or res.error == "bad_input":
                        summary.unfinished += 1
                        return
                letter = extract_letter(res.content, list(it["options"])) if res.ok else None
                out.write({"item_id": it["item_id"], "model": model, "letter": letter, "raw": redact(res.content[:200]),
                           "correct": letter == it["answer"], **({"error": res.error} if not res.ok else {})})
                summary.answered += 1

            run_model_stage(project, f"blind {ep.model}", summary, ep, todo, build, handle, total=len(todo),
                            max_cost=max_cost, reporter=reporter, wait=wait, runner=runner)
            if summary.stats is not None:
                summary.runs.append(summary.stats)
    finally:
        out.close()
    agg = decide(store.blind.read(), models, max_hit_rate)
    store.blind_decisions.write(agg.assign(blind_max_hit_rate=max_hit_rate, blind_models=",".join(sorted(models))))
    summary.items = len(agg)
    summary.dropped = int(agg["blind_drop"].sum()) if len(agg) else 0
    summary.hits_histogram = {int(k): int(v) for k, v in agg["blind_hits"].value_counts().sort_index().items()}
    return summary
