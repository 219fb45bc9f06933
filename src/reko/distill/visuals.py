"""Pictures of what a method looked at, as image-grid columns (B, 3, H, W) in [-1, 1].

`heatmap_overlay` draws a region score map over the input, `patch_overlay` the selected
patches; `reko.distill.distiller.Direction.region_columns` adds them to a run's image grid.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def heat_colours(values: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) in [0, 1] -> (B, 3, H, W) in [0, 1], a blue-cyan-yellow-red colour map."""
    v = values.clamp(0, 1)
    red = (1.5 - (4 * v - 3).abs()).clamp(0, 1)
    green = (1.5 - (4 * v - 2).abs()).clamp(0, 1)
    blue = (1.5 - (4 * v - 1).abs()).clamp(0, 1)
    return torch.cat([red, green, blue], dim=1)


def heatmap_overlay(image: torch.Tensor, scores: torch.Tensor, alpha: float = 0.6) -> torch.Tensor:
    """Scores (B, h, w) of any range, min-max normalised per image, over images (B, 3, H, W) in [-1, 1]."""
    scores = scores.detach().float().cpu().unsqueeze(1)
    low = scores.amin(dim=(2, 3), keepdim=True)
    high = scores.amax(dim=(2, 3), keepdim=True)
    normalised = (scores - low) / (high - low + 1e-8)
    heat = heat_colours(F.interpolate(normalised, size=image.shape[-2:], mode="bilinear", align_corners=False))
    base = (image.detach().float().cpu() + 1) / 2
    return ((1 - alpha) * base + alpha * heat) * 2 - 1


def patch_overlay(image: torch.Tensor, index: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """Images (B, 3, H, W) in [-1, 1] dimmed except the selected cells of an h x w grid, tinted red.

    ``index``: (B, K) flattened positions (row * w + column) of the selected patches.
    """
    batch = image.shape[0]
    h, w = grid
    mask = torch.zeros(batch, h * w)
    mask.scatter_(1, index.detach().cpu().long(), 1.0)
    mask = F.interpolate(mask.view(batch, 1, h, w), size=image.shape[-2:], mode="nearest")
    base = (image.detach().float().cpu() + 1) / 2
    red = torch.tensor([1.0, 0.1, 0.1]).view(1, 3, 1, 1)
    picked = 0.55 * base + 0.45 * red
    out = mask * picked + (1 - mask) * 0.3 * base
    return out * 2 - 1
