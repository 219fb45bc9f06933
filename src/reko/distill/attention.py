"""`attention`: attention transfer between intermediate features.

Zagoruyko & Komodakis, "Paying More Attention to Attention: Improving the Performance of
Convolutional Neural Networks via Attention Transfer", ICLR 2017. What it matches: at each
tapped stage, the spatial attention map ``normalize(mean_c |F_c|^2)`` (one value per position,
unit L2 norm per image; `reko.distill.losses.kd.attention_map`) of the student and of the
teacher, by the mean squared difference; the terms are summed over the stages. The maps do not
depend on the channel count, so no adapter is needed and nothing but the student is trained.

Layers: ReKo's default taps (ResNet-9: ``blocks.2, blocks.5, blocks.8, up1``), so this baseline
and ReKo see the same features.

Weights: ``weight = 500``, i.e. the paper's ``beta / 2`` with ``beta = 1000``: the official code
adds ``beta / 2 * sum_j mean((Q_s - Q_t)^2)``, where the mean divides by batch x positions, which
is how the paper states beta ("10^3 divided by the number of elements in the attention map and
batch size"). Plus the shared output L1 with ``output_weight = 10``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from reko.distill.losses.kd import attention_transfer_loss
from reko.distill.method import MethodConfig, Pair, Parts, Term
from reko.distill.registry import register
from reko.distill.tapped import TappedMethod
from reko.errors import RekoError


@dataclass(frozen=True)
class AttentionConfig(MethodConfig):
    """``weight`` scales the sum over taps of the attention-map loss; ``p`` is the map's exponent."""

    weight: float = 500.0
    p: float = 2.0  # the paper's choice: |F|^2 weighs strongly active positions more than |F|
    taps: tuple[str, ...] = ()  # empty: ReKo's default_taps() of the generator family

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.p <= 0:
            raise RekoError(f"attention p must be > 0, got {self.p}")


@register
class AttentionTransfer(TappedMethod):
    """``output_weight * L1(outputs) + weight * sum_taps mean((Q_s - Q_t)^2)``."""

    name: ClassVar[str] = "attention"
    config_class: ClassVar[type[MethodConfig]] = AttentionConfig
    config: AttentionConfig  # checked against config_class by DistillMethod

    def term(self, pair: Pair) -> tuple[list[Term], Parts]:
        def attention(tap: str, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
            # float32: |F|^2 of bf16 activations loses digits
            return attention_transfer_loss(student.float(), teacher.float(), self.config.p)

        values, parts = self.per_tap("attention", attention, pair)
        return [Term("attention", self.config.weight, values.sum())], parts
