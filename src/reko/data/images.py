"""Image files in and out: listing, decoding to RGB, and the one [-1, 1] <-> uint8 conversion.

Every image reko reads goes through `load_image` (any mode -> 8-bit RGB, EXIF orientation
applied) and becomes a tensor through `to_tensor`; every tensor it writes becomes an image
through `to_pil`. Nothing else in reko scales pixel values.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from PIL.PngImagePlugin import PngInfo

from reko.atomic import atomic_path
from reko.errors import RekoError

PathLike = str | os.PathLike[str]
T = TypeVar("T")

IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")

# EXIF orientations 5-8 rotate by 90 degrees: the stored width and height swap on display.
_EXIF_ORIENTATION = 0x0112
_TRANSPOSED_ORIENTATIONS = (5, 6, 7, 8)
# What Pillow raises for files it cannot decode (truncated data raises OSError on load()).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, Image.DecompressionBombError, UnidentifiedImageError)
# How many bad file names a message or warning lists before saying "and N more".
_LIST_AT_MOST = 5


def is_image_file(path: PathLike) -> bool:
    """True for a file name with one of `IMAGE_EXTENSIONS` (case-insensitive), not hidden.

    Hidden names (``.x.jpg``, macOS ``._x.jpg`` resource forks) are not images.
    """
    name = Path(path).name
    return not name.startswith(".") and Path(name).suffix.lower() in IMAGE_EXTENSIONS


def list_images(folder: PathLike, recursive: bool = False, what: str = "image folder") -> list[Path]:
    """The image files in ``folder`` (sorted by relative path), or a `RekoError` if there are none.

    Args:
        folder: a directory.
        recursive: also list images in sub-folders (at any depth).
        what: how error messages name the folder (e.g. ``"unpaired folder trainA"``).
    """
    folder = Path(folder)
    if not folder.exists():
        raise RekoError(f"{what} {folder} does not exist")
    if not folder.is_dir():
        raise RekoError(f"{what} {folder} is not a folder")
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    images = sorted(
        (p for p in candidates if p.is_file() and is_image_file(p)),
        key=lambda p: p.relative_to(folder).as_posix(),
    )
    if not images:
        extensions = " ".join(IMAGE_EXTENSIONS)
        hint = ""
        if not recursive:
            nested = sorted(p.name for p in folder.iterdir() if p.is_dir())
            if nested:
                hint = f"; it has sub-folders {_short_list(nested)} (set recursive to look inside)"
        raise RekoError(f"{what} {folder} holds no images (expected files ending in {extensions}){hint}")
    return images


def read_size(path: PathLike) -> tuple[int, int]:
    """``(width, height)`` as `load_image` will return it, reading only the file header.

    Raises `RekoError` if the file is missing or not an image Pillow can identify.
    """
    path = Path(path)
    try:
        with Image.open(path) as image:
            width, height = image.size
            orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
    except FileNotFoundError:
        raise RekoError(f"image {path} does not exist") from None
    except _DECODE_ERRORS as error:
        raise RekoError(f"{path}: not a readable image ({_reason(error)})") from None
    if orientation in _TRANSPOSED_ORIENTATIONS:
        width, height = height, width
    return width, height


def load_image(path: PathLike) -> Image.Image:
    """Decode ``path`` into an 8-bit RGB image, upright according to its EXIF orientation.

    Grayscale, palette, CMYK, YCbCr and 16-bit images become RGB (16-bit values are scaled,
    not clipped); transparent images (RGBA, LA, palette with transparency) are composited on
    white, since a generator has no notion of alpha and black would invent dark regions.
    Raises `RekoError` naming the file if it is missing, unreadable or truncated.
    """
    path = Path(path)
    try:
        with Image.open(path) as opened:
            opened.load()  # decode now: truncated files fail here, not later in a transform
            image = ImageOps.exif_transpose(opened)
    except FileNotFoundError:
        raise RekoError(f"image {path} does not exist") from None
    except _DECODE_ERRORS as error:
        raise RekoError(f"{path}: not a readable image, or truncated ({_reason(error)})") from None
    return _to_rgb(image)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return _high_depth_to_rgb(image)
    has_alpha = "A" in image.getbands() or "a" in image.getbands() or "transparency" in image.info
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _high_depth_to_rgb(image: Image.Image) -> Image.Image:
    """16-bit / 32-bit integer and float single-channel images -> 8-bit RGB.

    Pillow's own ``convert("RGB")`` clips these at 255, turning most 16-bit images white.
    """
    values = np.asarray(image, dtype=np.float64)
    if image.mode == "F" and values.size and values.max() <= 1.0:
        values = values * 255.0  # float images in [0, 1]
    elif image.mode != "F" and values.size and values.max() > 255:
        values = values / 257.0  # 16-bit range 0..65535 -> 0..255 (65535 / 255 = 257)
    gray = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    return Image.fromarray(gray, mode="L").convert("RGB")


def split_aligned(image: Image.Image, path: PathLike = "image") -> tuple[Image.Image, Image.Image]:
    """Split a pix2pix "aligned" image (A and B side by side) into ``(A, B)`` halves.

    Raises `RekoError` if the width is odd, since then it cannot be two equal halves.
    """
    width, height = image.size
    check_aligned_size((width, height), path)
    half = width // 2
    return image.crop((0, 0, half, height)), image.crop((half, 0, width, height))


def check_aligned_size(size: tuple[int, int], path: PathLike) -> None:
    """Raise `RekoError` unless ``size`` (width, height) is two side-by-side square halves.

    pix2pix "aligned" images are exactly twice as wide as high (facades, maps, cityscapes and
    edges2* are all 2:1). Anything else, most often an ordinary photo, would be silently split
    into a left "input" and a right "target", so it is refused with the size that was found.
    """
    width, height = size
    if width != 2 * height:
        kind = "a square image" if width == height else f"{width / max(height, 1):.3g}:1"
        raise RekoError(
            f"{path}: a paired (aligned) image holds A and B side by side, so it must be twice as wide as high; "
            f"got {width}x{height} ({kind}). Is this a folder of ordinary photos? Use it as an unpaired folder "
            f"(mode unpaired), or put A and B images in A/ and B/ sub-folders"
        )


def to_tensor(image: Image.Image) -> torch.Tensor:
    """RGB PIL image -> ``(3, H, W)`` float32 in [-1, 1] (uint8 ``v`` maps to ``v / 127.5 - 1``).

    The same scaling as pix2pix's ``ToTensor`` + ``Normalize(0.5, 0.5)``.
    """
    if image.mode != "RGB":
        image = _to_rgb(image)
    array = np.array(image, dtype=np.uint8, copy=True)  # a writable copy: torch refuses read-only views
    return torch.from_numpy(array).permute(2, 0, 1).float().div_(127.5).sub_(1.0)


def to_pil(tensor: torch.Tensor) -> Image.Image:
    """``(3, H, W)`` (or ``(1, 3, H, W)``) in [-1, 1] -> RGB PIL image.

    Values outside [-1, 1] are clipped; rounding (not truncation) keeps to_pil(to_tensor(x)) == x.
    """
    if tensor.dim() == 4 and tensor.shape[0] == 1:
        tensor = tensor[0]
    if tensor.dim() != 3 or tensor.shape[0] != 3:
        raise RekoError(f"to_pil expects a (3, H, W) image tensor, got shape {tuple(tensor.shape)}")
    pixels = tensor.detach().float().cpu().clamp(-1.0, 1.0).add(1.0).mul(127.5).round().to(torch.uint8)
    return Image.fromarray(pixels.permute(1, 2, 0).numpy(), mode="RGB")


def save_png(image: Image.Image, path: PathLike, text: dict[str, str] | None = None) -> Path:
    """Write ``image`` as a PNG at ``path`` atomically, with optional text chunks (provenance)."""
    info = PngInfo()
    for key, value in (text or {}).items():
        info.add_text(str(key), str(value))
    path = Path(path)
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG", pnginfo=info)
    return path


def screen(
    items: Iterable[T],
    check: Callable[[T], object],
    skip_bad: bool,
    what: str = "images",
    name: Callable[[T], str] = str,
) -> list[T]:
    """Run ``check`` on every item (a path, or a pair of paths); return the good ones.

    ``check`` raises `RekoError` for a bad item. Without ``skip_bad`` all failures become ONE
    `RekoError` (the first reason, the bad names, and the hint to pass ``skip_bad``); with it
    the bad items are dropped and ONE warning gives their count and first names.
    """
    good: list[T] = []
    bad: list[tuple[str, str]] = []
    for item in items:
        try:
            check(item)
        except RekoError as error:
            bad.append((name(item), str(error)))
        else:
            good.append(item)
    if bad and not good:  # nothing left to use, even with skip_bad
        if len(bad) == 1:
            raise RekoError(bad[0][1])
        raise RekoError(f"all {len(bad)} {what} are bad: {_short_list([n for n, _ in bad])}. First: {bad[0][1]}")
    report_bad(bad, skip_bad, what)
    return good


def report_bad(bad: Sequence[tuple[str, str]], skip_bad: bool, what: str = "images") -> None:
    """``(name, reason)`` of bad items -> ONE `RekoError`, or with ``skip_bad`` ONE warning."""
    if not bad:
        return
    if not skip_bad:
        if len(bad) == 1:
            raise RekoError(bad[0][1])
        names = _short_list([n for n, _ in bad])
        raise RekoError(f"{len(bad)} bad {what}: {names}. First: {bad[0][1]}. Pass skip_bad=True to skip them")
    names = _short_list([Path(n).name for n, _ in bad])
    warnings.warn(f"skipped {len(bad)} bad {what}: {names} (first: {bad[0][1]})", stacklevel=4)


def _short_list(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_LIST_AT_MOST])
    more = len(items) - _LIST_AT_MOST
    return f"{shown} and {more} more" if more > 0 else shown


def _reason(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text
