"""Backoff and Retry-After: both header forms, a cap, and a pause for every worker of the endpoint."""

from __future__ import annotations

import time
from email.utils import formatdate
from pathlib import Path

import pytest
from conftest import FakeOpenAI
from engine_helpers import endpoint, requests, run

from curator.engine.retry import parse_retry_after


def test_parse_both_forms() -> None:
    now = time.time()
    assert parse_retry_after("3") == 3.0 and parse_retry_after("0.5") == 0.5
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30, abs=1.5)
    assert parse_retry_after(formatdate(now - 30, usegmt=True), now=now) == 0.0  # in the past: go now
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None and parse_retry_after("") is None


def test_a_429_pauses_every_worker_for_retry_after(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.rules([{"match": "(item 0)", "times": 1, "status": 429, "retry_after": 1.5}])
    eng, res, err = run(endpoint(fake.base_url, concurrency=4), requests(40), tmp_path)
    assert err is None and all(r.ok for r in res) and eng.stats.retries == 1
    reqs = fake.log()["requests"]
    t429 = next(r["t"] for r in reqs if r["status"] == 429)
    # requests already on the wire when the 429 was sent arrive within milliseconds; after that nothing is
    # sent by any worker until the Retry-After has passed (rpm is not even set)
    after = sorted(r["t"] for r in reqs if r["t"] > t429 + 0.1)
    assert after and after[0] - t429 >= 1.4
    assert sum(1 for r in reqs if r["t"] < t429) < 40  # the pause held back real work


def test_http_date_retry_after_is_honoured(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.rules([{"match": "(item 0)", "times": 1, "status": 429, "retry_after": formatdate(time.time() + 2,
                                                                                          usegmt=True)}])
    _eng, res, err = run(endpoint(fake.base_url, concurrency=2), requests(4), tmp_path)
    assert err is None and all(r.ok for r in res)
    reqs = fake.log()["requests"]
    t429 = next(r["t"] for r in reqs if r["status"] == 429)
    assert min(r["t"] for r in reqs if r["t"] > t429 + 0.1) - t429 >= 0.9


def test_retry_after_is_capped(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.rules([{"match": "(item 0)", "times": 1, "status": 429, "retry_after": 3600}])
    _eng, res, err = run(endpoint(fake.base_url, concurrency=2, retry_after_cap=0.5), requests(4), tmp_path)
    assert err is None and all(r.ok for r in res)  # an hour would have parked the run; the cap let it go on
    reqs = fake.log()["requests"]
    t429 = next(r["t"] for r in reqs if r["status"] == 429)
    assert max(r["t"] for r in reqs) - t429 < 60


def test_server_errors_back_off_and_succeed(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.rules([{"match": "(item 3)", "times": 3, "status": 503}])
    eng, res, err = run(endpoint(fake.base_url, concurrency=2, max_retries=3), requests(6), tmp_path)
    assert err is None and all(r.ok for r in res) and res[3].attempts == 4 and eng.stats.retries == 3
