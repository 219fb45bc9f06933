"""InstanceNorm channel equalisation: make a generator's activations friendly to INT8, without
changing what it computes.

INT8 quantisation gives each activation tensor one scale. In a trained generator the
convolution that feeds an InstanceNorm has channels of very different spread: in the real
CycleGAN teacher, channels of one residual convolution have standard deviations from 4 to 47
and means up to +-18, so one 8-bit step (range / 255 ~ 4) erases the quiet channels, and the
InstanceNorm then blows their rounding noise up to unit variance. The network's output PSNR
under INT8 falls to ~15 dB.

InstanceNorm makes those spreads irrelevant: for a per-channel scale ``s > 0`` and shift ``t``,
``IN(s * y + t) = IN(y)`` but for its epsilon: ``(y - mean) / sqrt(var + eps / s**2)`` replaces
``(y - mean) / sqrt(var + eps)``, a relative change of at most ``eps / (2 var)`` in each
normalised value. So each such convolution's output channel ``c`` is rescaled towards unit
spread and zero mean on calibration images (``w_c <- s_c w_c``, ``b_c <- s_c (b_c - mean_c)``,
``s_c = 1 / std_c``), with scaling *up* limited so that the epsilon's effect changes by at most
`MAX_RELATIVE_CHANGE` (scaling down changes it by less than ``eps / 2``). The result is the same
network with equal channels, and per-tensor INT8 scales that fit every channel: Nagel et al.'s
(2019) data-free equalisation, made nearly exact by the normalisation that follows.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable

import torch
from torch import nn

# Largest relative change of any normalised activation that equalisation may cause (through
# InstanceNorm's epsilon): 100x below one INT8 step (1/255 of a range of about +-4).
MAX_RELATIVE_CHANGE = 1e-4


def conv_norm_pairs(model: nn.Module) -> list[tuple[nn.Conv2d | nn.ConvTranspose2d, nn.InstanceNorm2d]]:
    """(convolution, InstanceNorm) pairs where the norm directly follows the convolution in an
    ``nn.Sequential``: how both reko generators (ResNet and U-Net) are built."""
    pairs = []
    for module in model.modules():
        if isinstance(module, nn.Sequential):
            layers = list(module)
            for conv, norm in zip(layers, layers[1:], strict=False):
                is_conv = isinstance(conv, nn.Conv2d | nn.ConvTranspose2d) and conv.groups == 1
                if is_conv and isinstance(norm, nn.InstanceNorm2d) and not norm.track_running_stats:
                    pairs.append((conv, norm))
    return pairs


@torch.no_grad()
def equalize_instance_norm(model: nn.Module, images: Iterable[torch.Tensor]) -> tuple[nn.Module, int]:
    """A copy of ``model`` whose InstanceNorm inputs have (up to) unit spread and zero mean per
    channel on ``images`` (batches ``(B, C, H, W)`` in [-1, 1]); returns it and the number of
    convolutions rescaled. The copy computes the same function to within `MAX_RELATIVE_CHANGE`
    (see the module docstring).
    """
    model = copy.deepcopy(model).eval()
    pairs = conv_norm_pairs(model)
    if not pairs:
        return model, 0
    sums: dict[int, list[torch.Tensor]] = {}
    counts: dict[int, int] = {}

    def record(key: int):  # noqa: ANN202 - a forward hook
        def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            y = output.double()
            mean, std = y.mean(dim=(2, 3)).sum(0), y.std(dim=(2, 3)).sum(0)
            if key in sums:
                sums[key][0] += mean
                sums[key][1] += std
            else:
                sums[key] = [mean, std]
            counts[key] = counts.get(key, 0) + y.shape[0]

        return hook

    handles = [conv.register_forward_hook(record(i)) for i, (conv, _) in enumerate(pairs)]
    try:
        for batch in images:
            model(batch)
    finally:
        for handle in handles:
            handle.remove()
    for i, (conv, norm) in enumerate(pairs):
        if i not in sums:
            continue
        mean, std = sums[i][0] / counts[i], sums[i][1] / counts[i]
        scale = _scales(std, norm.eps)
        _rescale_output_channels(conv, scale.float(), (-mean * scale).float())
    return model, len(pairs)


def _scales(std: torch.Tensor, eps: float) -> torch.Tensor:
    """``1 / std`` per channel, with scaling up capped so that ``eps / s**2`` replacing ``eps``
    moves a normalised value by at most `MAX_RELATIVE_CHANGE` (relative ``eps (1 - 1/s^2) / 2var``)."""
    var = std.clamp_min(1e-12) ** 2
    room = 2.0 * MAX_RELATIVE_CHANGE * var / eps  # the allowed (1 - 1/s^2)
    limit = torch.where(room < 1.0, 1.0 / torch.sqrt((1.0 - room).clamp_min(1e-12)), torch.full_like(std, math.inf))
    return torch.minimum(1.0 / std.clamp_min(1e-12), limit)


def _rescale_output_channels(conv: nn.Conv2d | nn.ConvTranspose2d, scale: torch.Tensor, shift: torch.Tensor) -> None:
    """``conv(x) <- scale * conv(x) + shift`` per output channel."""
    # Conv2d weights are (out, in, kh, kw); ConvTranspose2d weights are (in, out, kh, kw).
    view = (1, -1, 1, 1) if isinstance(conv, nn.ConvTranspose2d) else (-1, 1, 1, 1)
    conv.weight.mul_(scale.view(view))
    if conv.bias is None:
        conv.bias = nn.Parameter(torch.zeros(conv.out_channels, dtype=conv.weight.dtype))
    conv.bias.mul_(scale).add_(shift)
