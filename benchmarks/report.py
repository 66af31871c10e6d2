"""First render of a 100,000-item report in headless Chromium, as a ratio to the 2 s limit.

Run: .venv/bin/python benchmarks/report.py [--items 100000] [--runs 3]
Builds a real report (`curator report`) on a small synthetic project, then multiplies its items to
--items (same thumbnails, distinct ids and questions) and rewrites data.js; opens the page from disk
with headless Chromium and reads ``performance.now()`` at the moment the first page of the gallery, the
funnel and the filters are in the DOM (``data-render-ms``, set by report.js). Prints the median.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from curator.config import Project
from curator.scaffold import init
from curator.stages.generate import generate
from curator.stages.ingest import synth
from curator.stages.plan import plan
from curator.stages.report import report

LIMIT_MS = 2000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    exe = shutil.which("chromium") or shutil.which("google-chrome")
    assert exe, "needs chromium (apt-get install chromium)"
    with tempfile.TemporaryDirectory() as tmp:
        init(Path(tmp) / "p")
        p = Project.load(Path(tmp) / "p")
        synth(p, max_references=2, distortions=["jpeg", "gaussian_blur"], seed=1, workers=2)
        plan(p, domain=["iqa"], per_cell=6, backend="synthetic", estimate_role=None)
        generate(p, backend="synthetic")
        out = Path(report(p).out)
        data = json.loads((out / "data.json").read_text())
        base = data["items"]
        items = []
        for i in range(a.items):
            it = dict(base[i % len(base)])
            it["id"] = f"{it['id']}-{i}"
            it["question"] = f"{it['question']} #{i}"
            it["text"] = f"{it['text']} #{i}"
            items.append(it)
        data["items"] = items
        (out / "data.js").write_text("window.REPORT = " + json.dumps(data, ensure_ascii=False) + ";\n")
        size = (out / "data.js").stat().st_size / 2**20
        times = []
        for _ in range(a.runs):
            dom = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                                  (out / "index.html").as_uri()],
                                 capture_output=True, text=True, timeout=300).stdout
            m = re.search(r'data-render-ms="(\d+)"', dom)
            assert m and f'data-count="{a.items}"' in dom, "the page did not render every item count"
            times.append(int(m.group(1)))
        med = statistics.median(times)
        print(f"{a.items:,} items ({size:.0f} MB data.js): first render {med:.0f} ms (runs {times}); "
              f"ratio to the {LIMIT_MS} ms limit: {med / LIMIT_MS:.2f}")


if __name__ == "__main__":
    main()
