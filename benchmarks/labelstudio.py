"""Push 10,000 tasks and pull 10,000 annotations through a real Label Studio: rate and peak memory.

Run: .venv/bin/python benchmarks/labelstudio.py [--n 10000] [--inline 1000 --inline-kb 64] [--url URL --token T]
Without --url it starts a throwaway server (needs .ls-venv or CURATOR_LABEL_STUDIO_BIN; ~1 min).

Three phases, each with its wall time and the process's peak RSS above what it held before:
1. push N tasks (image URLs, one prediction each) through `curator.push`;
2. pull N annotations: a second project whose N tasks are imported with one annotation each
   (the API creates annotations one call at a time, ~0.2 s each), then `curator.pull`;
3. pull M annotated tasks whose images are inline data URIs of K kB: the export is streamed to a
   gzip file and read one task at a time, so the peak stays far below the export's size.
Ratios printed: push rate to Label Studio's own bulk-import rate on this machine (427 tasks/s, see
../shared/reference/labelstudio.md), and to the figures of the hand-written client this replaced
(1,050 tasks/s push, 655 annotations/s pull on 10,000, measured with this script at commit 75e03be on
the same machine the same day); pull peak memory to the export's size.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import io
import json
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil
from PIL import Image

from curator.config import Project
from curator.scaffold import init
from curator.stages.review.labeling import vqa_config, vqa_task
from curator.stages.review.pull import pull
from curator.stages.review.push import push, save_state
from curator.stages.review.studio import Studio

LS_IMPORT_RATE = 427.0
HTTPX_PUSH, HTTPX_PULL = 1050.0, 655.0  # the httpx client at 75e03be, this benchmark, same machine, 2026-11-29


def measured(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, seconds, peak RSS in MB above the RSS before the call), RSS sampled every 20 ms."""
    proc = psutil.Process()
    base = peak = proc.memory_info().rss
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.02):
            peak = max(peak, proc.memory_info().rss)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    t0 = time.perf_counter()
    try:
        out = fn()
    finally:
        dt = time.perf_counter() - t0
        done.set()
        t.join()
    return out, dt, (max(peak, proc.memory_info().rss) - base) / 2**20


def rows_for(n: int, stem: str) -> list[dict[str, Any]]:
    return [{"item_id": f"{stem}-{i:06d}", "image_id": f"{i % 20:064x}", "image_path": f"{i % 20}.png",
             "criterion": "iqa/severity/severity_level", "template": "level", "question": f"How severe? #{i}",
             "options": ["None", "Slight", "Obvious"], "answer": "ABC"[i % 3], "rationale": "bench",
             "generator": "bench"} for i in range(n)]


def annotated_project(p: Project, client: Studio, title: str, rows: list[dict[str, Any]], image: Callable[[int], str]
                      ) -> None:
    """A project whose tasks carry one 'accept' annotation each, recorded as this folder's review project."""
    tax = p.load_taxonomy()
    proj = client.create_project(title, vqa_config())
    for i in range(0, len(rows), 500):
        tasks = []
        for j, r in enumerate(rows[i:i + 500], start=i):
            t = vqa_task(r, tax, image(j))
            t["annotations"] = [{"result": [
                {"from_name": "verdict", "to_name": "image", "type": "choices", "value": {"choices": ["accept"]}},
                {"from_name": "correct_option", "to_name": "image", "type": "choices",
                 "value": {"choices": [r["answer"]]}}]}]
            tasks.append(t)
        client.import_tasks(proj["id"], tasks)
    pd.DataFrame(rows).to_parquet((p.data / "sample.parquet"), index=False)
    save_state(p, {"projects": {"vqa": {"id": proj["id"], "url": client.url, "title": title,
                                        "source": str(p.data / "sample.parquet")}}})


