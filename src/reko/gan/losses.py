"""Adversarial losses of pix2pix / CycleGAN discriminators and generators.

Three objectives, selected by ``mode``:

- ``lsgan``: least squares (Mao et al., "Least Squares Generative Adversarial Networks", ICCV 2017),
  the default of CycleGAN: D minimises (D(real) - 1)^2 + D(fake)^2, G minimises (D(fake) - 1)^2.
- ``vanilla``: the original cross-entropy GAN (Goodfellow et al., NeurIPS 2014) with the
  non-saturating generator loss, the default of pix2pix (Isola et al., CVPR 2017).
- ``hinge``: the hinge loss (Lim & Ye 2017; Miyato et al., "Spectral Normalization", ICLR 2018):
  D minimises relu(1 - D(real)) + relu(1 + D(fake)), G minimises -D(fake).

``logits`` are raw discriminator outputs of any shape, usually (B, 1, H', W') for a PatchGAN;
every loss is the mean over all elements, so it does not depend on the batch size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from reko.errors import RekoError

GAN_MODES: tuple[str, ...] = ("lsgan", "vanilla", "hinge")


def check_gan_mode(mode: str) -> str:
    if mode not in GAN_MODES:
        raise RekoError(f"GAN mode {mode!r} is not one of {GAN_MODES}")
    return mode


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, mode: str = "lsgan") -> torch.Tensor:
    """The discriminator's loss: 0.5 * (loss on real + loss on fake), as pix2pix/CycleGAN halve it.

    Args:
        real_logits: D's outputs on real samples, any shape.
        fake_logits: D's outputs on generated samples (detached from the generator), any shape.
        mode: ``lsgan`` | ``vanilla`` | ``hinge``.

    Returns:
        A scalar; its minimum is 0 for ``lsgan`` and ``hinge``.
    """
    check_gan_mode(mode)
    real_logits, fake_logits = real_logits.float(), fake_logits.float()
    if mode == "lsgan":
        real = F.mse_loss(real_logits, torch.ones_like(real_logits))
        fake = F.mse_loss(fake_logits, torch.zeros_like(fake_logits))
    elif mode == "vanilla":
        real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
        fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    else:
        real = F.relu(1.0 - real_logits).mean()
        fake = F.relu(1.0 + fake_logits).mean()
    return 0.5 * (real + fake)


def generator_loss(fake_logits: torch.Tensor, mode: str = "lsgan") -> torch.Tensor:
    """The generator's adversarial loss on D's outputs for its samples (gradients flow to G).

    ``lsgan``: mean (D(fake) - 1)^2; ``vanilla``: non-saturating -log sigmoid(D(fake));
    ``hinge``: -mean D(fake).
    """
    check_gan_mode(mode)
    fake_logits = fake_logits.float()
    if mode == "lsgan":
        return F.mse_loss(fake_logits, torch.ones_like(fake_logits))
    if mode == "vanilla":
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    return -fake_logits.mean()
