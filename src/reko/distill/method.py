"""The contract every distillation method fulfils (ReKo and each baseline: one file each).

A method decides *what to compare* between a frozen teacher and a student: which named stages
to tap, which heads to train, and its own loss term. It does not run the networks, touch
optimisers, files or metrics: the distiller (which owns teacher, student and discriminator) runs
both networks under `FeatureTap`s on the stages in ``taps`` and calls the method with the
features. The mathematics lives in pure functions in `reko.distill.losses`.

The base class does what every method shares; a method implements one hook, ``term``::

    loss = output_weight * L1(student_out, teacher_out)     # the shared output terms
           (+ wavelet_weight * wavelet high-band L1)         # (DistillMethod.output_terms)
           + sum of weight_i * value_i over the method's Terms   # the method's own (``term``)

``forward`` checks the inputs (the teacher's output must be there), casts the outputs to
float32 once, calls ``term`` and adds the results in that order. `reko.distill.template` is a
runnable, commented example of a new method.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from reko.distill.losses.kd import wavelet_loss
from reko.distill.losses.perceptual import perceptual_l1
from reko.errors import RekoError
from reko.models.layers import FeatureInfo
from reko.perceptual.extractor import PerceptualExtractor
from reko.perceptual.network import LAYERS, check_layers, check_net


@dataclass(frozen=True)
class MethodConfig:
    """Hyper-parameters shared by all methods; each method subclasses this in its own file."""

    weight: float = 1.0  # multiplies the method's own (feature-level) term
    # L1 between student and teacher outputs. Every method but `none` keeps it, so that the
    # comparison isolates each method's own term. It is GAN Compression's reconstruction term (reko's
    # choice for every baseline); the released ReKo objective has no output L1 (see `reko-released`).
    output_weight: float = 10.0
    # Wavelet KD's high-frequency term on the outputs (Zhang et al., CVPR 2022), which any method
    # can add to its own, e.g. ``distill.method=reko distill.wavelet_weight=10
    # distill.output_weight=0`` is ReKo on top of the `wavelet` method's objective. Off by default.
    wavelet_weight: float = 0.0
    wavelet_levels: int = 3  # depth of the Haar pyramid of that term
    # Perceptual KD's term on the outputs: L1 between the features of student and teacher outputs in a
    # frozen perceptual network (`reko.perceptual`: the shift-tolerant LPIPS `vgg` or `alex`), averaged
    # over `perceptual_layers` (empty: the output of the network's last convolution, `relu5_3` / `relu5`).
    # Off by default; the released ReKo objective always has it (see the `reko-released` method).
    # Needs the `perceptual` extra (the stlpips-pytorch wheel's weight files).
    perceptual_weight: float = 0.0
    perceptual_net: str = "vgg"
    perceptual_layers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.wavelet_levels < 1:
            raise RekoError(f"wavelet_levels must be >= 1, got {self.wavelet_levels}")
        if self.perceptual_weight < 0:
            raise RekoError(f"perceptual_weight must be >= 0, got {self.perceptual_weight}")
        check_layers(self.perceptual_net, self.resolved_perceptual_layers)

    @property
    def resolved_perceptual_layers(self) -> tuple[str, ...]:
        """``perceptual_layers``, or the last convolution's output of ``perceptual_net`` when empty."""
        return tuple(self.perceptual_layers) or (LAYERS[check_net(self.perceptual_net)][4],)


def refuse_shared_term(config: MethodConfig, name: str, term: str, settings: str) -> None:
    """A method whose own term *is* the shared ``<name>_weight`` term refuses that weight (it would count twice).

    ``term`` names the term (e.g. ``high-frequency L1``) and ``settings`` the keys that set it up instead.
    """
    value = getattr(config, f"{name}_weight")
    if value:
        raise RekoError(
            f"the {name} method's own term is the {term}: set distill.weight (and {settings}), "
            f"not distill.{name}_weight={value}"
        )


@dataclass(frozen=True)
class Pair:
    """What the student and the frozen teacher computed on one batch, as a method's ``term`` sees it."""

    student_features: dict[str, torch.Tensor]  # tap -> (B, C_s, h, w)
    teacher_features: dict[str, torch.Tensor]  # tap -> (B, C_t, h, w), no gradient
    student: torch.Tensor  # output (B, 3, H, W) in [-1, 1], float32
    teacher: torch.Tensor  # output (B, 3, H, W) in [-1, 1], float32, detached


class Term(NamedTuple):
    """One weighted value of a method's own loss; logged (detached) under ``name``."""

    name: str
    weight: float
    value: torch.Tensor  # a scalar


Parts = dict[str, torch.Tensor]