def inline_png(kb: int, seed: int) -> str:
    side = max(8, int((kb * 1024 / 3) ** 0.5))  # noise barely compresses: ~3 bytes per pixel
    arr = np.random.default_rng(seed).integers(0, 255, (side, side, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--inline", type=int, default=1000, help="tasks with inline images in the memory phase")
    ap.add_argument("--inline-kb", type=int, default=64)
    ap.add_argument("--url")
    ap.add_argument("--token")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "p"
        init(root)
        proc = None
        url, token = a.url, a.token
        if not url:
            from curator.stages.review.server import find_label_studio, start_server

            token = secrets.token_hex(20)
            port = 8099
            proc = start_server(Path(tmp) / "ls", port, root / "images", binary=find_label_studio(),
                                email="bench@curator.local", password=secrets.token_urlsafe(12), token=token,
                                log_path=Path(tmp) / "ls.log")
            url = f"http://127.0.0.1:{port}"
        cfg = root / "curator.yaml"
        cfg.write_text(cfg.read_text().replace("url: http://127.0.0.1:8089", f"url: {url}")
                       .replace("api_key_env: LABEL_STUDIO_API_KEY", "api_key_env: BENCH_LS_TOKEN"))
        os.environ["BENCH_LS_TOKEN"] = token
        p = Project.load(root)
        for i in range(20):
            Image.fromarray(np.full((32, 32, 3), i * 10, np.uint8)).save(p.images_root / f"{i}.png")
        try:
            rows = rows_for(a.n, "bench")
            pd.DataFrame(rows).to_parquet((p.data / "sample.parquet"), index=False)
            s, dt_push, mem_push = measured(lambda: push(p, batch_size=2000, image_mode="url"))
            assert s.imported == a.n, s
            rate_push = a.n / dt_push
            print(f"push {a.n:,} tasks (image URLs, predictions): {dt_push:.1f} s = {rate_push:.0f} tasks/s, "
                  f"peak +{mem_push:.0f} MB; ratio to Label Studio's import rate {rate_push / LS_IMPORT_RATE:.2f}, "
                  f"to the hand-written client {rate_push / HTTPX_PUSH:.2f}")
            client = Studio(url, token)
            annotated_project(p, client, "bench-pull", rows, lambda j: f"/data/local-files/?d={j % 20}.png")
            res, dt_pull, mem_pull = measured(lambda: pull(p))
            assert res.annotations == a.n and res.status["accepted"] == a.n, res.rows()
            rate_pull = a.n / dt_pull
            print(f"pull {a.n:,} annotations (snapshot export, gzip raw copy, merge, agreement, HF dataset): "
                  f"{dt_pull:.1f} s = {rate_pull:.0f} annotations/s, peak +{mem_pull:.0f} MB; ratio to the "
                  f"hand-written client {rate_pull / HTTPX_PULL:.2f}")
            pngs = [inline_png(a.inline_kb, k) for k in range(20)]
            inl = rows_for(a.inline, "inline")
            annotated_project(p, client, "bench-inline", inl, lambda j: pngs[j % 20])
            client.close()
            res2, dt_inl, mem_inl = measured(lambda: pull(p, force=True))
            raw = Path(res2.raw_export)
            export_mb = a.inline * len(pngs[0]) / 2**20
            print(f"pull {a.inline:,} tasks with {a.inline_kb} kB inline images (~{export_mb:.0f} MB of task data): "
                  f"{dt_inl:.1f} s, peak +{mem_inl:.0f} MB = {mem_inl / export_mb:.2f}x the export's image bytes; "
                  f"raw kept gzip {raw.stat().st_size / 2**20:.0f} MB")
            _, _, mem_whole = measured(lambda: len(json.loads(gzip.decompress(raw.read_bytes()))))
            print(f"  the same export parsed whole (json.loads, as before): peak +{mem_whole:.0f} MB; streaming uses "
                  f"{mem_inl / max(mem_whole, 1):.2f}x that")
            print(json.dumps({"push_tasks_per_s": round(rate_push, 1), "push_peak_mb": round(mem_push),
                              "pull_annotations_per_s": round(rate_pull, 1), "pull_peak_mb": round(mem_pull),
                              "inline_pull_s": round(dt_inl, 1), "inline_pull_peak_mb": round(mem_inl),
                              "inline_export_mb": round(export_mb), "whole_parse_peak_mb": round(mem_whole)}))
        finally:
            if proc is not None:
                proc.terminate()


if __name__ == "__main__":
    main()
