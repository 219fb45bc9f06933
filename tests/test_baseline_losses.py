"""The baselines' pure loss functions: the Haar transform's algebra and each loss's fixed points."""

from __future__ import annotations

import pytest
import torch

from reko.distill.losses import kd
from reko.errors import RekoError


def _randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# --- Haar DWT ---------------------------------------------------------------------------------


def test_haar_filters_are_orthonormal() -> None:
    filters = kd._HAAR.flatten(1).double()  # (4, 4): one filter per row
    assert torch.allclose(filters @ filters.t(), torch.eye(4, dtype=torch.float64))


def test_haar_dwt_known_values() -> None:
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 1, 2, 2)
    ll, lh, hl, hh = (band.item() for band in kd.haar_dwt(x))
    assert ll == pytest.approx((1 + 2 + 3 + 4) / 2)
    assert lh == pytest.approx((1 - 2 + 3 - 4) / 2)  # left minus right: responds to vertical edges
    assert hl == pytest.approx((1 + 2 - 3 - 4) / 2)  # top minus bottom: horizontal edges
    assert hh == pytest.approx((1 - 2 - 3 + 4) / 2)


@pytest.mark.parametrize("shape", [(2, 3, 8, 8), (1, 5, 6, 10)])
def test_haar_perfect_reconstruction_and_energy(shape: tuple[int, ...]) -> None:
    x = _randn(*shape)
    bands = kd.haar_dwt(x)
    assert all(b.shape == (shape[0], shape[1], shape[2] // 2, shape[3] // 2) for b in bands)
    assert torch.allclose(kd.haar_idwt(*bands), x, atol=1e-12)
    energy = sum(b.pow(2).sum() for b in bands)
    assert torch.allclose(energy, x.pow(2).sum())  # orthonormal: Parseval


def test_haar_channels_are_independent() -> None:
    x = _randn(2, 3, 4, 4)
    for full, alone in zip(kd.haar_dwt(x), kd.haar_dwt(x[:, 1:2]), strict=True):
        assert torch.allclose(full[:, 1:2], alone)


def test_haar_constant_image_has_no_detail() -> None:
    x = torch.full((1, 3, 8, 8), 0.3)
    ll, lh, hl, hh = kd.haar_dwt(x)
    assert torch.allclose(ll, torch.full_like(ll, 0.6))
    for band in (lh, hl, hh):
        assert band.abs().max() < 1e-7


def test_haar_multilevel_shapes_and_reconstruction() -> None:
    x = _randn(2, 3, 16, 16)
    low, details = kd.haar_dwt_multilevel(x, levels=3)
    assert low.shape == (2, 3, 2, 2)
    assert [d[0].shape[-1] for d in details] == [8, 4, 2]
    for lh, hl, hh in reversed(details):  # undo coarsest first
        low = kd.haar_idwt(low, lh, hl, hh)
    assert torch.allclose(low, x, atol=1e-12)


def test_haar_rejects_odd_sizes_and_bad_levels() -> None:
    with pytest.raises(RekoError, match="even"):
        kd.haar_dwt(torch.zeros(1, 3, 7, 8))
    with pytest.raises(RekoError, match="levels"):
        kd.haar_dwt_multilevel(torch.zeros(1, 3, 8, 8), levels=0)


# --- Wavelet KD -------------------------------------------------------------------------------


def test_wavelet_loss_zero_for_equal_images_and_ignores_low_frequencies() -> None:
    image = _randn(2, 3, 16, 16).tanh()
    assert kd.wavelet_loss(image, image.clone(), levels=3) == 0
    # A global brightness shift lives entirely in the final LL band, which the loss ignores.
    assert kd.wavelet_loss(image + 0.25, image, levels=3).abs() < 1e-12
    assert kd.wavelet_loss(image + 0.1 * _randn(2, 3, 16, 16, seed=1), image, levels=3) > 0


def test_wavelet_loss_gradient_reaches_student_only() -> None:
    student = _randn(1, 3, 8, 8).requires_grad_()
    teacher = _randn(1, 3, 8, 8, seed=1)
    kd.wavelet_loss(student, teacher, levels=2).backward()
    assert student.grad is not None and student.grad.abs().sum() > 0


# --- Attention transfer -------------------------------------------------------------------------


def test_attention_map_is_unit_norm_and_width_invariant() -> None:
    features = _randn(3, 4, 5, 6)
    amap = kd.attention_map(features)
    assert amap.shape == (3, 30)
    assert torch.allclose(amap.norm(dim=1), torch.ones(3, dtype=torch.float64))
    # A wider network whose channels repeat these (with signs flipped) and are scaled attends alike.
    wider = 5 * torch.cat([features, -features, features], dim=1)
    assert torch.allclose(kd.attention_map(wider), amap)


def test_attention_transfer_loss_fixed_points_and_bound() -> None:
    student = _randn(2, 4, 8, 8)
    assert kd.attention_transfer_loss(student, student.clone()) == 0
    # A teacher with twice the channels (each duplicated) and 3x the scale has the same attention.
    teacher = 3 * torch.cat([student, student], dim=1)
    assert kd.attention_transfer_loss(student, teacher) < 1e-12
    other = _randn(2, 16, 8, 8, seed=1)
    loss = kd.attention_transfer_loss(student, other)
    assert 0 < loss <= 2 / 64


def test_attention_transfer_rejects_spatial_mismatch() -> None:
    with pytest.raises(RekoError, match="spatial"):
        kd.attention_transfer_loss(torch.zeros(1, 4, 8, 8), torch.zeros(1, 4, 4, 4))


# --- Similarity-preserving KD ---------------------------------------------------------------------


def test_similarity_matrix_rows_are_unit() -> None:
    matrix = kd.similarity_matrix(_randn(4, 3, 5, 5))
    assert matrix.shape == (4, 4)
    assert torch.allclose(matrix.norm(dim=1), torch.ones(4, dtype=torch.float64))


def test_similarity_preserving_loss_fixed_points() -> None:
    student = _randn(4, 3, 5, 5)
    assert kd.similarity_preserving_loss(student, student.clone()) == 0
    # Q Q^T of duplicated, scaled channels is a scaled Q Q^T: same normalised matrix.
    assert kd.similarity_preserving_loss(student, 2 * torch.cat([student, student], 1)) < 1e-12
    assert kd.similarity_preserving_loss(student, _randn(4, 8, 3, 3, seed=1)) > 0
    # One sample: both matrices are [[1]], so the loss is identically zero (methods reject B = 1).
    assert kd.similarity_preserving_loss(student[:1], _randn(1, 8, 3, 3, seed=1)) == 0


def test_similarity_preserving_rejects_batch_mismatch() -> None:
    with pytest.raises(RekoError, match="batch"):
        kd.similarity_preserving_loss(torch.zeros(2, 3, 4, 4), torch.zeros(3, 3, 4, 4))


# --- Feature MSE ----------------------------------------------------------------------------------


def test_feature_mse() -> None:
    features = _randn(2, 8, 4, 4)
    assert kd.feature_mse(features, features.clone()) == 0
    assert kd.feature_mse(features + 1, features) == pytest.approx(1.0)
    with pytest.raises(RekoError, match="differ"):
        kd.feature_mse(torch.zeros(2, 4, 4, 4), torch.zeros(2, 8, 4, 4))
