"""pix2pix U-Net generator (Ronneberger et al. 2015; Isola et al. 2017), flattened into named stages.

pix2pix builds the U-Net recursively; here the same network is a list of encoder stages and a
list of decoder stages so that distillation can tap any level by name::

    encoder.0      Conv4x4/2(in -> ngf) LeakyReLU(0.2)                    stride 2
    encoder.i      Conv4x4/2 Norm LeakyReLU(0.2)   (channels ngf*min(2^i, 8))  stride 2^(i+1)
    encoder.{n-1}  Conv4x4/2 (the bottleneck, no norm)                    stride 2^n
    decoder.j      ReLU ConvT4x4/2 Norm (Dropout)   level L = n-1-j        stride 2^L
    decoder.{n-1}  ReLU ConvT4x4/2(2ngf -> out) Tanh                      image in [-1, 1]

Decoder stage j (except the first) receives ``cat([skip, previous])`` where ``skip`` is the
encoder output of the same level. The LeakyReLU sits at the end of each encoder stage because
pix2pix applies it *in place* to the skip tensor before concatenation: putting it here
reproduces the released checkpoints' behaviour exactly.

Widths: ``spec.stage_widths()`` gives each encoder level's channels (from ``ngf`` alone
``ngf * min(2^i, 8)``, pix2pix's); decoder levels mirror them.

``block="mobile"`` is our own design (GAN Compression and its successors build mobile students as
ResNets, not U-Nets): every inner level's 4x4 convolution (encoder levels 1 .. n-1, decoder
stages 0 .. n-2) becomes a depthwise-separable one, `SeparableConv2d` (depthwise 4x4/2, Norm,
pointwise 1x1; transposed depthwise in the decoder), after the mobile ResNet's separable
convolution. The outermost convolutions (3 image channels in, 3 out) stay full, as the mobile
ResNet keeps its stem and head, and the bottleneck's separable convolution has no inner norm
(its depthwise output is 1x1 at 256x256, where InstanceNorm is undefined).
"""

from __future__ import annotations

import torch
from torch import nn

from reko.models.layers import FeatureInfo, SeparableConv2d, conv_bias, make_norm
from reko.models.spec import GeneratorSpec


def encoder_channels(spec: GeneratorSpec) -> list[int]:
    """Output channels of each encoder level (from ngf: ngf, 2ngf, 4ngf, then 8ngf to the bottleneck)."""
    return list(spec.stage_widths())


class UnetGenerator(nn.Module):
    """(B, in, H, W) in [-1, 1] -> (B, out, H, W) in [-1, 1]; H and W multiples of 2**num_downs."""

    def __init__(self, spec: GeneratorSpec) -> None:
        super().__init__()
        self.spec = spec
        n, norm, bias = spec.num_downs, spec.norm, conv_bias(spec.norm)
        enc = encoder_channels(spec)
        mobile = spec.block == "mobile"

        encoder: list[nn.Module] = []
        for i in range(n):
            c_in = spec.in_channels if i == 0 else enc[i - 1]
            if mobile and i > 0:
                inner = norm if i < n - 1 else "none"
                conv: nn.Module = SeparableConv2d(c_in, enc[i], 4, inner, stride=2, padding=1)
            else:
                conv = nn.Conv2d(c_in, enc[i], 4, stride=2, padding=1, bias=bias)
            layers: list[nn.Module] = [conv]
            if 0 < i < n - 1:
                layers.append(make_norm(norm, enc[i]))
            if i < n - 1:
                layers.append(nn.LeakyReLU(0.2))
            encoder.append(nn.Sequential(*layers))
        self.encoder = nn.ModuleList(encoder)

        decoder: list[nn.Module] = []
        for j in range(n):
            level = n - 1 - j
            c_in = enc[level] if level == n - 1 else 2 * enc[level]
            if level == 0:
                decoder.append(
                    nn.Sequential(
                        nn.ReLU(),
                        nn.ConvTranspose2d(c_in, spec.out_channels, 4, stride=2, padding=1),
                        nn.Tanh(),
                    )
                )
                continue
            if mobile:
                up: nn.Module = SeparableConv2d(c_in, enc[level - 1], 4, norm, stride=2, padding=1, transposed=True)
            else:
                up = nn.ConvTranspose2d(c_in, enc[level - 1], 4, stride=2, padding=1, bias=bias)
            layers = [nn.ReLU(), up, make_norm(norm, enc[level - 1])]
            # pix2pix puts dropout in the 8ngf levels between the bottleneck and level 4.
            if spec.dropout and 4 <= level <= n - 2:
                layers.append(nn.Dropout(0.5))
            decoder.append(nn.Sequential(*layers))
        self.decoder = nn.ModuleList(decoder)

        self.feature_info: list[FeatureInfo] = [
            *[FeatureInfo(f"encoder.{i}", enc[i], 2 ** (i + 1)) for i in range(n)],
            *[
                FeatureInfo(f"decoder.{j}", enc[n - 2 - j] if j < n - 1 else spec.out_channels, 2 ** (n - 1 - j))
                for j in range(n)
            ],
        ]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips: list[torch.Tensor] = []
        h = x
        for stage in self.encoder:
            h = stage(h)
            skips.append(h)
        n = len(self.encoder)
        for j, stage in enumerate(self.decoder):
            level = n - 1 - j
            h = stage(h if level == n - 1 else torch.cat([skips[level], h], dim=1))
        return h
