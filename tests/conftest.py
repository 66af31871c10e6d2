"""Shared fixtures: isolated project folders and image makers."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from curator.config import Project
from curator.scaffold import init


@pytest.fixture(autouse=True)
def _isolate(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep caches and keys out of the developer's environment."""
    monkeypatch.setenv("CURATOR_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("CURATOR_BACKOFF_BASE", "0.01")
    monkeypatch.setattr("curator.engine.client.BACKOFF_BASE", 0.01)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    init(tmp_path / "proj")
    return Project.load(tmp_path / "proj")


def photo(seed: int = 0, size: tuple[int, int] = (96, 64), mode: str = "RGB") -> Image.Image:
    """A small synthetic 'photograph' with structure (gradients + shapes), distinct per seed."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([(x * (1 + seed % 3)) % 256, (y * 3 + seed * 17) % 256, ((x + y) * 2) % 256], -1)
    base = base + rng.integers(0, 20, size=(h, w, 3))
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    return img.convert(mode) if mode != "RGB" else img


def save(img: Image.Image, path: Path, fmt: str = "JPEG", **kw: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, fmt, **kw)
    return path


def jpeg_bytes(img: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


# ------------------------------------------------------------------------------ fake OpenAI server
class FakeOpenAI:
    """Handle on a running :mod:`curator.testing.fake_openai` process."""

    def __init__(self, proc: object, port: int) -> None:
        self.proc, self.port = proc, port
        self.base_url = f"http://127.0.0.1:{port}/v1"

    def _post(self, path: str, payload: object) -> object:
        import httpx

        return httpx.post(f"http://127.0.0.1:{self.port}{path}", json=payload, timeout=10).json()

    def rules(self, rules: list[dict[str, object]]) -> None:
        self._post("/admin/rules", rules)

    def reset(self) -> None:
        self._post("/admin/reset", {})

    def log(self) -> dict[str, object]:
        import httpx

        return httpx.get(f"http://127.0.0.1:{self.port}/admin/log", timeout=10).json()


def start_fake(latency: float = 0.0) -> FakeOpenAI:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "curator.testing.fake_openai", "--port", "0", "--latency",
                             str(latency)], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    assert line.startswith("PORT "), f"fake server did not start: {line!r}"
    return FakeOpenAI(proc, int(line.split()[1]))


@pytest.fixture(scope="session")
def fake_server() -> FakeOpenAI:
    srv = start_fake()
    yield srv
    srv.proc.terminate()  # type: ignore[attr-defined]


@pytest.fixture
def fake(fake_server: FakeOpenAI) -> FakeOpenAI:
    fake_server.reset()
    return fake_server


def use_fake(project: Project, fake: FakeOpenAI, roles: tuple[str, ...] = ("generator",), **run: object) -> Project:
    """Point the project's model roles at the fake server and reload it."""
    import yaml

    path = project.root / "curator.yaml"
    cfg = yaml.safe_load(path.read_text())
    families = {"generator": "openai", "judge": "qwen", "describe": "openai", "eval": "llava"}
    runs = {"concurrency": 8, "timeout": 5, "max_retries": 3, **run}
    for role in roles:
        ep = {"model": f"fake-{role}", "base_url": fake.base_url, "api_key_env": "FAKE_KEY",
              "family": families.get(role, role), "run": runs}
        if role == "blind":
            cfg["models"]["blind"] = [{**ep, "model": f"fake-blind-{i}", "text_only": True} for i in range(4)]
        else:
            cfg["models"][role] = ep
    cfg["prices"] = {"fake-generator": {"input": 1.0, "output": 2.0}}
    cfg["max_cost"] = None
    path.write_text(yaml.safe_dump(cfg))
    return Project.load(project.root)


# ---------------------------------------------------------------------------- real Label Studio
@pytest.fixture(scope="session")
def label_studio(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A real Label Studio started through `review serve` for a session project; stopped at the end.

    Its local-file document root is that project's folder (a strict parent of its images folder, as
    `review serve` sets it); test projects put their images in sub-folders of the images folder
    (see :func:`use_label_studio`).
    """
    import socket

    from curator.stages.review.server import serve, stop

    root = tmp_path_factory.mktemp("ls-session")
    init(root)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proj = Project.load(root)
    info = serve(proj, port=port)
    proj.ls_info = info  # type: ignore[attr-defined]
    yield proj
    assert stop(proj)


def use_label_studio(project: Project, ls: Project) -> Project:
    """Point a test project at the session server; its images live under the server's document root."""
    import shutil

    import yaml

    images = ls.images_root / project.root.parent.name
    images.mkdir(parents=True, exist_ok=True)
    for f in project.images_root.rglob("*"):
        if f.is_file():
            (images / f.relative_to(project.images_root)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, images / f.relative_to(project.images_root))
    path = project.root / "curator.yaml"
    cfg = yaml.safe_load(path.read_text())
    cfg["images_root"] = str(images)
    cfg["label_studio"]["url"] = ls.ls_info.url  # type: ignore[attr-defined]
    cfg["label_studio"]["api_key_env"] = "CURATOR_TEST_LS_TOKEN"
    cfg["label_studio"]["document_root"] = ls.ls_info.document_root  # type: ignore[attr-defined]
    path.write_text(yaml.safe_dump(cfg))
    os.environ["CURATOR_TEST_LS_TOKEN"] = ls.ls_info.token  # type: ignore[attr-defined]
    return Project.load(project.root)


@pytest.fixture
def built(project: Project) -> Project:
    """A small synthetic benchmark project, checked and sampled (4 references, 4 distortions)."""
    from curator.stages.checks import check
    from curator.stages.generate import generate
    from curator.stages.ingest import synth
    from curator.stages.plan import plan
    from curator.stages.sample import sample

    synth(project, max_references=4, distortions=["gaussian_blur", "jpeg", "brightness_down", "pixelation"],
          seed=2, workers=2)
    plan(project, domain=["iqa"], per_cell=8, backend="synthetic", estimate_role=None)
    generate(project, backend="synthetic")
    check(project, per_image_cap=None)
    sample(project, n=6)
    return project


# ---------------------------------------------------------------------------------- local Ray
@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """One local Ray instance for the session (`ray.init(num_cpus=2)`), the same code a user points at a
    cluster; token authentication is switched off explicitly and the session leaves nothing in ~/.ray.
    Returns the GCS address, which subprocesses join with RAY_ADDRESS."""
    import shutil
    import tempfile

    import ray

    os.environ["RAY_AUTH_MODE"] = "disabled"
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must stay under 107 bytes
    ctx = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
                   _temp_dir=temp)
    yield ctx.address_info["gcs_address"]
    ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)


