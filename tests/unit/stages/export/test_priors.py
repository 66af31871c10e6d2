"""Text-only priors: each guesser computed exactly, and the flag raised only for a real prior."""

from __future__ import annotations

import pandas as pd

from curator.stages.export.priors import text_only_baselines


def _items(rows: list[tuple[list[str], str]], template: str = "what", split: str = "test") -> pd.DataFrame:
    return pd.DataFrame({"options": [o for o, _ in rows], "answer": [a for _, a in rows],
                         "template": template, "split": split})


def test_each_guesser_by_hand() -> None:
    rows = [(["blur", "noise", "banding (strong)", "jpeg"], "C"), (["noise", "blur", "jpeg", "pixels"], "A"),
            (["jpeg", "noise", "x", "y"], "B"), (["a", "b", "c", "d"], "D")]
    b = text_only_baselines(_items(rows))["splits"]["test"]["what"]
    assert b["random"] == 25.0
    # majority correct text is "noise" (2 of 4): right on items 2 and 3, absent on item 4 (1/4), wrong on item 1
    assert b["majority_text"] == "noise" and b["majority_answer"] == 100 * (0 + 1 + 1 + 0.25) / 4
    # longest option: item 1 "banding (strong)" right; item 2 "pixels" wrong; item 3 "noise" right; item 4 tie of 4
    assert b["longest_option"] == 100 * (1 + 0 + 1 + 0.25) / 4
    assert b["position"] == 25.0  # every letter once


def test_a_real_prior_is_flagged_and_luck_on_a_small_split_is_not() -> None:
    yes_no = _items([(["Yes", "No"], "A")] * 70 + [(["Yes", "No"], "B")] * 30, template="yes_no")
    r = text_only_baselines(yes_no)
    assert r["flagged"] == ["test/yes_no"] and r["splits"]["test"]["yes_no"]["position"] == 70.0
    small = _items([(["Yes", "No"], "A")] * 6 + [(["Yes", "No"], "B")] * 4, template="yes_no", split="dev")
    r = text_only_baselines(small)
    assert r["flagged"] == [] and r["above_margin"] == ["dev/yes_no"]
    balanced = _items([(["Yes", "No"], "A")] * 50 + [(["Yes", "No"], "B")] * 50, template="yes_no")
    assert text_only_baselines(balanced)["splits"]["test"]["yes_no"]["excess"] == 0.0
