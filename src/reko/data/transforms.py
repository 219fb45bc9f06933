"""pix2pix/CycleGAN preprocessing: resize, crop, flip on PIL images, reproducible from a seed.

Randomness comes from an explicit `random.Random` (one per item, from `item_rng(seed, epoch,
index)`), never from the global generator: the same seed and epoch give the same crops and
flips in any worker and after resuming, and a paired transform draws its parameters once and
applies them to both images.

Modes (``preprocess``), as in pytorch-CycleGAN-and-pix2pix ``data/base_dataset.py``:

==========================  =================================================================
``resize_and_crop``         resize to ``load_size`` x ``load_size``, random ``crop_size`` crop
``crop``                    random ``crop_size`` crop of the original image
``scale_width``             width to ``load_size``, height keeps the aspect (>= ``crop_size``)
``scale_width_and_crop``    ``scale_width``, then a random ``crop_size`` crop
``resize``                  resize to ``load_size`` x ``load_size`` (no crop)
``none``                    keep the size, rounded to a multiple of ``size_multiple`` (bicubic)
==========================  =================================================================

All resizing is bicubic. ``flip`` then mirrors half of the images horizontally.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from PIL import Image

from reko.errors import RekoError

PREPROCESS_MODES: tuple[str, ...] = (
    "resize_and_crop",
    "crop",
    "scale_width",
    "scale_width_and_crop",
    "resize",
    "none",
)
_BICUBIC = Image.Resampling.BICUBIC


@dataclass(frozen=True)
class TransformConfig:
    """How images are resized, cropped and flipped (pix2pix's ``--preprocess`` and friends).

    The defaults are pix2pix/CycleGAN training: resize to 286, random 256 crop, random flip.
    For evaluation use e.g. ``TransformConfig(preprocess="resize", load_size=256, flip=False)``.
    """

    preprocess: str = "resize_and_crop"
    load_size: int = 286
    crop_size: int = 256
    flip: bool = True
    size_multiple: int = 4  # used by "none": the generator's required input multiple

    def __post_init__(self) -> None:
        if self.preprocess not in PREPROCESS_MODES:
            raise RekoError(f"preprocess {self.preprocess!r} is not one of {PREPROCESS_MODES}")
        for name in ("load_size", "crop_size", "size_multiple"):
            if int(getattr(self, name)) < 1:
                raise RekoError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.preprocess in ("resize_and_crop", "scale_width_and_crop") and self.load_size < self.crop_size:
            raise RekoError(
                f"preprocess {self.preprocess!r} needs load_size >= crop_size, got load_size={self.load_size} "
                f"and crop_size={self.crop_size}"
            )

    @property
    def crops(self) -> bool:
        return "crop" in self.preprocess


@dataclass(frozen=True)
class TransformParams:
    """The random choices of one transform: crop corner (in the resized image) and flip."""

    crop_x: int = 0
    crop_y: int = 0
    flip: bool = False


def item_rng(seed: int, epoch: int, index: int) -> random.Random:
    """A generator for one item of one epoch, independent of workers and iteration order.

    ``SeedSequence`` mixes the three numbers so that nearby seeds/epochs/indices do not give
    correlated streams (a plain ``seed + index`` would make seed 1 index 0 == seed 0 index 1).
    """
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(epoch), int(index)]).generate_state(2)
    return random.Random(int(state[0]) << 32 | int(state[1]))


def resized_size(size: tuple[int, int], config: TransformConfig) -> tuple[int, int]:
    """``(width, height)`` after the resize step (before cropping) for an image of ``size``."""
    width, height = size
    mode = config.preprocess
    if mode in ("resize_and_crop", "resize"):
        return config.load_size, config.load_size
    if mode in ("scale_width", "scale_width_and_crop"):
        if width == config.load_size and height >= config.crop_size:
            return width, height
        # pix2pix __scale_width: the height never drops below crop_size so a crop always fits.
        return config.load_size, int(max(config.load_size * height / width, config.crop_size))
    if mode == "none":
        return _round_to_multiple(width, config.size_multiple), _round_to_multiple(height, config.size_multiple)
    return width, height  # "crop"


def output_size(size: tuple[int, int], config: TransformConfig) -> tuple[int, int]:
    """``(width, height)`` of the transformed image for an input of ``size``."""
    if config.crops:
        return config.crop_size, config.crop_size
    return resized_size(size, config)


def sample_params(size: tuple[int, int], config: TransformConfig, rng: random.Random) -> TransformParams:
    """Draw the crop corner and flip for an image of ``size`` = (width, height).

    Always draws the same number of values, so one item's choices do not depend on the mode.
    """
    width, height = resized_size(size, config)
    x = rng.randint(0, max(0, width - config.crop_size))
    y = rng.randint(0, max(0, height - config.crop_size))
    flip = rng.random() > 0.5
    return TransformParams(crop_x=x if config.crops else 0, crop_y=y if config.crops else 0, flip=flip and config.flip)


def apply_transform(image: Image.Image, config: TransformConfig, params: TransformParams) -> Image.Image:
    """Resize, crop and flip ``image`` as ``config`` and ``params`` say (bicubic resizing)."""
    target = resized_size(image.size, config)
    if target != image.size:
        image = image.resize(target, _BICUBIC)
    if config.crops:
        width, height = image.size
        size = config.crop_size
        if width < size or height < size:
            # pix2pix would pad with black or return a smaller image that cannot be batched.
            raise RekoError(
                f"image of {width}x{height} (after resizing) is smaller than crop_size {size}; lower "
                f"crop_size or use preprocess 'resize_and_crop' / 'scale_width_and_crop'"
            )
        image = image.crop((params.crop_x, params.crop_y, params.crop_x + size, params.crop_y + size))
    if params.flip:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return image


def transform_image(image: Image.Image, config: TransformConfig, rng: random.Random) -> Image.Image:
    """One image with its own random crop and flip."""
    return apply_transform(image, config, sample_params(image.size, config, rng))


def transform_pair(
    first: Image.Image, second: Image.Image, config: TransformConfig, rng: random.Random
) -> tuple[Image.Image, Image.Image]:
    """Two images of the same size with the SAME crop and flip, so they stay pixel-aligned."""
    if first.size != second.size:
        raise RekoError(f"paired images must have the same size, got {first.size} and {second.size}")
    params = sample_params(first.size, config, rng)
    return apply_transform(first, config, params), apply_transform(second, config, params)


def _round_to_multiple(value: int, multiple: int) -> int:
    # pix2pix __make_power_2 rounds to the nearest multiple; never below one multiple.
    return max(multiple, int(round(value / multiple) * multiple))
