"""ST-LPIPS: the shift-tolerant learned perceptual image patch similarity of two images.

LPIPS (Zhang et al., "The Unreasonable Effectiveness of Deep Features as a Perceptual Metric", CVPR
2018, eq. 1) with the shift-tolerant networks and calibrated heads of Ghildyal & Liu (ECCV 2022), as
their ``stlpips.LPIPS(net=..., variant="shift_tolerant")`` computes it: for each of the five layers l,
unit-normalise the features of both images along channels, square their difference, weight the channels
with the layer's non-negative linear head w_l, sum over channels, average over positions; sum over layers::

    d(x, y) = sum_l mean_hw( sum_c w_lc (x̂_lchw - ŷ_lchw)^2 ),   x̂ = x / (||x||_c + 1e-10)

0 for identical images; larger is more different (0.66-0.92 between unrelated 128x128 horse2zebra photos,
measured with ``alex``; 0.004-0.007 for a one-pixel shift). Images are
quantised to 8 bits first, as `reko.eval.paired` does, so the number is that of the saved PNG files.
It is not the original LPIPS: the trunks and heads differ (see `reko.perceptual.weights`), so values
are not comparable with papers' LPIPS numbers, only between models evaluated here.
"""

from __future__ import annotations

import torch

from reko.errors import RekoError
from reko.perceptual.network import LPIPS_LAYERS, PerceptualNet, check_net

DEFAULT_NET = "alex"  # the ST-LPIPS README's example; AlexNet is also LPIPS' recommended metric trunk


def _unit_channels(features: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    return features / (features.pow(2).sum(dim=1, keepdim=True).sqrt() + eps)


def _quantised(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> the nearest of the 256 levels an 8-bit file stores, back in [-1, 1] (float32)."""
    return images.detach().float().clamp(-1.0, 1.0).add(1.0).mul(127.5).round().div(127.5).sub(1.0)


class PerceptualDistance:
    """ST-LPIPS between image pairs: ``scores`` per pair, or running means (``update / compute / reset``).

    Args:
        net: ``alex`` (default) or ``vgg``; the trunk and heads load from the ``stlpips-pytorch`` wheel.
            The network runs on the device of the images it is given.
    """

    def __init__(self, net: str = DEFAULT_NET) -> None:
        from reko.perceptual.weights import linear_heads, load_perceptual_net

        self.net = check_net(net)
        self.model: PerceptualNet = load_perceptual_net(net)
        self.heads = linear_heads(net)  # {layer: (C,)}
        self.reset()

    def scores(self, generated: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``(B,)`` float64 distances of two ``(B, 3, H, W)`` batches in [-1, 1]."""
        if generated.shape != target.shape or generated.dim() != 4:
            raise RekoError(
                f"ST-LPIPS needs two (B, 3, H, W) batches of one shape, got {tuple(generated.shape)} and "
                f"{tuple(target.shape)}"
            )
        device = generated.device
        if next(self.model.parameters()).device != device:
            self.model = self.model.to(device)
        layers = LPIPS_LAYERS[self.net]
        with torch.no_grad():
            both = self.model(torch.cat([_quantised(generated), _quantised(target)]), layers)
            total = torch.zeros(len(generated), dtype=torch.float64, device=device)
            for layer in layers:
                a, b = both[layer].chunk(2)
                weight = self.heads[layer].to(device).view(1, -1, 1, 1)
                total += ((_unit_channels(a) - _unit_channels(b)).pow(2) * weight).sum(dim=1).mean(dim=(1, 2)).double()
        return total.cpu()

    def reset(self) -> None:
        self._sum, self._count = 0.0, 0

    def update(self, generated: torch.Tensor, target: torch.Tensor) -> None:
        self._sum += float(self.scores(generated, target).sum())
        self._count += len(generated)

    def compute(self) -> float:
        if self._count == 0:
            raise RekoError("no image pairs were added")
        return self._sum / self._count
