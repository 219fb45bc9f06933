"""The contract between `reko.train.trainer.Trainer` and what it trains.

A `Trainable` is one `nn.Module` holding everything trainable (generators, discriminators,
projection heads; frozen teachers may ride along). The trainer calls, every step::

    loss_g, parts = trainable.generator_step(batch)      # backward, average, step "generator"
    loss_d, parts = trainable.discriminator_step(batch)  # backward, average, step "discriminator"

``generator_step`` keeps what the discriminator step needs (its generated images, detached).
Everything else (losses, modes, methods) is the trainable's business, not the loop's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, ClassVar

import torch
from torch import nn

from reko.results.heads import Heads

Batch = dict[str, Any]
Parts = dict[str, torch.Tensor]


class Trainable(nn.Module):
    """Base class of distillers and teacher models; subclasses implement the methods below."""

    # The validation metric that picks the "best" checkpoint, and whether higher is better.
    best_metric: ClassVar[tuple[str, str]] = ("psnr", "max")

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """``{"generator": [...], "discriminator": [...]}``: one Adam optimiser each (trainable only)."""
        raise NotImplementedError

    def generator_step(self, batch: Batch) -> tuple[torch.Tensor, Parts]:
        """Forward the generator side; returns its total loss (scalar) and named detached parts."""
        raise NotImplementedError

    def discriminator_step(self, batch: Batch) -> tuple[torch.Tensor, Parts]:
        """The discriminators' loss on the last generator step's (detached) outputs."""
        raise NotImplementedError

    @torch.no_grad()
    def evaluate(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Validation metrics of one batch: ``{name: (B,) per-image values}`` (averaged by the trainer)."""
        raise NotImplementedError

    @torch.no_grad()
    def grid(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Columns of the image grid: ``{name: (B, 3, H, W) in [-1, 1]}``."""
        raise NotImplementedError

    def generators(self) -> dict[str, nn.Module]:
        """The generators to checkpoint, by file prefix (``student`` -> ``student_latest.safetensors``)."""
        raise NotImplementedError

    def checkpoint_metadata(self) -> dict[str, str]:
        """Strings stored in every generator checkpoint (e.g. the teacher's path, the method)."""
        return {}

    def heads(self, step: int) -> dict[str, Heads]:
        """Weights saved beside each generator's checkpoint (a distiller: its method's heads); none by default."""
        return {}


@contextlib.contextmanager
def frozen(*modules: nn.Module) -> Iterator[None]:
    """Parameters of ``modules`` do not require gradients inside the block (restored after).

    The generator's loss goes through the discriminator; freezing it there skips computing
    discriminator gradients that its own step would discard anyway (pix2pix's set_requires_grad).
    """
    params = [p for m in modules for p in m.parameters()]
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, flags, strict=True):
            p.requires_grad_(flag)


def psnr(image: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB of (B, C, H, W) images in [-1, 1] (peak-to-peak 2): (B,)."""
    mse = (image.float().clamp(-1, 1) - reference.float()).pow(2).flatten(1).mean(dim=1)
    return 10 * torch.log10(4.0 / mse.clamp_min(1e-10))


def l1(image: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Per-image mean absolute difference of (B, C, H, W) images: (B,)."""
    return (image.float() - reference.float()).abs().flatten(1).mean(dim=1)
