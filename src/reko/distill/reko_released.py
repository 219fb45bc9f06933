"""`reko-released`: ReKo's objective as its authors released it (the paper-faithful preset).

The released code (ArchipLab-LinfengZhang/Region-aware-knowledge-distillation, ``cycle_gan_model.py``)
differs from reko's `reko` defaults in four ways, and this method takes the released choice in each:

- **Heads.** The student's feature vector is used as it is (``PatchSampleF(use_mlp=False)``: no
  projection, L2-normalised, dimension C_s); the teacher's goes through a two-layer MLP
  C_t -> C_s -> C_s (``PatchSampleF(nc=student_channels, use_mlp=True)``), initialised N(0, 0.02) with
  zero biases and never trained (it is created in the first forward pass, after the optimiser was built).
  Here: ``projection = released``, ``train_teacher_head = false``.
- **Perceptual term.** ``loss_pip = lpip * L1(vgg19_bn.features(student_out), vgg19_bn.features(teacher_out))``
  is always added. Here: ``perceptual_weight = 0.7`` on the shift-tolerant LPIPS VGG16's ``relu5_3``
  (`reko.perceptual`; the released weight ``lpip`` is not in the release: 0.7 is our calibration, see
  `reko.distill.perceptual`).
- **No output L1.** The released objective has no L1 between student and teacher outputs:
  ``output_weight = 0``.
- **Layers.** The framework's default feature index is 8 (``--choice_of_feature``; the compiled options
  of ArchipLab-LinfengZhang/wkd-datasets): in the ResNet generator's layer list, the output of the second
  stride-2 convolution, at 1/4 resolution. Here: the first stage at stride 4 (ResNet ``down2``,
  U-Net ``encoder.1``).

Unchanged from `reko` (and as released): top-64 positions per layer by the channel mean of |teacher
activation|, PatchNCE with temperature 0.07 whose negatives are the other selected teacher patches of the
same image, the mean over layers times ``weight = 1`` (the released ``kd_contrastive * kd_ratio`` are not in
the release). The remaining differences, and why, are listed in docs/methods.md ("ReKo as released").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from reko.distill.method import MethodConfig
from reko.distill.registry import register
from reko.distill.reko import ReKo, ReKoConfig
from reko.errors import RekoError
from reko.models.layers import FeatureInfo


def released_taps(feature_info: Sequence[FeatureInfo]) -> list[str]:
    """The first stage at stride 4 (after the second stride-2 convolution): ResNet ``down2``, U-Net ``encoder.1``."""
    for info in feature_info:
        if info.stride == 4:
            return [info.name]
    raise RekoError(f"no stage at stride 4 in {[info.name for info in feature_info]}; set distill.taps")


@dataclass(frozen=True)
class ReKoReleasedConfig(ReKoConfig):
    """`ReKoConfig` with the released code's values as defaults (every one can still be set)."""

    projection: str = "released"  # student: none; teacher: MLP C_t -> C_s -> C_s
    train_teacher_head: bool = False  # the released teacher head never trains
    output_weight: float = 0.0  # no L1 between the outputs in the released objective
    perceptual_weight: float = 0.7  # the released loss_pip (weight: ours)


@register
class ReKoReleased(ReKo):
    """ReKo with the released code's heads, layer, perceptual term and no output L1."""

    name: ClassVar[str] = "reko-released"
    config_class: ClassVar[type[MethodConfig]] = ReKoReleasedConfig

    @classmethod
    def choose_taps(cls, feature_info: Sequence[FeatureInfo]) -> list[str]:
        return released_taps(feature_info)  # when distill.taps is empty
