"""People annotating from outside curator: the official SDK, used the way a script of a lab would.

Tests create users and annotations through ``label_studio_sdk`` directly (never through curator's
own facade), so what they check is what curator reads back from a server others wrote to.
"""

from __future__ import annotations

import os
import time
from typing import Any

from label_studio_sdk import LabelStudio

from curator.config import Project


def sdk_for(p: Project) -> LabelStudio:
    """An SDK client on the project's server with the test server's token."""
    info = p.config.label_studio
    return LabelStudio(base_url=info.url, api_key=os.environ[info.api_key_env])


def choice(name: str, value: str) -> dict[str, Any]:
    return {"from_name": name, "to_name": "image", "type": "choices", "value": {"choices": [value]}}


def text(name: str, value: str) -> dict[str, Any]:
    return {"from_name": name, "to_name": "image", "type": "textarea", "value": {"text": [value]}}


def new_user(ls: LabelStudio, stem: str = "annot") -> int:
    """A fresh annotator (unique email, so tests never collide on the shared server)."""
    email = f"{stem}-{time.time_ns()}@curator.local"
    return int(ls.users.create(username=email.split("@")[0], email=email).id)  # type: ignore[arg-type]


def annotate(ls: LabelStudio, task: int, result: list[dict[str, Any]], user: int, **fields: Any) -> None:
    ls.annotations.create(id=task, result=result, completed_by=user, **fields)


def task_ids(p: Project) -> dict[str, int]:
    """item id → Label Studio task id, from the push log."""
    import json

    out = {}
    for line in (p.data / "review" / "tasks_vqa.jsonl").read_text().splitlines():
        rec = json.loads(line)
        out[rec["ext_id"]] = int(rec["task_id"])
    return out
