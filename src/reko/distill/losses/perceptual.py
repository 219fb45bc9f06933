"""Perceptual distillation: L1 between student and teacher outputs in a frozen network's feature space.

The released ReKo code (ArchipLab-LinfengZhang/Region-aware-knowledge-distillation, ``cycle_gan_model.py``,
``loss_pip``) adds ``lpip * L1(vgg19_bn.features(student_out), vgg19_bn.features(teacher_out))`` for both
directions; the authors' KD framework lists it as ``--kd_perceptual_distillation`` ("using an
imagenet-pretrained vgg"). reko computes the same L1 on the features of the shift-tolerant LPIPS networks
(`reko.perceptual`), at a choice of layers, averaged over them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from reko.errors import RekoError


def perceptual_l1(student: dict[str, torch.Tensor], teacher: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean over layers of the mean absolute difference of ``{layer: (B, C, h, w)}`` features.

    ``teacher`` features are targets (detached here); gradients flow to the student's. Zero when equal.
    """
    if not student or student.keys() != teacher.keys():
        raise RekoError(f"perceptual_l1 needs the same layers on both sides, got {list(student)} and {list(teacher)}")
    terms = []
    for layer, features in student.items():
        target = teacher[layer].detach()
        if features.shape != target.shape:
            raise RekoError(
                f"perceptual layer {layer}: student {tuple(features.shape)} and teacher {tuple(target.shape)} differ"
            )
        terms.append(F.l1_loss(features.float(), target.float()))
    return torch.stack(terms).mean()
