"""Image grids of a training run: one row per image, one column per named picture.

Columns are (B, 3, H, W) tensors in [-1, 1] (e.g. input | teacher | student | attention |
patches); `heatmap_overlay` and `patch_overlay` turn a region score map and a patch selection into
such pictures.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from reko.data.images import to_pil

_LABEL_HEIGHT = 14


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


def make_grid(columns: dict[str, torch.Tensor]) -> Image.Image:
    """A PIL image: a label row, then one row per image with the columns side by side.

    All columns must be (B, 3, H, W) in [-1, 1] with the same B, H and W.
    """
    names = list(columns)
    first = columns[names[0]]
    batch, _, height, width = first.shape
    grid = Image.new("RGB", (width * len(names), _LABEL_HEIGHT + height * batch), "white")
    draw = ImageDraw.Draw(grid)
    for col, name in enumerate(names):
        draw.text((col * width + 3, 1), name, fill="black")
        images = columns[name]
        for row in range(batch):
            grid.paste(to_pil(images[row]), (col * width, _LABEL_HEIGHT + row * height))
    return grid
