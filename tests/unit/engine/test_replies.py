"""Odd reply bodies and bad items are per-item failures with a reason; the run goes on."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FakeOpenAI
from engine_helpers import endpoint, requests, run

from curator.engine.client import Request

ODD = {
    "(item 1)": {"choices": [None]},
    "(item 2)": {"choices": {"0": {"message": {"content": "A"}}}},
    "(item 3)": {"choices": [{"message": {"content": 42}, "finish_reason": "stop"}]},
    "(item 4)": {"choices": [{"message": {"content": [{"type": "text", "text": "B"}]}, "finish_reason": "stop"}]},
    "(item 5)": ["not", "an", "object"],
}


def test_odd_bodies_become_per_item_outcomes(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.rules([{"match": k, "body": v} for k, v in ODD.items()])
    _eng, res, err = run(endpoint(fake.base_url, concurrency=4, max_retries=1), requests(8), tmp_path)
    assert err is None
    assert [r.error for r in res[1:4]] == ["malformed_reply"] * 3
    assert res[4].ok and res[4].content == "B"  # content as a list of text parts is ordinary
    assert res[5].error == "malformed_http_body" and res[5].transient
    assert all(r.ok for r in (res[0], res[6], res[7]))


def test_a_missing_image_fails_its_item_only(fake: FakeOpenAI, tmp_path: Path) -> None:
    reqs = requests(4)
    reqs[2] = Request(messages=[{"role": "user", "content": [
        {"type": "text", "text": "Only reply with the letter (item 2)"},
        {"type": "image_ref", "path": str(tmp_path / "gone.jpg"), "image_id": "x" * 64, "domain": "iqa"}]}])
    _eng, res, err = run(endpoint(fake.base_url), reqs, tmp_path)
    assert err is None and res[2].error == "image_unreadable" and "gone.jpg" in res[2].detail
    assert [r.ok for r in res] == [True, True, False, True] and fake.log()["received"] == 3


def test_an_oversized_iqa_jpeg_is_refused_not_reencoded(fake: FakeOpenAI, tmp_path: Path) -> None:
    from conftest import photo, save

    from curator.images import PayloadError, make_payload

    big = save(photo(3, size=(800, 600)), tmp_path / "big.jpg", quality=95)
    with pytest.raises(PayloadError, match="never re-encoded lossily"):
        make_payload(big, domain="iqa", max_bytes=big.stat().st_size - 1)
    assert make_payload(big, domain="iaa", max_bytes=big.stat().st_size - 1, max_side=256).transformed == "downscaled"
    bmp = save(photo(3, size=(200, 100)), tmp_path / "x.bmp", "BMP")
    assert make_payload(bmp, domain="iqa").transformed == "lossless_png"
    with pytest.raises(PayloadError, match="lossless PNG"):
        make_payload(bmp, domain="iqa", max_bytes=1000)


def test_payload_cache_is_bounded_by_bytes(tmp_path: Path) -> None:
    import asyncio

    from conftest import photo, save

    from curator.config import ImagePolicy
    from curator.engine.payloads import PayloadCache

    files = [save(photo(i, size=(300, 200)), tmp_path / f"{i}.png", "PNG") for i in range(6)]
    size = len(__import__("base64").b64encode(files[0].read_bytes())) + 30
    cache = PayloadCache(ImagePolicy(cache_bytes=size * 2))

    async def main() -> None:
        for i, f in enumerate(files):
            await cache.data_uri({"path": str(f), "image_id": str(i), "domain": "iqa"})

    asyncio.run(main())
    assert cache._bytes <= size * 2 and len(cache._done) <= 2
