"""``curator review serve`` / ``stop``: a local Label Studio on 127.0.0.1 with no prompts.

Label Studio pins ``openai<2`` and an exact pyarrow and SDK version, so it runs from a virtual
environment of its own: ``$CURATOR_LABEL_STUDIO_BIN``, a ``.ls-venv`` next to the project or the
checkout, ``label-studio`` on PATH, or (with ``install=True``) a venv curator creates under
``~/.cache/curator``. Start-up is offline-safe: analytics, Sentry and the version check are off.
The admin's legacy API token is generated here and kept in ``.labelstudio/credentials.json``
(mode 600) next to the project; it is never printed in logs.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from curator.config import Project
from curator.errors import ReviewError

ADMIN_EMAIL = "admin@curator.local"


@dataclass
class ServerInfo:
    url: str
    pid: int
    data_dir: str
    email: str
    password: str
    token: str
    log: str
    document_root: str = ""


def find_label_studio(project: Project | None = None, *, install: bool = False) -> Path:
    """Locate (or install) the ``label-studio`` executable of its own venv."""
    env = os.environ.get("CURATOR_LABEL_STUDIO_BIN")
    candidates = [Path(env)] if env else []
    if project is not None:
        candidates.append(project.root / ".ls-venv" / "bin" / "label-studio")
    candidates.append(Path(__file__).resolve().parents[3] / ".ls-venv" / "bin" / "label-studio")
    cache_venv = Path.home() / ".cache" / "curator" / "label-studio-venv"
    candidates.append(cache_venv / "bin" / "label-studio")
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    on_path = shutil.which("label-studio")
    if on_path:
        return Path(on_path)
    if not install:
        raise ReviewError("label-studio is not installed. Run `curator review serve --install` (creates a venv of "
                          "its own under ~/.cache/curator), or `pipx install label-studio`, or set "
                          "CURATOR_LABEL_STUDIO_BIN to its executable")
    subprocess.run([sys.executable, "-m", "venv", str(cache_venv)], check=True)
    subprocess.run([str(cache_venv / "bin" / "python"), "-m", "pip", "install", "-q", "label-studio"], check=True)
    return cache_venv / "bin" / "label-studio"


def _free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def state_dir(project: Project) -> Path:
    d = project.root / ".labelstudio"
    d.mkdir(parents=True, exist_ok=True)
    return d


def read_credentials(project: Project) -> dict[str, str] | None:
    path = project.root / ".labelstudio" / "credentials.json"
    return json.loads(path.read_text()) if path.exists() else None


SERVER_ENV_KEEP = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "TEMP", "TMP", "SYSTEMROOT",
                   "VIRTUAL_ENV", "PYTHONPATH", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
"""What Label Studio gets from our environment: enough to run, never a model key or a stray ``PORT``."""


def server_env(environ: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """The environment Label Studio is started with: an allow-list, not ours minus a few names.

    Label Studio reads ``PORT``, ``HOST``, ``USERNAME``, ``PASSWORD`` … unprefixed, and passing the
    whole environment would hand every model API key to a web server's process table.
    """
    return {k: v for k, v in environ.items() if k in SERVER_ENV_KEEP}


def write_private(path: Path, text: str) -> None:
    """Write a credentials file readable by its owner only — from its creation, not chmod after."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def start_server(data_dir: Path, port: int, docroot: Path, *, binary: Path, email: str, password: str, token: str,
                 log_path: Path, timeout: float = 240.0) -> subprocess.Popen[bytes]:
    """Start Label Studio and wait until ``/health`` answers; raise with the log tail if it does not."""
    if not _free(port):
        raise ReviewError(f"port {port} on 127.0.0.1 is busy (Label Studio would silently move to another port); "
                          "stop what runs there or pass --port")
    data_dir.mkdir(parents=True, exist_ok=True)
    env = server_env(os.environ)
    env.update({
        "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir), "LOCAL_FILES_SERVING_ENABLED": "true",
        "LOCAL_FILES_DOCUMENT_ROOT": str(docroot), "SENTRY_DSN": "", "FRONTEND_SENTRY_DSN": "",
        "COLLECT_ANALYTICS": "false", "LATEST_VERSION_CHECK": "false", "LABEL_STUDIO_USERNAME": email,
        "LABEL_STUDIO_PASSWORD": password, "LABEL_STUDIO_USER_TOKEN": token,
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true", "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true"})
    log = log_path.open("ab")
    proc = subprocess.Popen([str(binary), "start", "--no-browser", "--internal-host", "127.0.0.1", "--port",
                             str(port), "--data-dir", str(data_dir)], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise ReviewError(f"Label Studio exited with code {proc.returncode}; see {log_path}:\n"
                              + log_path.read_text(errors="replace")[-2000:])
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(1)
    proc.terminate()
    raise ReviewError(f"Label Studio did not answer {url}/health within {timeout:.0f} s; see {log_path}")


def document_root(project: Project) -> Path:
    """The folder Label Studio serves local files from: a *strict* parent of the images folder.

    Label Studio refuses a Local Storage whose path equals its document root, so the root is the
    project folder when the images live inside it (the default ``images/``), else the images
    folder's parent. ``label_studio.document_root`` in curator.yaml overrides it.
    """
    cfg = project.config.label_studio.document_root
    if cfg:
        return Path(cfg).resolve()
    images = project.images_root
    return project.root if project.root in images.parents else images.parent


def serve(project: Project, *, port: int | None = None, install: bool = False) -> ServerInfo:
    """Start a local Label Studio for this project (idempotent: a running one is reused)."""
    st = state_dir(project)
    creds = read_credentials(project)
    pid_file = st / "server.json"
    if pid_file.exists():
        info = json.loads(pid_file.read_text())
        try:
            if httpx.get(f"{info['url']}/health", timeout=2).status_code == 200 and creds:
                return ServerInfo(**{**info, **creds})
        except httpx.HTTPError:
            pass
    binary = find_label_studio(project, install=install)
    if creds is None:
        creds = {"email": ADMIN_EMAIL, "password": secrets.token_urlsafe(12),
                 "token": secrets.token_hex(20)}
        write_private(st / "credentials.json", json.dumps(creds))
    port = port or project.config.label_studio.port
    data_dir, log_path = st / "data", st / "server.log"
    docroot = document_root(project)
    proc = start_server(data_dir, port, docroot, binary=binary, email=creds["email"],
                        password=creds["password"], token=creds["token"], log_path=log_path)
    info = {"url": f"http://127.0.0.1:{port}", "pid": proc.pid, "data_dir": str(data_dir), "log": str(log_path),
            "document_root": str(docroot)}
    pid_file.write_text(json.dumps(info))
    return ServerInfo(url=info["url"], pid=proc.pid, data_dir=str(data_dir), log=str(log_path),
                      document_root=str(docroot), **creds)


def _is_label_studio(pid: int) -> bool:
    """True when ``pid`` is alive, leads its own process group and runs label-studio."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        try:
            os.kill(pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        cmd = "label-studio"  # no /proc (macOS): trust a live pid that leads its group
    try:
        return "label-studio" in cmd and os.getpgid(pid) == pid
    except ProcessLookupError:
        return False


def recorded_server(project: Project) -> dict[str, Any] | None:
    """What ``review serve`` recorded about the server it started for this project (url, pid, document root)."""
    path = project.root / ".labelstudio" / "server.json"
    return json.loads(path.read_text()) if path.exists() else None


def running_server(project: Project) -> dict[str, str] | None:
    """The server ``review serve`` started for this project, if it answers."""
    info = recorded_server(project)
    if info is None:
        return None
    try:
        return info if httpx.get(f"{info['url']}/health", timeout=2).status_code == 200 else None
    except httpx.HTTPError:
        return None


def stop(project: Project) -> bool:
    """Stop the Label Studio that ``serve`` started (SIGTERM; SIGINT is ignored by background jobs)."""
    pid_file = project.root / ".labelstudio" / "server.json"
    if not pid_file.exists():
        return False
    pid = json.loads(pid_file.read_text())["pid"]
    if not _is_label_studio(pid):  # a stale pid file: the number may belong to anything by now
        pid_file.unlink()
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pid_file.unlink()
        return False
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    pid_file.unlink()
    return True
