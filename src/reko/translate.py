"""Run a generator over image files of any size: padding, resizing, tiling, batching, PNG output.

The core knows nothing of PyTorch modules or checkpoints: it takes a ``forward`` callable,
``(B, 3, H, W) float in [-1, 1] -> (B, 3, H, W) in [-1, 1]`` on CPU tensors, and the
``size_multiple`` its H and W must be multiples of. A PyTorch generator, a TorchScript file or
an ONNX session all plug in by wrapping themselves in such a callable.

Sizes: by default (keep size) an image is reflect-padded at the bottom/right to the next
multiple, translated, and cropped back. With ``size=N`` its shorter side is first resized to N
(aspect ratio kept, bicubic), and the output is resized back to the original size, so outputs
always have their input's size. Images with more than ``max_pixels`` pixels, or larger than an
explicit ``tile``, are translated in overlapping tiles blended with a raised-cosine window.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from reko.atomic import ensure_writable_dir
from reko.data.images import (
    check_aligned_size,
    is_image_file,
    list_images,
    load_image,
    read_size,
    save_png,
    screen,
    split_aligned,
    to_pil,
    to_tensor,
)
from reko.data.paired import check_direction
from reko.errors import RekoError
from reko.progress import progress_bar

# The smallest padded side the generators accept: a ResNet's two stride-2 convolutions must leave
# more than one pixel for its InstanceNorm (a U-Net pads to 2**num_downs >= 32 anyway).
MIN_SIDE = 8

Forward = Callable[[torch.Tensor], torch.Tensor]
PathLike = str | os.PathLike[str]

# Above this many (padded) pixels an image is tiled even without an explicit tile size, in
# tiles of at most this many pixels: a ResNet-9 (ngf 64) keeps ~64-256 floats per pixel in an
# activation, 1-4 GB at 2048x2048.
DEFAULT_MAX_PIXELS = 2048 * 2048
_BICUBIC = Image.Resampling.BICUBIC


@dataclass(frozen=True)
class TranslateOptions:
    """How images are prepared, split and batched for the generator.

    Attributes:
        size: None keeps each image's size (padding only); N resizes the shorter side to N
            (aspect kept) and the output back to the original size.
        direction: ``AtoB`` / ``BtoA``: with ``aligned`` the half of a side-by-side image that is
            translated (A = left); otherwise only recorded in the output PNGs.
        aligned: inputs are pix2pix side-by-side A|B images.
        batch_size: images of the same size per generator call (tiles per call when tiling).
        tile: tile side in pixels (rounded up to the size multiple); None tiles automatically
            above ``max_pixels``, with square tiles of at most ``max_pixels`` pixels.
        overlap: pixels shared by neighbouring tiles (default tile // 4); wider than the
            network's receptive field hides seams best.
        max_pixels: images with more (padded) pixels than this are tiled.
        recursive: translate images in sub-folders too, mirroring them in the output folder.
        skip_bad: skip unreadable images with one warning instead of stopping.
    """

    size: int | None = None
    direction: str = "AtoB"
    aligned: bool = False
    batch_size: int = 1
    tile: int | None = None
    overlap: int | None = None
    max_pixels: int = DEFAULT_MAX_PIXELS
    recursive: bool = False
    skip_bad: bool = False

    def __post_init__(self) -> None:
        check_direction(self.direction)
        for name in ("size", "tile", "batch_size", "max_pixels"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise RekoError(f"{name} must be >= 1, got {value}")
        if self.overlap is not None and self.overlap < 0:
            raise RekoError(f"overlap must be >= 0, got {self.overlap}")


# ----------------------------------------------------------------------------- tensors


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """``(B, C, H, W)`` -> ``(B, C, H', W')`` with H', W' the next multiples, padded bottom/right.

    Reflection keeps the border statistics natural (zeros would add dark edges that bleed in);
    it needs the pad to be smaller than the side, so tiny images fall back to replication.
    """
    height, width = x.shape[-2:]
    pad_h, pad_w = -height % multiple, -width % multiple
    if pad_h == 0 and pad_w == 0:
        return x
    mode = "reflect" if pad_h < height and pad_w < width else "replicate"
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode)


def translate_tensor(
    forward: Forward,
    x: torch.Tensor,
    size_multiple: int,
    tile: int | None = None,
    overlap: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    tiles_per_call: int = 1,
) -> torch.Tensor:
    """Translate ``x`` ``(B, 3, H, W)`` in [-1, 1] of any H, W -> ``(B, 3, H, W)`` on CPU.

    Pads to ``size_multiple``, tiles when the padded image has more than ``max_pixels`` pixels
    or exceeds an explicit ``tile``, and crops back to H x W. Runs under ``inference_mode``.
    """
    height, width = x.shape[-2:]
    padded = pad_to_multiple(x, size_multiple)
    padded_h, padded_w = padded.shape[-2:]
    if tile is None and padded_h * padded_w > max_pixels:
        tile = auto_tile(max_pixels, size_multiple)
    if tile is not None:
        tile = math.ceil(tile / size_multiple) * size_multiple  # every tile must fit the network
    with torch.inference_mode():
        if tile is not None and (padded_h > tile or padded_w > tile):
            y = _run_tiled(forward, padded, size_multiple, tile, overlap, tiles_per_call)
        else:
            y = _run(forward, padded)
    return y[..., :height, :width]


def auto_tile(max_pixels: int, size_multiple: int) -> int:
    """The largest square tile, a multiple of ``size_multiple``, with at most ``max_pixels`` pixels."""
    return max(size_multiple, math.isqrt(max_pixels) // size_multiple * size_multiple)


def _run(forward: Forward, x: torch.Tensor) -> torch.Tensor:
    y = forward(x)
    if y.dim() != 4 or y.shape[0] != x.shape[0] or y.shape[-2:] != x.shape[-2:]:
        raise RekoError(
            f"the generator turned an input of shape {tuple(x.shape)} into {tuple(y.shape)}; "
            f"expected the same batch, height and width"
        )
    return y.detach().float().cpu()


def _run_tiled(
    forward: Forward, x: torch.Tensor, size_multiple: int, tile: int, overlap: int | None, tiles_per_call: int
) -> torch.Tensor:
    """Translate overlapping tiles and blend them with a raised-cosine window.

    Tile corners sit on multiples of ``size_multiple`` so every tile sees the same sampling grid
    of the strided convolutions as the whole image would. Networks with instance norm still
    normalise each tile by its own statistics: large tiles keep the difference small.
    """
    height, width = x.shape[-2:]
    overlap = tile // 4 if overlap is None else overlap
    if overlap >= tile:
        raise RekoError(f"tile overlap {overlap} must be smaller than the tile ({tile})")
    # Stride a multiple of size_multiple (rounded down, so the real overlap is >= overlap).
    stride = max(size_multiple, (tile - overlap) // size_multiple * size_multiple)
    tile_h, tile_w = min(tile, height), min(tile, width)
    starts_y, starts_x = _starts(height, tile_h, stride), _starts(width, tile_w, stride)
    corners = [(y0, x0) for y0 in starts_y for x0 in starts_x]

    batch = x.shape[0]
    out: torch.Tensor | None = None
    weight = torch.zeros(1, 1, height, width)
    for first in range(0, len(corners), max(1, tiles_per_call)):
        chunk = corners[first : first + max(1, tiles_per_call)]
        tiles = torch.cat([x[..., y0 : y0 + tile_h, x0 : x0 + tile_w] for y0, x0 in chunk])
        results = _run(forward, tiles)
        if out is None:
            out = torch.zeros(batch, results.shape[1], height, width)
        for k, (y0, x0) in enumerate(chunk):
            window = _window(tile_h, y0, height, overlap)[:, None] * _window(tile_w, x0, width, overlap)[None, :]
            out[..., y0 : y0 + tile_h, x0 : x0 + tile_w] += results[k * batch : (k + 1) * batch] * window
            weight[..., y0 : y0 + tile_h, x0 : x0 + tile_w] += window
    assert out is not None
    return out / weight


def _starts(length: int, tile: int, stride: int) -> list[int]:
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, stride))
    return starts + [length - tile]


def _window(size: int, start: int, length: int, ramp: int) -> torch.Tensor:
    """1-D tile weight: raised-cosine ramps on the sides that border another tile, flat at the image border."""
    weight = torch.ones(size)
    ramp = min(ramp, size // 2)
    if ramp == 0:
        return weight
    # Strictly positive (the +0.5) so every pixel has weight even where only one tile covers it.
    rise = 0.5 - 0.5 * torch.cos(math.pi * (torch.arange(ramp) + 0.5) / ramp)
    if start > 0:
        weight[:ramp] = rise
    if start + size < length:
        weight[-ramp:] = rise.flip(0)
    return weight


# ----------------------------------------------------------------------------- images


def scaled_size(size: tuple[int, int], shorter_side: int) -> tuple[int, int]:
    """``(width, height)`` with the shorter side resized to ``shorter_side``, aspect kept."""
    width, height = size
    scale = shorter_side / min(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def translate_images(
    forward: Forward, images: Sequence[Image.Image], size_multiple: int, options: TranslateOptions | None = None
) -> list[Image.Image]:
    """Translate RGB images that share one size in one batch; outputs have that same size."""
    options = options or TranslateOptions()
    if not images:
        return []
    size = images[0].size
    if any(image.size != size for image in images):
        raise RekoError(f"translate_images batches images of one size, got {sorted({i.size for i in images})}")
    work_size = scaled_size(size, options.size) if options.size else size
    if work_size != size:
        images = [image.resize(work_size, _BICUBIC) for image in images]
    x = torch.stack([to_tensor(image) for image in images])
    y = translate_tensor(
        forward,
        x,
        size_multiple,
        tile=options.tile,
        overlap=options.overlap,
        max_pixels=options.max_pixels,
        tiles_per_call=options.batch_size,
    )
    outputs = [to_pil(t) for t in y]
    if work_size != size:
        outputs = [image.resize(size, _BICUBIC) for image in outputs]
    return outputs


def translate_image(
    forward: Forward, image: Image.Image, size_multiple: int, options: TranslateOptions | None = None
) -> Image.Image:
    """Translate one RGB image of any size; the output has the input's size."""
    return translate_images(forward, [image], size_multiple, options)[0]


# ----------------------------------------------------------------------------- files


def collect_inputs(source: PathLike, recursive: bool = False) -> list[tuple[Path, Path]]:
    """``(image file, output path relative to the output folder)`` for a file or a folder.

    Outputs are PNGs with the input's stem, in the input's sub-folder (recursive inputs).
    Two inputs that would write the same output (``x.jpg`` and ``x.png``) are an error.
    """
    source = Path(source)
    if not source.exists():
        raise RekoError(f"input {source} does not exist")
    if source.is_file():
        if not is_image_file(source):
            raise RekoError(f"input {source} is not an image (expected a file ending in .jpg, .png, ...) or a folder")
        return [(source, Path(source.stem + ".png"))]
    pairs = [
        (path, path.relative_to(source).with_suffix(".png")) for path in list_images(source, recursive, "input folder")
    ]
    seen: dict[Path, Path] = {}
    for path, relative in pairs:
        if relative in seen:
            raise RekoError(f"{seen[relative]} and {path} would both be written to {relative}: rename one of them")
        seen[relative] = path
    return pairs


def translate_files(
    forward: Forward,
    source: PathLike,
    output_dir: PathLike,
    size_multiple: int,
    options: TranslateOptions | None = None,
    metadata: dict[str, str] | None = None,
    progress: bool = True,
) -> list[Path]:
    """Translate an image file or folder into PNGs in ``output_dir``; returns the written paths.

    Images of the same (input) size are batched ``options.batch_size`` at a time; tiled images
    go one by one with ``batch_size`` tiles per call. ``metadata`` (e.g. the checkpoint) and
    the direction are written into every PNG as text chunks.
    """
    options = options or TranslateOptions()
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise RekoError(f"--output {output_dir} is an existing file: name a folder for the PNGs (created if missing)")
    inputs = collect_inputs(source, options.recursive)
    for path, relative in inputs:
        if (output_dir / relative).resolve() == path.resolve():
            raise RekoError(f"output {output_dir / relative} would overwrite its input: choose another output folder")
    checked = screen(
        inputs,
        lambda item: _check_input(item[0], options, size_multiple),
        options.skip_bad,
        what="input images",
        name=lambda item: str(item[0]),
    )
    ensure_writable_dir(output_dir, "--output folder")  # before any work: fail now, not after it
    groups: dict[tuple[int, int], list[tuple[Path, Path]]] = {}
    for item in checked:
        groups.setdefault(_input_size(item[0], options), []).append(item)

    text = {"reko.direction": options.direction, "reko.aligned": str(options.aligned), **(metadata or {})}
    written: dict[Path, Path] = {}
    with progress_bar(total=len(checked), unit="image", desc="translate", disable=None if progress else True) as bar:
        for size, items in groups.items():
            per_call = 1 if _is_tiled(size, size_multiple, options) else options.batch_size
            for first in range(0, len(items), per_call):
                chunk = items[first : first + per_call]
                images = [_load_input(path, options) for path, _ in chunk]
                for (path, relative), image in zip(
                    chunk, translate_images(forward, images, size_multiple, options), strict=True
                ):
                    written[path] = save_png(image, output_dir / relative, {**text, "reko.source": str(path)})
                bar.update(len(chunk))
    return [written[path] for path, _ in checked]


def _load_input(path: Path, options: TranslateOptions) -> Image.Image:
    image = load_image(path)
    if options.aligned:
        half_a, half_b = split_aligned(image, path)
        image = half_a if options.direction == "AtoB" else half_b
    return image


def _input_size(path: Path, options: TranslateOptions) -> tuple[int, int]:
    width, height = read_size(path)
    return (width // 2, height) if options.aligned else (width, height)


def _check_input(path: Path, options: TranslateOptions, size_multiple: int) -> None:
    # skip_bad decodes each image once up front; otherwise the header is enough here and a
    # truncated file stops the run when it is reached, naming the file.
    size = load_image(path).size if options.skip_bad else read_size(path)
    if options.aligned:
        check_aligned_size(size, path)
        size = (size[0] // 2, size[1])
    scaled = scaled_size(size, options.size) if options.size else size
    if min(math.ceil(v / size_multiple) * size_multiple for v in scaled) < MIN_SIDE:
        raise RekoError(
            f"{path}: {size[0]}x{size[1]} is too small for this generator, which needs at least {MIN_SIDE}x{MIN_SIDE} "
            f"pixels after padding to a multiple of {size_multiple}; resize it to {MIN_SIDE} (or more) first"
        )


def _is_tiled(size: tuple[int, int], size_multiple: int, options: TranslateOptions) -> bool:
    width, height = scaled_size(size, options.size) if options.size else size
    padded_w, padded_h = (math.ceil(v / size_multiple) * size_multiple for v in (width, height))
    if options.tile is not None:
        tile = math.ceil(options.tile / size_multiple) * size_multiple
        return padded_w > tile or padded_h > tile
    return padded_w * padded_h > options.max_pixels
