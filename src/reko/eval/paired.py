"""Paired metrics: PSNR, SSIM and L1 of generated images against ground truth (or a teacher).

Both images are first quantised to 8 bits as saving them would (`reko.eval.protocols.quantize`)
and compared on the [0, 1] scale, so the numbers equal those of the saved PNG files:

* PSNR: ``10 log10(1 / MSE)`` per image (data range 1), averaged over images (torchmetrics).
* SSIM: Wang et al. 2004, Gaussian window 11 / sigma 1.5, K1 0.01, K2 0.03 (torchmetrics), averaged
  over the windows that lie inside the image (as Wang et al.'s reference code and scikit-image;
  torchmetrics >= 1.5 would also average reflection-padded border windows, which moves the value by
  ~0.005 on 256x256 photos), the three channels, then over images.
* L1: mean absolute difference per image on the [0, 1] scale, averaged over images.
* ST-LPIPS (``stlpips``, optional): the shift-tolerant LPIPS distance (`reko.perceptual.distance`,
  AlexNet trunk and calibrated heads of Ghildyal & Liu, ECCV 2022), averaged over images; lower is closer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from reko.errors import RekoError
from reko.eval.protocols import quantize

if TYPE_CHECKING:
    from reko.perceptual.distance import PerceptualDistance

PAIRED_METRICS: tuple[str, ...] = ("psnr", "ssim", "l1")
PERCEPTUAL_METRIC = "stlpips"
_SSIM_WINDOW = 11  # torchmetrics' Gaussian window for sigma 1.5


def _unit(images: torch.Tensor) -> torch.Tensor:
    """``(B, 3, H, W)`` in [-1, 1] -> 8-bit-quantised ``(B, 3, H, W)`` float64 in [0, 1]."""
    return torch.from_numpy(quantize(images)).permute(0, 3, 1, 2).double().div_(255.0)


def paired_scores(generated: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-image ``psnr``, ``ssim`` and ``l1``, each ``(B,)`` float64, of two ``(B, 3, H, W)``
    batches in [-1, 1]. Identical images have PSNR ``inf``."""
    if generated.shape != target.shape:
        raise RekoError(
            f"paired metrics need images of one shape, got {tuple(generated.shape)} and {tuple(target.shape)}"
        )
    x, y = _unit(generated), _unit(target)
    psnr = peak_signal_noise_ratio(x, y, data_range=1.0, reduction="none", dim=(1, 2, 3))
    # float32: torch's float64 convolutions are ~8x slower on CPU; SSIM moves < 1e-5.
    _, ssim_map = structural_similarity_index_measure(
        x.float(), y.float(), data_range=1.0, reduction="none", return_full_image=True
    )
    border = (_SSIM_WINDOW - 1) // 2
    if min(x.shape[-2:]) <= 2 * border:
        raise RekoError(f"SSIM needs images larger than {2 * border} pixels, got {tuple(x.shape[-2:])}")
    ssim = ssim_map[..., border:-border, border:-border].mean(dim=(1, 2, 3))
    l1 = (x - y).abs().mean(dim=(1, 2, 3))
    return {"psnr": psnr.reshape(-1), "ssim": ssim.reshape(-1).double(), "l1": l1}


class PairedMetrics:
    """Running means of PSNR, SSIM and L1 (and ST-LPIPS when ``perceptual`` is given) over image pairs
    (``update / compute / reset``)."""

    def __init__(self, perceptual: PerceptualDistance | None = None) -> None:
        self.perceptual = perceptual
        self.reset()

    @property
    def names(self) -> tuple[str, ...]:
        return (*PAIRED_METRICS, PERCEPTUAL_METRIC) if self.perceptual is not None else PAIRED_METRICS

    def reset(self) -> None:
        self._sums = dict.fromkeys(self.names, 0.0)
        self._count = 0

    def update(self, generated: torch.Tensor, target: torch.Tensor) -> None:
        """Add a batch of pairs, ``(B, 3, H, W)`` in [-1, 1] each."""
        scores = paired_scores(generated, target)
        if self.perceptual is not None:
            scores[PERCEPTUAL_METRIC] = self.perceptual.scores(generated, target)
        for name in self.names:
            self._sums[name] += float(scores[name].sum())
        self._count += len(generated)

    @property
    def count(self) -> int:
        return self._count

    def compute(self) -> dict[str, float]:
        """Means over all pairs (PSNR is ``inf`` if any pair is identical)."""
        if self._count == 0:
            raise RekoError("no image pairs were added")
        return {name: self._sums[name] / self._count for name in self.names}
