"""Discriminators of pix2pix/CycleGAN: PatchGAN (N layers; 70x70 receptive field at 3) and pixel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from reko.errors import RekoError
from reko.models.layers import conv_bias, make_norm


@dataclass(frozen=True)
class DiscriminatorSpec:
    """``kind``: ``patch`` (PatchGAN with ``n_layers`` strided layers) or ``pixel`` (1x1 PatchGAN).

    ``in_channels`` is 3 for unpaired training and 6 for pix2pix's conditional discriminator
    (input and output concatenated).
    """

    kind: Literal["patch", "pixel"] = "patch"
    in_channels: int = 3
    ndf: int = 64
    n_layers: int = 3
    norm: str = "instance"

    def __post_init__(self) -> None:
        if self.kind not in ("patch", "pixel"):
            raise RekoError(f"discriminator kind {self.kind!r} is not one of ('patch', 'pixel')")


class PatchDiscriminator(nn.Module):
    """(B, C, H, W) -> (B, 1, H', W') real/fake logits, one per overlapping patch."""

    def __init__(self, spec: DiscriminatorSpec) -> None:
        super().__init__()
        ndf, norm, bias = spec.ndf, spec.norm, conv_bias(spec.norm)
        layers: list[nn.Module] = [nn.Conv2d(spec.in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, spec.n_layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < spec.n_layers else 1  # the last feature layer keeps the resolution
            layers += [
                nn.Conv2d(ndf * prev, ndf * mult, 4, stride, 1, bias=bias),
                make_norm(norm, ndf * mult),
                nn.LeakyReLU(0.2, True),
            ]
        layers.append(nn.Conv2d(ndf * mult, 1, 4, 1, 1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class PixelDiscriminator(nn.Module):
    """(B, C, H, W) -> (B, 1, H, W): a 1x1 PatchGAN that judges each pixel's colour alone."""

    def __init__(self, spec: DiscriminatorSpec) -> None:
        super().__init__()
        ndf, bias = spec.ndf, conv_bias(spec.norm)
        self.model = nn.Sequential(
            nn.Conv2d(spec.in_channels, ndf, 1),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, 2 * ndf, 1, bias=bias),
            make_norm(spec.norm, 2 * ndf),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(2 * ndf, 1, 1, bias=bias),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def create_discriminator(spec: DiscriminatorSpec) -> nn.Module:
    model = PatchDiscriminator(spec) if spec.kind == "patch" else PixelDiscriminator(spec)
    init_weights(model)
    return model


def init_weights(model: nn.Module, gain: float = 0.02) -> None:
    """pix2pix's 'normal' initialisation: N(0, 0.02) convolutions, N(1, 0.02) norm scales."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(module.weight, 0.0, gain)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.BatchNorm2d, nn.InstanceNorm2d)) and module.weight is not None:
            nn.init.normal_(module.weight, 1.0, gain)
            nn.init.zeros_(module.bias)
