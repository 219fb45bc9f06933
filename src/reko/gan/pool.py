"""`ImagePool`: a history of generated images shown to the discriminator (CycleGAN).

Shrivastava et al., "Learning from Simulated and Unsupervised Images through Adversarial
Training" (CVPR 2017), as CycleGAN uses it (``pool_size`` 50): once the pool is full, each new
image is, with probability 1/2, swapped for a random stored one (which the discriminator sees
instead) or passed through. Random draws use torch's global generator, whose state the trainer
saves, and the pool's images are part of its ``state_dict`` (extra state), so a resumed run
continues with the same history.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class ImagePool(nn.Module):
    """``pool(images)``: (B, C, H, W) -> (B, C, H, W) mixing new and stored (detached) images."""

    def __init__(self, size: int = 50) -> None:
        super().__init__()
        self.size = size
        self.images: list[torch.Tensor] = []

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images.detach()
        out = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand(()).item() > 0.5:
                slot = int(torch.randint(0, self.size, ()).item())
                out.append(self.images[slot].to(image.device).clone())
                self.images[slot] = image.clone()
            else:
                out.append(image)
        return torch.cat(out, dim=0)

    def get_extra_state(self) -> Any:
        stored = torch.cat(self.images) if self.images else torch.empty(0)
        return {"images": stored.cpu(), "count": len(self.images)}

    def set_extra_state(self, state: Any) -> None:
        images = state["images"]
        self.images = [images[i : i + 1].clone() for i in range(int(state["count"]))]

    def _apply(self, fn: Any, recurse: bool = True) -> ImagePool:  # keep stored images on the module's device
        super()._apply(fn, recurse)
        self.images = [fn(image) for image in self.images]
        return self
