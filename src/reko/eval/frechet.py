"""The mathematics of FID and KID on Inception features (float64 throughout).

FID (Heusel et al., 2017): ``|mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr sqrt(S1 S2)`` between the
Gaussians fitted to two feature sets (unbiased covariances, as pytorch-fid and clean-fid).

``tr sqrt(S1 S2)`` is the sum of the square roots of the eigenvalues of ``S1 S2``. When the
features of one set are at hand and it has fewer images than feature dimensions (the usual
case: hundreds of images, 2048 dimensions), ``S2 = B^T B`` with ``B`` its centred features
scaled by ``1 / sqrt(n - 1)``, and the non-zero eigenvalues of ``S1 S2`` are those of the small
symmetric matrix ``B S1 B^T``. That form is exact, symmetric (so ``eigvalsh`` applies and no
imaginary parts appear) and ~100x faster on a CPU than a 2048x2048 non-symmetric eigenproblem.
With statistics only (e.g. a pytorch-fid ``.npz``), the same eigenvalues are those of the
symmetric ``S1^1/2 S2 S1^1/2`` (``scipy.linalg.eigh``, ~2 s for 2048 dimensions on 2 cores,
where ``scipy.linalg.sqrtm`` of ``S1 S2`` takes ~40 s and ``torch.linalg.eigvals`` ~12 s).

KID (Binkowski et al., 2018): the unbiased MMD^2 with the cubic polynomial kernel
``k(x, y) = (x.y / d + 1)^3``, averaged over random subsets of ``min(subset_size, n1, n2)`` images
from each set (torchmetrics' ``poly_kernel`` and ``maximum_mean_discrepancy``; the subset scheme
of torchmetrics and clean-fid). Subsets are drawn from a seeded generator; the standard
deviation over subsets is the population one, as torchmetrics reports it. When both sets are
no larger than the subset size, every "subset" is a whole set, so there is no spread to report:
the standard deviation is then None (it would be a meaningless 0.00).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import torch
from torchmetrics.image.kid import maximum_mean_discrepancy, poly_kernel

from reko.errors import RekoError

# Above this many images per set the full kernel matrices (n x n float64) are not precomputed.
_FULL_KERNEL_LIMIT = 6000


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(N, D)`` features -> mean ``(D,)`` and unbiased covariance ``(D, D)``, float64."""
    if features.ndim != 2 or len(features) < 2:
        raise RekoError(f"FID needs at least 2 images' features, got an array of shape {features.shape}")
    data = features.astype(np.float64)
    return data.mean(axis=0), np.cov(data, rowvar=False)


def frechet_distance(
    mu1: np.ndarray,
    sigma1: np.ndarray,
    mu2: np.ndarray,
    sigma2: np.ndarray,
    features1: np.ndarray | None = None,
    features2: np.ndarray | None = None,
) -> float:
    """The Frechet distance between N(mu1, sigma1) and N(mu2, sigma2).

    ``features1`` / ``features2`` (the ``(N, D)`` arrays the statistics came from) are optional;
    with one of them the exact low-rank form is used (see the module docstring).
    """
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise RekoError(f"feature statistics differ in shape: {mu1.shape}/{sigma1.shape} vs {mu2.shape}/{sigma2.shape}")
    mean_term = float(np.sum((mu1 - mu2) ** 2))
    trace_sqrt = _trace_sqrt_product(sigma1, sigma2, features1, features2)
    if trace_sqrt is None:
        trace_sqrt = _trace_sqrt_symmetric(np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64))
    return mean_term + float(np.trace(sigma1) + np.trace(sigma2)) - 2.0 * trace_sqrt


def _trace_sqrt_product(
    sigma1: np.ndarray, sigma2: np.ndarray, features1: np.ndarray | None, features2: np.ndarray | None
) -> float | None:
    """``tr sqrt(sigma1 sigma2)`` by the low-rank form, or None when it does not apply."""
    dim = sigma1.shape[0]
    options = [(f, other) for f, other in ((features2, sigma1), (features1, sigma2)) if f is not None and len(f) <= dim]
    if not options:
        return None
    features, other = min(options, key=lambda pair: len(pair[0]))
    data = features.astype(np.float64)
    centred = (data - data.mean(axis=0)) / np.sqrt(len(data) - 1)  # (n, D): sigma = centred^T centred
    small = centred @ other @ centred.T  # (n, n), symmetric positive semi-definite
    eigenvalues = np.linalg.eigvalsh((small + small.T) / 2.0)
    return float(np.sqrt(np.clip(eigenvalues, 0.0, None)).sum())


def _trace_sqrt_symmetric(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """``tr sqrt(sigma1 sigma2)`` as the sum of square roots of the eigenvalues of the symmetric
    positive semi-definite ``sigma1^1/2 sigma2 sigma1^1/2`` (similar to ``sigma1 sigma2``)."""
    eigenvalues, vectors = scipy.linalg.eigh(sigma1)
    root = (vectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ vectors.T  # sigma1^1/2
    inner = root @ sigma2 @ root
    return float(np.sqrt(np.clip(scipy.linalg.eigvalsh((inner + inner.T) / 2.0), 0.0, None)).sum())


def kernel_inception_distance(
    features1: np.ndarray,
    features2: np.ndarray,
    num_subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float | None]:
    """KID between two ``(N, D)`` feature sets: ``(mean, std)`` of the unbiased MMD^2 over subsets.

    ``std`` is None when both sets fit in one subset (each subset is then both whole sets).
    """
    n1, n2 = len(features1), len(features2)
    if subset_size < 2:
        raise RekoError(f"the KID subset size must be >= 2 (the unbiased MMD needs two images), got {subset_size}")
    m = min(subset_size, n1, n2)
    if m < 2:
        raise RekoError(f"KID needs at least 2 images in each set, got {n1} and {n2}")
    if num_subsets < 1:
        raise RekoError(f"KID needs at least one subset, got num_subsets={num_subsets}")
    x = torch.from_numpy(features1.astype(np.float64))
    y = torch.from_numpy(features2.astype(np.float64))
    generator = torch.Generator().manual_seed(int(seed))
    precompute = max(n1, n2) <= _FULL_KERNEL_LIMIT
    if precompute:  # every subset's kernels are sub-blocks of these
        k_xx, k_xy, k_yy = poly_kernel(x, x), poly_kernel(x, y), poly_kernel(y, y)
    values = []
    for _ in range(num_subsets):
        i = torch.randperm(n1, generator=generator)[:m]
        j = torch.randperm(n2, generator=generator)[:m]
        if precompute:
            blocks = (k_xx[i][:, i], k_xy[i][:, j], k_yy[j][:, j])
        else:
            blocks = (poly_kernel(x[i], x[i]), poly_kernel(x[i], y[j]), poly_kernel(y[j], y[j]))
        values.append(float(maximum_mean_discrepancy(*blocks)))
    scores = np.asarray(values)
    whole_sets = m >= n1 and m >= n2
    return float(scores.mean()), None if whole_sets else float(scores.std())
