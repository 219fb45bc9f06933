"""CycleGAN (Zhu et al., "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial
Networks", ICCV 2017).

Two generators G_AB: A -> B and G_BA: B -> A, two discriminators D_B (is it a real B?) and D_A.
Losses (CycleGAN defaults ``lambda_A = lambda_B = 10``, ``lambda_identity = 0.5``)::

    G:  GAN(D_B(G_AB(a))) + GAN(D_A(G_BA(b)))                                  (x gan_weight)
        + cycle_weight * (|G_BA(G_AB(a)) - a|_1 + |G_AB(G_BA(b)) - b|_1)
        + cycle_weight * identity_weight * (|G_AB(b) - b|_1 + |G_BA(a) - a|_1)
    D:  D_A on real a vs a pooled G_BA(b); D_B on real b vs a pooled G_AB(a)   (each halved)

The pools (`reko.gan.pool.ImagePool`, 50 images) show the discriminators a history of
generated images. `generator_losses` / `discriminator_losses` are shared with two-direction
distillation (`reko.distill.distiller.CycleDistiller`), which adds each direction's method term.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from reko.config import LossConfig
from reko.gan.losses import discriminator_loss, generator_loss
from reko.gan.pool import ImagePool
from reko.gan.trainable import Batch, Parts, Trainable, frozen, l1, psnr


def generator_losses(
    g_ab: nn.Module,
    g_ba: nn.Module,
    d_a: nn.Module,
    d_b: nn.Module,
    real_a: torch.Tensor,
    real_b: torch.Tensor,
    fake_b: torch.Tensor,
    fake_a: torch.Tensor,
    loss: LossConfig,
) -> tuple[torch.Tensor, Parts]:
    """CycleGAN's generator objective; ``fake_b = g_ab(real_a)``, ``fake_a = g_ba(real_b)`` (B, C, H, W)."""
    with frozen(d_a, d_b):
        gan_ab = generator_loss(d_b(fake_b), loss.gan_mode)
        gan_ba = generator_loss(d_a(fake_a), loss.gan_mode)
    cycle_a = F.l1_loss(g_ba(fake_b).float(), real_a.float())
    cycle_b = F.l1_loss(g_ab(fake_a).float(), real_b.float())
    total = loss.gan_weight * (gan_ab + gan_ba) + loss.cycle_weight * (cycle_a + cycle_b)
    parts = {
        "gan_AB": gan_ab.detach(),
        "gan_BA": gan_ba.detach(),
        "cycle_A": cycle_a.detach(),
        "cycle_B": cycle_b.detach(),
    }
    if loss.identity_weight > 0:
        identity_b = F.l1_loss(g_ab(real_b).float(), real_b.float())  # G_AB should leave a B image alone
        identity_a = F.l1_loss(g_ba(real_a).float(), real_a.float())
        total = total + loss.cycle_weight * loss.identity_weight * (identity_a + identity_b)
        parts.update(identity_A=identity_a.detach(), identity_B=identity_b.detach())
    return total, parts


def discriminator_losses(
    d_a: nn.Module,
    d_b: nn.Module,
    real_a: torch.Tensor,
    real_b: torch.Tensor,
    fake_a: torch.Tensor,
    fake_b: torch.Tensor,
    pool_a: ImagePool,
    pool_b: ImagePool,
    mode: str,
) -> tuple[torch.Tensor, Parts]:
    """Both discriminators' objectives on detached fakes drawn through the history pools."""
    loss_a = discriminator_loss(d_a(real_a), d_a(pool_a(fake_a)), mode)
    loss_b = discriminator_loss(d_b(real_b), d_b(pool_b(fake_b)), mode)
    return loss_a + loss_b, {"D_A": loss_a.detach(), "D_B": loss_b.detach()}


class CycleGAN(Trainable):
    """A CycleGAN model; batches ``{"A", "B"}`` of unaligned images."""

    best_metric = ("cycle_psnr", "max")  # no ground truth: reconstruction quality A -> B -> A and back

    def __init__(self, g_ab: nn.Module, g_ba: nn.Module, d_a: nn.Module, d_b: nn.Module, loss: LossConfig) -> None:
        super().__init__()
        self.g_ab, self.g_ba, self.d_a, self.d_b, self.loss = g_ab, g_ba, d_a, d_b, loss
        self.pool_a, self.pool_b = ImagePool(loss.pool_size), ImagePool(loss.pool_size)
        self._fakes: tuple[torch.Tensor, torch.Tensor] | None = None

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        return {
            "generator": [*self.g_ab.parameters(), *self.g_ba.parameters()],
            "discriminator": [*self.d_a.parameters(), *self.d_b.parameters()],
        }

    def generator_step(self, batch: Batch) -> tuple[torch.Tensor, Parts]:
        real_a, real_b = batch["A"], batch["B"]
        fake_b, fake_a = self.g_ab(real_a), self.g_ba(real_b)
        self._fakes = (fake_a.detach(), fake_b.detach())
        return generator_losses(self.g_ab, self.g_ba, self.d_a, self.d_b, real_a, real_b, fake_b, fake_a, self.loss)

    def discriminator_step(self, batch: Batch) -> tuple[torch.Tensor, Parts]:
        assert self._fakes is not None, "generator_step comes first"
        fake_a, fake_b = self._fakes
        return discriminator_losses(
            self.d_a, self.d_b, batch["A"], batch["B"], fake_a, fake_b, self.pool_a, self.pool_b, self.loss.gan_mode
        )

    @torch.no_grad()
    def evaluate(self, batch: Batch) -> dict[str, torch.Tensor]:
        real_a, real_b = batch["A"], batch["B"]
        rec_a, rec_b = self.g_ba(self.g_ab(real_a)), self.g_ab(self.g_ba(real_b))
        cycle = 0.5 * (psnr(rec_a, real_a) + psnr(rec_b, real_b))
        return {"cycle_psnr": cycle, "cycle_l1": 0.5 * (l1(rec_a, real_a) + l1(rec_b, real_b))}

    @torch.no_grad()
    def grid(self, batch: Batch) -> dict[str, torch.Tensor]:
        real_a, real_b = batch["A"], batch["B"]
        fake_b, fake_a = self.g_ab(real_a), self.g_ba(real_b)
        return {"A": real_a, "G_AB(A)": fake_b, "G_BA(G_AB(A))": self.g_ba(fake_b), "B": real_b, "G_BA(B)": fake_a}

    def generators(self) -> dict[str, nn.Module]:
        return {"G_AB": self.g_ab, "G_BA": self.g_ba}

    def checkpoint_metadata(self) -> dict[str, str]:
        return {"model": "cyclegan"}
