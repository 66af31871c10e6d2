"""Ingest throughput on generated 12-megapixel JPEGs, as a ratio to merely reading their bytes.

Run: .venv/bin/python benchmarks/ingest.py [N=2000] [WORKDIR]
Generation is cached in WORKDIR (default /tmp/curator-bench-ingest), so reruns only time ingest.
The byte-read baseline runs first on a warm page cache, exactly like ingest sees the files.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

W, H = 4000, 3000  # 12 MP


def _make(args: tuple[str, int]) -> None:
    path, seed = args
    if os.path.exists(path):
        return
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, size=(H // 40, W // 40, 3), dtype=np.uint8)
    img = Image.fromarray(small).resize((W, H), Image.Resampling.BILINEAR)
    img.save(path, "JPEG", quality=90)


def main(n: int = 2000, workdir: str = "/tmp/curator-bench-ingest") -> None:
    from curator.config import Project
    from curator.scaffold import init
    from curator.stages.ingest import ingest

    src = Path(workdir) / "images"
    src.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with ProcessPoolExecutor() as pool:
        list(pool.map(_make, [(str(src / f"{i:05d}.jpg"), i) for i in range(n)], chunksize=4))
    print(f"generated/verified {n} JPEGs of {W}x{H} in {time.perf_counter() - t0:.1f} s")
    files = sorted(src.glob("*.jpg"))[:n]
    total = sum(f.stat().st_size for f in files)

    t0 = time.perf_counter()
    for f in files:
        f.read_bytes()
    t_read = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        init(Path(tmp) / "p")
        proj = Project.load(Path(tmp) / "p")
        t0 = time.perf_counter()
        s = ingest(proj, src)
        t_ingest = time.perf_counter() - t0
    assert s.ingested == n, s
    print(f"read bytes only : {n / t_read:8.1f} images/s  ({total / t_read / 1e6:.0f} MB/s, 1 process)")
    print(f"curator ingest  : {n / t_ingest:8.1f} images/s  ({os.cpu_count()} workers: sha256 + decode "
          f"(JPEG draft 1/8) + EXIF + phash + parquet)")
    print(f"ratio ingest/read: {t_read / t_ingest:.3f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000, *(sys.argv[2:3]))
