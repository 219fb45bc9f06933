"""Batches onto the device, and the validation metrics the loop logs (mean per image over the split)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch
from torch.utils.data import DataLoader

from reko.gan.trainable import Batch, Trainable


def to_device(batch: Batch, device: torch.device, channels_last: bool) -> Batch:
    """Every tensor of ``batch`` on ``device``; (B, C, H, W) ones channels-last when asked."""
    moved = {}
    for key, value in batch.items():
        if isinstance(value, torch.Tensor):
            value = value.to(device, non_blocking=True)
            if channels_last and value.dim() == 4:
                value = value.contiguous(memory_format=torch.channels_last)
        moved[key] = value
    return moved


def mean_metrics(
    trainable: Trainable,
    loader: DataLoader,
    device: torch.device,
    channels_last: bool,
    max_batches: int,
    inference: Callable[[], contextlib.AbstractContextManager[None]],
) -> dict[str, float]:
    """``trainable.evaluate``'s per-image values averaged over the images of ``loader``.

    ``max_batches``: stop after that many batches (0: all); ``inference``: the context (eval mode,
    no gradients, RNG untouched) every batch runs in.
    """
    sums: dict[str, float] = {}
    count = 0
    with inference():
        for i, batch in enumerate(loader):
            if max_batches and i >= max_batches:
                break
            values = trainable.evaluate(to_device(batch, device, channels_last))  # name -> (B,)
            for name, per_image in values.items():
                sums[name] = sums.get(name, 0.0) + float(per_image.float().sum())
            count += len(next(iter(values.values())))
    return {name: total / max(count, 1) for name, total in sums.items()}
