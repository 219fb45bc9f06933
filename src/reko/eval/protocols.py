"""How an image becomes the Inception network's input: the FID protocols.

FID depends on how images are resized to 299x299 (Parmar et al., "On Aliased Resizing and
Surprising Subtleties in GAN Evaluation", CVPR 2022), so every number records its protocol:

``clean`` (default; as clean-fid)
    8-bit RGB pixels -> each channel resized to 299x299 by PIL's bicubic filter in float mode
    (``Image.fromarray(float32)``, no re-quantisation), clipped to [0, 255] -> ``v / 128 - 1``,
    the scaling of the TensorFlow graph.

``legacy`` (as pytorch-fid, vendored by GAN Compression, CAT, OMGD and ReKo)
    8-bit RGB pixels -> float in [0, 1] -> ``F.interpolate(size=(299, 299), mode="bilinear",
    align_corners=False)`` (no antialiasing) -> ``2 x - 1``. Use it to compare with numbers those
    papers publish.

Generated images are first quantised to 8 bits exactly as saving them as PNG would
(`quantize`), so evaluating in memory and evaluating the saved files give the same number.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from reko.errors import RekoError
from reko.eval.inception import INPUT_SIZE

PROTOCOLS: tuple[str, ...] = ("clean", "legacy")
_BICUBIC = Image.Resampling.BICUBIC


def check_protocol(protocol: str) -> str:
    if protocol not in PROTOCOLS:
        raise RekoError(f"FID protocol {protocol!r} is not one of {PROTOCOLS}")
    return protocol


def quantize(images: torch.Tensor) -> np.ndarray:
    """``(B, 3, H, W)`` in [-1, 1] -> ``(B, H, W, 3)`` uint8, rounded exactly as `reko.data.to_pil`."""
    if images.dim() != 4 or images.shape[1] != 3:
        raise RekoError(f"expected (B, 3, H, W) images in [-1, 1], got shape {tuple(images.shape)}")
    pixels = images.detach().float().cpu().clamp(-1.0, 1.0).add(1.0).mul(127.5).round().to(torch.uint8)
    return pixels.permute(0, 2, 3, 1).contiguous().numpy()


def prepare(pixels: np.ndarray, protocol: str = "clean") -> torch.Tensor:
    """One ``(H, W, 3)`` uint8 image -> ``(3, 299, 299)`` float32 Inception input (about [-1, 1])."""
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
        raise RekoError(f"expected an (H, W, 3) uint8 image, got {pixels.dtype} of shape {pixels.shape}")
    if check_protocol(protocol) == "clean":
        return _clean(pixels)
    return _legacy(pixels)


def _clean(pixels: np.ndarray) -> torch.Tensor:
    channels = []
    for c in range(3):
        # Float mode keeps the filter's output unrounded, as clean-fid does (quantize_after=False).
        plane = Image.fromarray(pixels[:, :, c].astype(np.float32))
        resized = plane.resize((INPUT_SIZE, INPUT_SIZE), resample=_BICUBIC)
        channels.append(np.asarray(resized, dtype=np.float32).clip(0.0, 255.0))
    stacked = torch.from_numpy(np.stack(channels))  # (3, 299, 299) in [0, 255]
    return stacked.div_(128.0).sub_(1.0)


def _legacy(pixels: np.ndarray) -> torch.Tensor:
    image = torch.from_numpy(np.array(pixels, copy=True)).permute(2, 0, 1).float().div_(255.0)  # writable copy
    resized = F.interpolate(image[None], size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
    return resized[0].mul_(2.0).sub_(1.0)
