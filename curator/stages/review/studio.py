"""The review stage's one door to Label Studio: the official ``label-studio-sdk`` behind a small facade.

Why a facade at all: push, pull and status need eight calls, each with the same failure story: a
refused token, a dead server or a 4xx must become one :class:`ReviewError` that says what happened
and where, never an ``httpx`` traceback. The SDK (installed with ``pip install
"curator-bench[review]"``) is imported here only, on first use, so the rest of curator and
``curator --help`` do not pay its ~0.7 s import or its 250 MB install.

Two things the SDK does not do the way curator needs, done with the SDK's own HTTP client
(``_client_wrapper.httpx_client``), not a second one:

* import: the SDK runs every task dict through its pydantic request models first, which costs more
  than the server's own import; curator's tasks are plain JSON already, so they are posted as such.
* export download: streamed to a gzip file chunk by chunk (:meth:`Studio.export_to`), so a
  project with inline images never sits in memory.

Tokens: the SDK sends a legacy token as ``Token …`` and exchanges a personal access token (a JWT
refresh token) for short-lived access tokens itself. Tokens are never logged.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from curator.errors import ReviewError

INSTALL_HINT = 'pip install "curator-bench[review]"'
_LONG = {"timeout_in_seconds": 600, "max_retries": 0}


def sdk() -> Any:
    """The ``label_studio_sdk`` module, or a :class:`ReviewError` saying how to install it."""
    try:
        import label_studio_sdk
    except ImportError as exc:
        raise ReviewError(f"the review commands talk to Label Studio through label-studio-sdk, which is not "
                          f"installed: {INSTALL_HINT} (or `pip install label-studio-sdk`)") from exc
    return label_studio_sdk


def _api_error() -> Any:
    sdk()
    from label_studio_sdk.core.api_error import ApiError

    return ApiError


def _detail(body: Any) -> str:
    if isinstance(body, dict):
        msg = str(body.get("detail") or body)
        if body.get("validation_errors"):
            msg += f" {body['validation_errors']}"
        return msg[:500]
    text = str(body or "").strip()
    return "(an HTML error page)" if text.startswith("<") else text[:300]


class Studio:
    """One Label Studio server, reached through ``label_studio_sdk.LabelStudio``."""

    def __init__(self, url: str, token: str, *, timeout: float = 120.0) -> None:
        if not token:
            raise ReviewError("no Label Studio token: set LABEL_STUDIO_API_KEY (Account & Settings → Personal Access "
                              "Token), or run `curator review serve`, which creates one for its own server")
        self.url = url.rstrip("/")
        mod = sdk()
        with self._calls("connect"):  # a JWT token is exchanged here, so a dead server fails here
            # typed as Any: the SDK's request types are generated TypedDicts that plain dicts satisfy at run time
            self.ls: Any = mod.LabelStudio(base_url=self.url, api_key=token, timeout=timeout)
        self._http = self.ls._client_wrapper.httpx_client

    def close(self) -> None:
        """Release the connection pool."""
        self._http.httpx_client.close()

    @contextmanager
    def _calls(self, what: str) -> Iterator[None]:
        """Turn the SDK's and httpx's exceptions into one ReviewError naming the call and the server."""
        import httpx

        api_error = _api_error()
        try:
            yield
        except api_error as exc:
            if exc.status_code == 401:
                raise ReviewError(f"Label Studio at {self.url} refused the token (401: {_detail(exc.body)}); set "
                                  "LABEL_STUDIO_API_KEY to a valid personal access token or legacy token") from None
            if exc.status_code is None:
                raise ReviewError(f"Label Studio client: {_detail(exc.body)}") from None
            raise ReviewError(f"Label Studio {what} failed with {exc.status_code}: {_detail(exc.body)}") from None
        except httpx.TimeoutException:
            raise ReviewError(f"Label Studio at {self.url} did not answer in time during {what}") from None
        except httpx.TransportError as exc:
            raise ReviewError(f"cannot reach Label Studio at {self.url} during {what} ({exc}); start it with "
                              "`curator review serve` or fix label_studio.url in curator.yaml") from None

    # ------------------------------------------------------------------------------------ projects
    def whoami(self) -> str:
        with self._calls("whoami"):
            return str(self.ls.users.whoami().email)

    def create_project(self, title: str, label_config: str, **fields: Any) -> dict[str, Any]:
        try:
            with self._calls(f"creating project {title!r}"):
                return self.ls.projects.create(title=title, label_config=label_config, **fields).dict()
        except ReviewError as exc:
            if " 400: " in str(exc):
                raise ReviewError(f"Label Studio rejected the labeling config for {title!r}: {exc}") from None
            raise

    def get_project(self, pid: int) -> dict[str, Any] | None:
        """The project as a dict, or None when this server has no project ``pid``."""
        api_error = _api_error()
        with self._calls(f"reading project {pid}"):
            try:
                return self.ls.projects.get(id=pid).dict()
            except api_error as exc:
                if exc.status_code == 404:
                    return None
                raise

    def update_project(self, pid: int, **fields: Any) -> None:
        with self._calls(f"updating project {pid}"):
            self.ls.projects.update(id=pid, **fields)

    def add_local_storage(self, pid: int, path: str, title: str = "curator images") -> None:
        with self._calls(f"adding local storage {path}"):
            self.ls.import_storage.local.create(project=pid, path=path, title=title, use_blob_urls=True,
                                                regex_filter="")

    def local_storage_paths(self, pid: int) -> list[str]:
        with self._calls("listing local storages"):
            return [str(s.path) for s in self.ls.import_storage.local.list(project=pid)]

    # --------------------------------------------------------------------------------------- tasks
    def import_tasks(self, pid: int, tasks: list[dict[str, Any]]) -> list[int]:
        """Import plain task dicts; the new task ids in request order."""
        with self._calls(f"importing {len(tasks)} tasks into project {pid}"):
            r = self._http.request(f"api/projects/{pid}/import", method="POST", params={"return_task_ids": True},
                                   content=json.dumps(tasks).encode(), headers={"Content-Type": "application/json"},
                                   request_options=_LONG)
            if r.status_code >= 400:
                raise _api_error()(status_code=r.status_code, headers=dict(r.headers),
                                                    body=_body(r))
            return list(r.json().get("task_ids") or [])

    def iter_tasks(self, pid: int, *, page_size: int = 1000, **params: Any) -> Iterator[dict[str, Any]]:
        """Every task of a project as a dict, page by page (the SDK's pager)."""
        with self._calls(f"listing tasks of project {pid}"):
            for t in self.ls.tasks.list(project=pid, page_size=page_size, **params):
                yield t.dict()

    def existing_ext_ids(self, pid: int, ext_ids: list[str]) -> dict[str, int]:
        """Which of ``ext_ids`` already have a task (the server does not de-duplicate)."""
        found: dict[str, int] = {}
        for i in range(0, len(ext_ids), 200):  # the filter travels in the URL: keep it short
            query = json.dumps({"filters": {"conjunction": "and", "items": [
                {"filter": "filter:tasks:data.ext_id", "operator": "in_list", "type": "String",
                 "value": ext_ids[i:i + 200]}]}})
            for t in self.iter_tasks(pid, fields="task_only", include="id,data", query=query):
                ext = (t.get("data") or {}).get("ext_id")
                if ext is not None:
                    found.setdefault(ext, int(t["id"]))
        return found

    # -------------------------------------------------------------------------------------- export
    def export_to(self, pid: int, title: str, dest: Path) -> Path:
        """Snapshot-export every task with all annotations and stream it, gzip-compressed, to ``dest``.

        Ground-truth and skipped annotations are asked for explicitly (the server leaves them out by
        default). The file appears only when complete (written to ``dest.part``, then renamed).
        """
        exports = self.ls.projects.exports
        with self._calls(f"exporting project {pid}"):
            snap = exports.create(id=pid, title=title, task_filter_options={"only_with_annotations": False},
                                  annotation_filter_options={"usual": True, "ground_truth": True, "skipped": True},
                                  serialization_options={"predictions": {"only_id": False},
                                                         "annotations__completed_by": {"only_id": False}},
                                  request_options=_LONG)
            deadline = time.monotonic() + 600
            while snap.status not in ("completed", "failed") and time.monotonic() < deadline:
                time.sleep(1)
                snap = exports.get(id=pid, export_pk=snap.id)
            if snap.status != "completed":
                raise ReviewError(f"Label Studio export {snap.id} of project {pid} ended as {snap.status!r}")
            part = dest.with_name(dest.name + ".part")
            with gzip.open(part, "wb", compresslevel=3) as out:
                for chunk in exports.download(id=pid, export_pk=snap.id, export_type="JSON",
                                              request_options={**_LONG, "chunk_size": 1 << 20}):
                    out.write(chunk)
            part.replace(dest)
        return dest


def _body(r: Any) -> Any:
    try:
        return r.json()
    except ValueError:
        return r.text


def read_export(path: Path) -> Iterator[dict[str, Any]]:
    """The tasks of a (gzip) JSON export one at a time, slimmed to what the merge reads.

    Parsed incrementally (``ijson``), so only one task is in memory at a time; each keeps its id,
    ``data.ext_id`` and annotations (without the embedded prediction), never the task data, whose
    inline images can be megabytes per task.
    """
    try:
        import ijson
    except ImportError as exc:
        raise ReviewError(f"reading Label Studio exports needs ijson: {INSTALL_HINT}") from exc
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        try:
            for task in ijson.items(f, "item", use_float=True):
                data = task.get("data") or {}
                anns = []
                for a in task.get("annotations") or []:
                    a.pop("prediction", None)
                    anns.append(a)
                yield {"id": task.get("id"), "data": {"ext_id": data.get("ext_id")}, "annotations": anns}
        except (ijson.JSONError, OSError, EOFError) as exc:
            why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ReviewError(f"the Label Studio export {path} is not valid JSON ({why}); it is kept as received") from exc
