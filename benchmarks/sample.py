"""`curator sample` over 1,000,000 candidate rows: seconds and peak memory against the 5 s / 2 GB targets.

Run: .venv/bin/python benchmarks/sample.py [rows]
Builds a synthetic checked table (44 criteria x 6 templates, judge means, scores), then times the
library call that `curator sample` makes, stratified by criterion x template x score tercile.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from curator.config import Project
from curator.scaffold import init
from curator.stages.sample import sample
from curator.taxonomy import load_taxonomy


def main(rows: int = 1_000_000) -> None:
    tax = load_taxonomy()
    crits = [c.path for c in tax.criteria()]
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        init(Path(tmp) / "p")
        p = Project.load(Path(tmp) / "p")
        df = pd.DataFrame({
            "item_id": [f"q{i:09d}" for i in range(rows)],
            "image_id": [f"{i % (rows // 4):064x}" for i in range(rows)],
            "criterion": rng.choice(crits, rows), "template": rng.choice(["yes_no", "what", "which", "how", "why"], rows),
            "answer": rng.choice(list("ABCD"), rows), "judge_mean": rng.integers(4, 21, rows) / 4,
            "score_norm": rng.random(rows) * 100, "keep": rng.random(rows) < 0.9})
        df.to_parquet((p.data / "checked.parquet"), index=False)
        del df
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t0 = time.perf_counter()
        s = sample(p, by=["criterion", "template"], bins=["score_norm:q3"], n=40)
        dt = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"sample over {rows:,} rows ({s.strata} strata, {s.selected:,} selected): {dt:.2f} s "
          f"(ratio to 5 s limit: {dt / 5:.2f}); peak RSS {peak:.0f} MB (before the call {base:.0f} MB; "
          f"ratio to 2 GB limit: {peak / 2048:.2f})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
