"""The report page in a real browser (headless Chromium): numbers equal the tables, filters narrow, an edited
item shows both texts. Screenshots of the funnel and the gallery at 1280×800 are kept in test-artifacts/."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from curator.config import Project
from curator.stages.export import export
from curator.stages.report import report
from curator.store import Store

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "report"


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if exe is None:
        pytest.fail("headless Chromium is not installed: scripts/test.sh installs Debian's `chromium` "
                    "(apt-get install chromium); this test does not skip")
    return exe


def _browser(args: list[str], url: str) -> str:
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
           "--virtual-time-budget=5000", *args, url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def _dom(page: Path, fragment: str = "") -> str:
    return _browser(["--dump-dom"], page.as_uri() + fragment)


def _reviewed(p: Project) -> tuple[str, str, str]:
    """People's verdicts as a pull writes them: one question reworded, the rest accepted. (id, old, new)."""
    items = pd.read_parquet(p.data / "sample.parquet")
    items = items[items["keep"]].reset_index(drop=True)
    edited = items.loc[0, "item_id"]
    old, new = str(items.loc[0, "question"]), str(items.loc[0, "question"]) + " Look closely."
    rows = [{**r, "review_status": "edited" if r["item_id"] == edited else "accepted",
             "final_question": new if r["item_id"] == edited else r["question"], "final_options": list(r["options"]),
             "final_answer": r["answer"], "model_question": r["question"], "model_options": list(r["options"]),
             "model_answer": r["answer"], "reviews": "[]"} for r in items.to_dict("records")]
    Store(p).reviewed.write(pd.DataFrame(rows))
    return edited, old, new


def test_report_page_in_headless_chromium(built: Project) -> None:
    edited, old, new = _reviewed(built)
    ex = export(built, splits="dev:0.3,test:0.7")
    s = report(built)
    page = Path(s.out) / "index.html"
    data = json.loads((Path(s.out) / "data.json").read_text())
    assert not re.search(r"https?://", (Path(s.out) / "index.html").read_text() + (Path(s.out) / "report.js").read_text())
    store = Store(built)
    n_cands, n_plan = len(store.qa_candidates()), len(store.plan.read())
    n_export = sum(ex.vqa.values())

    dom = _dom(page)
    assert 'data-ready="1"' in dom
    assert f'data-count="{n_cands}"' in dom and f"{n_cands} of {n_cands} items" in dom
    funnel_all = re.search(r"<tr><td>all</td>((?:<td>[^<]*</td>)+)</tr>", dom)
    assert funnel_all is not None
    cells = re.findall(r"<td>([^<]*)</td>", funnel_all.group(1))
    steps = data["steps"]
    assert cells[steps.index("planned")] == str(n_plan) and cells[steps.index("generated")] == str(n_cands)
    assert cells[steps.index("exported")] == str(n_export) and cells[steps.index("judged")] == "not run"
    assert dom.count('<article class="item"') == min(48, n_cands)  # paged
    assert dom.count(' alt="image for ') == dom.count('<article class="item"')  # every thumbnail has alt text

    only_edited = _dom(page, "#review=edited")
    assert 'data-count="1"' in only_edited
    assert f'data-id="{edited}"' in only_edited and new in only_edited and f"model wrote: {old}" in only_edited

    dev = _dom(page, "#split=dev")
    assert f'data-count="{ex.vqa["dev"]}"' in dev
    word = next(w for w in new.split() if len(w) > 5)
    searched = _dom(page, "#q=" + word.lower())
    hits = sum(1 for it in data["items"] if word.lower() in it["text"])
    assert f'data-count="{hits}"' in searched and 0 < hits < n_cands

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, frag, size in (("funnel", "", "1280,800"), ("gallery", "#view=gallery", "1280,800"),
                             ("gallery-phone", "#view=gallery", "390,844")):
        shot = ARTIFACTS / f"{name}-{size.replace(',', 'x')}.png"
        _browser([f"--screenshot={shot}", f"--window-size={size}"], page.as_uri() + frag)
        assert shot.stat().st_size > 10_000
    # thumbnails are written once and reused; the page never embeds originals
    again = report(built)
    assert again.thumbnails_new == 0 and again.thumbnails_reused == s.thumbnails_new > 0
    assert all(it["thumb"].startswith("thumbs/") for it in data["items"])

