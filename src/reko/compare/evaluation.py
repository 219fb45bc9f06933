"""Evaluating the students of a comparison on held-out images, against the teacher and real data.

Every student is run on the same held-out images, resized to the comparison's size. Its outputs
are compared with the teacher's outputs on those images (how well it imitates the teacher) and,
where real targets exist, with them (how good a translator it is):

==================  ==============================================================================
metric              meaning
==================  ==============================================================================
psnr/ssim/l1 vs     per-image PSNR (dB), SSIM and L1 of 8-bit outputs, averaged over images
teacher / real      (`reko.eval.paired`); "real" = the paired ground truth (pix2pix data only)
stlpips vs ...      the shift-tolerant LPIPS distance (`reko.perceptual.distance`), with the paired
                    metrics when the ``perceptual`` extra is installed
fid/kid vs teacher  FID and KID (x1000 in the tables) between the Inception features of the student's
                    and the teacher's outputs (`reko.eval.fid`, clean-fid protocol)
fid/kid vs real     the same against real target images: the paired ground truth, or ``--eval-target``
==================  ==============================================================================

The numbers are those `reko.eval.evaluate.evaluate` (``reko eval``) computes on the same images, from
the same building blocks (a test checks it); this module only computes the teacher's outputs and
features once for all students instead of once per student.

The teacher's outputs and features are computed once, on first use. Costs (parameters, MACs in
both conventions, CPU latency at batch 1) are measured once per architecture.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Subset

from reko.compare.settings import CompareSettings
from reko.data import ImageFolderDataset, PairedImageDataset, TransformConfig
from reko.errors import RekoError
from reko.eval.cost import profile_model
from reko.eval.featureset import FeatureSet, compare
from reko.eval.paired import PairedMetrics
from reko.eval.reference import cached_features, files_fingerprint

# A FID with fewer images than this is noise; it is still reported, with a warning in the table.
FEW_IMAGES_FOR_FID = 50


@dataclass
class EvalImages:
    """Held-out images at the comparison's size: ``inputs`` (N, 3, S, S) in [-1, 1], ``targets`` the
    paired ground truth (or None), and where they came from."""

    inputs: torch.Tensor
    targets: torch.Tensor | None
    paths: list[str]
    source: str


def load_eval_images(
    eval_data: str | Path, size: int, paired: bool, direction: str, size_multiple: int, limit: int | None
) -> EvalImages:
    """The first ``limit`` (sorted) images of ``eval_data``, resized to ``size`` x ``size``.

    ``paired``: ``eval_data`` is a pix2pix root (its ``test/``, else ``val/`` split) or one split
    folder of side-by-side pairs; otherwise any folder of images.
    """
    if size % size_multiple:
        raise RekoError(f"size {size} is not a multiple of {size_multiple}, which the generator needs")
    transform = TransformConfig(preprocess="resize", load_size=size, crop_size=size, flip=False)
    root = Path(eval_data)
    if paired:
        split = next((s for s in ("test", "val") if (root / s).is_dir()), None)
        dataset: Any = PairedImageDataset(root, split, direction, transform)
    else:
        dataset = ImageFolderDataset(root, transform)
    if limit is not None:
        dataset = Subset(dataset, range(min(limit, len(dataset))))
    if len(dataset) < 2:
        raise RekoError(f"{root}: {len(dataset)} held-out image(s); need at least 2")
    inputs, targets, paths = [], [], []
    for batch in DataLoader(dataset, batch_size=16, shuffle=False):
        inputs.append(batch["input"])
        paths += list(batch["path"])
        if "target" in batch:
            targets.append(batch["target"])
    return EvalImages(torch.cat(inputs), torch.cat(targets) if targets else None, paths, str(root))


@torch.inference_mode()
def translate_all(generator: nn.Module, inputs: torch.Tensor, batch_size: int) -> torch.Tensor:
    """``generator`` (eval mode) on all ``inputs`` (N, 3, S, S), batch by batch; CPU outputs."""
    generator.eval()
    device = next(generator.parameters()).device
    outputs = [
        generator(inputs[i : i + batch_size].to(device)).float().cpu() for i in range(0, len(inputs), batch_size)
    ]
    return torch.cat(outputs)


class Evaluator:
    """Scores generators on one `EvalImages` set (see the module docstring for the metrics).

    Args:
        settings: the comparison's settings (metric groups, Inception file, batch size, latency).
        images: the held-out images.
        teacher: the teacher generator.
        target_folder: real target-domain images for FID/KID vs real (None: only paired targets).
    """

    def __init__(
        self, settings: CompareSettings, images: EvalImages, teacher: nn.Module, target_folder: str | None = None
    ) -> None:
        self.settings = settings
        self.images = images
        self.teacher = teacher
        self.target_folder = target_folder
        self._teacher_outputs: torch.Tensor | None = None
        self._extractor: Any = None
        self._perceptual: Any = None
        self._references: dict[str, FeatureSet] = {}
        self._costs: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------ pieces computed once

    @property
    def teacher_outputs(self) -> torch.Tensor:
        if self._teacher_outputs is None:
            self._teacher_outputs = translate_all(self.teacher, self.images.inputs, self.settings.eval_batch_size)
        return self._teacher_outputs

    @property
    def extractor(self) -> Any:
        if self._extractor is None:
            from reko.eval.features import FeatureExtractor
            from reko.eval.inception import load_inception

            network = load_inception(self.settings.inception, download=False, trust=self.settings.trust_inception)
            self._extractor = FeatureExtractor(network, "clean", batch_size=16, num_workers=0, progress=False)
        return self._extractor

    @property
    def perceptual(self) -> Any:
        """The ST-LPIPS metric (None when the ``perceptual`` extra is not installed)."""
        if self._perceptual is None:
            from reko.perceptual import weights

            if weights.available():
                from reko.perceptual.distance import PerceptualDistance

                self._perceptual = PerceptualDistance()
        return self._perceptual

    def _features(self, images: torch.Tensor, source: str) -> FeatureSet:
        extractor = self.extractor
        return FeatureSet(extractor.from_tensors(images), extractor.protocol, extractor.network.sha256, source)

    def _reference(self, name: str) -> FeatureSet | None:
        """Reference features: ``teacher`` outputs, or ``real`` targets (paired data or a folder)."""
        if name not in self._references:
            if name == "teacher":
                self._references[name] = self._features(self.teacher_outputs, "teacher outputs")
            elif self.images.targets is not None:
                self._references[name] = self._features(self.images.targets, "ground truth")
            elif self.target_folder:
                self._references[name] = self._folder_features(Path(self.target_folder))
            else:
                return None
        return self._references[name]

    def _folder_features(self, folder: Path) -> FeatureSet:
        """Real target images prepared like the inputs (resized to the size), as ``reko eval`` does;
        cached under the same key, so both commands share the features."""
        size = self.settings.size
        dataset = ImageFolderDataset(
            folder, TransformConfig(preprocess="resize", load_size=size, crop_size=size, flip=False)
        )
        preparation = f"resized to {size}x{size} (bicubic)"

        def compute() -> np.ndarray:
            loader = DataLoader(dataset, batch_size=self.settings.eval_batch_size, shuffle=False)
            return np.concatenate([self.extractor.from_tensors(batch["input"]) for batch in loader])

        fingerprint = files_fingerprint(dataset.paths, folder)
        source = f"{folder} ({preparation})"
        return cached_features(folder.resolve().name, fingerprint, self.extractor, compute, source, preparation)

    # ------------------------------------------------------------------ scores

    def score(self, outputs: torch.Tensor, against_teacher: bool = True) -> dict[str, float]:
        """Metrics of generated ``outputs`` (N, 3, S, S) of the held-out inputs."""
        metrics: dict[str, float] = {}
        references = {"real": self.images.targets}
        if against_teacher:
            references["teacher"] = self.teacher_outputs
        if "paired" in self.settings.metrics:
            for name, target in references.items():
                if target is None:
                    continue
                paired = PairedMetrics(self.perceptual)
                for i in range(0, len(outputs), self.settings.eval_batch_size):
                    j = i + self.settings.eval_batch_size
                    paired.update(outputs[i:j], target[i:j])
                metrics.update({f"{metric}_vs_{name}": value for metric, value in paired.compute().items()})
        if "fid" in self.settings.metrics:
            generated = self._features(outputs, "generated outputs")
            for name in (["teacher"] if against_teacher else []) + ["real"]:
                reference = self._reference(name)
                if reference is None:
                    continue
                distance = compare(generated, reference, kid=reference.features is not None)
                metrics[f"fid_vs_{name}"] = distance.fid
                if distance.kid_mean is not None:
                    metrics[f"kid_vs_{name}"] = distance.kid_mean
        return metrics

    def evaluate_student(self, generator: nn.Module) -> dict[str, float]:
        return self.score(translate_all(generator, self.images.inputs, self.settings.eval_batch_size))

    def evaluate_teacher(self) -> dict[str, float]:
        """The teacher's own metrics against real data (empty if there is none to compare with)."""
        return self.score(self.teacher_outputs, against_teacher=False)

    def cost(self, generator: nn.Module) -> dict[str, Any]:
        """Parameters, MACs (true and field conventions) and batch-1 CPU latency, once per architecture."""
        spec = getattr(generator, "spec", None)
        key = spec.to_json() if spec is not None else repr(generator)
        if key not in self._costs:
            # Threads pinned explicitly and a generous warm-up: in a fresh process the first calls
            # (oneDNN primitive creation, the thread pool waking up) can take 100x longer.
            threads = self.settings.latency_threads or torch.get_num_threads()
            row = profile_model(
                "model",
                generator,
                size=self.settings.size,
                warmup=10,
                repeats=self.settings.latency_repeats,
                threads=threads,
                memory=False,
            )
            assert row.latency is not None
            self._costs[key] = {
                "parameters": row.parameters,
                "macs_field": row.macs_field,
                "macs_true": row.macs_true,
                "latency_ms": row.latency.median_ms,
                "latency_iqr_ms": row.latency.iqr_ms,
                "latency_threads": row.latency.threads,
                "architecture": spec.describe() if spec is not None else type(generator).__name__,
            }
        return dict(self._costs[key])