def bad_image_folder(root: Path, outside: Path) -> dict[str, str]:
    """Every bad-input kind the issue lists; returns expected reason per relative path."""
    save(photo(1), root / "ok" / "plain.jpg")
    save(photo(2), root / "ok" / "ünïcødé 写真.jpg")
    save(photo(3, mode="CMYK"), root / "modes" / "cmyk.jpg")
    Image.fromarray(np.arange(64 * 48, dtype=np.uint16).reshape(48, 64) * 20).save(root / "modes" / "sixteen.png")
    photo(4).convert("P", palette=Image.Palette.ADAPTIVE).save(root / "modes" / "palette.png")
    photo(5, mode="RGBA").save(root / "modes" / "alpha.png")
    rot = photo(6, size=(80, 40))
    exif = rot.getexif()
    exif[0x0112] = 6  # rotate 90 CW on display
    rot.save(root / "modes" / "rotated.jpg", exif=exif)
    (root / "bad").mkdir()
    (root / "bad" / "empty.jpg").write_bytes(b"")
    (root / "bad" / "notes.png").write_text("this is not a png\n")
    full = jpeg_bytes(photo(7, size=(256, 256)))
    (root / "bad" / "truncated.jpg").write_bytes(full[: len(full) // 2])
    (root / "bad" / "garbage.jpg").write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(2000))  # random: any tail is corrupt
    bomb = Image.new("L", (10000, 10000))  # 100 MP > Pillow's 89 MP limit; PNG compresses it to ~100 kB
    bomb.save(root / "bad" / "bomb.png")
    (root / "dup").mkdir()
    (root / "dup" / "copy.jpg").write_bytes((root / "ok" / "plain.jpg").read_bytes())
    save(photo(8), outside / "secret.jpg")
    (root / "links").mkdir()
    os.symlink(outside / "secret.jpg", root / "links" / "escape.jpg")
    os.symlink(outside, root / "links" / "escape_dir")
    os.symlink(root / "ok" / "plain.jpg", root / "links" / "inside.jpg")
    (root / "readme.txt").write_text("ignored: not an image extension")
    return {"bad/empty.jpg": "empty_file", "bad/notes.png": "not_an_image", "bad/truncated.jpg": "corrupt",
            "bad/garbage.jpg": "corrupt", "bad/bomb.png": "decompression_bomb", "dup/copy.jpg": "duplicate",
            "links/escape.jpg": "outside_root", "links/escape_dir": "outside_root", "links/inside.jpg": "duplicate"}
