"""A frozen perceptual network that a distillation method can call without owning it.

Held outside the method's module tree on purpose: its 15M (VGG) weights are never trained, so they
must not enter the optimiser, the checkpoints or DDP's gradient buckets. It follows its input's
device and dtype (moved on the first call on a new device). One loaded network per ``net`` is shared
by every extractor of the process.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import torch

from reko.perceptual.network import PerceptualNet, check_layers


@lru_cache(maxsize=2)
def _shared(net: str) -> PerceptualNet:
    from reko.perceptual.weights import load_perceptual_net

    return load_perceptual_net(net)


class PerceptualExtractor:
    """``extractor(images)`` -> ``{layer: (B, C, h, w)}`` features of ``(B, 3, H, W)`` images in [-1, 1].

    Gradients flow to the images (the student's outputs), never into the network's weights.
    """

    def __init__(self, net: str, layers: Sequence[str]) -> None:
        self.net = net
        self.layers = check_layers(net, layers)
        self.model = _shared(net)

    def __call__(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        parameter = next(self.model.parameters())
        if parameter.device != images.device or parameter.dtype != images.dtype:
            self.model = self.model.to(device=images.device, dtype=images.dtype)
        return self.model(images, self.layers)
