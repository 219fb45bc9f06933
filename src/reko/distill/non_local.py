"""`nonlocal`: non-local (global relation) distillation.

Zhang & Ma, "Improve Object Detection with Feature-based Knowledge Distillation: Towards Accurate and
Efficient Detectors", ICLR 2021 (Sec. 3.2): apply a non-local block (Wang, Girshick, Gupta & He,
"Non-local Neural Networks", CVPR 2018) to the teacher's and the student's features and distil the
relation it captures by an L2 loss between the two outputs. The ReKo authors' image-translation KD
framework lists the loss as ``--kd_non_local_distillation`` ("L2 loss between non-local results between
students and teachers"; ArchipLab-LinfengZhang/wkd-datasets, ``options/__pycache__/train_options.cpython-37.pyc``)
but releases no code for it, so the block is **our choice** (`reko.distill.losses.nonlocal_kd`): the
parameter-free Gaussian instance of Wang et al. (identity embeddings, dot products scaled by 1/sqrt(C),
keys and values max-pooled by ``pool = 2``). What it matches, at each tap: a learned 1x1 convolution maps
the student's non-local response (C_s channels) to C_t, and its MSE to the teacher's response is summed
over the taps (as `feature` sums its MSEs).

Layers: ReKo's default taps (`reko.distill.tapped.default_taps`, as every feature-level baseline here).
Cost: an (h w) x (h w / pool^2) attention matrix per image and tap (at a 64x64 tap: 4096 x 1024).

Weights: ``weight = 1`` (ours, as `feature`'s: no source gives one; the framework's default is 0, off),
plus the shared output L1 with ``output_weight = 10``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from reko.distill.losses.nonlocal_kd import nonlocal_loss, nonlocal_response
from reko.distill.method import MethodConfig, Pair, Parts, Term
from reko.distill.registry import register
from reko.distill.tapped import TappedMethod, head_key
from reko.errors import RekoError
from reko.models.layers import FeatureInfo


@dataclass(frozen=True)
class NonLocalConfig(MethodConfig):
    """``weight`` scales the sum over taps of the MSE between the non-local responses; ``pool`` their keys."""

    weight: float = 1.0
    taps: tuple[str, ...] = ()  # empty: ReKo's default_taps() of the generator family
    pool: int = 2  # max-pool stride of keys and values (Wang et al.'s subsampling); 1: none

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.pool < 1:
            raise RekoError(f"nonlocal pool must be >= 1, got {self.pool}")


@register
class NonLocalDistillation(TappedMethod):
    """``output_weight * L1(outputs) + weight * sum_taps MSE(adapter(NL(student)), NL(teacher))``."""

    name: ClassVar[str] = "nonlocal"
    config_class: ClassVar[type[MethodConfig]] = NonLocalConfig
    config: NonLocalConfig

    def __init__(
        self, config: MethodConfig, teacher_info: Sequence[FeatureInfo], student_info: Sequence[FeatureInfo]
    ) -> None:
        super().__init__(config, teacher_info, student_info)
        self.adapters = self.make_adapters(lambda c_s, c_t: nn.Conv2d(c_s, c_t, 1))  # N(0, 0.02), as `feature`'s

    def term(self, pair: Pair) -> tuple[list[Term], Parts]:
        pool = self.config.pool

        def relation(tap: str, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
            adapted = self.adapters[head_key(tap)](nonlocal_response(student, pool))  # (B, C_t, h, w)
            with torch.no_grad():
                target = nonlocal_response(teacher, pool)
            return nonlocal_loss(adapted, target)

        values, parts = self.per_tap("nonlocal_mse", relation, pair)
        return [Term("nonlocal_mse", self.config.weight, values.sum())], parts
