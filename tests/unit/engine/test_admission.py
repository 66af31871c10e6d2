"""Admission really limits: requests and tokens per minute, counted at the server."""

from __future__ import annotations

from pathlib import Path

from conftest import FakeOpenAI
from engine_helpers import endpoint, requests, run


def _max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] < t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


def test_rpm_limits_what_reaches_the_server(fake: FakeOpenAI, tmp_path: Path) -> None:
    # 1,200 rpm = 20/s with a 10-second burst (200): 260 requests must spread over >= 3 s after the burst
    _eng, res, err = run(endpoint(fake.base_url, concurrency=32, rpm=1200), requests(260), tmp_path)
    assert err is None and all(r.ok for r in res)
    times = [r["t"] for r in fake.log()["requests"]]
    assert len(times) == 260
    assert max(times) - min(times) >= (260 - 200) / 20 * 0.9
    # after the burst is spent, no second sees more than the rate (plus one for rounding)
    late = [t for t in times if t > min(times) + 1.0]
    assert _max_in_window(late, 1.0) <= 21


def test_tpm_limits_tokens(fake: FakeOpenAI, tmp_path: Path) -> None:
    # each request is estimated at ~10 prompt + 100 max tokens = ~111: 66,600 tpm = 1,110/s, burst 11,100
    reqs = requests(150, max_tokens=100)
    _eng, res, err = run(endpoint(fake.base_url, concurrency=32, tpm=66_600), reqs, tmp_path)
    assert err is None and all(r.ok for r in res)
    times = sorted(r["t"] for r in fake.log()["requests"])
    # 150 x 111 = 16,650 tokens: 11,100 at once, the rest at 1,110/s -> at least ~5 s
    assert times[-1] - times[0] >= 4.5
