"""Pure loss functions of the baseline distillation methods (no state, no modules).

Each function takes student and teacher tensors and returns a scalar; the teacher tensor is
treated as a target (callers pass it detached; nothing here has parameters). Bad shapes raise
`RekoError` naming both shapes. Shapes:
features are ``(B, C, h, w)``; images are ``(B, 3, H, W)`` in ``[-1, 1]``.

- `feature_mse`: FitNets (Romero et al., ICLR 2015) / GAN Compression (Li et al., CVPR 2020).
- `attention_map`, `attention_transfer_loss`: Zagoruyko & Komodakis, ICLR 2017.
- `similarity_matrix`, `similarity_preserving_loss`: Tung & Mori, ICCV 2019.
- `channel_attention`, `channel_attention_loss`: channel-attention distillation as the authors' KD
  framework computes it (see `channel_attention_loss`).
- `haar_dwt`, `haar_idwt`, `haar_dwt_multilevel`, `wavelet_loss`: Zhang et al., CVPR 2022.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from reko.errors import RekoError

__all__ = [
    "attention_map",
    "attention_transfer_loss",
    "channel_attention",
    "channel_attention_loss",
    "feature_mse",
    "haar_dwt",
    "haar_dwt_multilevel",
    "haar_idwt",
    "similarity_matrix",
    "similarity_preserving_loss",
    "wavelet_loss",
]


def _same_shape(student: torch.Tensor, teacher: torch.Tensor, what: str) -> None:
    if student.shape != teacher.shape:
        raise RekoError(f"{what}: student {tuple(student.shape)} and teacher {tuple(teacher.shape)} differ")


# --- FitNets / GAN Compression -----------------------------------------------------------------


def feature_mse(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Mean squared error between (adapted) student features and teacher features.

    ``student``: (B, C_t, h, w), already mapped to the teacher's C_t channels by a learned
    1x1 convolution (FitNets' regressor, GAN Compression's adapter); ``teacher``: (B, C_t, h, w).
    """
    _same_shape(student, teacher, "feature_mse")
    return F.mse_loss(student, teacher)


# --- Attention transfer --------------------------------------------------------------------------


def attention_map(features: torch.Tensor, p: float = 2.0, eps: float = 1e-12) -> torch.Tensor:
    """Activation-based spatial attention (AT eq. 1-2): ``normalize(mean_c |F_c|^p)``.

    (B, C, h, w) -> (B, h*w), each row of unit L2 norm. Averaging over channels (rather than
    summing) does not change the normalised map; it only makes the unnormalised one independent
    of the width, so teacher and student maps live on the same scale. ``p = 2`` is the paper's.
    """
    if features.dim() != 4:
        raise RekoError(f"attention_map expects (B, C, h, w) features, got shape {tuple(features.shape)}")
    amap = features.abs().pow(p).mean(dim=1).flatten(1)  # (B, h*w)
    return F.normalize(amap, p=2.0, dim=1, eps=eps)


def attention_transfer_loss(student: torch.Tensor, teacher: torch.Tensor, p: float = 2.0) -> torch.Tensor:
    """Mean squared difference of the normalised attention maps (the official ``at_loss``).

    ``student``: (B, C_s, h, w), ``teacher``: (B, C_t, h, w): channel counts may differ, the
    spatial size must match. Zero when the maps are equal; at most ``2 / (h*w)``
    (two non-negative unit vectors are at most sqrt(2) apart).
    The AT paper multiplies the sum over layers by ``beta / 2`` with ``beta = 1000``.
    """
    if student.shape[0] != teacher.shape[0] or student.shape[-2:] != teacher.shape[-2:]:
        raise RekoError(
            f"attention_transfer_loss: student {tuple(student.shape)} and teacher {tuple(teacher.shape)} "
            "must share batch and spatial size"
        )
    return (attention_map(student, p) - attention_map(teacher, p)).pow(2).mean()


# --- Channel attention ----------------------------------------------------------------------------


def channel_attention(features: torch.Tensor) -> torch.Tensor:
    """(B, C, h, w) -> (B, C): each channel's mean over positions (SENet's "squeeze", Hu et al. CVPR 2018)."""
    if features.dim() != 4:
        raise RekoError(f"channel_attention expects (B, C, h, w) features, got shape {tuple(features.shape)}")
    return features.float().mean(dim=(2, 3))


