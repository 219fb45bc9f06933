"""ReKo: Region-aware Knowledge Distillation (Zhang et al., arXiv 2205.12451, BMVC 2023).

At each tapped layer, ReKo (1) scores every spatial position of the feature map, (2) selects a few
positions per image (the "crucial regions"), (3) projects the student's and the teacher's feature
vectors at those positions into a shared embedding space, and (4) pulls each student patch
towards the teacher patch at the same position and away from the teacher's other selected patches
with a patch-wise InfoNCE (CUT's PatchNCE). Every choice is an option of `ReKoConfig`:

==========================  ===================================================================
option                      choices (default first)
==========================  ===================================================================
``taps``                    stage names; empty = `default_taps` (ResNet: three blocks and up1;
                            U-Net: encoder.2, decoder.{n-4}, decoder.{n-3}; our choice: the
                            released code's default is one stage at 1/4 resolution, see
                            `reko.distill.reko_released`)
``scoring``                 ``teacher``: channel mean of |teacher activation| (the released code's
                            ``get_sample_ids``); ``student+teacher``: mean of both standardised maps;
                            ``learned``: a small head on the teacher features trained to predict
                            where the student is furthest from the teacher (our design; see below);
                            ``distinct``: minus the entropy of each position's row of the teacher's
                            patch-similarity softmax (QS-Attn's criterion, `distinctiveness_score`;
                            temperature ``distinct_temperature`` = 0.1, ours)
``selection``               ``topk`` (the K best), ``peaks`` (the K best local maxima: no two chosen
                            positions are neighbours), ``softmax`` (K sampled from softmax(z / T) of
                            the standardised scores z), ``random`` (uniform: CUT's PatchNCE sampling)
``num_patches``             K = 64 per layer per image (all positions if a layer has fewer)
``projection``              ``mlp`` (Linear-ReLU-Linear to ``embed_dim`` on both sides, as CUT),
                            ``conv1x1`` (one linear map each), or ``released`` (the released code's
                            heads: the student's vector as it is, the teacher's through an MLP
                            C_t -> C_s -> C_s; ``embed_dim`` is then unused)
``embed_dim``               256 (as CUT)
``train_teacher_head``      True: the teacher-side head is trained with the student; False: it
                            keeps its random initialisation, as in the released code
``nce_temperature``         0.07 (as CUT and the released code)
``negative_threshold``      1.0 (off): a teacher patch whose feature cosine to the positive's
                            exceeds it is not used as that patch's negative
                            (`near_duplicate_negatives`; our design against the near-duplicate
                            negatives that benchmarks/patch_diversity.py measures)
==========================  ===================================================================

The learned scorer: a 1x1-conv head on the (detached) teacher features outputs one logit per
position; its target is the softmax over positions of the standardised embedding distance
1 - cos(student, teacher) computed at every position with the (current, no-grad) projection
heads, i.e. it learns where the student is still wrong, and selection then focuses there. Its
KL loss is weighted by ``attention_weight``. Selection itself is never differentiated.

The method's loss (as every method's in reko): ``output_weight * L1(student_out, teacher_out) +
weight * mean over taps of PatchNCE (+ attention_weight * attention head loss)``. The released
objective (no output L1, a perceptual term, its heads and layer) is the method `reko-released`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from reko.distill.losses.contrastive import near_duplicate_negatives, patch_nce_loss
from reko.distill.losses.regions import (
    activation_score,
    combined_score,
    distinctiveness_score,
    gather_positions,
    learned_attention_loss,
    select_peaks,
    select_random,
    select_softmax,
    select_topk,
)
from reko.distill.method import MethodConfig, Pair, Parts, Term
from reko.distill.registry import register
from reko.distill.tapped import TappedMethod, default_taps, head_key  # noqa: F401 - default_taps: its old home
from reko.errors import RekoError
from reko.models.discriminator import init_weights
from reko.models.layers import FeatureInfo

SCORINGS: tuple[str, ...] = ("teacher", "student+teacher", "learned", "distinct")
SELECTIONS: tuple[str, ...] = ("topk", "peaks", "softmax", "random")
PROJECTIONS: tuple[str, ...] = ("mlp", "conv1x1", "released")


@dataclass(frozen=True)
class ReKoConfig(MethodConfig):
    """Options of ReKo (see the module docstring for what each does)."""

    taps: tuple[str, ...] = ()  # empty: default_taps() of the generator family
    scoring: str = "teacher"  # teacher | student+teacher | learned | distinct
    selection: str = "topk"  # topk | peaks | softmax | random
    num_patches: int = 64  # K per layer per image
    softmax_temperature: float = 1.0  # T of selection=softmax, on standardised scores
    projection: str = "mlp"  # mlp | conv1x1 | released
    embed_dim: int = 256
    train_teacher_head: bool = True  # False: the released code's frozen, randomly initialised teacher head
    nce_temperature: float = 0.07
    negative_threshold: float = 1.0  # < 1: drop negatives whose teacher cosine to the positive exceeds it
    distinct_temperature: float = 0.1  # scoring=distinct: temperature of the patch-similarity softmax
    attention_weight: float = 1.0  # scoring=learned: weight of the attention head's loss
    attention_hidden: int = 64  # scoring=learned: hidden channels of the attention head

    def __post_init__(self) -> None:
        super().__post_init__()
        for name, value, choices in (
            ("scoring", self.scoring, SCORINGS),
            ("selection", self.selection, SELECTIONS),
            ("projection", self.projection, PROJECTIONS),
        ):
            if value not in choices:
                raise RekoError(f"reko {name} {value!r} is not one of {choices}")
        for name in ("num_patches", "embed_dim", "attention_hidden"):
            if getattr(self, name) < 1:
                raise RekoError(f"reko {name} must be >= 1, got {getattr(self, name)}")
        if not -1.0 <= self.negative_threshold <= 1.0:
            raise RekoError(f"reko negative_threshold must be in [-1, 1] (1: off), got {self.negative_threshold}")
        for name in ("softmax_temperature", "nce_temperature", "distinct_temperature"):
            if getattr(self, name) <= 0:
                raise RekoError(f"reko {name} must be > 0, got {getattr(self, name)}")


def _projector(kind: str, channels: int, dim: int) -> nn.Module:
    """Maps (..., channels) feature vectors to (..., dim) embeddings (a 1x1 conv on gathered positions)."""
    if kind == "conv1x1":
        return nn.Linear(channels, dim)
    return nn.Sequential(nn.Linear(channels, dim), nn.ReLU(), nn.Linear(dim, dim))


def _dropped_share(mask: torch.Tensor) -> torch.Tensor:
    """The fraction of the B * K * (K - 1) negatives that a (B, K, K) negative mask drops."""
    batch, k, _ = mask.shape
    return mask.float().sum() / max(batch * k * (k - 1), 1)


@register
class ReKo(TappedMethod):
    """Region-aware patch-wise contrastive distillation; options in `ReKoConfig`."""

    name: ClassVar[str] = "reko"
    config_class: ClassVar[type[MethodConfig]] = ReKoConfig

    def __init__(
        self, config: MethodConfig, teacher_info: Sequence[FeatureInfo], student_info: Sequence[FeatureInfo]
    ) -> None:
        super().__init__(config, teacher_info, student_info)
        assert isinstance(config, ReKoConfig)  # checked by DistillMethod against config_class
        self.config: ReKoConfig = config
        dim = config.embed_dim
        if config.projection == "released":  # student: as it is; teacher: MLP C_t -> C_s -> C_s
            self.student_heads = self.tap_heads(lambda c_s, c_t: nn.Identity())
            self.teacher_heads = self.tap_heads(lambda c_s, c_t: _projector("mlp", c_t, c_s))
        else:
            self.student_heads = self.tap_heads(lambda c_s, c_t: _projector(config.projection, c_s, dim))
            self.teacher_heads = self.tap_heads(lambda c_s, c_t: _projector(config.projection, c_t, dim))
        self.attention_heads = nn.ModuleDict()
        if config.scoring == "learned":
            hidden = config.attention_hidden
            self.attention_heads = self.tap_heads(
                lambda c_s, c_t: nn.Sequential(nn.Conv2d(c_t, hidden, 1), nn.ReLU(), nn.Conv2d(hidden, 1, 1))
            )
        init_weights(self)  # N(0, 0.02), as CUT initialises its projection MLPs
        if not config.train_teacher_head:
            # The released code creates this head in its first forward, after the optimiser: it never trains.
            self.teacher_heads.requires_grad_(False)
        self._visuals: dict[str, Any] = {}

    def term(self, pair: Pair) -> tuple[list[Term], Parts]:
        config = self.config
        attention_terms: list[torch.Tensor] = []
        scores_seen, selected_seen = {}, {}
        masked_seen: dict[str, torch.Tensor] = {}

        def nce(tap: str, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:  # (B, C, h, w) each
            if student.shape[-2:] != teacher.shape[-2:]:
                raise RekoError(
                    f"reko tap {tap!r}: student map {tuple(student.shape)} and teacher map {tuple(teacher.shape)} "
                    "differ in size; student and teacher must share the architecture family"
                )
            key = head_key(tap)
            scores, attention_loss = self._score(key, student, teacher)  # (B, N)
            index = self._select(scores, student.shape[-2:])  # (B, K)
            s_embed = self.student_heads[key](gather_positions(student, index))  # (B, K, D)
            t_vectors = gather_positions(teacher, index)  # (B, K, C_t)
            t_embed = self.teacher_heads[key](t_vectors.to(s_embed.dtype))
            if attention_loss is not None:
                attention_terms.append(attention_loss)
            scores_seen[tap] = scores.detach().view(-1, *student.shape[-2:])
            selected_seen[tap] = index.detach()
            mask = None
            if config.negative_threshold < 1.0:
                mask = near_duplicate_negatives(t_vectors, config.negative_threshold)  # (B, K, K)
                masked_seen[tap] = _dropped_share(mask)
            return patch_nce_loss(s_embed, t_embed, config.nce_temperature, negative_mask=mask)

        values, parts = self.per_tap("reko_nce", nce, pair)
        parts.update({f"reko_masked/{tap}": value.detach() for tap, value in masked_seen.items()})
        terms = [Term("reko_nce", config.weight, values.mean())]
        if attention_terms:
            terms.append(Term("reko_attention", config.attention_weight, torch.stack(attention_terms).mean()))
        self._visuals = {"attention": scores_seen, "selected": selected_seen}
        return terms, parts

    def _score(
        self, key: str, student: torch.Tensor, teacher: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B, N) scores of every position, and the learned head's loss (scoring=learned only)."""
        scoring = self.config.scoring
        if scoring == "teacher":
            return activation_score(teacher), None
        if scoring == "student+teacher":
            return combined_score(student, teacher), None
        if scoring == "distinct":
            return distinctiveness_score(teacher, self.config.distinct_temperature), None
        logits = self.attention_heads[key](teacher).flatten(1).float()  # (B, N)
        with torch.no_grad():  # where is the student furthest from the teacher right now?
            s_all = self.student_heads[key](student.detach().flatten(2).transpose(1, 2))  # (B, N, D)
            t_all = self.teacher_heads[key](teacher.flatten(2).transpose(1, 2).to(s_all.dtype))
            difficulty = 1.0 - F.cosine_similarity(s_all.float(), t_all.float(), dim=-1)  # (B, N)
        return logits.detach(), learned_attention_loss(logits, difficulty)

    def _select(self, scores: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """(B, N) scores of an (h, w) = ``size`` map -> (B, K) selected positions."""
        k = min(self.config.num_patches, scores.shape[1])
        if self.config.selection == "topk":
            return select_topk(scores, k)
        if self.config.selection == "peaks":
            return select_peaks(scores, k, *size)
        if self.config.selection == "softmax":
            return select_softmax(scores, k, self.config.softmax_temperature)
        return select_random(scores.shape[0], scores.shape[1], k, device=scores.device)

    def visuals(self) -> dict[str, Any]:
        """The last step's ``attention`` {tap: (B, h, w) scores} and ``selected`` {tap: (B, K) positions}."""
        return dict(self._visuals)