class DistillMethod(nn.Module):
    """Base class. Subclasses set ``name``, ``config_class`` and implement ``term``.

    Args:
        config: an instance of ``config_class``.
        teacher_info / student_info: the ``feature_info`` of both generators (same stage names,
            different channel counts).
    """

    name: ClassVar[str] = ""
    config_class: ClassVar[type[MethodConfig]] = MethodConfig
    uses_teacher: ClassVar[bool] = True  # False for `none`: the teacher is not even run, and no term
    uses_perceptual: ClassVar[bool] = False  # True: the method's own term calls `perceptual_distance`

    def __init__(
        self, config: MethodConfig, teacher_info: Sequence[FeatureInfo], student_info: Sequence[FeatureInfo]
    ) -> None:
        super().__init__()
        if not isinstance(config, self.config_class):
            raise RekoError(f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(config).__name__}")
        self.config = config
        self.teacher_info = {info.name: info for info in teacher_info}
        self.student_info = {info.name: info for info in student_info}
        # The frozen perceptual network is not a sub-module (never trained, saved or synchronised);
        # loaded now, so that a missing `perceptual` extra fails before training starts.
        self._perceptual: PerceptualExtractor | None = None
        if config.perceptual_weight or self.uses_perceptual:
            self._perceptual = PerceptualExtractor(config.perceptual_net, config.resolved_perceptual_layers)

    @classmethod
    def check_run(cls, config: MethodConfig, batch_size: int, image_size: int) -> None:
        """Refuse, before anything trains, a run this method cannot do (``batch_size`` per process,
        square crops of ``image_size``). The base class checks the optional wavelet term's size."""
        if config.wavelet_weight:
            check_wavelet_size(image_size, image_size, config.wavelet_levels, "distill.wavelet_levels")

    @property
    def taps(self) -> list[str]:
        """Stage names whose outputs ``term`` needs, in both networks (empty: outputs only)."""
        return []

    def forward(  # type: ignore[override]
        self,
        student_features: dict[str, torch.Tensor],
        teacher_features: dict[str, torch.Tensor],
        student_output: torch.Tensor,
        teacher_output: torch.Tensor | None,
    ) -> tuple[torch.Tensor, Parts]:
        """Returns the weighted loss (a scalar) and its named, detached parts for logging.

        ``*_features[name]``: (B, C, h, w) stage outputs; ``*_output``: (B, 3, H, W) in [-1, 1].
        """
        if not self.uses_teacher:
            # A zero that depends on the student, so `loss.backward()` works even with no other term.
            return student_output.sum() * 0.0, {}
        if teacher_output is None:
            needs = "output and features" if self.taps else "output"
            raise RekoError(f"the {self.name} method needs the teacher's {needs}")
        pair = Pair(student_features, teacher_features, student_output.float(), teacher_output.detach().float())
        terms, parts = self.term(pair)
        loss, output_parts = self.output_terms(pair.student, pair.teacher)
        parts.update(output_parts)
        for term in terms:
            loss = loss + term.weight * term.value
            parts[term.name] = term.value.detach()
        return loss, parts

    def term(self, pair: Pair) -> tuple[list[Term], Parts]:
        """The method's own loss: its weighted `Term`s, and detail parts to log (e.g. one per tap).

        Default: no term of its own (the shared output terms only).
        """
        return [], {}

    def output_terms(self, student_output: torch.Tensor, teacher_output: torch.Tensor) -> tuple[torch.Tensor, Parts]:
        """The output-level terms every method shares, weighted, and their parts for logging.

        ``output_weight * L1(student, teacher)`` (+ ``wavelet_weight * `wavelet_loss` `` and
        ``perceptual_weight * `perceptual_distance` `` when those weights are not zero); outputs
        (B, 3, H, W) in [-1, 1], compared in float32.
        """
        student, teacher = student_output.float(), teacher_output.detach().float()
        output_l1 = F.l1_loss(student, teacher)
        loss = self.config.output_weight * output_l1
        parts = {"output_l1": output_l1.detach()}
        if self.config.wavelet_weight:
            high = wavelet_high_l1(student, teacher, self.config.wavelet_levels, "distill.wavelet_levels")
            loss = loss + self.config.wavelet_weight * high
            parts["wavelet_high_l1"] = high.detach()
        if self.config.perceptual_weight:
            perceptual = self.perceptual_distance(student, teacher)
            loss = loss + self.config.perceptual_weight * perceptual
            parts["perceptual_l1"] = perceptual.detach()
        return loss, parts

    def perceptual_distance(self, student_output: torch.Tensor, teacher_output: torch.Tensor) -> torch.Tensor:
        """`perceptual_l1` of the frozen perceptual network's features of two (B, 3, H, W) outputs in [-1, 1].

        The teacher's features are computed without gradients; the student's pass gradients to its output.
        """
        if self._perceptual is None:
            raise RekoError(f"{self.name}: the perceptual network is not loaded (perceptual_weight is 0)")
        with torch.no_grad():
            target = self._perceptual(teacher_output.detach())
        return perceptual_l1(self._perceptual(student_output), target)

    def visuals(self) -> dict[str, Any]:
        """Optional pictures of the last step for image grids (e.g. ReKo's attention maps)."""
        return {}


def check_wavelet_size(height: int, width: int, levels: int, option: str) -> None:
    """A `RekoError` unless H and W divide by 2**levels (``option`` names the config key of ``levels``)."""
    multiple = 2**levels
    if height % multiple or width % multiple:
        raise RekoError(
            f"wavelet distillation with {levels} levels needs image sizes divisible by {multiple}, "
            f"got {height}x{width}: change data.crop_size or {option}"
        )


def wavelet_high_l1(student: torch.Tensor, teacher: torch.Tensor, levels: int, option: str) -> torch.Tensor:
    """`wavelet_loss` of (B, 3, H, W) outputs, with a clear error when H or W does not divide by 2**levels."""
    check_wavelet_size(*student.shape[-2:], levels, option)
    return wavelet_loss(student, teacher, levels)
