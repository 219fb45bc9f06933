"""Methods that compare intermediate features: which stages they tap, chosen and checked once.

`TappedMethod` reads ``config.taps`` (empty: `default_taps`, reko's own choice of stages, so every
feature-level baseline looks at the same features as ReKo; no source uses them: the ReKo authors'
framework defaults to one stage at 1/4 resolution, see `reko.distill.reko_released`), checks that each is a stage
of both networks at the same stride, and exposes them as ``taps`` for the distiller's hooks.
`TappedMethod.per_tap` runs a loss on every tap and names its values for logging; `TappedMethod.tap_heads`
builds one trainable head per tap (`TappedMethod.make_adapters`: the student -> teacher channel maps of the
feature-level baselines), keyed by `head_key`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from reko.distill.method import DistillMethod, MethodConfig, Pair, Parts
from reko.errors import RekoError
from reko.models.discriminator import init_weights
from reko.models.layers import FeatureInfo


def head_key(tap: str) -> str:
    """A tap's key in a `nn.ModuleDict` of per-tap heads (its keys cannot hold dots): ``blocks.4`` -> ``blocks_4``."""
    return tap.replace(".", "_")


def default_taps(feature_info: Sequence[FeatureInfo]) -> list[str]:
    """A few layers across the network: ResNet blocks at 1/3, 2/3, the end, and up1; U-Net equivalents.

    ResNet-9: ``blocks.2, blocks.5, blocks.8, up1``; ResNet-6: ``blocks.1, blocks.3, blocks.5, up1``.
    U-Net with n levels: ``encoder.2`` (stride 8), ``decoder.{n-4}`` (stride 8), ``decoder.{n-3}`` (stride 4).
    """
    names = [info.name for info in feature_info]
    blocks = [name for name in names if name.startswith("blocks.")]
    if blocks:
        n = len(blocks)
        picked = dict.fromkeys(f"blocks.{max(0, round((i + 1) * n / 3) - 1)}" for i in range(3))
        return [*picked, "up1"]
    encoders = [name for name in names if name.startswith("encoder.")]
    if encoders:
        n = len(encoders)
        return ["encoder.2", f"decoder.{n - 4}", f"decoder.{n - 3}"]
    raise RekoError(f"no default ReKo taps for a network with stages {names}; set distill.taps")


def check_taps(
    method: str, taps: Sequence[str], teacher: dict[str, FeatureInfo], student: dict[str, FeatureInfo]
) -> None:
    """Every tap must be a stage of both networks, at the same stride (same spatial size)."""
    if not taps:
        raise RekoError(f"{method} needs at least one tap; set distill.taps")
    for tap in taps:
        for side, info in (("teacher", teacher), ("student", student)):
            if tap not in info:
                raise RekoError(f"{method} tap {tap!r} is not a stage of the {side}; valid stages: {list(info)}")
        if teacher[tap].stride != student[tap].stride:
            raise RekoError(
                f"{method} tap {tap!r}: teacher stride {teacher[tap].stride} and student stride "
                f"{student[tap].stride} differ; student and teacher must share the architecture family"
            )


class TappedMethod(DistillMethod):
    """A method whose config has ``taps``; subclasses implement ``term`` on those stages."""

    def __init__(
        self, config: MethodConfig, teacher_info: Sequence[FeatureInfo], student_info: Sequence[FeatureInfo]
    ) -> None:
        super().__init__(config, teacher_info, student_info)
        taps: Sequence[str] = getattr(config, "taps", ())
        self._taps = list(taps) or self.choose_taps(teacher_info)
        check_taps(self.name, self._taps, self.teacher_info, self.student_info)

    @classmethod
    def choose_taps(cls, feature_info: Sequence[FeatureInfo]) -> list[str]:
        """The taps when ``config.taps`` is empty (the teacher's ``feature_info``): `default_taps`."""
        return default_taps(feature_info)

    @property
    def taps(self) -> list[str]:
        return list(self._taps)

    def tap_heads(self, make: Callable[[int, int], nn.Module]) -> nn.ModuleDict:
        """One head per tap, ``make(student_channels, teacher_channels)``, keyed by `head_key` (in tap order)."""
        channels = {tap: (self.student_info[tap].channels, self.teacher_info[tap].channels) for tap in self._taps}
        return nn.ModuleDict({head_key(tap): make(*channels[tap]) for tap in self._taps})

    def make_adapters(self, layer: Callable[[int, int], nn.Module]) -> nn.ModuleDict:
        """`tap_heads` of ``layer(C_s, C_t)`` (e.g. a 1x1 convolution: FitNets' regressor), initialised
        N(0, 0.02) with zero biases (pix2pix's `init_weights`, as GAN Compression's adapters)."""
        heads = self.tap_heads(layer)
        init_weights(heads)
        return heads

    def per_tap(
        self, part: str, loss: Callable[[str, torch.Tensor, torch.Tensor], torch.Tensor], pair: Pair
    ) -> tuple[torch.Tensor, Parts]:
        """``loss(tap, student (B, C_s, h, w), teacher (B, C_t, h, w) detached)`` on every tap, in order.

        Returns the (T,) stacked scalars and ``{f"{part}/{tap}": value}`` (detached) for logging.
        """
        values, parts = [], {}
        for tap in self._taps:
            value = loss(tap, pair.student_features[tap], pair.teacher_features[tap].detach())
            values.append(value)
            parts[f"{part}/{tap}"] = value.detach()
        return torch.stack(values), parts
