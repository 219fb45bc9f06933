"""Properties of the pure losses of ReKo and GAN training (reko.distill.losses.{contrastive,gan,regions})."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from reko.distill.losses.contrastive import patch_nce_logits, patch_nce_loss
from reko.distill.losses.regions import (
    activation_score,
    combined_score,
    gather_positions,
    learned_attention_loss,
    select_peaks,
    select_random,
    select_softmax,
    select_topk,
    standardise,
)
from reko.errors import RekoError
from reko.gan.losses import GAN_MODES, discriminator_loss, generator_loss


def _separated(batch: int, k: int, dim: int) -> torch.Tensor:
    """(B, K, D) embeddings whose K patches per image are orthonormal: perfectly separated."""
    return torch.eye(dim)[:k].expand(batch, k, dim).clone()


# ------------------------------------------------------------------ PatchNCE


def test_patch_nce_is_near_zero_when_student_equals_separated_teacher() -> None:
    teacher = _separated(2, 16, 32)
    loss = patch_nce_loss(teacher.clone(), teacher, temperature=0.07)
    # Positive logit 1/0.07 against 15 negatives at 0: log(1 + 15 exp(-1/0.07)).
    assert loss.item() == pytest.approx(math.log1p(15 * math.exp(-1 / 0.07)), abs=1e-6)
    assert loss.item() < 1e-4


def test_patch_nce_is_high_when_patches_are_shuffled() -> None:
    teacher = _separated(2, 16, 32)
    shuffled = teacher[:, torch.roll(torch.arange(16), 1)]
    matched = patch_nce_loss(teacher.clone(), teacher)
    assert patch_nce_loss(shuffled, teacher).item() > 10.0 > matched.item()


def test_patch_nce_is_log_k_when_all_similarities_are_equal() -> None:
    student = torch.ones(3, 8, 4)
    assert patch_nce_loss(student, torch.ones(3, 8, 4)).item() == pytest.approx(math.log(8), abs=1e-5)


def test_patch_nce_ignores_embedding_scale() -> None:
    student, teacher = torch.randn(2, 8, 16), torch.randn(2, 8, 16)
    assert patch_nce_loss(student * 7.0, teacher * 0.1).item() == pytest.approx(patch_nce_loss(student, teacher).item())


def test_patch_nce_negatives_stay_within_each_image() -> None:
    """Correct for any batch size: per-image losses do not change when other images change or are absent."""
    torch.manual_seed(0)
    student, teacher = torch.randn(4, 16, 8), torch.randn(4, 16, 8)
    together = patch_nce_loss(student, teacher, reduction="none")  # (B, K)
    alone = torch.cat([patch_nce_loss(student[i : i + 1], teacher[i : i + 1], reduction="none") for i in range(4)])
    torch.testing.assert_close(together, alone)
    other = teacher.clone()
    other[1:] = torch.randn(3, 16, 8)
    torch.testing.assert_close(patch_nce_loss(student, other, reduction="none")[0], together[0])
    assert patch_nce_loss(student, teacher).item() == pytest.approx(alone.mean().item(), rel=1e-6)


def test_patch_nce_matches_the_cut_formulation_for_one_image() -> None:
    """CUT: logits [pos, negatives with the diagonal masked to -10] / tau, cross-entropy on class 0."""
    torch.manual_seed(1)
    q, k = F.normalize(torch.randn(1, 12, 8), dim=-1), F.normalize(torch.randn(1, 12, 8), dim=-1)
    q2, k2 = q[0], k[0]
    l_pos = (q2 * k2).sum(dim=1, keepdim=True)
    l_neg = q2 @ k2.t()
    l_neg = l_neg.masked_fill(torch.eye(12, dtype=torch.bool), -10.0)
    logits = torch.cat([l_pos, l_neg], dim=1) / 0.07
    cut = F.cross_entropy(logits, torch.zeros(12, dtype=torch.long))
    assert patch_nce_loss(q, k).item() == pytest.approx(cut.item(), rel=1e-5)


def test_patch_nce_gradients_reach_student_and_teacher_side() -> None:
    student = torch.randn(2, 8, 16, requires_grad=True)
    teacher = torch.randn(2, 8, 16, requires_grad=True)
    patch_nce_loss(student, teacher).backward()
    assert student.grad is not None and student.grad.abs().sum() > 0
    assert teacher.grad is not None and teacher.grad.abs().sum() > 0


def test_patch_nce_logits_shape_and_errors() -> None:
    assert patch_nce_logits(torch.randn(3, 5, 4), torch.randn(3, 5, 4)).shape == (3, 5, 5)
    with pytest.raises(RekoError, match="same shape"):
        patch_nce_loss(torch.randn(2, 5, 4), torch.randn(2, 6, 4))
    with pytest.raises(RekoError, match="temperature"):
        patch_nce_loss(torch.randn(2, 5, 4), torch.randn(2, 5, 4), temperature=0.0)


# ------------------------------------------------------------------ GAN


@pytest.mark.parametrize("mode", GAN_MODES)
def test_discriminator_loss_prefers_a_discriminator_that_tells_real_from_fake(mode: str) -> None:
    good = discriminator_loss(torch.full((2, 1, 4, 4), 1.0), torch.full((2, 1, 4, 4), -1.0), mode)
    fooled = discriminator_loss(torch.full((2, 1, 4, 4), -1.0), torch.full((2, 1, 4, 4), 1.0), mode)
    assert good.item() < fooled.item()


@pytest.mark.parametrize("mode", GAN_MODES)
def test_generator_loss_decreases_as_the_discriminator_believes_the_fake(mode: str) -> None:
    losses = [generator_loss(torch.full((1, 1, 3, 3), value), mode).item() for value in (-2.0, 0.0, 1.0)]
    assert losses[0] > losses[1] > losses[2] or (mode == "lsgan" and losses[2] == 0.0 < losses[1] < losses[0])


def test_gan_losses_have_their_known_values() -> None:
    real, fake = torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 2, 2)
    assert discriminator_loss(real, fake, "lsgan").item() == 0.0  # the LSGAN optimum
    assert discriminator_loss(real, -real, "hinge").item() == 0.0  # margins met
    bce = F.binary_cross_entropy_with_logits(torch.zeros(4), torch.ones(4)).item()
    assert discriminator_loss(fake, fake, "vanilla").item() == pytest.approx(bce)  # log 2 on both
    assert generator_loss(torch.full((2,), 3.0), "hinge").item() == -3.0


def test_unknown_gan_mode_is_an_error() -> None:
    with pytest.raises(RekoError, match="lsgan"):
        generator_loss(torch.zeros(1), "wgan")


# ------------------------------------------------------------------ regions


def test_activation_score_is_channel_mean_of_absolute_values() -> None:
    features = torch.randn(2, 5, 3, 4)
    scores = activation_score(features)
    assert scores.shape == (2, 12)
    torch.testing.assert_close(scores[1, 7], features[1, :, 7 // 4, 7 % 4].abs().mean())


def test_standardise_and_combined_score() -> None:
    z = standardise(torch.randn(3, 50) * 10 + 4)
    torch.testing.assert_close(z.mean(dim=1), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(z.std(dim=1, unbiased=False), torch.ones(3), atol=1e-4, rtol=0)
    teacher = torch.zeros(1, 4, 2, 2)
    teacher[0, :, 1, 1] = 5.0
    student = torch.zeros(1, 2, 2, 2)
    student[0, :, 0, 0] = 5.0
    scores = combined_score(student, teacher)
    assert scores.argmax().item() in (0, 3) and scores[0, 1] == scores[0, 2] < scores[0, 0]
    with pytest.raises(RekoError, match="differ in size"):
        combined_score(torch.zeros(1, 2, 4, 4), teacher)


def test_select_topk_picks_the_highest_scores() -> None:
    scores = torch.tensor([[0.1, 0.9, 0.5, 0.7], [4.0, 3.0, 2.0, 1.0]])
    assert select_topk(scores, 2).tolist() == [[1, 3], [0, 1]]
    with pytest.raises(RekoError, match="cannot select 5 of 4"):
        select_topk(scores, 5)


def test_select_peaks_takes_one_position_per_bump_best_first() -> None:
    # Two smooth bumps on an 8x8 map: top-k takes neighbours of the higher bump, peaks take both centres.
    rows, cols = torch.meshgrid(torch.arange(8.0), torch.arange(8.0), indexing="ij")
    high = 2.0 * torch.exp(-((rows - 1) ** 2 + (cols - 1) ** 2) / 4)
    low = torch.exp(-((rows - 6) ** 2 + (cols - 6) ** 2) / 4)
    scores = (high + low).flatten()[None]  # (1, 64)
    centres = [1 * 8 + 1, 6 * 8 + 6]
    assert select_peaks(scores, 2, 8, 8).tolist() == [centres]
    assert select_topk(scores, 2)[0, 1].item() in (0 * 8 + 1, 1 * 8 + 0, 1 * 8 + 2, 2 * 8 + 1)  # a neighbour
    # More positions than peaks: the best remaining ones fill up, all distinct, peaks first.
    picked = select_peaks(scores, 10, 8, 8)[0].tolist()
    assert picked[:2] == centres and len(set(picked)) == 10
    with pytest.raises(RekoError, match="not a 5x5 map"):
        select_peaks(scores, 2, 5, 5)


def test_select_softmax_samples_distinct_positions_reproducibly() -> None:
    scores = torch.randn(3, 100)
    first = select_softmax(scores, 20, 1.0, torch.Generator().manual_seed(0))
    again = select_softmax(scores, 20, 1.0, torch.Generator().manual_seed(0))
    assert torch.equal(first, again)
    assert all(len(set(row.tolist())) == 20 for row in first)
    # A very low temperature is top-k; selection is a set, so compare sorted.
    cold = select_softmax(scores, 5, 1e-4, torch.Generator().manual_seed(1))
    assert torch.equal(cold.sort(dim=1).values, select_topk(scores, 5).sort(dim=1).values)


def test_select_softmax_prefers_high_scores() -> None:
    scores = torch.linspace(0, 1, 64).repeat(200, 1)  # position 63 scores highest
    picked = select_softmax(scores, 8, 0.3, torch.Generator().manual_seed(0))
    assert picked.float().mean().item() > 40  # uniform picks would average 31.5


def test_select_random_is_a_uniform_subset() -> None:
    picked = select_random(500, 16, 4, generator=torch.Generator().manual_seed(0))
    assert picked.shape == (500, 4)
    assert all(len(set(row.tolist())) == 4 for row in picked)
    counts = torch.bincount(picked.flatten(), minlength=16).float()
    assert counts.min() > 0.7 * counts.mean()


def test_gather_positions_reads_the_selected_feature_vectors() -> None:
    features = torch.randn(2, 6, 4, 5)
    index = torch.tensor([[0, 7, 19], [3, 3, 12]])
    picked = gather_positions(features, index)
    assert picked.shape == (2, 3, 6)
    torch.testing.assert_close(picked[0, 1], features[0, :, 1, 2])
    torch.testing.assert_close(picked[1, 2], features[1, :, 2, 2])


def test_learned_attention_loss_is_zero_when_the_head_matches_its_target() -> None:
    difficulty = torch.rand(2, 30)
    target_logits = standardise(difficulty)  # softmax(z / 1) is the target distribution
    assert learned_attention_loss(target_logits, difficulty).item() == pytest.approx(0.0, abs=1e-6)
    assert learned_attention_loss(-target_logits, difficulty).item() > 0.1
