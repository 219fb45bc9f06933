"""Image grids of a training run: one row per image, one column per named picture.

Columns are (B, 3, H, W) tensors in [-1, 1] (e.g. input | teacher | student | attention |
patches), as a `Trainable`'s ``grid`` returns them.
"""

from __future__ import annotations

import torch
from PIL import Image, ImageDraw

from reko.data.images import to_pil

_LABEL_HEIGHT = 14


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
