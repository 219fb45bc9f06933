"""ResNet generator (Johnson et al. 2016) as used by pix2pix and CycleGAN, with named stages.

Layout (ngf = base width, 2 down-samplings)::

    stem     ReflectionPad(3) Conv7x7(in -> ngf) Norm ReLU          stride 1
    down1    Conv3x3/2(ngf -> 2ngf) Norm ReLU                       stride 2
    down2    Conv3x3/2(2ngf -> 4ngf) Norm ReLU                      stride 4
    blocks.i x + [ReflPad Conv3x3 Norm ReLU (Dropout) ReflPad Conv3x3 Norm](x)   stride 4
    up1      ConvT3x3/2(4ngf -> 2ngf) Norm ReLU                     stride 2
    up2      ConvT3x3/2(2ngf -> ngf) Norm ReLU                      stride 1
    head     ReflectionPad(3) Conv7x7(ngf -> out) Tanh               image in [-1, 1]
"""

from __future__ import annotations

import torch
from torch import nn

from reko.models.layers import FeatureInfo, conv_bias, make_norm
from reko.models.spec import GeneratorSpec


class ResnetBlock(nn.Module):
    """A residual block with reflection padding; ``block`` holds the two convolutions."""

    def __init__(self, channels: int, norm: str, dropout: bool) -> None:
        super().__init__()
        bias = conv_bias(norm)
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            make_norm(norm, channels),
            nn.ReLU(True),
        ]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), make_norm(norm, channels)]
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    """(B, in, H, W) in [-1, 1] -> (B, out, H, W) in [-1, 1]; H and W multiples of 4."""

    def __init__(self, spec: GeneratorSpec) -> None:
        super().__init__()
        self.spec = spec
        ngf, norm, bias = spec.ngf, spec.norm, conv_bias(spec.norm)
        self.stem = nn.Sequential(
            nn.ReflectionPad2d(3),
            nn.Conv2d(spec.in_channels, ngf, 7, bias=bias),
            make_norm(norm, ngf),
            nn.ReLU(True),
        )
        self.down1 = _down(ngf, 2 * ngf, norm, bias)
        self.down2 = _down(2 * ngf, 4 * ngf, norm, bias)
        self.blocks = nn.Sequential(*[ResnetBlock(4 * ngf, norm, spec.dropout) for _ in range(spec.n_blocks)])
        self.up1 = _up(4 * ngf, 2 * ngf, norm, bias)
        self.up2 = _up(2 * ngf, ngf, norm, bias)
        self.head = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(ngf, spec.out_channels, 7), nn.Tanh())
        self.feature_info: list[FeatureInfo] = [
            FeatureInfo("stem", ngf, 1),
            FeatureInfo("down1", 2 * ngf, 2),
            FeatureInfo("down2", 4 * ngf, 4),
            *[FeatureInfo(f"blocks.{i}", 4 * ngf, 4) for i in range(spec.n_blocks)],
            FeatureInfo("up1", 2 * ngf, 2),
            FeatureInfo("up2", ngf, 1),
            FeatureInfo("head", spec.out_channels, 1),
        ]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.down2(self.down1(self.stem(x)))
        x = self.blocks(x)
        return self.head(self.up2(self.up1(x)))


def _down(c_in: int, c_out: int, norm: str, bias: bool) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=bias), make_norm(norm, c_out), nn.ReLU(True)
    )


def _up(c_in: int, c_out: int, norm: str, bias: bool) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1, bias=bias),
        make_norm(norm, c_out),
        nn.ReLU(True),
    )
