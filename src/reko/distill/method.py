"""The contract every distillation method fulfils (ReKo and each baseline: one file each).

A method decides *what to compare* between a frozen teacher and a student: which named stages
to tap, which heads to train, and the loss. It does not run the networks, touch optimisers,
files or metrics: the distiller (which owns teacher, student and discriminator) runs both
networks under `FeatureTap`s on the stages in ``taps`` and hands the method the features.
The mathematics lives in pure functions in `reko.distill.losses`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from reko.models.layers import FeatureInfo


@dataclass(frozen=True)
class MethodConfig:
    """Hyper-parameters shared by all methods; each method subclasses this in its own file."""

    weight: float = 1.0  # multiplies the method's own (feature-level) term
    # L1 between student and teacher outputs. Every method but `none` keeps it, so that the
    # comparison isolates each method's own term (as the ReKo and GAN Compression papers do).
    output_weight: float = 10.0


class DistillMethod(nn.Module):
    """Base class. Subclasses set ``name``, ``config_class`` and implement ``forward``.

    Args:
        config: an instance of ``config_class``.
        teacher_info / student_info: the ``feature_info`` of both generators (same stage names,
            different channel counts).
    """

    name: ClassVar[str] = ""
    config_class: ClassVar[type[MethodConfig]] = MethodConfig
    uses_teacher: ClassVar[bool] = True  # False for `none`: the teacher is not even run

    def __init__(
        self, config: MethodConfig, teacher_info: Sequence[FeatureInfo], student_info: Sequence[FeatureInfo]
    ) -> None:
        super().__init__()
        self.config = config
        self.teacher_info = {info.name: info for info in teacher_info}
        self.student_info = {info.name: info for info in student_info}

    @property
    def taps(self) -> list[str]:
        """Stage names whose outputs ``forward`` needs, in both networks (empty: outputs only)."""
        return []

    def forward(  # type: ignore[override]
        self,
        student_features: dict[str, torch.Tensor],
        teacher_features: dict[str, torch.Tensor],
        student_output: torch.Tensor,
        teacher_output: torch.Tensor | None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Returns the weighted loss (a scalar) and its named, detached parts for logging.

        ``*_features[name]``: (B, C, h, w) stage outputs; ``*_output``: (B, 3, H, W) in [-1, 1].
        """
        raise NotImplementedError

    def visuals(self) -> dict[str, Any]:
        """Optional pictures of the last step for image grids (e.g. ReKo's attention maps)."""
        return {}
