"""Open, validate and hash images; decide the bytes a model is sent.

Inspection runs in worker processes (see :mod:`curator.stages.ingest`), so it is a pure function of a
path. Bad files never raise: they come back as a reject with a reason code a user can act on.
"""

from __future__ import annotations

import base64
import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".jp2"}
UNSUPPORTED_SUFFIXES = {".heic", ".heif", ".avif", ".jxl", ".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf",
                        ".rw2", ".svg", ".psd", ".exr"}
"""Image formats Pillow cannot read here: listed as rejected (``unsupported_format``), never skipped silently."""
MAX_PIXELS = 89_478_485
"""Pillow's own decompression-bomb threshold; larger images are rejected, not decoded."""

REJECT_REASONS = {
    "empty_file": "the file has zero bytes",
    "not_an_image": "the file has an image extension but is not an image Pillow can read",
    "corrupt": "the image data is truncated or corrupt and cannot be decoded",
    "decompression_bomb": f"more than {MAX_PIXELS:,} pixels (possible decompression bomb)",
    "outside_root": "the path or symlink resolves outside the images root",
    "duplicate": "byte-identical to an image already in the table",
    "unreadable": "the file cannot be read (permissions or I/O error)",
    "missing": "the label file names a path that does not exist",
    "unsupported_format": "an image format that cannot be read here",
    "bad_label": "the label file's score for this image is not a finite number",
    "conflicting_labels": "the label file has several rows for this image with different scores",
}


_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*",
               b"\x00\x00\x00\x0cjP  ", b"\xff\x4f\xff\x51")


def has_image_signature(data: bytes) -> bool:
    """True when the bytes start like a known image format (so a decode failure means *corrupt*)."""
    return data.startswith(_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def analysis_image(img: Image.Image) -> Image.Image:
    """An 8-bit RGB/L view of any mode (16-bit, CMYK, palette, alpha) for hashing and statistics."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        return Image.fromarray(np.clip(arr / top * 255.0, 0, 255).astype(np.uint8), "L")
    if img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        return Image.fromarray(np.clip(arr * (255.0 if arr.max() <= 1 else 1), 0, 255).astype(np.uint8), "L")
    if img.mode in ("P", "PA") or (img.mode in ("RGBA", "LA")):
        img = img.convert("RGBA")
        bg = Image.new("RGBA", img.size, (255, 255, 255, 255))
        return Image.alpha_composite(bg, img).convert("RGB")
    if img.mode not in ("RGB", "L"):
        return img.convert("RGB")
    return img


def inspect_image(path: str, rel: str) -> dict[str, Any]:
    """Read, hash and validate one file.

    Returns:
        ``{"ok": True, ...ImageRecord fields}`` or ``{"ok": False, "path", "reason", "detail"}``.
    """
    import imagehash

    def bad(reason: str, detail: str = "") -> dict[str, Any]:
        return {"ok": False, "path": rel, "reason": reason, "detail": detail or REJECT_REASONS[reason]}

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return bad("unreadable", f"{type(exc).__name__}: {exc.strerror or exc}")
    if not data:
        return bad("empty_file")
    digest = hashlib.sha256(data).hexdigest()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            w, h = img.size
            if w * h > MAX_PIXELS:
                return bad("decompression_bomb", f"{w}x{h} = {w * h:,} pixels > {MAX_PIXELS:,}")
            fmt, mode = img.format or "", img.mode
            frames = int(getattr(img, "n_frames", 1) or 1)
            orientation = int(img.getexif().get(0x0112, 1) or 1)
            if fmt == "JPEG":
                img.draft("RGB", (max(1, w // 8), max(1, h // 8)))  # decode at 1/8: fast, still reads every byte
            img.load()
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        if isinstance(exc, Image.DecompressionBombError):
            return bad("decompression_bomb", str(exc))
        if has_image_signature(data):  # the header says image; the data after it is what is broken
            return bad("corrupt", f"{type(exc).__name__}: {exc}")
        return bad("not_an_image")
    except Image.DecompressionBombWarning as exc:
        return bad("decompression_bomb", str(exc))
    except (OSError, SyntaxError, ValueError) as exc:
        return bad("corrupt", f"{type(exc).__name__}: {exc}")
    upright = ImageOps.exif_transpose(img) if orientation != 1 else img
    if orientation in (5, 6, 7, 8):
        w, h = h, w
    phash = str(imagehash.phash(analysis_image(upright)))
    return {"ok": True, "image_id": digest, "path": rel, "width": w, "height": h, "format": fmt, "mode": mode,
            "bytes": len(data), "phash": phash, "orientation": orientation, "frames": frames}


# ---------------------------------------------------------------------------------------------
# what a model is sent


@dataclass(frozen=True, slots=True)
class Payload:
    """Bytes to send and their MIME type; ``content_hash`` is what cache keys use instead of bytes."""

    data: bytes
    mime: str
    content_hash: str
    transformed: str  # "original" | "downscaled" | "lossless_png"

    def data_uri(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode()}"


_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}


class PayloadError(ValueError):
    """This image cannot be sent under the payload policy (a per-item failure, never a run stop)."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        super().__init__(detail)


def make_payload(path: Path, *, domain: str, max_side: int = 1024, max_bytes: int = 15_000_000) -> Payload:
    """The bytes a model sees for ``path``.

    IQA and ISTA questions are about artefacts, so those images go out as their original bytes
    whenever the format is one the API accepts (JPEG, PNG, WebP) and the file is within
    ``max_bytes``; other formats (BMP, TIFF, GIF …) are re-encoded *losslessly* (PNG). Such an image
    is never re-encoded lossily or shrunk: when it is too large to send as it is, that is a
    :class:`PayloadError` naming the limit. IAA images may be downscaled to ``max_side`` (JPEG draft
    mode makes that cheap) since composition survives resampling.

    Raises:
        PayloadError: unreadable (``image_unreadable``) or too large (``image_too_large``).
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PayloadError("image_unreadable", f"{path}: {exc.strerror or exc}") from exc
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format or ""
            w, h = img.size
            if domain == "iaa" and max(w, h) > max_side:
                if fmt == "JPEG":
                    img.draft("RGB", (max_side, max_side))
                small = ImageOps.exif_transpose(analysis_image(img))
                small.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
                buf = io.BytesIO()
                small.save(buf, "JPEG", quality=92)
                out = buf.getvalue()
                return Payload(out, "image/jpeg", hashlib.sha256(out).hexdigest(), "downscaled")
            if fmt in ("JPEG", "PNG", "WEBP"):
                if len(data) > max_bytes:
                    raise PayloadError("image_too_large", f"{path}: {len(data):,} bytes > images.max_bytes "
                                       f"{max_bytes:,}; {domain.upper() or 'this'} images are never re-encoded "
                                       "lossily — raise the limit if the endpoint accepts it")
                return Payload(data, _MIME[fmt], hashlib.sha256(data).hexdigest(), "original")
            buf = io.BytesIO()
            analysis_image(img).save(buf, "PNG", optimize=False)
            out = buf.getvalue()
    except PayloadError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise PayloadError("image_unreadable", f"{path}: {type(exc).__name__}: {exc}") from exc
    if len(out) > max_bytes:
        raise PayloadError("image_too_large", f"{path}: {fmt} as lossless PNG is {len(out):,} bytes > "
                           f"images.max_bytes {max_bytes:,}")
    return Payload(out, "image/png", hashlib.sha256(out).hexdigest(), "lossless_png")
