"""The money cap is hard: reserved before sending, settled on every paid reply, never passed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import FakeOpenAI
from engine_helpers import endpoint, requests, run

from curator.config import Price, Project
from curator.engine.budget import Budget
from curator.errors import BudgetExceeded, ConfigError

PRICE = Price(input=10.0, output=30.0)  # $ per million tokens


def test_cut_short_replies_are_billed_and_the_cap_holds(fake: FakeOpenAI, tmp_path: Path) -> None:
    # every reply is cut short (finish_reason=length) and claims 800 output tokens: billed, unusable
    fake.rules([{"match": "", "finish_reason": "length", "usage": {"prompt_tokens": 50, "completion_tokens": 800}}])
    eng, res, err = run(endpoint(fake.base_url, concurrency=8), requests(400, max_tokens=800), tmp_path,
                        max_cost=0.25, price=PRICE)
    assert isinstance(err, BudgetExceeded)
    paid = len(fake.log()["answered"])
    assert paid > 0 and all(r.error == "truncated" for r in res)
    billed = paid * (50 * 10 + 800 * 30) / 1e6
    assert eng.budget.spent == pytest.approx(billed) and eng.stats.cost == pytest.approx(billed)
    assert eng.budget.spent <= 0.25  # never passed, with 8 requests in flight at any time


def test_zero_cap_sends_nothing(fake: FakeOpenAI, tmp_path: Path) -> None:
    eng, _res, err = run(endpoint(fake.base_url), requests(5), tmp_path, max_cost=0.0)
    assert isinstance(err, BudgetExceeded) and fake.log()["received"] == 0 and eng.stats.not_started == 5


def test_cached_replies_cost_nothing_under_a_zero_cap(fake: FakeOpenAI, tmp_path: Path) -> None:
    run(endpoint(fake.base_url), requests(3), tmp_path, price=PRICE)
    fake.reset()
    _eng, res, err = run(endpoint(fake.base_url), requests(3), tmp_path, max_cost=0.0, price=PRICE)
    assert err is None and all(r.ok and r.from_cache for r in res) and fake.log()["received"] == 0


@pytest.mark.parametrize("usage", [{"prompt_tokens": -5, "completion_tokens": 3},
                                   {"prompt_tokens": "lots", "completion_tokens": 3}])
def test_bad_usage_is_a_malformed_reply_charged_at_the_worst_case(fake: FakeOpenAI, tmp_path: Path,
                                                                    usage: dict) -> None:
    fake.rules([{"match": "", "usage": usage}])
    eng, res, _err = run(endpoint(fake.base_url), requests(2), tmp_path, price=PRICE)
    assert all(r.error == "malformed_usage" for r in res)
    assert eng.budget.spent > 0  # never a negative or zero cost for a reply the provider billed


def test_reservation_arithmetic() -> None:
    b = Budget(1.0, PRICE)
    r1 = b.reserve(est_in=1000, max_tokens=10_000)  # 1,500 in (x1.5) + 10,000 out = 0.015 + 0.3
    assert r1 is not None and b.reserved == pytest.approx(0.315, abs=1e-4)
    assert b.reserve(1000, 10_000) is not None and b.reserve(1000, 10_000) is not None
    assert b.reserve(1000, 10_000) is None  # 4 x 0.315 > 1.0
    b.settle(r1, 0.01, tokens_in=900)
    assert b.spent == pytest.approx(0.01) and b.reserve(1000, 10_000) is not None


def test_a_negative_cap_is_a_config_error(project: Project) -> None:
    y = project.root / "curator.yaml"
    cfg = yaml.safe_load(y.read_text())
    cfg["max_cost"] = -1
    y.write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError, match="max_cost"):
        Project.load(project.root)
