"""pix2pix (Isola et al., "Image-to-Image Translation with Conditional Adversarial Networks", CVPR 2017).

A generator G maps the input x to y; a conditional PatchGAN discriminator D judges the pair
(x, y) concatenated on channels. Losses (pix2pix ``--lambda_L1 100``)::

    G:  gan_weight * GAN(D(x, G(x)) -> real) + l1_weight * |G(x) - y|_1
    D:  0.5 * (GAN(D(x, y) -> real) + GAN(D(x, G(x)) -> fake))

`generator_losses` / `discriminator_losses` are shared with paired distillation
(`reko.distill.distiller.PairedDistiller`), which adds its method's term on top.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from reko.config import LossConfig
from reko.gan.losses import discriminator_loss, generator_loss
from reko.gan.trainable import Batch, Parts, Trainable, frozen, l1, psnr


def generator_losses(
    discriminator: nn.Module, source: torch.Tensor, fake: torch.Tensor, target: torch.Tensor, loss: LossConfig
) -> tuple[torch.Tensor, Parts]:
    """pix2pix's generator objective for images (B, C, H, W) in [-1, 1]; ``fake`` = G(source)."""
    with frozen(discriminator):
        gan = generator_loss(discriminator(torch.cat([source, fake], dim=1)), loss.gan_mode)
    reconstruction = F.l1_loss(fake.float(), target.float())
    total = loss.gan_weight * gan + loss.l1_weight * reconstruction
    return total, {"gan": gan.detach(), "l1": reconstruction.detach()}


def discriminator_losses(
    discriminator: nn.Module, source: torch.Tensor, fake: torch.Tensor, target: torch.Tensor, mode: str
) -> tuple[torch.Tensor, Parts]:
    """pix2pix's discriminator objective; ``fake`` must be detached from the generator."""
    real_logits = discriminator(torch.cat([source, target], dim=1))
    fake_logits = discriminator(torch.cat([source, fake], dim=1))
    loss = discriminator_loss(real_logits, fake_logits, mode)
    return loss, {
        "gan": loss.detach(),
        "real": real_logits.detach().float().mean(),
        "fake": fake_logits.detach().float().mean(),
    }


class Pix2Pix(Trainable):
    """A pix2pix model: ``generator`` and conditional ``discriminator``; batches ``{"input", "target"}``."""

    best_metric = ("psnr", "max")  # PSNR of G(input) against the ground truth on the validation split

    def __init__(self, generator: nn.Module, discriminator: nn.Module, loss: LossConfig) -> None:
        super().__init__()
        self.generator, self.discriminator, self.loss = generator, discriminator, loss
        self._fake: torch.Tensor | None = None

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"generator": list(self.generator.parameters()), "discriminator": list(self.discriminator.parameters())}

    def generator_step(self, batch: Batch) -> tuple[torch.Tensor, Parts]:
        fake = self.generator(batch["input"])
        self._fake = fake.detach()
        return generator_losses(self.discriminator, batch["input"], fake, batch["target"], self.loss)

    def discriminator_step(self, batch: Batch) -> tuple[torch.Tensor, Parts]:
        assert self._fake is not None, "generator_step comes first"
        return discriminator_losses(self.discriminator, batch["input"], self._fake, batch["target"], self.loss.gan_mode)

    @torch.no_grad()
    def evaluate(self, batch: Batch) -> dict[str, torch.Tensor]:
        fake = self.generator(batch["input"])
        return {"psnr": psnr(fake, batch["target"]), "l1": l1(fake, batch["target"])}

    @torch.no_grad()
    def grid(self, batch: Batch) -> dict[str, torch.Tensor]:
        return {"input": batch["input"], "target": batch["target"], "output": self.generator(batch["input"])}

    def generators(self) -> dict[str, nn.Module]:
        return {"generator": self.generator}

    def checkpoint_metadata(self) -> dict[str, str]:
        return {"model": "pix2pix"}
