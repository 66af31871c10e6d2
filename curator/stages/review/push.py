"""``curator review push``: create or reuse the Label Studio project and add only new tasks.

Idempotent across crashes: before each batch the server is asked which item ids it already holds
(the server itself does not de-duplicate), and the {item id: task id} map is appended locally
after each batch, so a push that died halfway is completed — never duplicated — by the next one.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from curator.config import Project
from curator.errors import ReviewError, StageError
from curator.progress import Reporter, reporter_or_null
from curator.records import vr_item_id
from curator.stages.review.labeling import VR_CONFIG, image_ref, instructions, vqa_config, vqa_task, vr_task
from curator.stages.review.priority import order_by_disagreement
from curator.stages.review.studio import Studio, sdk
from curator.store import Store
from curator.store.io import JsonlAppender, iter_jsonl


def load_state(project: Project) -> dict[str, Any]:
    p = Store(project).review.state
    return json.loads(p.read_text()) if p.exists() else {"projects": {}}


def save_state(project: Project, state: dict[str, Any]) -> None:
    p = Store(project).review.state
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1))
    os.replace(tmp, p)


def connect(project: Project, url: str | None = None, token: str | None = None) -> Studio:
    """A client for this project's Label Studio.

    Address: ``url``, else the server ``review serve`` started for this project while it answers,
    else ``label_studio.url``. Token: ``token``, else the environment variable the config names,
    else the credentials ``review serve`` wrote. (Setting the variable, as serve suggests, must not
    make curator look for the server somewhere else.)
    """
    from curator.secrets import register
    from curator.stages.review.server import read_credentials, running_server

    ls = project.config.label_studio
    tok = token or os.environ.get(ls.api_key_env, "")
    if not tok:
        creds = read_credentials(project)
        tok = creds["token"] if creds else ""
    if not url:
        live = running_server(project)
        url = live["url"] if live else ls.url
    register(tok)
    return Studio(url, tok)


@dataclass
class PushSummary:
    project_id: int = 0
    url: str = ""
    items: int = 0
    already_on_server: int = 0
    imported: int = 0
    batches: int = 0
    overlap: str = ""

    def rows(self) -> list[tuple[str, str]]:
        return [("Label Studio project", f"{self.url}/projects/{self.project_id}"), ("items in source", str(self.items)),
                ("already on the server", str(self.already_on_server)), ("imported now", str(self.imported)),
                ("batches", str(self.batches)), ("annotators per item", self.overlap)]


UID_TAG = "curator-project:"


def resolve_project(project: Project, client: Studio, kind: str) -> tuple[int, dict[str, Any]] | None:
    """The recorded Label Studio project of ``kind`` on this server, found by id *and* curator's uid.

    A project is identified by its id and the uid curator wrote into its description, not by the
    server's URL: the same database behind another port or host name is the same project (the
    recorded URL is updated); a server that does not hold that uid is another server, and nothing
    is created or changed there without ``--new-project``.
    """
    state = load_state(project)
    entry = state["projects"].get(kind)
    if not entry:
        return None
    found = client.get_project(entry["id"])
    uid = entry.get("uid")
    desc = str((found or {}).get("description") or "")
    same = found is not None and (f"{UID_TAG}{uid}" in desc if uid else found.get("title") == entry.get("title"))
    if not same:
        where = "no longer exists" if found is None else "is a different project"
        raise ReviewError(f"the {kind} review project recorded for this folder (id {entry['id']}, "
                          f"{entry.get('title')!r}, first pushed to {entry.get('url')}) {where} on {client.url}: this is "
                          "another Label Studio or the project was deleted. Nothing was changed; local tables and raw "
                          "exports are untouched. Point --url at the right server, or push with --new-project")
    if not uid:  # recorded before uids: adopt the project now
        uid = uuid.uuid4().hex
        client.update_project(entry["id"], description=(desc + f"\n{UID_TAG}{uid}").strip())
        entry["uid"] = uid
    if entry.get("url") != client.url:
        entry.setdefault("urls", []).append(entry.get("url"))
        entry["url"] = client.url
    state["projects"][kind] = entry
    save_state(project, state)
    return int(entry["id"]), found or {}


def _ensure_project(project: Project, client: Studio, kind: str, title: str, config: str,
                    guidelines: str, overlap: int | None) -> tuple[int, str]:
    """(project id, what happened to annotators-per-item) — created, or found by identity."""
    got = resolve_project(project, client, kind)
    if got is not None:
        pid, found = got
        current = found.get("maximum_annotations")
        if overlap is not None and current != overlap:
            client.update_project(pid, maximum_annotations=overlap)
            return pid, f"{overlap} (changed from {current})"
        return pid, f"{current} (kept; pass --overlap to change it)"
    uid = uuid.uuid4().hex
    created = client.create_project(title, config, expert_instruction=guidelines, show_instruction=True,
                                    maximum_annotations=overlap or 1, show_skip_button=True,
                                    description=f"Built with curator. {UID_TAG}{uid}")
    state = load_state(project)
    state["projects"][kind] = {"id": created["id"], "url": client.url, "title": title, "uid": uid}
    save_state(project, state)
    return int(created["id"]), f"{overlap or 1} (new project)"


def push(project: Project, *, source: str | None = None, kind: str = "vqa", overlap: int | None = None,
         batch_size: int | None = None, image_mode: str | None = None, new_project: bool = False,
         order: str = "sample",
         url: str | None = None, token: str | None = None, reporter: Reporter | None = None) -> PushSummary:
    """Push items to Label Studio for human refinement.

    Args:
        source: table to push (default: ``data/sample.parquet`` for vqa, the images table for vr).
        kind: ``vqa`` (multiple-choice items) or ``vr`` (visual rating of images).
        overlap: annotators wanted per item (Label Studio's ``maximum_annotations``); None keeps the
            project's setting (1 for a new project).
        batch_size: tasks per import call (default: ``label_studio.batch_size``).
        image_mode: ``local`` (local-file serving), ``url`` or ``inline`` (data URIs, small sets).
        new_project: forget the recorded project and create a new one.
        order: ``sample`` (the table's order) or ``disagreement``: items where the generator, judge, blind
            check and calibration panel disagree first, with the reason shown in the task (see
            :mod:`curator.stages.review.priority`); Label Studio shows tasks in import order.
    """
    sdk()  # before any work: without the review extra, say how to install it
    cfg = project.config.label_studio
    mode = image_mode or cfg.image_mode
    if overlap is not None and overlap < 1:
        from curator.errors import UsageError

        raise UsageError(f"--overlap {overlap}: must be at least 1")
    df, src = _items(project, kind, source)
    df = _ordered(project, df, kind, order)
    tax = project.load_taxonomy()
    client = connect(project, url, token)
    try:
        client.whoami()
        if new_project:
            state = load_state(project)
            state["projects"].pop(kind, None)
            save_state(project, state)
        title = cfg.project_title or f"{project.config.name} · {kind.upper()}"
        config = vqa_config() if kind == "vqa" else VR_CONFIG
        guide = instructions(tax, list(df["criterion"])) if kind == "vqa" else "Rate the image on the scale shown."
        pid, overlap_note = _ensure_project(project, client, kind, title, config, guide, overlap)
        state = load_state(project)
        state["projects"][kind]["source"] = src
        save_state(project, state)
        docroot = _document_root(project)
        if mode == "local":
            _check_local(project, df, docroot)
            root = str(project.images_root)
            if root not in client.local_storage_paths(pid):
                client.add_local_storage(pid, root)
        summary = PushSummary(project_id=pid, url=client.url, items=len(df), overlap=overlap_note)
        tasks_log = Store(project).review.tasks_log(kind)
        with JsonlAppender(tasks_log) as log:
            on_server = _on_server(client, pid, list(df["item_id"]), tasks_log, log)
            todo = df[~df["item_id"].isin(on_server)]
            summary.already_on_server = len(df) - len(todo)

            def task(r: dict[str, Any]) -> dict[str, Any]:
                path = project.images_root / r["image_path"]
                rel = path.resolve().relative_to(docroot).as_posix() if mode == "local" else r["image_path"]
                ref = image_ref(path, rel, mode, cfg.image_url_base)
                return vqa_task(r, tax, ref) if kind == "vqa" else vr_task(r, ref, "Rate the quality/aesthetics of "
                                                                                   "this image")

            _import(client, pid, todo.to_dict("records"), task, batch_size or cfg.batch_size, log, summary,
                    reporter_or_null(reporter))
    finally:
        client.close()
    return summary


def _ordered(project: Project, df: pd.DataFrame, kind: str, order: str) -> pd.DataFrame:
    """The rows in push order: as they are, or flagged disagreements first (``--order disagreement``)."""
    if order not in ("sample", "disagreement"):
        from curator.errors import UsageError

        raise UsageError(f"--order {order!r}: sample or disagreement")
    if order == "sample" or kind != "vqa":
        return df
    store = Store(project)
    difficulty = store.difficulty.read() if store.difficulty.exists() else None
    return order_by_disagreement(df, difficulty, {ep.model for ep in project.config.models.panel if ep.text_only})


def _items(project: Project, kind: str, source: str | None) -> tuple[pd.DataFrame, str]:
    """The rows to push and where they came from (recorded, so pull merges against the same table)."""
    if kind == "vqa":
        src = (Path(source) if source else Store(project).sample.path).resolve()
        if not src.exists():
            raise StageError(f"{src} does not exist; run `curator sample` (or pass --source TABLE)")
        df = pd.read_parquet(src) if src.suffix == ".parquet" else pd.DataFrame(list(iter_jsonl(src)))
        return (df[df["keep"]] if "keep" in df.columns else df), str(src)
    if kind == "vr":
        df = Store(project).load_images().rename(columns={"file": "image_path", "path": "source_path"})
        df["item_id"] = [vr_item_id(d, i) for d, i in zip(df["source"].fillna(""), df["image_id"], strict=True)]
        return df, "images"
    raise StageError(f"unknown kind {kind!r}: vqa or vr")


def _on_server(client: Studio, pid: int, ids: list[str], tasks_log: Path, log: JsonlAppender) -> dict[str, int]:
    """Which items already have a task: from the local log when it accounts for every task on the
    server, else from the server itself (a push that died between import and log, or someone else
    changed the project); tasks the log missed are recorded now."""
    known = {r["ext_id"]: r["task_id"] for r in iter_jsonl(tasks_log) if r.get("project") == pid}
    server_n = int((client.get_project(pid) or {}).get("task_number") or 0)
    if server_n == len(known):
        wanted = set(ids)
        return {k: v for k, v in known.items() if k in wanted}
    on_server = client.existing_ext_ids(pid, ids)
    for ext, tid in on_server.items():
        if ext not in known:
            log.write({"project": pid, "ext_id": ext, "task_id": tid})
    return on_server


def _import(client: Studio, pid: int, rows: list[dict[str, Any]], task: Any, size: int, log: JsonlAppender,
            summary: PushSummary, rep: Reporter) -> None:
    """Import in batches, recording {item id: task id} after each, so a rerun never pushes twice."""
    rep.start("push", len(rows))
    for i in range(0, len(rows), size):
        batch = rows[i:i + size]
        try:
            task_ids = client.import_tasks(pid, [task(r) for r in batch])
        except ReviewError as exc:
            raise ReviewError(f"{exc}\n{summary.already_on_server + summary.imported} of {summary.items} items are on "
                              f"the server and recorded in {log.path}; rerun `curator review push` to add the "
                              "rest (nothing is pushed twice)") from exc
        for r, tid in zip(batch, task_ids, strict=False):
            log.write({"project": pid, "ext_id": r["item_id"], "task_id": tid})
        summary.imported += len(batch)
        summary.batches += 1
        rep.advance(len(batch))
    rep.finish()


def _document_root(project: Project) -> Path:
    """The running server's document root (as ``review serve`` recorded it), else the default rule."""
    from curator.stages.review.server import document_root, recorded_server

    recorded = (recorded_server(project) or {}).get("document_root")
    if not project.config.label_studio.document_root and recorded:
        return Path(recorded)
    return document_root(project)


def _check_local(project: Project, df: pd.DataFrame, docroot: Path) -> None:
    """Local-file serving needs the images folder strictly inside the document root, and every image in it."""
    images = project.images_root
    if docroot not in images.parents:
        raise ReviewError(f"local image mode: the images folder {images} must lie strictly inside Label Studio's "
                          f"document root {docroot} (Label Studio refuses a storage equal to its root); set "
                          "label_studio.document_root to a parent folder, or use --image-mode inline")
    outside = [f for f in df["image_path"].astype(str) if images not in (images / f).resolve().parents]
    if outside:
        raise ReviewError(f"local image mode: {len(outside)} image(s) lie outside the images folder {images}, e.g. "
                          f"{outside[0]}; Label Studio cannot serve them — push with --image-mode inline")
