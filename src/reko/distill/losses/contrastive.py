"""Patch-wise InfoNCE between student and teacher embeddings (PatchNCE).

The contrastive loss of CUT (Park et al., "Contrastive Learning for Unpaired Image-to-Image
Translation", ECCV 2020, eq. 2) used as a distillation loss by ReKo (Zhang et al., "Region-aware
Knowledge Distillation for Efficient Image-to-Image Translation", arXiv 2205.12451, BMVC 2023):
the student's embedding of a patch must be closer to the teacher's embedding of the *same*
patch (the positive) than to the teacher's embeddings of the other selected patches of the
same image (the negatives), InfoNCE (van den Oord et al. 2018) with temperature ``tau``::

    loss_i = -log( exp(s_i . t_i / tau) / sum_j exp(s_i . t_j / tau) ),   j over the K patches

Negatives never cross images: the logits are a (B, K, K) batch of per-image similarity
matrices whose diagonals are the positives, so the loss is the same for any batch size
(CUT's reshaping is per image only when ``nce_includes_all_negatives_from_minibatch`` is off, and
ReKo's released code treats the whole batch as one image, which is right only for batch size 1).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from reko.errors import RekoError


def patch_nce_logits(student: torch.Tensor, teacher: torch.Tensor, temperature: float = 0.07) -> torch.Tensor:
    """Similarity logits of every student patch against every teacher patch of the same image.

    Args:
        student: (B, K, D) student embeddings of K patches per image.
        teacher: (B, K, D) teacher embeddings of the same K positions, in the same order.
        temperature: InfoNCE temperature tau (> 0).

    Returns:
        (B, K, K) float32 logits; entry [b, i, j] = cos(student[b, i], teacher[b, j]) / tau, so the
        positives are on the diagonal. Embeddings are L2-normalised here (idempotent if they already are).
    """
    if student.shape != teacher.shape or student.dim() != 3:
        raise RekoError(
            f"PatchNCE needs student and teacher embeddings of the same shape (B, K, D), got "
            f"{tuple(student.shape)} and {tuple(teacher.shape)}"
        )
    if temperature <= 0:
        raise RekoError(f"PatchNCE temperature must be > 0, got {temperature}")
    student = F.normalize(student.float(), dim=-1)
    teacher = F.normalize(teacher.float(), dim=-1)
    return torch.bmm(student, teacher.transpose(1, 2)) / temperature


def patch_nce_loss(
    student: torch.Tensor, teacher: torch.Tensor, temperature: float = 0.07, reduction: str = "mean"
) -> torch.Tensor:
    """InfoNCE of K student patches per image against the teacher's patches at the same positions.

    Args:
        student: (B, K, D) query embeddings (gradients flow to the student and its projection head).
        teacher: (B, K, D) key embeddings; not detached, so a trainable teacher-side projection head
            learns too (the teacher network itself is frozen upstream).
        temperature: tau, 0.07 in CUT and ReKo.
        reduction: ``mean`` (over all B * K patches: a scalar) or ``none`` ((B, K) per-patch losses).

    Returns:
        The loss. It is >= 0, equals log(K) when all similarities are equal, approaches 0 when
        every student patch matches its teacher patch and the teacher's patches are well
        separated, and does not depend on how the images are grouped into batches.
    """
    logits = patch_nce_logits(student, teacher, temperature)  # (B, K, K)
    batch, k, _ = logits.shape
    # Target class of row i is column i (the positive); cross-entropy per row = -log softmax at i.
    targets = torch.arange(k, device=logits.device).expand(batch, k)
    loss = F.cross_entropy(logits.reshape(batch * k, k), targets.reshape(-1), reduction="none").view(batch, k)
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    raise RekoError(f"reduction {reduction!r} is not one of ('mean', 'none')")
