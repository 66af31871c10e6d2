"""A thin Label Studio REST client (httpx) that turns every failure into a :class:`ReviewError`.

Why not ``label-studio-sdk``: it is 509 MB with opencv, numpy and nltk, takes ~2 s to import, and
every endpoint curator needs is plain JSON (verified against Label Studio 1.23). Tokens: a legacy
token is sent as ``Token …``; a personal access token (a JWT refresh token) is exchanged at
``/api/token/refresh/`` for a short-lived access token, renewed on 401. Tokens are never logged.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx

from curator.errors import ReviewError


def _is_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")


class LabelStudio:
    """Calls one Label Studio server."""

    def __init__(self, url: str, token: str, *, timeout: float = 120.0) -> None:
        if not token:
            raise ReviewError("no Label Studio token: set LABEL_STUDIO_API_KEY (Account & Settings → Personal Access "
                              "Token), or run `curator review serve`, which creates one for its own server")
        self.url = url.rstrip("/")
        self._token = token
        self._http = httpx.Client(base_url=self.url, timeout=timeout)
        self._access: str | None = None

    def close(self) -> None:
        self._http.close()

    def _auth(self, refresh: bool = False) -> dict[str, str]:
        if not _is_jwt(self._token):
            return {"Authorization": f"Token {self._token}"}
        if self._access is None or refresh:
            r = self._send("POST", "/api/token/refresh/", json_body={"refresh": self._token}, auth=False)
            self._access = r.json()["access"]
        return {"Authorization": f"Bearer {self._access}"}

    def _send(self, method: str, path: str, *, params: Any = None, json_body: Any = None, auth: bool = True,
              timeout: float | None = None) -> httpx.Response:
        for attempt in (0, 1):
            headers = self._auth(refresh=attempt == 1) if auth else {}
            try:
                r = self._http.request(method, path, params=params, json=json_body, headers=headers,
                                       timeout=timeout or self._http.timeout)
            except httpx.ConnectError as exc:
                raise ReviewError(f"cannot reach Label Studio at {self.url} ({exc}); start one with "
                                  "`curator review serve` or fix label_studio.url in curator.yaml") from exc
            except httpx.TimeoutException as exc:
                raise ReviewError(f"Label Studio at {self.url} did not answer {method} {path} in time") from exc
            if r.status_code == 401 and auth and _is_jwt(self._token) and attempt == 0:
                continue  # the access token expired: refresh once
            break
        if r.status_code == 401:
            raise ReviewError(f"Label Studio at {self.url} refused the token (401: {_detail(r)}); set "
                              "LABEL_STUDIO_API_KEY to a valid personal access token or legacy token")
        if r.status_code >= 400:
            raise ReviewError(f"Label Studio {method} {path} failed with {r.status_code}: {_detail(r)}",
                              ) from None
        return r

    # ----------------------------------------------------------------------------------- endpoints
    def whoami(self) -> dict[str, Any]:
        return self._send("GET", "/api/current-user/whoami").json()

    def create_project(self, title: str, label_config: str, **fields: Any) -> dict[str, Any]:
        try:
            return self._send("POST", "/api/projects/", json_body={"title": title, "label_config": label_config,
                                                                  **fields}).json()
        except ReviewError as exc:
            raise ReviewError(f"Label Studio rejected the labeling config for {title!r}: {exc}") from exc

    def get_project(self, pid: int) -> dict[str, Any] | None:
        try:
            return self._send("GET", f"/api/projects/{pid}/").json()
        except ReviewError as exc:
            if " 404:" in str(exc):
                return None
            raise

    def update_project(self, pid: int, **fields: Any) -> dict[str, Any]:
        return self._send("PATCH", f"/api/projects/{pid}/", json_body=fields).json()

    def import_tasks(self, pid: int, tasks: list[dict[str, Any]]) -> list[int]:
        r = self._send("POST", f"/api/projects/{pid}/import", params={"return_task_ids": "true"}, json_body=tasks,
                       timeout=600)
        return list(r.json().get("task_ids") or [])

    def iter_tasks(self, pid: int, *, page_size: int = 1000, **params: Any) -> Iterator[dict[str, Any]]:
        """Every task of a project, page by page (the server answers 404 past the last page)."""
        page = 1
        while True:
            r = self._http.get("/api/tasks", params={"project": pid, "page_size": page_size, "page": page, **params},
                               headers=self._auth())
            if r.status_code == 404:
                return
            if r.status_code >= 400:
                raise ReviewError(f"Label Studio task listing failed with {r.status_code}: {_detail(r)}")
            body = r.json()
            tasks = body.get("tasks", body) if isinstance(body, dict) else body
            yield from tasks
            if len(tasks) < page_size:
                return
            page += 1

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
                    found.setdefault(ext, t["id"])
        return found

    def add_local_storage(self, pid: int, path: str, title: str = "curator images") -> dict[str, Any]:
        return self._send("POST", "/api/storages/localfiles/", json_body={
            "project": pid, "path": path, "title": title, "use_blob_urls": True, "regex_filter": ""}).json()

    def list_local_storages(self, pid: int) -> list[dict[str, Any]]:
        return self._send("GET", "/api/storages/localfiles/", params={"project": pid}).json()

    def snapshot_export(self, pid: int, title: str) -> bytes:
        """Create a snapshot export (all annotations, ground truth and skips included) and download it."""
        snap = self._send("POST", f"/api/projects/{pid}/exports/", json_body={
            "title": title, "task_filter_options": {"only_with_annotations": False},
            "annotation_filter_options": {"usual": True, "ground_truth": True, "skipped": True},
            "serialization_options": {"predictions": {"only_id": False},
                                      "annotations__completed_by": {"only_id": False}}}, timeout=600).json()
        deadline = time.time() + 600
        while snap.get("status") not in ("completed", "failed") and time.time() < deadline:
            time.sleep(1)
            snap = self._send("GET", f"/api/projects/{pid}/exports/{snap['id']}").json()
        if snap.get("status") != "completed":
            raise ReviewError(f"Label Studio export {snap.get('id')} ended as {snap.get('status')!r}")
        r = self._send("GET", f"/api/projects/{pid}/exports/{snap['id']}/download", params={"exportType": "JSON"},
                       timeout=600)
        return r.content

    def create_user(self, email: str, username: str = "") -> dict[str, Any]:
        return self._send("POST", "/api/users/", json_body={"email": email, "username": username or email.split("@")[0],
                                                            "first_name": "", "last_name": ""}).json()

    def create_annotation(self, task_id: int, result: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
        return self._send("POST", f"/api/tasks/{task_id}/annotations/", json_body={"result": result, **fields}).json()


def _detail(r: httpx.Response) -> str:
    try:
        body = r.json()
    except ValueError:
        return r.text[:200].strip() or r.reason_phrase
    if isinstance(body, dict):
        msg = str(body.get("detail") or body)
        if body.get("validation_errors"):
            msg += f" {body['validation_errors']}"
        return msg[:500]
    return str(body)[:300]
