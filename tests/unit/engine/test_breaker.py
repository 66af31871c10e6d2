"""The breaker stops a run that can only fail — and only such a run."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from conftest import FakeOpenAI
from engine_helpers import endpoint, requests, run

from curator.errors import CircuitOpen


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_connection_refused_opens_after_few_attempts(tmp_path: Path) -> None:
    ep = endpoint(f"http://127.0.0.1:{_closed_port()}/v1", concurrency=8, breaker_threshold=20, breaker_seconds=1)
    eng, _res, err = run(ep, requests(500), tmp_path)
    assert isinstance(err, CircuitOpen) and "connection_error" in str(err)
    # it stopped taking work: far fewer attempts than 500 items x 7 attempts, and the rest were never started
    assert eng.stats.network_requests < 200 and eng.stats.not_started > 400


def test_wrong_key_opens_at_once(fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_KEY", "sk-wrong")
    eng, res, err = run(endpoint(fake.base_url, concurrency=2), requests(50), tmp_path)
    assert isinstance(err, CircuitOpen) and "fatal_401" in str(err)
    assert eng.stats.network_requests <= 2 and all(r.transient for r in res)  # the items stay to do


def test_an_endpoint_that_hangs_opens_after_consecutive_timeouts(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.rules([{"match": "", "delay": 30}])
    ep = endpoint(fake.base_url, concurrency=2, timeout=0.5, breaker_timeouts=3, max_retries=6)
    eng, _res, err = run(ep, requests(100), tmp_path)
    assert isinstance(err, CircuitOpen) and "consecutive timeouts" in str(err)
    assert eng.stats.network_requests <= 4


def test_scattered_hangs_are_cut_short_by_the_adaptive_timeout(fake: FakeOpenAI, tmp_path: Path) -> None:
    # 4 of 200 requests hang for 60 s; the configured timeout is 120 s. The adaptive timeout abandons and
    # retries them; without it they would simply be waited for (no retry at all).
    fake.rules([{"match": f"(item {i})", "times": 1, "delay": 60} for i in (40, 80, 120, 160)])
    eng, res, err = run(endpoint(fake.base_url, concurrency=16, min_timeout=0.5), requests(200), tmp_path)
    assert err is None and all(r.ok for r in res)
    assert eng.stats.retries == 4 and all(res[i].attempts == 2 for i in (40, 80, 120, 160))


def test_failures_among_successes_never_open_it(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.rules([{"match": f"(item {i})", "status": 500} for i in range(0, 300, 3)])
    ep = endpoint(fake.base_url, concurrency=4, max_retries=0, breaker_threshold=5, breaker_seconds=0)
    _eng, res, err = run(ep, requests(300), tmp_path)
    assert err is None and sum(not r.ok for r in res) == 100 and all(r.transient for r in res if not r.ok)
