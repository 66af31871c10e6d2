"""Push 10,000 tasks and pull 10,000 annotations through a real Label Studio; tasks/s each way.

Run: .venv/bin/python benchmarks/labelstudio.py [--n 10000] [--url URL --token TOKEN]
Without --url it starts a throwaway server (needs .ls-venv or CURATOR_LABEL_STUDIO_BIN; ~1 min).
The pull side imports tasks that already carry one annotation each (the API creates annotations
one call at a time, ~0.2 s each), then times `curator review pull` on them. The ratio printed is
to Label Studio's own bulk-import rate measured on this machine (about 427 tasks/s, see
../shared/reference/labelstudio.md), the floor any client of that server shares.
"""

from __future__ import annotations

import argparse
import json
import secrets
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from curator.config import Project
from curator.scaffold import init
from curator.stages.review.client import LabelStudio
from curator.stages.review.labeling import vqa_config, vqa_task
from curator.stages.review.pull import pull
from curator.stages.review.push import push, save_state

LS_IMPORT_RATE = 427.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
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
        import os

        os.environ["BENCH_LS_TOKEN"] = token
        p = Project.load(root)
        for i in range(20):
            Image.fromarray(np.full((32, 32, 3), i * 10, np.uint8)).save(p.images_root / f"{i}.png")
        tax = p.load_taxonomy()
        rows = [{"item_id": f"bench-{i:06d}", "image_id": f"{i % 20:064x}", "image_path": f"{i % 20}.png",
                 "criterion": "iqa/severity/severity_level", "template": "level", "question": f"How severe? #{i}",
                 "options": ["None", "Slight", "Obvious"], "answer": "ABC"[i % 3], "rationale": "bench",
                 "generator": "bench"} for i in range(a.n)]
        pd.DataFrame(rows).to_parquet(p.table("sample.parquet"), index=False)
        t0 = time.perf_counter()
        s = push(p, batch_size=2000, image_mode="url")  # local mode needs the server's document root
        dt_push = time.perf_counter() - t0
        assert s.imported == a.n, s
        rate_push = a.n / dt_push
        print(f"push {a.n:,} tasks (image URLs, predictions): {dt_push:.1f} s = {rate_push:.0f} tasks/s; "
              f"ratio to Label Studio's bulk-import rate: {rate_push / LS_IMPORT_RATE:.2f}")
        # pull: a second project whose tasks carry one annotation each
        client = LabelStudio(url, token)
        proj = client.create_project("bench-pull", vqa_config())
        tasks = []
        for r in rows:
            t = vqa_task(r, tax, f"/data/local-files/?d={r['image_path']}")
            t["annotations"] = [{"result": [
                {"from_name": "verdict", "to_name": "image", "type": "choices", "value": {"choices": ["accept"]}},
                {"from_name": "correct_option", "to_name": "image", "type": "choices",
                 "value": {"choices": [r["answer"]]}}]}]
            tasks.append(t)
        for i in range(0, len(tasks), 2000):
            client.import_tasks(proj["id"], tasks[i:i + 2000])
        client.close()
        save_state(p, {"projects": {"vqa": {"id": proj["id"], "url": url, "title": "bench-pull",
                                            "source": str(p.table("sample.parquet"))}}})
        t0 = time.perf_counter()
        res = pull(p)
        dt_pull = time.perf_counter() - t0
        assert res.annotations == a.n and res.status["accepted"] == a.n, res.rows()
        print(f"pull {res.annotations:,} annotations (snapshot export, raw copy, merge, agreement, HF dataset): "
              f"{dt_pull:.1f} s = {a.n / dt_pull:.0f} annotations/s")
        print(json.dumps({"push_tasks_per_s": round(rate_push, 1), "pull_annotations_per_s": round(a.n / dt_pull, 1)}))
        if proc is not None:
            proc.terminate()


if __name__ == "__main__":
    main()
