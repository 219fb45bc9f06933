"""ResNet generator (Johnson et al. 2016) as used by pix2pix and CycleGAN, with named stages.

Layout (``spec.stage_widths()`` = ``(w_stem, w_down1, w_down2, hidden_0..hidden_{n-1}, w_up1,
w_up2)``; from ``ngf`` alone ``(ngf, 2ngf, 4ngf, 4ngf..., 2ngf, ngf)``, the field's network)::

    stem     ReflectionPad(3) Conv7x7(in -> w_stem) Norm ReLU            stride 1
    down1    Conv3x3/2(w_stem -> w_down1) Norm ReLU                      stride 2
    down2    Conv3x3/2(w_down1 -> w_down2) Norm ReLU                     stride 4
    blocks.i x + F(x), F: w_down2 -> hidden_i -> w_down2                 stride 4
    up1      ConvT3x3/2(w_down2 -> w_up1) Norm ReLU                      stride 2
    up2      ConvT3x3/2(w_up1 -> w_up2) Norm ReLU                        stride 1
    head     ReflectionPad(3) Conv7x7(w_up2 -> out) Tanh                 image in [-1, 1]

``block="conv"``: F = ReflPad Conv3x3 Norm ReLU (Dropout) ReflPad Conv3x3 Norm (the field's).

``block="mobile"``: GAN Compression's mobile ResNet (Li et al., CVPR 2020; the students of
GAN Compression, CAT, OMGD, DMAD): F is the same sequence with each 3x3 convolution replaced by a
depthwise-separable one (depthwise 3x3, Norm, pointwise 1x1: `SeparableConv2d`), as in their
``MobileResnetBlock`` (models/modules/resnet_architecture/mobile_resnet_generator.py and
sub_mobile_resnet_generator.py), where the per-block hidden width is what their channel search
prunes. Stem, down- and up-sampling and head stay full convolutions, as there. OMGD's
horse2zebra student is this network at ngf 16 (bytedance/OMGD, scripts/cycle_gan/horse2zebra/
distill.sh: ``--student_netG mobile_resnet_9blocks --student_ngf 16``): 1.41G MACs (field
convention) at 256x256 by `reko.eval.macs`, against the conv teacher's 56.8G. What we do not
follow: their sub-network clamps its input to [-1, 1] and its channel configs group blocks by
threes; here every block has its own hidden width and inputs are used as given.
"""

from __future__ import annotations

import torch
from torch import nn

from reko.models.layers import FeatureInfo, SeparableConv2d, conv_bias, make_norm
from reko.models.spec import GeneratorSpec


class ResnetBlock(nn.Module):
    """A residual block with reflection padding: (B, C, H, W) -> (B, C, H, W).

    ``block`` holds ``channels -> hidden -> channels``: two 3x3 convolutions (``mobile=False``)
    or two depthwise-separable ones (``mobile=True``)."""

    def __init__(
        self, channels: int, norm: str, dropout: bool, hidden: int | None = None, mobile: bool = False
    ) -> None:
        super().__init__()
        hidden = channels if hidden is None else hidden
        bias = conv_bias(norm)

        def conv(c_in: int, c_out: int) -> nn.Module:
            return SeparableConv2d(c_in, c_out, 3, norm) if mobile else nn.Conv2d(c_in, c_out, 3, bias=bias)

        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1),
            conv(channels, hidden),
            make_norm(norm, hidden),
            nn.ReLU(True),
        ]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), conv(hidden, channels), make_norm(norm, channels)]
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    """(B, in, H, W) in [-1, 1] -> (B, out, H, W) in [-1, 1]; H and W multiples of 4."""

    def __init__(self, spec: GeneratorSpec) -> None:
        super().__init__()
        self.spec = spec
        norm, bias, n = spec.norm, conv_bias(spec.norm), spec.n_blocks
        widths = spec.stage_widths()
        stem, down1, trunk = widths[:3]
        hidden, (up1, up2) = widths[3 : 3 + n], widths[3 + n :]
        self.stem = nn.Sequential(
            nn.ReflectionPad2d(3),
            nn.Conv2d(spec.in_channels, stem, 7, bias=bias),
            make_norm(norm, stem),
            nn.ReLU(True),
        )
        self.down1 = _down(stem, down1, norm, bias)
        self.down2 = _down(down1, trunk, norm, bias)
        mobile = spec.block == "mobile"
        self.blocks = nn.Sequential(*[ResnetBlock(trunk, norm, spec.dropout, h, mobile) for h in hidden])
        self.up1 = _up(trunk, up1, norm, bias)
        self.up2 = _up(up1, up2, norm, bias)
        self.head = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(up2, spec.out_channels, 7), nn.Tanh())
        self.feature_info: list[FeatureInfo] = [
            FeatureInfo("stem", stem, 1),
            FeatureInfo("down1", down1, 2),
            FeatureInfo("down2", trunk, 4),
            *[FeatureInfo(f"blocks.{i}", trunk, 4) for i in range(n)],
            FeatureInfo("up1", up1, 2),
            FeatureInfo("up2", up2, 1),
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
