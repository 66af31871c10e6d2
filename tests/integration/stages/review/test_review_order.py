"""`review push --order disagreement` against a real Label Studio: flagged items first, with the reason."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from annotators import annotate, choice, sdk_for, task_ids
from conftest import use_label_studio

from curator.config import Project
from curator.stages.checks import check
from curator.stages.generate import generate
from curator.stages.ingest import synth
from curator.stages.plan import plan
from curator.stages.review.push import push
from curator.stages.review.status import status
from curator.stages.sample import sample
from curator.store import Store

pytestmark = pytest.mark.labelstudio


def test_disagreement_order_puts_every_flagged_item_first(project: Project, label_studio: Project) -> None:
    synth(project, max_references=1, distortions=["gaussian_blur", "jpeg"], seed=5, workers=2)
    plan(project, criteria=["iqa/severity/*", "iqa/type/*"], per_cell=3, backend="synthetic", estimate_role=None)
    generate(project, backend="synthetic")
    check(project, per_image_cap=None)
    sample(project, n=3)
    p = use_label_studio(project, label_studio)
    store = Store(p)
    items = store.sample.read()
    ids = list(items["item_id"])
    assert len(ids) >= 8
    # signals: a suspect key, a split panel, a low judge score; everything else unremarkable
    store.difficulty.write(pd.DataFrame([
        {"item_id": i, "panel_k": 4, "panel_right": {ids[-1]: 0.0, ids[-2]: 0.5}.get(i, 1.0),
         "difficulty": {ids[-1]: "tough", ids[-2]: "moderate"}.get(i, "easy"), "right_models": [],
         "possibly_wrong_truth": i == ids[-1]} for i in ids]))
    items.loc[items["item_id"] == ids[-3], "judge_mean"] = 2.5
    store.sample.write(items)
    push(p, order="disagreement", image_mode="inline")
    ls = sdk_for(p)
    pid = int(json.loads((p.data / "review" / "state.json").read_text())["projects"]["vqa"]["id"])
    tasks = sorted(ls.tasks.list(project=pid, fields="task_only", include="id,data"), key=lambda t: t.id)
    shown = [(t.data["ext_id"], t.data["priority"], t.data["review_note"]) for t in tasks]  # Label Studio's order
    assert [e for e, _, _ in shown[:3]] == [ids[-1], ids[-2], ids[-3]]  # 8 (key), 2 × 1 (split), 4 − 2.5 (judge)
    flagged = [pr > 0 for _, pr, _ in shown]
    assert flagged == sorted(flagged, reverse=True)  # every flagged item before every unflagged one
    assert "check the key" in shown[0][2] and "split" in shown[1][2] and "judge scored it 2.5" in shown[2][2]
    assert all(note == "" for _, pr, note in shown if pr == 0)
    tids = task_ids(p)
    me = int(ls.users.whoami().id)  # type: ignore[arg-type]
    for ext in (ids[-1], ids[-2]):
        annotate(ls, tids[ext], [choice("verdict", "accept")], me)
    st = status(p)
    assert (st.flagged, st.flagged_done, st.priority_prefix, st.tasks) == (3, 2, 2, len(ids))