def channel_attention_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Mean squared error between (adapted) student and teacher channel attentions, both (B, C_t).

    The authors' framework names it ``--kd_channel_attention_distillation`` ("L2 loss on channel
    attention"); a fuller version of its ``models/cycle_gan_model.py`` (seen in a public code index that
    does not name the repository) averages each feature map over positions (signed, no softmax), maps the
    student's (B, C_s) vector to C_t with a learned linear layer and takes the MSE. Channel attention as a
    distillation target is Zhang & Ma's (ICLR 2021). Callers apply the adapter; ``teacher`` is detached.
    """
    _same_shape(student, teacher, "channel_attention_loss")
    return F.mse_loss(student.float(), teacher.detach().float())


# --- Similarity-preserving KD --------------------------------------------------------------------


def similarity_matrix(features: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """The batch's pairwise-similarity matrix (SP eq. 1-2): ``row_normalize(Q Q^T)``.

    (B, C, h, w) -> (B, B) with ``Q`` the (B, C*h*w) flattened features; each row has unit L2 norm.
    """
    flat = features.flatten(1)  # (B, C*h*w)
    return F.normalize(flat @ flat.t(), p=2.0, dim=1, eps=eps)


def similarity_preserving_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """``||G_t - G_s||_F^2 / B^2`` between the batches' similarity matrices (SP eq. 3).

    ``student``: (B, C_s, h_s, w_s), ``teacher``: (B, C_t, h_t, w_t): only the batch size must
    match. Zero when the two networks rank the samples' similarities identically; with B = 1
    both matrices are the constant 1 and the loss carries no signal (callers must reject that).
    """
    if student.shape[0] != teacher.shape[0]:
        raise RekoError(f"similarity_preserving_loss: batch sizes {student.shape[0]} and {teacher.shape[0]} differ")
    batch = student.shape[0]
    return (similarity_matrix(student) - similarity_matrix(teacher)).pow(2).sum() / batch**2


# --- Haar wavelets and Wavelet KD -----------------------------------------------------------------

# Orthonormal 2-D Haar analysis filters, (4, 1, 2, 2) in the order LL, LH, HL, HH. The first letter
# is the filter along the height (rows), the second along the width: LH is low-pass down the
# columns and high-pass across them, i.e. it responds to vertical edges; HL to horizontal edges;
# HH to diagonal detail. Each filter has unit L2 norm and they are mutually orthogonal, so the
# transform preserves energy and its transpose (a strided transposed convolution) inverts it.
_HAAR = torch.tensor(
    [
        [[0.5, 0.5], [0.5, 0.5]],  # LL: local average (x2)
        [[0.5, -0.5], [0.5, -0.5]],  # LH: left minus right
        [[0.5, 0.5], [-0.5, -0.5]],  # HL: top minus bottom
        [[0.5, -0.5], [-0.5, 0.5]],  # HH: diagonal
    ]
).unsqueeze(1)


def _haar_filters(channels: int, like: torch.Tensor) -> torch.Tensor:
    """(4C, 1, 2, 2) filters for a grouped convolution: channel c owns rows 4c..4c+3."""
    return _HAAR.to(device=like.device, dtype=like.dtype).repeat(channels, 1, 1, 1)


def haar_dwt(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """One level of the orthonormal 2-D Haar transform, per channel.

    (B, C, H, W) with H, W even -> (LL, LH, HL, HH), each (B, C, H/2, W/2). A stride-2 grouped
    convolution with fixed 2x2 filters: differentiable, no parameters, any device and dtype.
    """
    if x.dim() != 4:
        raise RekoError(f"haar_dwt expects (B, C, H, W), got shape {tuple(x.shape)}")
    batch, channels, height, width = x.shape
    if height % 2 or width % 2:
        raise RekoError(f"haar_dwt needs even height and width, got {height}x{width}")
    bands = F.conv2d(x, _haar_filters(channels, x), stride=2, groups=channels)  # (B, 4C, H/2, W/2)
    bands = bands.view(batch, channels, 4, height // 2, width // 2)
    return bands[:, :, 0], bands[:, :, 1], bands[:, :, 2], bands[:, :, 3]


def haar_idwt(ll: torch.Tensor, lh: torch.Tensor, hl: torch.Tensor, hh: torch.Tensor) -> torch.Tensor:
    """Inverse of `haar_dwt`: four (B, C, h, w) bands -> (B, C, 2h, 2w), exact up to rounding."""
    batch, channels, height, width = ll.shape
    bands = torch.stack([ll, lh, hl, hh], dim=2).view(batch, 4 * channels, height, width)
    return F.conv_transpose2d(bands, _haar_filters(channels, ll), stride=2, groups=channels)


def haar_dwt_multilevel(
    x: torch.Tensor, levels: int
) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]]:
    """``levels`` Haar levels, each applied to the previous LL band (the Mallat pyramid).

    (B, C, H, W), H and W divisible by ``2**levels`` -> (LL_final (B, C, H/2^L, W/2^L),
    [(LH, HL, HH) of level 1 (finest, H/2) ... level L (coarsest)]).
    """
    if levels < 1:
        raise RekoError(f"haar_dwt_multilevel needs levels >= 1, got {levels}")
    details: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    low = x
    for _ in range(levels):
        low, lh, hl, hh = haar_dwt(low)
        details.append((lh, hl, hh))
    return low, details


def wavelet_loss(student: torch.Tensor, teacher: torch.Tensor, levels: int = 3) -> torch.Tensor:
    """Wavelet KD: L1 between the high-frequency Haar bands of two images, summed over levels.

    ``student``, ``teacher``: (B, C, H, W) images (in [-1, 1]), H and W divisible by ``2**levels``.
    Each level contributes the mean absolute difference of its LH, HL and HH bands together;
    the low-frequency residual LL is deliberately not compared (that is the method's point:
    small students fail on high frequencies, Zhang et al. CVPR 2022). Zero for equal images.
    """
    _same_shape(student, teacher, "wavelet_loss")
    _, student_details = haar_dwt_multilevel(student, levels)
    _, teacher_details = haar_dwt_multilevel(teacher, levels)
    total = student.new_zeros(())
    for s_bands, t_bands in zip(student_details, teacher_details, strict=True):
        total = total + F.l1_loss(torch.stack(s_bands), torch.stack(t_bands))
    return total
