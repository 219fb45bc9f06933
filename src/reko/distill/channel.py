"""`channel`: channel-attention distillation.

Channel attention as a distillation target is Zhang & Ma's ("Improve Object Detection with
Feature-based Knowledge Distillation", ICLR 2021, Sec. 3.1, who softmax-normalise it into masks); the
ReKo authors' image-translation KD framework lists it as ``--kd_channel_attention_distillation`` ("L2
loss on channel attention"; ArchipLab-LinfengZhang/wkd-datasets,
``options/__pycache__/train_options.cpython-37.pyc``), and a fuller version of that framework's
``models/cycle_gan_model.py`` (seen in a public code index that does not name its repository; see
docs/methods.md) computes it as reko does here: at each tap, each channel's signed mean over positions
(`reko.distill.losses.kd.channel_attention`, (B, C)), the student's vector mapped to C_t by a learned
linear layer, MSE to the teacher's, summed over taps.

Layers: ReKo's default taps, as every feature-level baseline here.

Weights: ``weight = 1`` (ours: no source gives one; the framework's default is 0, off), plus the shared
output L1 with ``output_weight = 10``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from reko.distill.losses.kd import channel_attention, channel_attention_loss
from reko.distill.method import MethodConfig, Pair, Parts, Term
from reko.distill.registry import register
from reko.distill.tapped import TappedMethod, head_key
from reko.models.layers import FeatureInfo


@dataclass(frozen=True)
class ChannelConfig(MethodConfig):
    """``weight`` scales the sum over taps of the channel-attention MSE."""

    weight: float = 1.0
    taps: tuple[str, ...] = ()  # empty: ReKo's default_taps() of the generator family


@register
class ChannelAttentionDistillation(TappedMethod):
    """``output_weight * L1(outputs) + weight * sum_taps MSE(linear(mean_hw student), mean_hw teacher)``."""

    name: ClassVar[str] = "channel"
    config_class: ClassVar[type[MethodConfig]] = ChannelConfig
    config: ChannelConfig

    def __init__(
        self, config: MethodConfig, teacher_info: Sequence[FeatureInfo], student_info: Sequence[FeatureInfo]
    ) -> None:
        super().__init__(config, teacher_info, student_info)
        self.adapters = self.make_adapters(nn.Linear)  # (B, C_s) -> (B, C_t) per tap, N(0, 0.02)

    def term(self, pair: Pair) -> tuple[list[Term], Parts]:
        def mse(tap: str, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
            adapted = self.adapters[head_key(tap)](channel_attention(student))  # (B, C_t)
            return channel_attention_loss(adapted, channel_attention(teacher))

        values, parts = self.per_tap("channel_mse", mse, pair)
        return [Term("channel_mse", self.config.weight, values.sum())], parts
