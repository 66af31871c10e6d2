"""`curator synth` throughput on 12-megapixel references (images written per second, all cores).

Run: .venv/bin/python benchmarks/synth.py [references=2]
Prints images/s and the ratio to merely writing the same number of 12-MP PNGs (the I/O floor).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from curator.config import Project
from curator.scaffold import init
from curator.stages.ingest import synth


def main(n_refs: int = 2) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        refs = Path(tmp) / "refs"
        refs.mkdir()
        rng = np.random.default_rng(0)
        for i in range(n_refs):
            small = rng.integers(0, 255, size=(75, 100, 3), dtype=np.uint8)
            Image.fromarray(small).resize((4000, 3000), Image.Resampling.BICUBIC).save(refs / f"r{i}.png")
        init(Path(tmp) / "p")
        p = Project.load(Path(tmp) / "p")
        t0 = time.perf_counter()
        s = synth(p, refs)
        dt = time.perf_counter() - t0
        img = Image.open(refs / "r0.png")
        t1 = time.perf_counter()
        for k in range(4):
            img.save(Path(tmp) / f"w{k}.png", "PNG", compress_level=1)
        t_write = (time.perf_counter() - t1) / 4
    rate = s.images / dt
    print(f"synth: {s.images} images from {n_refs} 12-MP references in {dt:.1f} s = {rate:.2f} images/s "
          f"on {os.cpu_count()} cores (ingest included); writing one 12-MP PNG alone: {t_write:.2f} s "
          f"-> ratio to the write-only floor ({os.cpu_count()} cores): {rate * t_write / (os.cpu_count() or 1):.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
