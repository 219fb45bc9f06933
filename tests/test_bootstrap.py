"""reko.eval.bootstrap: the resampled FID/KID equal the full-set ones, and the intervals behave."""

from __future__ import annotations

import numpy as np
import pytest

from reko.errors import RekoError
from reko.eval.bootstrap import _kid_on, _poly_kernel, bootstrap_distances, fid_low_rank
from reko.eval.frechet import feature_statistics, frechet_distance, kernel_inception_distance


def _features(n: int, shift: float, seed: int, dim: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, dim)) + shift).astype(np.float32)


def test_low_rank_fid_equals_the_frechet_distance() -> None:
    a, b = _features(40, 0.0, 1), _features(40, 0.3, 2)
    # dim 64 > n 40: the regime of 206 images and 2048 Inception dimensions
    expected = frechet_distance(*feature_statistics(a), *feature_statistics(b), a, b)
    assert fid_low_rank(a, b) == pytest.approx(expected, rel=1e-6)


def test_kid_on_every_index_once_is_the_full_set_kid() -> None:
    a, b = _features(30, 0.0, 3), _features(30, 0.2, 4)
    x, y = a.astype(np.float64), b.astype(np.float64)
    value = _kid_on(np.arange(30), _poly_kernel(x, x), _poly_kernel(x, y), _poly_kernel(y, y))
    expected, _ = kernel_inception_distance(a, b, num_subsets=3, subset_size=1000)  # subsets = the whole set
    assert value == pytest.approx(expected, rel=1e-6)


def test_duplicates_are_not_matches_with_themselves() -> None:
    x = _features(10, 0.0, 5).astype(np.float64)
    kernel = _poly_kernel(x, x)
    # all draws of one image: its only pairs are with itself, which are left out of the own-set terms
    indices = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
    value = _kid_on(indices, kernel, kernel, kernel)
    distinct = _kid_on(np.arange(5), kernel[:5, :5], kernel[:5, :5], kernel[:5, :5])
    assert np.isfinite(value) and value == pytest.approx(distinct, abs=0.5)


def test_intervals_cover_the_value_and_separate_a_worse_set() -> None:
    real = _features(60, 0.0, 6)
    close, far = _features(60, 0.05, 7), _features(60, 1.0, 8)
    result = bootstrap_distances(close, real, baseline=far, samples=60, seed=0)
    for name in ("fid", "kid"):
        interval = result[name]
        assert interval.low <= interval.value <= interval.high and interval.std > 0
    # the close set is better than the far one on every sample: the difference's interval is below 0
    assert result["fid_minus_baseline"].high < 0 and result["kid_minus_baseline"].high < 0
    again = bootstrap_distances(close, real, baseline=far, samples=60, seed=0)
    assert again["kid"] == result["kid"]  # seeded


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(RekoError, match="one row per image"):
        bootstrap_distances(_features(5, 0, 1), _features(6, 0, 2))
    with pytest.raises(RekoError, match="samples"):
        bootstrap_distances(_features(5, 0, 1), _features(5, 0, 2), samples=1)


def test_drawn_fids_lie_above_the_full_set_fid_which_is_why_the_interval_is_centred() -> None:
    real, generated = _features(60, 0.0, 9), _features(60, 0.3, 10)
    fid = bootstrap_distances(generated, real, samples=40, seed=1)["fid"]
    assert fid.bias > 0  # fewer distinct images per draw: a larger FID
    assert fid.low < fid.value < fid.high and fid.high - fid.value == pytest.approx(fid.value - fid.low)
