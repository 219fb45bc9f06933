"""`template`: how to add a distillation method in one file (a runnable example, not a baseline).

Copy this file to ``src/reko/distill/<your_method>.py``, rename the classes and ``name``, write
your loss as a pure function (here `cosine_distance`; shared ones belong in
`reko.distill.losses`), then add one line ``<your_method>,`` to the import list of
`reko.distill.methods`. Nothing else changes: the config (``distill.method=<name>`` plus your
options), the distillers of all three modes, the trainer, checkpoints, ``reko compare`` and the
tests parametrised over `reko.distill.registry.method_names` pick it up.

What this example does (our own illustration, from no paper): at each tapped stage, a learned
1x1 convolution maps the student's features to the teacher's channel count, and the loss is the
mean over positions of the cosine distance between the adapted student vector and the teacher
vector; the values are summed over the taps. Its module docstring is where a real method states
its paper, what it matches, which layers and which weights (see `reko.distill.attention`).

What the base classes already do, so a method does not:
- `DistillMethod.forward` checks that the teacher's output is there, casts the outputs to
  float32, adds the shared output terms (``output_weight * L1(student, teacher)``, and the
  optional wavelet term), and adds ``weight * value`` of each `Term` that ``term`` returns.
- `TappedMethod` reads ``config.taps`` (empty: ReKo's default taps), checks every tap is a stage
  of both networks at the same stride, and ``per_tap`` runs a loss on each tap and names the
  values ``"<part>/<tap>"`` for the logs (``scalars.jsonl`` / TensorBoard: ``G/<part>/<tap>``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from reko.distill.method import MethodConfig, Pair, Parts, Term
from reko.distill.tapped import TappedMethod, head_key
from reko.errors import RekoError
from reko.models.layers import FeatureInfo


def cosine_distance(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Mean over batch and positions of ``1 - cos`` between (B, C, h, w) feature maps: a scalar in [0, 2]."""
    return (1.0 - F.cosine_similarity(student.float(), teacher.float(), dim=1)).mean()


# 1. The options: a frozen dataclass subclassing MethodConfig (which brings `weight`,
#    `output_weight`, `wavelet_weight`, `wavelet_levels`). Each field is a config key
#    ``distill.<field>``, typed and checked when the config is loaded; check values here.
@dataclass(frozen=True)
class TemplateConfig(MethodConfig):
    """``weight`` scales the sum over taps of the cosine distance; ``bias`` adds a bias to the adapters."""

    weight: float = 1.0
    taps: tuple[str, ...] = ()  # empty: ReKo's default_taps() of the generator family
    bias: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()  # MethodConfig checks its own fields
        if self.weight < 0:
            raise RekoError(f"template weight must be >= 0, got {self.weight}")


# 2. The method: a TappedMethod (or DistillMethod if it only compares outputs). A real method's
#    file adds ``@register`` (from reko.distill.registry) above the class; this example is not
#    registered, so that it stays out of `reko compare` and the method list (its test registers it).
class TemplateMethod(TappedMethod):
    """``output_weight * L1(outputs) + weight * sum_taps mean(1 - cos(adapter(student), teacher))``."""

    name: ClassVar[str] = "template"  # distill.method=template
    config_class: ClassVar[type[MethodConfig]] = TemplateConfig
    config: TemplateConfig  # checked against config_class by DistillMethod

    def __init__(
        self, config: MethodConfig, teacher_info: Sequence[FeatureInfo], student_info: Sequence[FeatureInfo]
    ) -> None:
        super().__init__(config, teacher_info, student_info)  # sets self._taps, self.*_info, self.config
        # Trainable heads are sub-modules: the distiller trains them with the student (the
        # "generator" optimiser), checkpoints them in state.pt and moves them with .to().
        # `make_adapters` builds one ``layer(C_s, C_t)`` per tap in an nn.ModuleDict keyed by `head_key(tap)`
        # and initialises it N(0, 0.02), as the other methods' heads (`tap_heads`: any head, no init).
        self.adapters = self.make_adapters(lambda c_s, c_t: nn.Conv2d(c_s, c_t, 1, bias=self.config.bias))

    # 3. The method's own term. ``pair`` holds both networks' features on ``self.taps`` and their
    #    outputs (float32, the teacher's detached). Return the weighted Terms (each is logged
    #    under its name) and any detail parts to log.
    def term(self, pair: Pair) -> tuple[list[Term], Parts]:
        def distance(tap: str, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
            adapted = self.adapters[head_key(tap)](student)  # (B, C_s, h, w) -> (B, C_t, h, w)
            return cosine_distance(adapted, teacher)

        values, parts = self.per_tap("template", distance, pair)  # values: (T,), parts: template/<tap>
        return [Term("template", self.config.weight, values.sum())], parts
