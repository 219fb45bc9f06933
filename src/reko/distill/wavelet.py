"""`wavelet`: Wavelet knowledge distillation of the generated images.

Zhang, Chen, Tu, Wan, Xu & Ma, "Wavelet Knowledge Distillation: Towards Efficient
Image-to-Image Translation", CVPR 2022. Small GANs lose the high frequencies; so instead of
matching the teacher's image directly, both (B, 3, H, W) outputs are decomposed by a discrete
wavelet transform and only the high-frequency sub-bands are matched. What it matches: the LH,
HL and HH bands of every level of a ``levels``-level orthonormal Haar transform
(`reko.distill.losses.kd.wavelet_loss`; a fixed stride-2 grouped convolution, no extra
dependency), by L1, summed over the levels. The final low-pass band LL is not compared.

Layers: the outputs only (no taps); H and W must be divisible by ``2 ** levels``.

Weights: ``weight = 10``, the magnitude of the output L1 it replaces (``lambda_recon = 10`` in
GAN Compression's CycleGAN runs); ``levels = 3``. Unlike every other method here, the shared
output L1 is **off** (``output_weight = 0``): distilling only the high-frequency bands instead of
the whole image is the paper's point. Set ``distill.output_weight=10`` to add it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from reko.distill.method import (
    DistillMethod,
    MethodConfig,
    Pair,
    Parts,
    Term,
    check_wavelet_size,
    refuse_shared_term,
    wavelet_high_l1,
)
from reko.distill.registry import register
from reko.errors import RekoError


@dataclass(frozen=True)
class WaveletConfig(MethodConfig):
    """``weight`` scales the high-frequency L1; ``levels`` is the depth of the Haar pyramid."""

    weight: float = 10.0
    output_weight: float = 0.0  # the paper distils only the high-frequency bands
    levels: int = 3

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.levels < 1:
            raise RekoError(f"wavelet levels must be >= 1, got {self.levels}")
        refuse_shared_term(self, "wavelet", "high-frequency L1", "distill.levels")


@register
class WaveletDistillation(DistillMethod):
    """``output_weight * L1(outputs) + weight * sum_levels L1(high bands of student, of teacher)``."""

    name: ClassVar[str] = "wavelet"
    config_class: ClassVar[type[MethodConfig]] = WaveletConfig

    @classmethod
    def check_run(cls, config: MethodConfig, batch_size: int, image_size: int) -> None:
        assert isinstance(config, WaveletConfig)
        check_wavelet_size(image_size, image_size, config.levels, "distill.levels")

    def term(self, pair: Pair) -> tuple[list[Term], Parts]:
        config = self.config
        assert isinstance(config, WaveletConfig)
        high = wavelet_high_l1(pair.student, pair.teacher, config.levels, "distill.levels")
        return [Term("wavelet_high_l1", config.weight, high)], {}  # the shared output L1 is off by default
