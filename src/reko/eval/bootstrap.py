"""How much FID and KID move with the choice of images: a bootstrap over the evaluated images.

A benchmark scores generated images against real ones on a fixed, small set (206 facades
photos). Another set of the same size would give other numbers; the bootstrap estimates by how
much. Each sample draws ``n`` indices with replacement and scores the drawn images against the
drawn real images (paired: the same indices index the outputs and their real photos, as drawing
another test set of label maps would), so a sample is "this benchmark on another test set".

With ``baseline`` (e.g. the teacher's outputs on the same inputs), every sample also scores the
baseline on the same indices, and the interval of the *difference* (generated minus baseline)
answers "is this student better than its teacher?" with the image sampling accounted for.

On a sample:

* FID: the exact Frechet distance of the drawn features, using ``tr sqrt(S1 S2) = ||C1 C2^T||_*``
  (the nuclear norm, i.e. the sum of singular values, of the ``(n, n)`` product of the centred,
  ``1/sqrt(n-1)``-scaled features; the non-zero eigenvalues of ``S1 S2`` are the squared singular
  values of ``C1 C2^T``), so a sample costs an ``(n, n)`` SVD instead of a ``(2048, 2048)`` one.
* KID: the unbiased MMD^2 with the cubic polynomial kernel on the drawn images; pairs of a set
  with the same source image are left out of that set's own term (as the diagonal is), so a
  duplicate does not count as a perfect match with itself. With every index drawn once this is
  exactly the full-set KID of `reko.eval.frechet.kernel_inception_distance`.

Intervals are normal intervals centred on the full-set value, ``value +- z * std`` with ``std``
the standard deviation over samples (``z`` 1.96 for ``level`` 0.95), not percentile intervals:
a drawn set holds only ~63 % distinct images, and FID grows as a set shrinks, so the drawn FIDs
lie *above* the full-set FID (``tests/test_bootstrap.py`` shows it) and a percentile
interval would not contain the value it is about. The spread is what a draw tells reliably; the
mean of the draws is reported too (``bias`` = mean - value). In a difference of two sets scored on
the same draws the shift largely cancels. This module is ours; the bootstrap itself is the
textbook one (Efron and Tibshirani, 1993).
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from reko.errors import RekoError


def _centred(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(D,)`` and centred features scaled by ``1/sqrt(n - 1)``, ``(n, D)``, float64."""
    mean = features.mean(axis=0)
    return mean, (features - mean) / np.sqrt(len(features) - 1)


def fid_low_rank(features1: np.ndarray, features2: np.ndarray) -> float:
    """FID between two ``(n, D)`` feature sets by the nuclear-norm form (exact; see module docstring)."""
    mu1, c1 = _centred(features1.astype(np.float64))
    mu2, c2 = _centred(features2.astype(np.float64))
    trace_sqrt = float(np.linalg.svd(c1 @ c2.T, compute_uv=False).sum())
    return float(np.sum((mu1 - mu2) ** 2) + np.sum(c1 * c1) + np.sum(c2 * c2) - 2.0 * trace_sqrt)


def _poly_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def _kid_on(indices: np.ndarray, k_xx: np.ndarray, k_xy: np.ndarray, k_yy: np.ndarray) -> float:
    """Unbiased MMD^2 of the drawn ``indices`` (see the module docstring for duplicates)."""
    distinct = indices[:, None] != indices[None, :]
    xx = k_xx[np.ix_(indices, indices)][distinct].mean()
    yy = k_yy[np.ix_(indices, indices)][distinct].mean()
    xy = k_xy[np.ix_(indices, indices)].mean()
    return float(xx + yy - 2.0 * xy)


@dataclass(frozen=True)
class Interval:
    """A statistic on all images (``value``), its bootstrap ``std``, the interval ``value +- z std``
    (``low``, ``high``) and ``bias``, the mean of the draws minus ``value``."""

    value: float
    low: float
    high: float
    std: float
    bias: float

    def to_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high, "std": self.std, "bias": self.bias}


def _interval(value: float, samples: list[float], level: float) -> Interval:
    data = np.asarray(samples)
    std = float(data.std(ddof=1))
    z = float(NormalDist().inv_cdf((1.0 + level) / 2.0))
    return Interval(float(value), value - z * std, value + z * std, std, float(data.mean()) - value)


def bootstrap_distances(
    generated: np.ndarray,
    real: np.ndarray,
    baseline: np.ndarray | None = None,
    samples: int = 500,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, Interval]:
    """Bootstrap intervals of FID and KID of ``generated`` against ``real`` (and of the difference
    to ``baseline``), all ``(n, D)`` features of the same ``n`` inputs, row ``i`` from input ``i``.

    Returns ``fid``, ``kid`` and, with a baseline, ``fid_minus_baseline``, ``kid_minus_baseline``
    (negative: ``generated`` is closer to ``real`` than the baseline is).
    """
    sets = {"generated": generated, "real": real, **({"baseline": baseline} if baseline is not None else {})}
    n = len(real)
    for name, array in sets.items():
        if array.ndim != 2 or len(array) != n:
            raise RekoError(
                f"bootstrap: {name} features have shape {array.shape}; expected ({n}, D), one row per image"
            )
    if n < 3:
        raise RekoError(f"bootstrap needs at least 3 images, got {n}")
    if samples < 2 or not 0.0 < level < 1.0:
        raise RekoError(f"bootstrap needs samples >= 2 and 0 < level < 1, got {samples} and {level}")
    data = {name: array.astype(np.float64) for name, array in sets.items()}
    kernels = {"real": _poly_kernel(data["real"], data["real"])}
    for name in ("generated", "baseline"):
        if name in data:
            kernels[name] = _poly_kernel(data[name], data[name])
            kernels[f"{name}_real"] = _poly_kernel(data[name], data["real"])

    def scores(indices: np.ndarray) -> dict[str, float]:
        out: dict[str, float] = {}
        for name in [key for key in ("generated", "baseline") if key in data]:
            out[f"fid_{name}"] = fid_low_rank(data[name][indices], data["real"][indices])
            out[f"kid_{name}"] = _kid_on(indices, kernels[name], kernels[f"{name}_real"], kernels["real"])
        return out

    full = scores(np.arange(n))
    rng = np.random.default_rng(seed)
    drawn: dict[str, list[float]] = {key: [] for key in full}
    for _ in range(samples):
        indices = rng.integers(0, n, size=n)
        while len(np.unique(indices)) < 2:  # KID needs two distinct images per set (likely only for tiny n)
            indices = rng.integers(0, n, size=n)
        for key, value in scores(indices).items():
            drawn[key].append(value)
    result = {
        "fid": _interval(full["fid_generated"], drawn["fid_generated"], level),
        "kid": _interval(full["kid_generated"], drawn["kid_generated"], level),
    }
    if baseline is not None:
        for metric in ("fid", "kid"):
            difference = [a - b for a, b in zip(drawn[f"{metric}_generated"], drawn[f"{metric}_baseline"], strict=True)]
            value = full[f"{metric}_generated"] - full[f"{metric}_baseline"]
            result[f"{metric}_minus_baseline"] = _interval(value, difference, level)
    return result


def intervals_to_dict(intervals: dict[str, Interval]) -> dict[str, Any]:
    return {name: interval.to_dict() for name, interval in intervals.items()}
