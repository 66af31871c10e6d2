"""The distortion catalogue: known degradations at four calibrated levels, and the statistics that check them.

Shared by ``curator synth`` (which writes the images), the synthetic answer key (which words the
questions) and evaluation's image-statistic baselines. Levels 1–2 are "Slight" (visible on
inspection), levels 3–4 "Obvious"; the gap between level 2 and 3 is deliberately wide so the two
severities differ visibly. Strengths scale with image size (``k = max(1, longest side / 512)``).
The parameters are documented in ``docs/synth.md``; a test checks that a measured statistic moves
monotonically with the level for every distortion.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter, features

REGIONS = ("whole", "left", "right", "top", "bottom", "centre")
REGION_TEXT = {"whole": "the whole image", "left": "the left half", "right": "the right half",
               "top": "the top half", "bottom": "the bottom half", "centre": "the centre"}
LEVELS = (1, 2, 3, 4)
VISIBLE_MAX_PSNR = 38.0
"""A Slight distortion must change its region to at most this PSNR (dB) against the reference.

Calibrated on the 12 scikit-image samples: every level-3 ("Obvious") image is below 36.4 dB and 94%
of level-1/2 images below 38 dB; the ~6% above (blur and banding on the smooth "moon", mild
quantization on textures, pixelation that changes nothing) are not visibly degraded, so they are not
written — a "Slight" answer must be visible.
"""
CLEAN_VARIANTS = ("original", "flip", "crop")
"""Undistorted versions of each reference (severity None): lossless flips and crops, no resampling."""


def severity_of(level: int) -> str:
    """Severity label of the IQA scale for a synthetic level (0 = the undistorted reference)."""
    return "None" if level == 0 else ("Slight" if level <= 2 else "Obvious")


@dataclass(frozen=True, slots=True)
class Distortion:
    """One synthetic distortion: its family (an IQA distortion-type group) and per-level parameters."""

    id: str
    family: str
    name: str
    params: tuple[float, ...]
    apply: Callable[[Image.Image, float, np.random.Generator], Image.Image]
    statistic: str  # what moves monotonically with the level (for the calibration test)


def _k(img: Image.Image) -> float:
    return max(1.0, max(img.size) / 512.0)


def _gauss_blur(img: Image.Image, sigma: float, rng: np.random.Generator) -> Image.Image:
    return img.filter(ImageFilter.GaussianBlur(sigma * _k(img)))


def _motion_blur(img: Image.Image, length: float, rng: np.random.Generator) -> Image.Image:
    from scipy.ndimage import uniform_filter1d

    n = max(2, round(length * _k(img)))
    arr = np.asarray(img, dtype=np.float32)
    return Image.fromarray(np.clip(uniform_filter1d(arr, n, axis=1, mode="nearest"), 0, 255).astype(np.uint8))


def _gauss_noise(img: Image.Image, sigma: float, rng: np.random.Generator) -> Image.Image:
    arr = np.asarray(img, dtype=np.float32)
    noise = rng.standard_normal(arr.shape, dtype=np.float32) * np.float32(sigma)
    return Image.fromarray(np.clip(arr + noise, 0, 255).astype(np.uint8))


def _impulse(img: Image.Image, p: float, rng: np.random.Generator) -> Image.Image:
    arr = np.array(img)
    mask = rng.random(arr.shape[:2])
    arr[mask < p / 2] = 0
    arr[(mask >= p / 2) & (mask < p)] = 255
    return Image.fromarray(arr)


def _codec(fmt: str) -> Callable[[Image.Image, float, np.random.Generator], Image.Image]:
    def run(img: Image.Image, q: float, rng: np.random.Generator) -> Image.Image:
        buf = io.BytesIO()
        if fmt == "JPEG2000":
            img.save(buf, "JPEG2000", quality_mode="rates", quality_layers=[q])
        else:
            img.save(buf, fmt, quality=int(q))
        buf.seek(0)
        return Image.open(buf).convert("RGB")

    return run


def _enhance(kind: str) -> Callable[[Image.Image, float, np.random.Generator], Image.Image]:
    cls = {"brightness": ImageEnhance.Brightness, "contrast": ImageEnhance.Contrast, "color": ImageEnhance.Color}[kind]
    return lambda img, f, rng: cls(img).enhance(f)


def _pixelate(img: Image.Image, block: float, rng: np.random.Generator) -> Image.Image:
    b = max(2, round(block * _k(img)))
    w, h = img.size
    small = img.resize((max(1, w // b), max(1, h // b)), Image.Resampling.BOX)
    return small.resize((w, h), Image.Resampling.NEAREST)


def _quantize(img: Image.Image, colours: float, rng: np.random.Generator) -> Image.Image:
    # the palette comes from a <=1 MP copy (median cut is O(pixels) and slow at 12 MP); mapping is exact
    factor = max(1, int(np.ceil(np.sqrt(img.width * img.height / 1_000_000))))
    small = img.reduce(factor) if factor > 1 else img
    palette = small.quantize(int(colours), method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    return img.quantize(palette=palette, dither=Image.Dither.NONE).convert("RGB")


_ALL = [
    Distortion("gaussian_blur", "blur", "Gaussian blur", (1.0, 1.6, 4.0, 7.0), _gauss_blur, "sharpness"),
    Distortion("motion_blur", "blur", "Motion blur", (4, 7, 18, 32), _motion_blur, "sharpness"),
    Distortion("gaussian_noise", "noise", "Gaussian noise", (7, 12, 32, 55), _gauss_noise, "psnr"),
    Distortion("impulse_noise", "noise", "Impulse noise", (0.006, 0.015, 0.07, 0.15), _impulse, "psnr"),
    Distortion("jpeg", "compression", "JPEG compression", (30, 18, 7, 3), _codec("JPEG"), "psnr"),
    Distortion("webp", "compression", "WebP compression", (45, 20, 3, 0), _codec("WEBP"), "psnr"),
    Distortion("brightness_up", "brightness", "Brightness increase", (1.25, 1.4, 1.85, 2.4), _enhance("brightness"),
               "mean_up"),
    Distortion("brightness_down", "brightness", "Brightness decrease", (0.8, 0.68, 0.4, 0.22),
               _enhance("brightness"), "mean_down"),
    Distortion("contrast_down", "contrast", "Contrast decrease", (0.78, 0.64, 0.35, 0.18), _enhance("contrast"),
               "std_down"),
    Distortion("saturation_up", "saturation", "Saturation increase", (1.5, 1.9, 3.2, 5.0), _enhance("color"),
               "colourfulness_up"),
    Distortion("saturation_down", "saturation", "Saturation decrease", (0.7, 0.5, 0.18, 0.0), _enhance("color"),
               "colourfulness_down"),
    Distortion("pixelation", "pixelation", "Pixelation", (2, 3, 8, 14), _pixelate, "blockiness"),
    Distortion("quantization", "quantization", "Colour quantization", (48, 24, 8, 4), _quantize, "psnr"),
]
if features.check("jpg_2000"):
    _ALL.insert(6, Distortion("jpeg2000", "compression", "JPEG 2000 compression", (60, 120, 400, 900),
                              _codec("JPEG2000"), "psnr"))
DISTORTIONS: dict[str, Distortion] = {d.id: d for d in _ALL}


def region_mask(size: tuple[int, int], region: str) -> Image.Image:
    """A binary mask (255 = distorted) for a named region."""
    w, h = size
    box = {"whole": (0, 0, w, h), "left": (0, 0, w // 2, h), "right": (w // 2, 0, w, h), "top": (0, 0, w, h // 2),
           "bottom": (0, h // 2, w, h), "centre": (w // 4, h // 4, w - w // 4, h - h // 4)}[region]
    m = Image.new("L", size, 0)
    m.paste(255, box)
    return m


def distort(ref: Image.Image, distortion: str, level: int, region: str = "whole", seed: int = 0) -> Image.Image:
    """Apply ``distortion`` at ``level`` (1–4) to ``region`` of an RGB reference, deterministically."""
    d = DISTORTIONS[distortion]
    rng = np.random.default_rng([seed, level, REGIONS.index(region), sorted(DISTORTIONS).index(distortion)])
    out = d.apply(ref, d.params[level - 1], rng).convert("RGB")
    if region == "whole":
        return out
    return Image.composite(out, ref, region_mask(ref.size, region))


# ---------------------------------------------------------------------------------------------- stats
def _lum(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("L"), dtype=np.float64)


def sharpness(img: Image.Image) -> float:
    """Variance of the Laplacian of the luminance (higher = sharper)."""
    from scipy.ndimage import laplace

    return float(laplace(_lum(img)).var())


def psnr(ref: Image.Image, img: Image.Image) -> float:
    mse = float(np.mean((np.asarray(ref, dtype=np.float64) - np.asarray(img, dtype=np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def colourfulness(img: Image.Image) -> float:
    """Hasler & Süsstrunk (2003) colourfulness."""
    a = np.asarray(img.convert("RGB"), dtype=np.float64)
    rg = a[..., 0] - a[..., 1]
    yb = 0.5 * (a[..., 0] + a[..., 1]) - a[..., 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def statistic(kind: str, ref: Image.Image, img: Image.Image) -> float:
    """The calibration statistic, signed so that it *decreases* as the level rises."""
    if kind == "sharpness":
        return sharpness(img)
    if kind == "psnr":
        return psnr(ref, img)
    if kind in ("mean_up", "mean_down"):
        m = float(_lum(img).mean())
        return -m if kind == "mean_up" else m
    if kind == "blockiness":  # share of pixels equal to their right neighbour grows with block size
        a = np.asarray(img.convert("RGB"), dtype=np.int16)
        return -float((a[:, 1:] == a[:, :-1]).all(axis=-1).mean())
    if kind == "std_down":
        return float(_lum(img).std())
    c = colourfulness(img)
    return -c if kind == "colourfulness_up" else c



def clean_variant(ref: Image.Image, variant: str) -> Image.Image:
    """An undistorted copy: the reference itself, mirrored, or its central 90% (pixels copied, never resampled)."""
    if variant == "flip":
        return ref.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if variant == "crop":
        w, h = ref.size
        dx, dy = w // 20, h // 20
        return ref.crop((dx, dy, w - dx, h - dy))
    return ref


def region_psnr(ref: Image.Image, img: Image.Image, region: str) -> float:
    """PSNR (dB) of ``img`` against ``ref`` inside the distorted region only."""
    a = np.asarray(ref.convert("RGB"), dtype=np.float32)
    b = np.asarray(img.convert("RGB"), dtype=np.float32)
    m = np.asarray(region_mask(ref.size, region if region in REGIONS else "whole")) > 0
    mse = float(((a - b) ** 2)[m].mean())
    return 99.0 if mse == 0 else float(10 * np.log10(255.0**2 / mse))


