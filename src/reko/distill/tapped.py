"""Methods that compare intermediate features: which stages they tap, chosen and checked once.

`TappedMethod` reads ``config.taps`` (empty: `default_taps`, reko's own choice of stages, so every
feature-level baseline looks at the same features as ReKo; no source uses them: the ReKo authors'
framework defaults to one stage at 1/4 resolution, see `reko.distill.reko_released`), checks that each is a stage
of both networks at the same stride, and exposes them as ``taps`` for the distiller's hooks.
`TappedMethod.per_tap` runs a loss on every tap and names its values for logging.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from reko.distill.method import DistillMethod, MethodConfig, Pair, Parts
from reko.errors import RekoError
from reko.models.layers import FeatureInfo


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
        self._taps = list(taps) or default_taps(teacher_info)
        check_taps(self.name, self._taps, self.teacher_info, self.student_info)

    @property
    def taps(self) -> list[str]:
        return list(self._taps)

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
