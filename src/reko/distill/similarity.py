"""`similarity`: similarity-preserving knowledge distillation.

Tung & Mori, "Similarity-Preserving Knowledge Distillation", ICCV 2019. What it matches: at
each tapped stage, the batch's (B, B) pairwise-similarity matrix ``row_normalize(Q Q^T)`` with
``Q`` the (B, C*h*w) flattened features (`reko.distill.losses.kd.similarity_matrix`), student
against teacher, by ``||G_t - G_s||_F^2 / B^2`` (eq. 3), summed over the stages. The student is
asked to find the same images alike as the teacher does, not to copy its activations, so no
adapter is needed.

The loss compares *samples of a batch*: with batch size 1 both matrices are ``[[1]]`` and it
carries no signal, so this method refuses batches of one (raise ``train.batch_size``).

Layers: ReKo's default taps (ResNet-9: ``blocks.2, blocks.5, blocks.8, up1``); the paper taps
the end of each of its networks' stages.

Weights: ``weight = 3000``, the paper's ``gamma`` for its CIFAR-10 experiments, plus the shared
output L1 with ``output_weight = 10``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from reko.distill.losses.kd import similarity_preserving_loss
from reko.distill.method import MethodConfig, Pair, Parts, Term
from reko.distill.registry import register
from reko.distill.tapped import TappedMethod
from reko.errors import RekoError


@dataclass(frozen=True)
class SimilarityConfig(MethodConfig):
    """``weight`` (the paper's gamma) scales the sum over taps of the similarity loss."""

    weight: float = 3000.0
    taps: tuple[str, ...] = ()  # empty: ReKo's default_taps() of the generator family


@register
class SimilarityPreserving(TappedMethod):
    """``output_weight * L1(outputs) + weight * sum_taps ||G_t - G_s||_F^2 / B^2``; needs B >= 2."""

    name: ClassVar[str] = "similarity"
    config_class: ClassVar[type[MethodConfig]] = SimilarityConfig
    config: SimilarityConfig  # checked against config_class by DistillMethod

    @classmethod
    def check_run(cls, config: MethodConfig, batch_size: int, image_size: int) -> None:
        super().check_run(config, batch_size, image_size)
        _check_batch(batch_size)

    def term(self, pair: Pair) -> tuple[list[Term], Parts]:
        _check_batch(pair.student.shape[0])

        def similarity(tap: str, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
            return similarity_preserving_loss(student.float(), teacher.float())

        values, parts = self.per_tap("similarity", similarity, pair)
        return [Term("similarity", self.config.weight, values.sum())], parts


def _check_batch(batch_size: int) -> None:
    if batch_size < 2:
        raise RekoError(
            "the similarity method compares the samples of a batch, and a batch of one carries no "
            "signal: set train.batch_size to 2 or more (the paper uses 128 on CIFAR; 4-8 fit here)"
        )
