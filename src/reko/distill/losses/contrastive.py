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


def near_duplicate_negatives(teacher_vectors: torch.Tensor, threshold: float) -> torch.Tensor:
    """Which negatives are near-duplicates of their positive: (B, K, C) -> (B, K, K) bool.

    Entry [b, i, j] (i != j) is True when the cosine similarity of the teacher's feature vectors at the
    selected positions i and j exceeds ``threshold``: pushing the student's patch i away from the
    teacher's patch j would push it away from (almost) its own target. The diagonal is never True.
    (Our design, aimed at what `benchmarks/patch_diversity.py` measures: 70-96 % of top-k patches have
    such a twin; CUT and ReKo keep every negative.)
    """
    if teacher_vectors.dim() != 3:
        raise RekoError(f"near_duplicate_negatives expects (B, K, C) vectors, got {tuple(teacher_vectors.shape)}")
    unit = F.normalize(teacher_vectors.detach().float(), dim=-1)
    similar = torch.bmm(unit, unit.transpose(1, 2)) > threshold  # (B, K, K)
    k = similar.shape[-1]
    return similar & ~torch.eye(k, dtype=torch.bool, device=similar.device)


def patch_nce_loss(
    student: torch.Tensor,
    teacher: torch.Tensor,
    temperature: float = 0.07,
    reduction: str = "mean",
    negative_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """InfoNCE of K student patches per image against the teacher's patches at the same positions.

    Args:
        student: (B, K, D) query embeddings (gradients flow to the student and its projection head).
        teacher: (B, K, D) key embeddings; not detached, so a trainable teacher-side projection head
            learns too (the teacher network itself is frozen upstream).
        temperature: tau, 0.07 in CUT and ReKo.
        reduction: ``mean`` (over all B * K patches: a scalar) or ``none`` ((B, K) per-patch losses).
        negative_mask: optional (B, K, K) bool; True at [b, i, j] drops teacher patch j from the
            negatives of student patch i (e.g. `near_duplicate_negatives`). The diagonal must be False.
            A patch left with no negatives contributes 0.

    Returns:
        The loss. It is >= 0, equals log(K) when all similarities are equal, approaches 0 when
        every student patch matches its teacher patch and the teacher's patches are well
        separated, and does not depend on how the images are grouped into batches.
    """
    logits = patch_nce_logits(student, teacher, temperature)  # (B, K, K)
    batch, k, _ = logits.shape
    if negative_mask is not None:
        if negative_mask.shape != logits.shape or negative_mask.dtype != torch.bool:
            raise RekoError(
                f"negative_mask must be a (B, K, K) = {tuple(logits.shape)} bool tensor, got "
                f"{negative_mask.dtype} {tuple(negative_mask.shape)}"
            )
        if negative_mask.diagonal(dim1=1, dim2=2).any():
            raise RekoError("negative_mask must not mask the positives (its diagonal)")
        logits = logits.masked_fill(negative_mask, float("-inf"))
    # Target class of row i is column i (the positive); cross-entropy per row = -log softmax at i.
    targets = torch.arange(k, device=logits.device).expand(batch, k)
    loss = F.cross_entropy(logits.reshape(batch * k, k), targets.reshape(-1), reduction="none").view(batch, k)
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    raise RekoError(f"reduction {reduction!r} is not one of ('mean', 'none')")
