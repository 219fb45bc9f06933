"""Scoring for benchmarks/realtask.py: a generator's outputs on held-out label maps against the real photos.

For one set of held-out pairs (label map -> real photo) the `Scorer` computes, once, the real
photos' Inception features and the teacher's outputs and their features; then for any generator:

=========================  =====================================================================
key                        what
=========================  =====================================================================
kid_vs_real, fid_vs_real   KID (primary) and FID of the outputs against the real photos (clean-fid
                           protocol, the TF-Inception network; `reko.eval.featureset.compare`)
psnr/ssim/l1_vs_real       per-image PSNR / SSIM / L1 to the paired real photo (`reko.eval.paired`)
stlpips_vs_real            ST-LPIPS (shift-tolerant LPIPS, AlexNet; `reko.perceptual.distance`) to the
                           real photo; None when the ``perceptual`` extra is not installed
kid/fid/psnr_vs_teacher    the same against the teacher's outputs: how well the student mimics it
*_trainmode                FID/KID vs real with the generator in train mode at batch 1 (BatchNorm on
                           the image's own statistics, dropout on: the pix2pix test convention),
                           dropout seeded; the primary numbers are eval mode (deterministic)
=========================  =====================================================================

``intervals`` holds bootstrap intervals over the images (`reko.eval.bootstrap`) of FID/KID vs real
and, for a student, of its difference to the teacher on the same draws.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from torch import nn

from reko.compare.evaluation import EvalImages, translate_all
from reko.eval.bootstrap import bootstrap_distances, intervals_to_dict
from reko.eval.features import FeatureExtractor
from reko.eval.featureset import FeatureSet, compare
from reko.eval.inception import load_inception
from reko.eval.paired import PairedMetrics

EVAL_VERSION = 1  # bump when what a score contains changes: finished runs are then re-evaluated
BOOTSTRAP_SAMPLES = 500
TRAIN_MODE_SEED = 0


def perceptual_distance(outputs: torch.Tensor, targets: torch.Tensor, batch_size: int = 16) -> float | None:
    """Mean ST-LPIPS of ``outputs`` to ``targets`` ((N, 3, H, W) in [-1, 1]), or None without the
    ``perceptual`` extra (``pip install -e ".[perceptual]"``)."""
    from reko.perceptual import weights

    if not weights.available():
        return None
    from reko.perceptual.distance import PerceptualDistance

    metric = PerceptualDistance()
    for i in range(0, len(outputs), batch_size):
        metric.update(outputs[i : i + batch_size], targets[i : i + batch_size])
    return metric.compute()


@torch.inference_mode()
def translate_train_mode(generator: nn.Module, inputs: torch.Tensor, seed: int = TRAIN_MODE_SEED) -> torch.Tensor:
    """Outputs with ``generator`` in train mode, one image at a time, dropout seeded; a copy runs,
    so the generator's BatchNorm running statistics are left untouched."""
    network = copy.deepcopy(generator).train()
    device = next(network.parameters()).device
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return torch.cat([network(inputs[i : i + 1].to(device)).float().cpu() for i in range(len(inputs))])


class Scorer:
    """Scores generators on one held-out set of pairs (see the module docstring)."""

    def __init__(self, images: EvalImages, teacher: nn.Module, inception: str, batch_size: int = 8) -> None:
        if images.targets is None:
            raise ValueError("the real-task benchmark needs paired held-out images")
        self.images, self.teacher, self.batch_size = images, teacher, batch_size
        network = load_inception(inception, download=False)
        self.extractor = FeatureExtractor(network, "clean", batch_size=16, num_workers=0, progress=False)
        self.real = self._features(images.targets)
        self.teacher_outputs = translate_all(teacher, images.inputs, batch_size)
        self.teacher_features = self._features(self.teacher_outputs)

    def _features(self, images: torch.Tensor) -> np.ndarray:
        return self.extractor.from_tensors(images)

    def _distance(self, features: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
        sha = self.extractor.network.sha256
        d = compare(FeatureSet(features, "clean", sha, "outputs"), FeatureSet(reference, "clean", sha, "reference"))
        assert d.kid_mean is not None
        return d.fid, d.kid_mean

    def _paired(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
        metrics = PairedMetrics()
        for i in range(0, len(outputs), self.batch_size):
            metrics.update(outputs[i : i + self.batch_size], targets[i : i + self.batch_size])
        return metrics.compute()

    def score(self, generator: nn.Module | None) -> dict[str, Any]:
        """The scores of ``generator`` (None: the teacher) as ``{"metrics": ..., "intervals": ...}``."""
        is_teacher = generator is None
        network = self.teacher if generator is None else generator
        outputs = self.teacher_outputs if is_teacher else translate_all(network, self.images.inputs, self.batch_size)
        features = self.teacher_features if is_teacher else self._features(outputs)
        targets = self.images.targets
        assert targets is not None
        metrics: dict[str, float | None] = {}
        metrics["fid_vs_real"], metrics["kid_vs_real"] = self._distance(features, self.real)
        metrics.update({f"{k}_vs_real": v for k, v in self._paired(outputs, targets).items()})
        metrics["stlpips_vs_real"] = perceptual_distance(outputs, targets)
        if not is_teacher:
            metrics["fid_vs_teacher"], metrics["kid_vs_teacher"] = self._distance(features, self.teacher_features)
            metrics["psnr_vs_teacher"] = self._paired(outputs, self.teacher_outputs)["psnr"]
        train_outputs = translate_train_mode(network, self.images.inputs)
        metrics["fid_vs_real_trainmode"], metrics["kid_vs_real_trainmode"] = self._distance(
            self._features(train_outputs), self.real
        )
        baseline = None if is_teacher else self.teacher_features
        intervals = bootstrap_distances(features, self.real, baseline, samples=BOOTSTRAP_SAMPLES, seed=0)
        return {"metrics": metrics, "intervals": intervals_to_dict(intervals), "images": len(outputs)}
