"""Region scoring and patch selection: where a region-aware distiller looks.

ReKo (Zhang et al., arXiv 2205.12451, BMVC 2023) distils only the regions that matter: an
attention map scores every spatial position of a tapped feature map, the K best positions are
selected, and the contrastive loss is computed on those patches only. This module holds the
scoring and selection as pure functions on tensors.

Shapes: features are (B, C, h, w); a score map is flattened to (B, N) with N = h * w
(row-major: position p is row p // w, column p % w); a selection is (B, K) long indices in [0, N).

Scoring:
    `activation_score`: channel mean of |activation| (spatial attention of Zagoruyko & Komodakis,
    "Paying More Attention to Attention", ICLR 2017, with p = 1): what ReKo's released code uses
    on the teacher's features. `combined_score` averages the standardised maps of student and
    teacher. `distinctiveness_score` ranks positions by how few other positions resemble them (the
    entropy criterion of QS-Attn). Learned scores come from a head in `reko.distill.reko` trained with
    `learned_attention_loss`.

Selection:
    `select_topk` (deterministic, ReKo's default), `select_softmax` (sample without replacement
    from softmax(standardised score / T)) and `select_random` (uniform, as CUT's PatchNCE).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from reko.errors import RekoError

_EPS = 1e-6
_DISTINCT_ENTRIES = 1 << 24  # similarity entries per block of `distinctiveness_score` (64 MB in float32)


def activation_score(features: torch.Tensor) -> torch.Tensor:
    """(B, C, h, w) -> (B, h * w): mean over channels of |features|, per position."""
    return features.detach().float().abs().mean(dim=1).flatten(1)


def distinctiveness_score(features: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """(B, C, h, w) -> (B, h * w): minus the entropy of each position's similarity distribution.

    Row i of ``softmax_j(cos(f_i, f_j) / temperature)`` over all positions j of the same map is peaked
    (low entropy) when few positions look like i and flat when i lies in a large uniform region. QS-Attn
    (Hu et al., "QS-Attn: Query-Selected Attention for Contrastive Learning in I2I Translation", CVPR
    2022, Sec. 3.2) keeps the queries with the lowest entropy of such a row-softmax; here the highest score
    is the most distinctive position, so `select_topk` on it is QS-Attn's selection. Cosine similarity
    and ``temperature`` are our choices (QS-Attn uses raw dot products), so feature norms do not decide.
    Time grows with (h*w)^2; memory is bounded by computing the matrix a block of rows at a time.
    """
    if features.dim() != 4:
        raise RekoError(f"distinctiveness_score expects (B, C, h, w) features, got shape {tuple(features.shape)}")
    if temperature <= 0:
        raise RekoError(f"distinctiveness temperature must be > 0, got {temperature}")
    unit = F.normalize(features.detach().float().flatten(2), dim=1)  # (B, C, N)
    batch, _, positions = unit.shape
    rows = max(1, _DISTINCT_ENTRIES // (batch * positions))  # rows of the (N, N) matrix held at once
    scores = []
    for start in range(0, positions, rows):
        block = unit[:, :, start : start + rows].transpose(1, 2) @ unit / temperature  # (B, rows, N)
        log_p = torch.log_softmax(block, dim=-1)
        scores.append((log_p.exp() * log_p).sum(dim=-1))  # -entropy of each row
    return torch.cat(scores, dim=1)  # (B, N)


def standardise(scores: torch.Tensor) -> torch.Tensor:
    """(B, N) -> (B, N) with zero mean and unit standard deviation per row (image).

    Makes scores of different layers, networks and widths comparable before they are combined
    or divided by a temperature.
    """
    scores = scores.float()
    mean = scores.mean(dim=1, keepdim=True)
    std = scores.std(dim=1, keepdim=True, unbiased=False)
    return (scores - mean) / (std + _EPS)


def combined_score(student_features: torch.Tensor, teacher_features: torch.Tensor) -> torch.Tensor:
    """Average of the standardised activation scores of student (B, Cs, h, w) and teacher (B, Ct, h, w).

    Looks where either network is active: the regions the teacher finds important and those
    the student (wrongly or rightly) reacts to. Returns (B, h * w).
    """
    if student_features.shape[-2:] != teacher_features.shape[-2:]:
        raise RekoError(
            f"student and teacher feature maps differ in size: {tuple(student_features.shape)} vs "
            f"{tuple(teacher_features.shape)}"
        )
    return 0.5 * (standardise(activation_score(student_features)) + standardise(activation_score(teacher_features)))


def _check_k(scores: torch.Tensor, k: int) -> None:
    if scores.dim() != 2:
        raise RekoError(f"scores must be (B, N), got shape {tuple(scores.shape)}")
    if not 1 <= k <= scores.shape[1]:
        raise RekoError(f"cannot select {k} of {scores.shape[1]} positions")


def select_topk(scores: torch.Tensor, k: int) -> torch.Tensor:
    """(B, N) -> (B, k): the k highest-scoring positions of each image, best first."""
    _check_k(scores, k)
    return scores.detach().topk(k, dim=1).indices


def select_peaks(scores: torch.Tensor, k: int, height: int, width: int) -> torch.Tensor:
    """(B, N = height * width) -> (B, k): the k highest *local maxima* of each score map, best first.

    A position is a peak when no position of its 3x3 neighbourhood scores higher. Plain top-k on a
    smooth map takes clusters of neighbouring positions whose features are near-duplicates, and
    each becomes the others' PatchNCE negative (`benchmarks/patch_diversity.py` measures 70-96 %
    of teacher-top-k patches with a near-duplicate on the real CycleGAN teacher); peaks keep the
    most important regions but one position each. A map with fewer than k peaks is filled up with
    its best remaining positions.
    """
    _check_k(scores, k)
    if scores.shape[1] != height * width:
        raise RekoError(f"scores of {scores.shape[1]} positions are not a {height}x{width} map")
    flat = scores.detach().float()
    maps = flat.view(-1, 1, height, width)
    is_peak = (maps >= F.max_pool2d(maps, 3, stride=1, padding=1)).flatten(1)  # (B, N)
    # Every peak ranks above every other position: shift the others below the row's minimum.
    span = flat.amax(dim=1, keepdim=True) - flat.amin(dim=1, keepdim=True) + 1.0
    return torch.where(is_peak, flat, flat - span).topk(k, dim=1).indices


def select_softmax(
    scores: torch.Tensor, k: int, temperature: float = 1.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """(B, N) -> (B, k): k distinct positions sampled from softmax(standardise(scores) / temperature).

    Low temperatures approach `select_topk`; high ones approach `select_random`. Sampled with the
    Gumbel-top-k trick (Kool et al., "Stochastic Beams and Where to Find Them", ICML 2019): the k
    largest of ``logits + Gumbel noise`` are a sample without replacement from softmax(logits), and
    unlike ``torch.multinomial`` it stays exact when low temperatures underflow probabilities to 0.
    """
    _check_k(scores, k)
    if temperature <= 0:
        raise RekoError(f"softmax selection temperature must be > 0, got {temperature}")
    logits = standardise(scores.detach()) / temperature
    uniform = torch.rand(logits.shape, generator=generator, device=logits.device).clamp_(1e-12, 1 - 1e-7)
    gumbel = -torch.log(-torch.log(uniform))
    return (logits + gumbel).topk(k, dim=1).indices


def select_random(
    batch: int, positions: int, k: int, device: torch.device | str = "cpu", generator: torch.Generator | None = None
) -> torch.Tensor:
    """(B, k) distinct positions drawn uniformly from [0, positions) for each image."""
    if not 1 <= k <= positions:
        raise RekoError(f"cannot select {k} of {positions} positions")
    noise = torch.rand(batch, positions, generator=generator, device=device)
    return noise.topk(k, dim=1).indices  # the k largest uniform draws: a uniform k-subset


def gather_positions(features: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Feature vectors at selected positions: (B, C, h, w), (B, K) -> (B, K, C)."""
    batch, channels = features.shape[:2]
    flat = features.flatten(2)  # (B, C, N)
    picked = torch.gather(flat, 2, index.unsqueeze(1).expand(batch, channels, index.shape[1]))  # (B, C, K)
    return picked.transpose(1, 2)


def learned_attention_loss(logits: torch.Tensor, difficulty: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Trains a learned attention head to point where the student is furthest from the teacher.

    Args:
        logits: (B, N) the head's scores (gradients flow to the head).
        difficulty: (B, N) how far the student is from the teacher at each position, e.g.
            1 - cos(student embedding, teacher embedding); detached here.
        temperature: sharpness of the target distribution over standardised difficulties.

    Returns:
        KL(softmax(standardise(difficulty) / T) || softmax(logits)), averaged over images: 0 when
        the head's spatial distribution matches the target.
    """
    target = torch.softmax(standardise(difficulty.detach()) / temperature, dim=1)
    log_pred = F.log_softmax(logits.float(), dim=1)
    return F.kl_div(log_pred, target, reduction="batchmean")
