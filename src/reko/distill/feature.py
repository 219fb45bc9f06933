"""`feature`: FitNets / GAN Compression intermediate-feature distillation.

Romero et al., "FitNets: Hints for Thin Deep Nets", ICLR 2015; as used for image-to-image GANs
by Li et al., "GAN Compression: Efficient Architectures for Interactive Conditional GANs",
CVPR 2020 (eq. 3). What it matches: at each tapped stage, a learned 1x1 convolution (the
"adapter"; FitNets' regressor) maps the student's (B, C_s, h, w) features to the teacher's
C_t channels, and the mean squared error to the teacher's (B, C_t, h, w) features is summed
over the stages, as GAN Compression sums ``F.mse_loss(adapter(S), T)`` over its mapping layers.

Layers: ReKo's default taps (`reko.distill.tapped.default_taps`, ResNet-9: ``blocks.2, blocks.5,
blocks.8, up1``), so this baseline and ReKo look at the same features and differ only in the
loss. GAN Compression itself taps ``down2, blocks.2, blocks.5, blocks.8``; set ``distill.taps``.

Weights: ``weight = 1`` (GAN Compression's default ``lambda_distill``, used for its pix2pix runs;
its horse2zebra script lowers it to 0.01 beside ``lambda_recon = 10``), plus the shared output
L1 with ``output_weight = 10``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from reko.distill.losses.kd import feature_mse
from reko.distill.method import MethodConfig, Pair, Parts, Term
from reko.distill.registry import register
from reko.distill.tapped import TappedMethod, head_key
from reko.models.layers import FeatureInfo


@dataclass(frozen=True)
class FeatureConfig(MethodConfig):
    """``weight`` scales the sum over taps of the adapted-feature MSE."""

    weight: float = 1.0
    taps: tuple[str, ...] = ()  # empty: ReKo's default_taps() of the generator family


@register
class FeatureDistillation(TappedMethod):
    """``output_weight * L1(outputs) + weight * sum_taps MSE(adapter(student), teacher)``."""

    name: ClassVar[str] = "feature"
    config_class: ClassVar[type[MethodConfig]] = FeatureConfig
    config: FeatureConfig  # checked against config_class by DistillMethod

    def __init__(
        self, config: MethodConfig, teacher_info: Sequence[FeatureInfo], student_info: Sequence[FeatureInfo]
    ) -> None:
        super().__init__(config, teacher_info, student_info)
        # A 1x1 convolution C_s -> C_t per tap, N(0, 0.02) as GAN Compression's init_net.
        self.adapters = self.make_adapters(lambda c_s, c_t: nn.Conv2d(c_s, c_t, 1))

    def term(self, pair: Pair) -> tuple[list[Term], Parts]:
        def mse(tap: str, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
            adapted = self.adapters[head_key(tap)](student)  # (B, C_t, h, w)
            return feature_mse(adapted.float(), teacher.float())

        values, parts = self.per_tap("feature_mse", mse, pair)
        return [Term("feature_mse", self.config.weight, values.sum())], parts
