"""DRN-D segmentation networks (Yu, Koltun, Funkhouser, "Dilated Residual Networks", CVPR 2017).

The field scores Cityscapes labels->photo generators by segmenting their photos with DRN-D-105
(fyu/drn ``drn_d_105`` under the ``DRNSeg`` head, weights ``drn-d-105_ms_cityscapes.pth``, as
GAN Compression, CAT, OMGD and ReKo do). The modules here carry the same names as fyu/drn's, so
its checkpoints load: ``base.0`` ... ``base.8`` are ``layer0`` ... ``layer8`` of the DRN, then a
1x1 ``seg`` convolution to the classes and ``up``, a fixed bilinear ConvTranspose2d x8.

Input: ``(B, 3, H, W)`` normalised with the Cityscapes mean/std (see `reko.eval.cityscapes`);
output: ``(B, classes, H, W)`` log-probabilities (H, W multiples of 8).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

CHANNELS: tuple[int, ...] = (16, 32, 64, 128, 256, 512, 512, 512)
# Blocks per level (layer1 ... layer8) and the block type, per fyu/drn.
CONFIGS: dict[str, tuple[str, tuple[int, ...]]] = {
    "drn_d_22": ("basic", (1, 1, 2, 2, 2, 2, 1, 1)),
    "drn_d_38": ("basic", (1, 1, 3, 4, 6, 3, 1, 1)),
    "drn_d_54": ("bottleneck", (1, 1, 3, 4, 6, 3, 1, 1)),
    "drn_d_105": ("bottleneck", (1, 1, 3, 4, 23, 3, 1, 1)),
}


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(
        self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
        dilation: tuple[int, int] = (1, 1),
    ) -> None:  # fmt: skip
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, padding=dilation[0], dilation=dilation[0], bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=dilation[1], dilation=dilation[1], bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        residual = self.downsample(x) if self.downsample is not None else x
        return F.relu(out + residual)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(
        self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
        dilation: tuple[int, int] = (1, 1),
    ) -> None:  # fmt: skip
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, padding=dilation[1], dilation=dilation[1], bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        residual = self.downsample(x) if self.downsample is not None else x
        return F.relu(out + residual)


def _conv_layers(inplanes: int, channels: int, convs: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    """DRN-D's plain convolution levels (layer0-2, 7, 8): conv 3x3, BN, ReLU, repeated."""
    modules: list[nn.Module] = []
    for i in range(convs):
        modules += [
            nn.Conv2d(inplanes if i == 0 else channels, channels, 3, stride if i == 0 else 1,
                      padding=dilation, dilation=dilation, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
        ]  # fmt: skip
    return nn.Sequential(*modules)


def _residual_layer(
    block: type[BasicBlock] | type[Bottleneck], inplanes: int, planes: int, blocks: int, stride: int = 1,
    dilation: int = 1,
) -> nn.Sequential:  # fmt: skip
    """A residual level; dilated levels (layer5, 6) keep their resolution (fyu/drn, new_level=False)."""
    downsample = None
    if stride != 1 or inplanes != planes * block.expansion:
        downsample = nn.Sequential(
            nn.Conv2d(inplanes, planes * block.expansion, 1, stride=stride, bias=False),
            nn.BatchNorm2d(planes * block.expansion),
        )
    layers = [block(inplanes, planes, stride, downsample, dilation=(dilation, dilation))]
    layers += [block(planes * block.expansion, planes, dilation=(dilation, dilation)) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


def drn_d_base(name: str = "drn_d_105", channels: tuple[int, ...] = CHANNELS) -> nn.Sequential:
    """The DRN-D trunk ``layer0 ... layer8`` (output stride 8, ``channels[-1]`` channels)."""
    if name not in CONFIGS:
        raise ValueError(f"unknown DRN {name!r}; known: {sorted(CONFIGS)}")
    kind, counts = CONFIGS[name]
    block = Bottleneck if kind == "bottleneck" else BasicBlock
    c = channels
    layer0 = _conv_layers(3, c[0], 1)
    layer0[0] = nn.Conv2d(3, c[0], 7, padding=3, bias=False)  # the stem is a 7x7 convolution
    levels: list[nn.Module] = [
        layer0,
        _conv_layers(c[0], c[0], counts[0]),
        _conv_layers(c[0], c[1], counts[1], stride=2),
        _residual_layer(block, c[1], c[2], counts[2], stride=2),
        _residual_layer(block, c[2] * block.expansion, c[3], counts[3], stride=2),
        _residual_layer(block, c[3] * block.expansion, c[4], counts[4], dilation=2),
        _residual_layer(block, c[4] * block.expansion, c[5], counts[5], dilation=4),
        _conv_layers(c[5] * block.expansion, c[6], counts[6], dilation=2),
        _conv_layers(c[6], c[7], counts[7]),
    ]
    return nn.Sequential(*levels)


class DRNSeg(nn.Module):
    """fyu/drn's ``DRNSeg``: DRN-D trunk, 1x1 classifier, fixed bilinear x8 up-sampling.

    ``forward``: ``(B, 3, H, W)`` normalised images -> ``(B, classes, H, W)`` log-probabilities.
    """

    def __init__(self, name: str = "drn_d_105", classes: int = 19, channels: tuple[int, ...] = CHANNELS) -> None:
        super().__init__()
        self.name = name
        self.classes = classes
        self.base = drn_d_base(name, channels)
        self.seg = nn.Conv2d(channels[-1], classes, kernel_size=1, bias=True)
        self.up = nn.ConvTranspose2d(classes, classes, 16, stride=8, padding=4, groups=classes, bias=False)
        _fill_bilinear(self.up)
        self.up.weight.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(self.up(self.seg(self.base(x))), dim=1)


def _fill_bilinear(up: nn.ConvTranspose2d) -> None:
    """A bilinear interpolation kernel in every channel (fyu/drn's ``fill_up_weights``)."""
    size = up.weight.shape[2]
    factor = math.ceil(size / 2)
    centre = (2 * factor - 1 - factor % 2) / (2.0 * factor)
    ramp = 1 - (torch.arange(size, dtype=torch.float64) / factor - centre).abs()
    kernel = (ramp[:, None] * ramp[None, :]).float()
    with torch.no_grad():
        up.weight.copy_(kernel.expand_as(up.weight))
