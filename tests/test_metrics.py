"""The mathematics of FID and KID on small synthetic features, and PSNR/SSIM/L1 on real photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import scipy.ndimage
import torch

from reko.data import list_images, load_image, split_aligned, to_tensor
from reko.errors import RekoError
from reko.eval import frechet
from reko.eval.frechet import feature_statistics, frechet_distance, kernel_inception_distance
from reko.eval.paired import PairedMetrics, paired_scores
from reko.eval.protocols import quantize


def _features(seed: int, n: int, d: int = 64, shift: float = 0.0) -> np.ndarray:
    """ReLU-like features (non-negative, correlated), as Inception's pool3 outputs are."""
    rng = np.random.default_rng(seed)
    mixing = np.random.default_rng(99).normal(size=(d, d)) / np.sqrt(d)
    return np.maximum(rng.normal(size=(n, d)) @ mixing + 0.3 + shift, 0).astype(np.float32)


def _sqrtm_fid(a: np.ndarray, b: np.ndarray) -> float:
    """pytorch-fid's formula with scipy.linalg.sqrtm (affordable at 64 dimensions)."""
    mu1, mu2 = a.mean(0, dtype=np.float64), b.mean(0, dtype=np.float64)
    s1, s2 = np.cov(a.astype(np.float64), rowvar=False), np.cov(b.astype(np.float64), rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


@pytest.mark.parametrize(("n1", "n2"), [(30, 40), (40, 30), (200, 150)])
def test_frechet_distance_paths_agree_with_sqrtm(n1: int, n2: int) -> None:
    """Low-rank (features, n < d), low-rank from either side, and statistics-only forms."""
    a, b = _features(0, n1), _features(1, n2, shift=0.2)
    mu1, s1 = feature_statistics(a)
    mu2, s2 = feature_statistics(b)
    reference = _sqrtm_fid(a, b)
    assert frechet_distance(mu1, s1, mu2, s2, a, b) == pytest.approx(reference, abs=1e-6, rel=1e-8)
    assert frechet_distance(mu1, s1, mu2, s2, None, b) == pytest.approx(reference, abs=1e-6, rel=1e-8)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(reference, abs=1e-6, rel=1e-8)


def test_frechet_distance_of_identical_sets_is_zero_and_symmetric() -> None:
    a, b = _features(0, 50), _features(1, 60, shift=0.5)
    stats_a, stats_b = feature_statistics(a), feature_statistics(b)
    assert abs(frechet_distance(*stats_a, *stats_a, a, a)) < 1e-9
    forward = frechet_distance(*stats_a, *stats_b, a, b)
    assert forward > 0.1
    assert frechet_distance(*stats_b, *stats_a, b, a) == pytest.approx(forward, rel=1e-9)


def test_feature_statistics_need_two_images() -> None:
    with pytest.raises(RekoError, match="at least 2"):
        feature_statistics(np.zeros((1, 8), dtype=np.float32))


def _numpy_mmd(x: np.ndarray, y: np.ndarray) -> float:
    x, y = x.astype(np.float64), y.astype(np.float64)
    d, m = x.shape[1], len(x)
    kxx, kyy, kxy = (x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3
    return float((kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.sum() / m**2)


def test_kid_on_whole_sets_equals_the_unbiased_mmd() -> None:
    a, b = _features(0, 40), _features(1, 40, shift=0.3)
    mean, std = kernel_inception_distance(a, b, num_subsets=7, subset_size=1000)
    assert mean == pytest.approx(_numpy_mmd(a, b), rel=1e-10)
    assert std is None  # every subset is both whole sets: no spread to report, not "0.00"
    assert kernel_inception_distance(a, b, num_subsets=7, subset_size=1000)[0] == mean
    _, std = kernel_inception_distance(a, _features(1, 60, shift=0.3), num_subsets=7, subset_size=1000)
    assert std is not None and std > 0  # the larger set is subsampled: a real spread


def test_kid_subsets_are_seeded_and_average_to_the_whole_set_estimate(monkeypatch) -> None:
    a, b = _features(0, 120), _features(1, 100, shift=0.3)
    first = kernel_inception_distance(a, b, num_subsets=50, subset_size=30, seed=3)
    assert kernel_inception_distance(a, b, num_subsets=50, subset_size=30, seed=3) == first
    assert kernel_inception_distance(a, b, num_subsets=50, subset_size=30, seed=4) != first
    assert first[1] > 0  # subsets differ
    # An unbiased estimator: the subset mean estimates the same value as the full U-statistic.
    many = kernel_inception_distance(a, b, num_subsets=600, subset_size=30, seed=0)
    full = _numpy_mmd(a[:100], b)  # equal sizes for the reference
    assert many[0] == pytest.approx(full, rel=0.1)
    # Precomputed kernel blocks and per-subset kernels are the same arithmetic.
    monkeypatch.setattr(frechet, "_FULL_KERNEL_LIMIT", 0)
    assert kernel_inception_distance(a, b, num_subsets=50, subset_size=30, seed=3) == pytest.approx(first, rel=1e-12)


def test_kid_needs_two_images() -> None:
    with pytest.raises(RekoError, match="at least 2"):
        kernel_inception_distance(_features(0, 1), _features(1, 5))


# ----------------------------------------------------------------------------- paired metrics


@pytest.fixture(scope="module")
def facade_pairs(facades_dir: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Four real facade photos and a degraded copy (blurred + noise), ``(4, 3, 256, 256)`` each."""
    photos = [to_tensor(split_aligned(load_image(p))[0]) for p in list_images(facades_dir / "val")[:4]]
    clean = torch.stack(photos)
    generator = torch.Generator().manual_seed(0)
    blurred = torch.nn.functional.avg_pool2d(clean, 3, stride=1, padding=1, count_include_pad=False)
    return clean, (blurred + 0.05 * torch.randn(clean.shape, generator=generator)).clamp(-1, 1)


def _gaussian_window() -> np.ndarray:
    x = np.arange(11) - 5
    g = np.exp(-(x**2) / (2 * 1.5**2))
    g /= g.sum()
    return np.outer(g, g)


def _numpy_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Wang et al. SSIM, 11x11 Gaussian (sigma 1.5), windows fully inside the image, channel mean."""
    window = _gaussian_window()
    c1, c2 = 0.01**2, 0.03**2
    values = []
    for channel in range(a.shape[0]):
        x, y = a[channel], b[channel]

        def blur(z: np.ndarray) -> np.ndarray:
            return scipy.ndimage.correlate(z, window, mode="constant")[5:-5, 5:-5]

        mx, my = blur(x), blur(y)
        vx, vy, cxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
        ssim_map = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
        values.append(ssim_map.mean())
    return float(np.mean(values))


def test_paired_scores_equal_numpy_on_real_photos(facade_pairs) -> None:
    clean, degraded = facade_pairs
    scores = paired_scores(degraded, clean)
    x = quantize(degraded).astype(np.float64) / 255
    y = quantize(clean).astype(np.float64) / 255
    for i in range(2):  # the numpy SSIM is slow; two images suffice
        mse = ((x[i] - y[i]) ** 2).mean()
        assert float(scores["psnr"][i]) == pytest.approx(10 * np.log10(1 / mse), rel=1e-6)
        assert float(scores["l1"][i]) == pytest.approx(np.abs(x[i] - y[i]).mean(), rel=1e-6)
        ssim = _numpy_ssim(x[i].transpose(2, 0, 1), y[i].transpose(2, 0, 1))
        assert float(scores["ssim"][i]) == pytest.approx(ssim, abs=1e-5)
    print(f"degraded facades: PSNR {scores['psnr'].mean():.2f} dB, SSIM {scores['ssim'].mean():.4f}")
    assert 15 < float(scores["psnr"].mean()) < 40 and 0 < float(scores["ssim"].mean()) < 1


def test_paired_metrics_accumulate_means(facade_pairs) -> None:
    clean, degraded = facade_pairs
    metric = PairedMetrics()
    metric.update(degraded[:1], clean[:1])
    metric.update(degraded[1:], clean[1:])
    scores = paired_scores(degraded, clean)
    result = metric.compute()
    assert metric.count == 4
    for name in ("psnr", "ssim", "l1"):
        assert result[name] == pytest.approx(float(scores[name].mean()), rel=1e-12)
    identical = PairedMetrics()
    identical.update(clean, clean)
    assert identical.compute()["ssim"] == pytest.approx(1.0) and identical.compute()["l1"] == 0
    assert identical.compute()["psnr"] == float("inf")
    metric.reset()
    with pytest.raises(RekoError, match="no image pairs"):
        metric.compute()
    with pytest.raises(RekoError, match="one shape"):
        paired_scores(clean[:, :, :128], clean)


def test_eval_table_shows_no_kid_spread_when_there_is_none() -> None:
    from reko.eval.report import format_results

    row = {"model": "student", "against": "teacher", "images": 309, "fid": 1.0, "kid_mean": 0.002}
    report = {"results": [{**row, "kid_std": None}, {**row, "kid_std": 0.0005}], "data": {}, "protocol": None}
    report["data"] = {"path": "test/", "images": 309, "preparation": "resize 256"}
    lines = format_results(report).splitlines()
    assert "2.00 +-" not in lines[2] and "2.00" in lines[2]  # whole sets: no "± 0.00"
    assert "2.00 +- 0.50" in lines[3]
