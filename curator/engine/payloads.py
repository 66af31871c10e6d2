"""Image payloads for requests: built in a worker thread, shared, bounded by bytes.

Decoding and base64-encoding a 12-MP BMP takes over a second; done on the event loop it would stall
every other request, so it runs in a thread. A payload is built once per (image, policy) even when
several requests want it at the same moment, and kept in an LRU bounded by total bytes (one large
image must not pin hundreds of megabytes as a count-bounded cache would).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from pathlib import Path
from typing import Any

from curator.config import ImagePolicy
from curator.images import make_payload


class PayloadCache:
    def __init__(self, policy: ImagePolicy) -> None:
        self.policy = policy
        self._done: OrderedDict[str, str] = OrderedDict()
        self._bytes = 0
        self._building: dict[str, asyncio.Future[str]] = {}

    @staticmethod
    def policy_name(part: dict[str, Any], policy: ImagePolicy) -> str:
        return f"max{policy.max_side_iaa}" if part.get("domain") == "iaa" else "original"

    def _build(self, part: dict[str, Any]) -> str:
        return make_payload(Path(part["path"]), domain=part.get("domain", ""), max_side=self.policy.max_side_iaa,
                            max_bytes=self.policy.max_bytes).data_uri()

    async def data_uri(self, part: dict[str, Any]) -> str:
        """The data URI for an ``image_ref`` part; raises :class:`curator.images.PayloadError`."""
        k = f"{part['image_id']}:{self.policy_name(part, self.policy)}"
        uri = self._done.get(k)
        if uri is not None:
            self._done.move_to_end(k)
            return uri
        pending = self._building.get(k)
        if pending is not None:
            return await asyncio.shield(pending)
        fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._building[k] = fut
        try:
            uri = await asyncio.to_thread(self._build, part)
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # retrieved: waiters re-raise it, nobody logs "never retrieved"
            raise
        finally:
            self._building.pop(k, None)
        fut.set_result(uri)
        self._keep(k, uri)
        return uri

    def _keep(self, k: str, uri: str) -> None:
        if len(uri) > self.policy.cache_bytes:
            return
        self._done[k] = uri
        self._bytes += len(uri)
        while self._bytes > self.policy.cache_bytes:
            _, old = self._done.popitem(last=False)
            self._bytes -= len(old)
