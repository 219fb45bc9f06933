"""Training and validation datasets of a run, from its `reko.config.DataConfig`.

Three layouts, one per kind of run:

- ``folder``: any folder of images (one-direction distillation): `reko.data.ImageFolderDataset`;
- ``paired``: a pix2pix root with ``train/`` (and ``val/``): `reko.data.PairedImageDataset`;
- ``unpaired``: a CycleGAN root with ``trainA/ trainB/``: `reko.data.UnpairedImageDataset`.

The validation split picks the "best" checkpoint, so it must never be the test split: it is
``data.val_root`` if given, else the root's own validation split (``val/``, ``valA/ valB/``), else
``data.val_size`` images held out of the training images (at most half of them), chosen by a
fixed seed so that every run on the same folder holds out the same images.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np

from reko.config import DataConfig
from reko.data import ImageFolderDataset, PairedImageDataset, TransformConfig, UnpairedImageDataset
from reko.errors import RekoError

LAYOUTS: tuple[str, ...] = ("folder", "paired", "unpaired")
_SPLIT_SEED = 20230517  # fixed: the held-out images do not change with the training seed


def train_transform(data: DataConfig, size_multiple: int) -> TransformConfig:
    return TransformConfig(
        preprocess=data.preprocess,
        load_size=data.load_size,
        crop_size=data.crop_size,
        flip=data.flip,
        size_multiple=size_multiple,
    )


def val_transform(data: DataConfig, size_multiple: int) -> TransformConfig:
    """Deterministic: resize to ``crop_size`` squared, no flip."""
    return TransformConfig(
        preprocess="resize", load_size=data.crop_size, crop_size=data.crop_size, flip=False, size_multiple=size_multiple
    )


def hold_out(items: list[Any], count: int) -> tuple[list[Any], list[Any]]:
    """``(train, val)``: ``min(count, len // 2)`` items for validation, picked by a fixed seed."""
    count = min(count, len(items) // 2)
    if count < 1:
        raise RekoError(f"cannot hold out validation images from {len(items)} training images; set data.val_root")
    chosen = set(np.random.default_rng(_SPLIT_SEED).permutation(len(items))[:count].tolist())
    train = [item for i, item in enumerate(items) if i not in chosen]
    val = [item for i, item in enumerate(items) if i in chosen]
    return train, val


def _with(dataset: Any, **attributes: Any) -> Any:
    """A shallow copy of ``dataset`` with some attributes (its file lists) replaced."""
    clone = copy.copy(dataset)
    for name, value in attributes.items():
        setattr(clone, name, value)
    return clone


def build_datasets(data: DataConfig, layout: str, seed: int, size_multiple: int = 4) -> tuple[Any, Any]:
    """``(train_set, val_set)`` for ``layout`` in `LAYOUTS`.

    With ``data.skip_bad`` every image is decoded once here and unreadable ones are skipped with
    one warning; without it only headers are read, and a truncated image stops the run when it is
    reached, with an error naming it and this option.
    """
    bad = data.skip_bad
    if not data.root:
        raise RekoError("no data: set data.root to an image folder")
    train_tf, val_tf = train_transform(data, size_multiple), val_transform(data, size_multiple)
    root = Path(data.root)
    if layout == "folder":
        train = ImageFolderDataset(root, train_tf, recursive=data.recursive, skip_bad=bad, seed=seed)
        if data.val_root:
            return train, ImageFolderDataset(data.val_root, val_tf, recursive=data.recursive, skip_bad=bad)
        kept, held = hold_out(train.paths, data.val_size)
        return _with(train, paths=kept), _with(train, paths=held, transform=val_tf)
    if layout == "paired":
        train = PairedImageDataset(root, "train", data.direction, train_tf, skip_bad=bad, seed=seed)
        if data.val_root:
            return train, PairedImageDataset(data.val_root, None, data.direction, val_tf, skip_bad=bad)
        if (root / "val").is_dir():
            return train, PairedImageDataset(root, "val", data.direction, val_tf, skip_bad=bad)
        kept, held = hold_out(train.pairs, data.val_size)
        return _with(train, pairs=kept), _with(train, pairs=held, transform=val_tf)
    if layout == "unpaired":
        train = UnpairedImageDataset(root, "train", train_tf, skip_bad=bad, seed=seed)
        if data.val_root:
            return train, UnpairedImageDataset(data.val_root, "val", val_tf, serial=True, skip_bad=bad)
        if (root / "valA").is_dir() and (root / "valB").is_dir():
            return train, UnpairedImageDataset(root, "val", val_tf, serial=True, skip_bad=bad)
        kept_a, held_a = hold_out(train.paths_a, data.val_size)
        kept_b, held_b = hold_out(train.paths_b, data.val_size)
        val = _with(train, paths_a=held_a, paths_b=held_b, transform=val_tf, serial=True)
        return _with(train, paths_a=kept_a, paths_b=kept_b), val
    raise RekoError(f"data layout {layout!r} is not one of {LAYOUTS}")
