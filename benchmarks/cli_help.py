"""Time `curator --help` (cold interpreter each run) against the 0.5 s limit of the foundations issue.

Run: .venv/bin/python benchmarks/cli_help.py [runs]
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time

LIMIT_S = 0.5


def main(runs: int = 10) -> None:
    exe = shutil.which("curator") or str(__import__("pathlib").Path(sys.executable).with_name("curator"))
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([exe, "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(f"curator --help: median {med * 1000:.0f} ms over {runs} runs (min {min(times) * 1000:.0f} ms, "
          f"max {max(times) * 1000:.0f} ms); ratio to the {LIMIT_S * 1000:.0f} ms limit: {med / LIMIT_S:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
