"""Properties of the pure losses added for the authors' comparison set and ReKo's two options:
non-local and channel-attention distillation, the perceptual L1, near-duplicate negative masking
and distinctiveness scoring."""

from __future__ import annotations

import math

import pytest
import torch

from reko.distill.losses.contrastive import near_duplicate_negatives, patch_nce_loss
from reko.distill.losses.kd import channel_attention, channel_attention_loss
from reko.distill.losses.nonlocal_kd import nonlocal_loss, nonlocal_response
from reko.distill.losses.perceptual import perceptual_l1
from reko.distill.losses.regions import distinctiveness_score, select_topk
from reko.errors import RekoError


def test_nonlocal_response_matches_its_definition_without_pooling() -> None:
    x = torch.randn(2, 4, 3, 5, generator=torch.Generator().manual_seed(0))
    y = nonlocal_response(x, pool=1)
    flat = x.flatten(2)  # (B, C, N)
    for b in range(2):
        for i in range(15):
            weights = torch.softmax(flat[b, :, i] @ flat[b] / 2.0, dim=0)  # sqrt(C) = 2
            assert torch.allclose(y[b].flatten(1)[:, i], flat[b] @ weights, atol=1e-5)


def test_nonlocal_response_of_a_constant_map_is_the_map() -> None:
    x = torch.full((1, 3, 4, 4), 0.7)
    assert torch.allclose(nonlocal_response(x, pool=2), x)


def test_nonlocal_response_is_global() -> None:
    """Changing one far-away position changes the response everywhere (unlike a convolution)."""
    x = torch.randn(1, 8, 6, 6, generator=torch.Generator().manual_seed(1))
    changed = x.clone()
    changed[..., 5, 5] += 3.0
    difference = (nonlocal_response(changed, 1) - nonlocal_response(x, 1)).abs()[0].sum(0)
    assert difference[0, 0] > 1e-4


def test_nonlocal_loss_and_errors() -> None:
    a = torch.randn(2, 4, 4, 4)
    assert nonlocal_loss(a, a).item() == 0.0
    assert nonlocal_loss(a + 1, a).item() == pytest.approx(1.0)
    with pytest.raises(RekoError, match="differ"):
        nonlocal_loss(a, a[:, :2])
    with pytest.raises(RekoError, match="larger than"):
        nonlocal_response(torch.randn(1, 2, 1, 4), pool=2)


def test_channel_attention_is_the_signed_spatial_mean() -> None:
    x = torch.randn(2, 5, 3, 3)
    assert torch.allclose(channel_attention(x), x.mean(dim=(2, 3)))
    t = channel_attention(x)
    assert channel_attention_loss(t, t).item() == 0.0
    assert channel_attention_loss(t + 2, t).item() == pytest.approx(4.0)
    with pytest.raises(RekoError, match="differ"):
        channel_attention_loss(t[:, :3], t)


def test_perceptual_l1_averages_layers_and_detaches_the_teacher() -> None:
    s = {"a": torch.zeros(1, 2, 4, 4, requires_grad=True), "b": torch.zeros(1, 3, 2, 2, requires_grad=True)}
    t = {"a": torch.ones(1, 2, 4, 4, requires_grad=True), "b": torch.full((1, 3, 2, 2), 3.0, requires_grad=True)}
    loss = perceptual_l1(s, t)
    assert loss.item() == pytest.approx(2.0)  # (1 + 3) / 2
    loss.backward()
    assert s["a"].grad is not None and t["a"].grad is None
    with pytest.raises(RekoError, match="same layers"):
        perceptual_l1(s, {"a": t["a"]})


def test_near_duplicate_mask_marks_similar_pairs_but_never_the_positive() -> None:
    vectors = torch.tensor([[[1.0, 0.0], [0.99, 0.1], [0.0, 1.0]]])  # patches 0 and 1 are twins
    mask = near_duplicate_negatives(vectors, 0.9)
    assert mask.tolist() == [[[False, True, False], [True, False, False], [False, False, False]]]
    assert not near_duplicate_negatives(vectors, 1.0).any()  # a threshold of 1 masks nothing


def test_masking_a_near_duplicate_negative_lowers_the_loss_of_a_correct_student() -> None:
    """A student that matches the teacher exactly is still penalised when its twin is a negative."""
    teacher = torch.tensor([[[1.0, 0.0], [0.99, 0.14], [0.0, 1.0]]])
    student = teacher.clone()
    plain = patch_nce_loss(student, teacher, 0.07, reduction="none")
    masked = patch_nce_loss(student, teacher, 0.07, "none", near_duplicate_negatives(teacher, 0.9))
    assert plain[0, 0] > 0.5  # the twin's logit competes with the positive
    assert masked[0, 0] < 1e-3 and masked[0, 1] < 1e-3
    assert masked[0, 2] == pytest.approx(plain[0, 2].item(), rel=1e-5)  # untouched row


def test_a_patch_with_every_negative_masked_contributes_zero() -> None:
    teacher = torch.ones(1, 3, 4)
    mask = near_duplicate_negatives(teacher, 0.5)
    loss = patch_nce_loss(torch.randn(1, 3, 4), teacher, 0.07, "none", mask)
    assert torch.isfinite(loss).all() and loss.abs().max() < 1e-6


def test_negative_mask_errors() -> None:
    s = torch.randn(1, 3, 4)
    with pytest.raises(RekoError, match="diagonal"):
        patch_nce_loss(s, s, negative_mask=torch.eye(3, dtype=torch.bool)[None])
    with pytest.raises(RekoError, match="bool tensor"):
        patch_nce_loss(s, s, negative_mask=torch.zeros(1, 3, 3))


def test_distinctiveness_prefers_the_odd_position_out() -> None:
    """In a map that is one colour except for two unusual positions, those two score highest."""
    features = torch.zeros(1, 3, 6, 6)
    features[0, 0] = 1.0  # a large uniform region
    features[0, :, 2, 4] = torch.tensor([0.0, 1.0, 0.0])
    features[0, :, 5, 1] = torch.tensor([0.0, 0.0, 1.0])
    score = distinctiveness_score(features, temperature=0.1)
    assert set(select_topk(score, 2)[0].tolist()) == {2 * 6 + 4, 5 * 6 + 1}
    uniform = distinctiveness_score(torch.ones(1, 3, 4, 4), 0.1)
    assert torch.allclose(uniform, torch.full_like(uniform, -math.log(16)), atol=1e-5)  # flat rows
    with pytest.raises(RekoError, match="temperature"):
        distinctiveness_score(features, 0.0)


def test_distinctiveness_in_row_blocks_equals_the_whole_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch.nn.functional as F

    from reko.distill.losses import regions

    features = torch.randn(2, 8, 12, 10, generator=torch.Generator().manual_seed(3))
    unit = F.normalize(features.flatten(2), dim=1)
    log_p = torch.log_softmax(unit.transpose(1, 2) @ unit / 0.1, dim=-1)
    whole = (log_p.exp() * log_p).sum(dim=-1)
    monkeypatch.setattr(regions, "_DISTINCT_ENTRIES", 7 * 2 * 120)  # blocks of 7 rows, the last one shorter
    assert torch.allclose(regions.distinctiveness_score(features, 0.1), whole, atol=1e-5)
