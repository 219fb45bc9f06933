"""Non-local distillation: match the teacher's non-local (global relation) responses.

Zhang & Ma, "Improve Object Detection with Feature-based Knowledge Distillation: Towards Accurate and
Efficient Detectors" (ICLR 2021, Sec. 3.2) distil the relation between all pairs of pixels by applying
non-local blocks (Wang et al., "Non-local Neural Networks", CVPR 2018) to teacher and student features
and minimising the L2 distance of their outputs; the authors' image-translation KD framework lists it as
``--kd_non_local_distillation`` ("L2 loss between non-local results between students and teachers";
its compiled options file in ArchipLab-LinfengZhang/wkd-datasets,
``options/__pycache__/train_options.cpython-37.pyc``). Neither releases the code of that term for
image translation, so the block here is **our choice**: the parameter-free "Gaussian" instance of
Wang et al. (eq. 2-3 with identity embeddings), queries at every position and keys/values max-pooled by
``pool`` (their Sec. 3.3 subsampling), with the dot products scaled by 1/sqrt(C)::

    y_i = sum_j softmax_j(x_i . x_j / sqrt(C)) x_j

It has no parameters on the teacher side, so the loss cannot be lowered by moving a teacher-side
module; the student's response is mapped to the teacher's channels by a learned 1x1 convolution.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from reko.errors import RekoError


def nonlocal_response(features: torch.Tensor, pool: int = 2) -> torch.Tensor:
    """(B, C, h, w) -> (B, C, h, w): every position's softmax-weighted mean of the (pooled) positions.

    ``pool``: stride of the max pooling of keys and values (1: none); it needs h, w >= pool.
    Memory and time grow with (h * w)^2 / pool^2.
    """
    if features.dim() != 4:
        raise RekoError(f"nonlocal_response expects (B, C, h, w) features, got shape {tuple(features.shape)}")
    if pool < 1:
        raise RekoError(f"non-local pool must be >= 1, got {pool}")
    batch, channels, height, width = features.shape
    if min(height, width) < pool:
        raise RekoError(f"non-local pool {pool} is larger than the {height}x{width} feature map")
    x = features.float()
    keys = F.max_pool2d(x, pool) if pool > 1 else x  # (B, C, h', w')
    queries = x.flatten(2).transpose(1, 2)  # (B, N, C)
    keys = keys.flatten(2).transpose(1, 2)  # (B, M, C)
    weights = torch.softmax(queries @ keys.transpose(1, 2) / math.sqrt(channels), dim=-1)  # (B, N, M)
    return (weights @ keys).transpose(1, 2).reshape(batch, channels, height, width)


def nonlocal_loss(student_response: torch.Tensor, teacher_response: torch.Tensor) -> torch.Tensor:
    """Mean squared error between the (adapted) student response and the teacher's, both (B, C_t, h, w)."""
    if student_response.shape != teacher_response.shape:
        raise RekoError(
            f"nonlocal_loss: student {tuple(student_response.shape)} and teacher {tuple(teacher_response.shape)} differ"
        )
    return F.mse_loss(student_response.float(), teacher_response.detach().float())
