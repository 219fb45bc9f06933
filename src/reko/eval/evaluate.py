"""Evaluate a generator (and, optionally, its teacher) on a test split: ``reko eval``.

One pass over the data runs every model on the same inputs and feeds every metric:

===========================  ===============================================================
comparison                   metrics
===========================  ===============================================================
model vs real images         FID, KID against the split's targets (paired data) or a folder of
                             real target-domain images (``real``, unpaired data)
model vs ground truth        PSNR, SSIM, L1, ST-LPIPS (paired data)
student vs teacher           FID, KID, PSNR, SSIM, L1, ST-LPIPS on the same inputs (fidelity to the teacher)
model vs label maps          mIoU, pixel accuracy of a segmentation network (Cityscapes)
===========================  ===============================================================

ST-LPIPS (``stlpips``: `reko.perceptual.distance`) is among the default metrics when the ``perceptual``
extra is installed; asked for explicitly without it, it is an error naming the package.

Images are resized to ``size`` (bicubic, as the datasets do) or kept at their size; real images
used as the FID reference go through the same preparation as the inputs, and their features
are cached (keyed by file contents, preparation, network and protocol). Pick checkpoints on a
validation split; report the test split once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from reko import __version__
from reko.data import ImageFolderDataset, PairedImageDataset, TransformConfig, list_images
from reko.errors import RekoError
from reko.eval import cityscapes
from reko.eval.features import FeatureExtractor
from reko.eval.featureset import FeatureSet, compare
from reko.eval.paired import PAIRED_METRICS, PERCEPTUAL_METRIC, PairedMetrics
from reko.eval.protocols import quantize
from reko.eval.reference import cache_path, cached_features, files_fingerprint, read_cached, write_cached
from reko.eval.segmentation import SegmentationScore
from reko.perceptual import weights as perceptual_weights
from reko.perceptual.distance import PerceptualDistance
from reko.progress import progress_bar

METRICS: tuple[str, ...] = ("fid", "kid", "psnr", "ssim", "l1", "stlpips", "miou")
LABEL_FORMATS: tuple[str, ...] = ("color", "ids", "trainids")


@dataclass(frozen=True)
class EvalConfig:
    """What to evaluate on and how.

    Attributes:
        data: folder of input images, or a paired dataset (aligned A|B images, or A/ + B/).
        paired: ``data`` is paired: targets are the ground truth.
        split: sub-folder of a paired dataset (``val``, ``test``), None when ``data`` is the split.
        direction: ``AtoB`` / ``BtoA`` (paired data).
        real: folder of real target-domain images, the FID reference for unpaired data.
        metrics: subset of `METRICS`; None picks what the data allows.
        size: resize images to ``size`` x ``size`` (None keeps their size).
        batch_size: images per generator call.
        limit: evaluate only the first ``limit`` inputs (sorted by name).
        kid_subsets, kid_subset_size, seed: KID subsets (`reko.eval.frechet`).
        cache: cache the real images' features.
        labels: ``"input"`` (the generator's input is a Cityscapes colour label map) or a folder of
            label maps named like the inputs, for ``miou``.
        label_format: ``color``, ``ids`` or ``trainids`` (label folder files).
        num_workers: data loading processes.
        progress: show progress bars.
    """

    data: Path
    paired: bool = False
    split: str | None = None
    direction: str = "AtoB"
    real: Path | None = None
    metrics: tuple[str, ...] | None = None
    size: int | None = 256
    batch_size: int = 4
    limit: int | None = None
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    seed: int = 0
    cache: bool = True
    labels: str | Path | None = None
    label_format: str = "color"
    num_workers: int = 1
    progress: bool = True


def resolve_metrics(config: EvalConfig, has_teacher: bool) -> tuple[str, ...]:
    """The metrics to compute: the requested ones, checked against what the data allows."""
    if config.metrics is None:
        wanted: list[str] = []
        if config.paired or config.real is not None or has_teacher:
            wanted += ["fid", "kid"]
        if config.paired or has_teacher:
            wanted += list(PAIRED_METRICS)
            if perceptual_weights.available():  # the optional `perceptual` extra
                wanted.append(PERCEPTUAL_METRIC)
        if config.labels is not None:
            wanted.append("miou")
        if not wanted:
            raise RekoError(
                "nothing to compare with: evaluate on paired data, or give a folder of real images, "
                "a teacher or label maps"
            )
        return tuple(wanted)
    unknown = sorted(set(config.metrics) - set(METRICS))
    if unknown:
        raise RekoError(f"unknown metrics {unknown}; choose from {list(METRICS)}")
    if {"psnr", "ssim", "l1", "stlpips"} & set(config.metrics) and not (config.paired or has_teacher):
        raise RekoError("PSNR/SSIM/L1/ST-LPIPS need ground truth (paired data) or a teacher")
    if {"fid", "kid"} & set(config.metrics) and not (config.paired or config.real or has_teacher):
        raise RekoError("FID/KID need real images (paired data or a folder of real images) or a teacher")
    if "miou" in config.metrics and config.labels is None:
        raise RekoError("mIoU needs label maps (labels: 'input' or a folder)")
    return tuple(m for m in METRICS if m in config.metrics)


def evaluate(
    student: nn.Module,
    config: EvalConfig,
    teacher: nn.Module | None = None,
    extractor: FeatureExtractor | None = None,
    segmenter: nn.Module | None = None,
) -> dict[str, Any]:
    """Evaluate ``student`` (and ``teacher``) as ``config`` says; returns the report (JSON-ready).

    ``extractor`` is needed for FID/KID, ``segmenter`` (e.g. `reko.eval.segmentation.load_drn`)
    for mIoU.
    """
    started = time.perf_counter()
    metrics = resolve_metrics(config, teacher is not None)
    wants_features = bool({"fid", "kid"} & set(metrics))
    if wants_features and extractor is None:
        raise RekoError("FID/KID need an Inception feature extractor")
    if "miou" in metrics and segmenter is None:
        raise RekoError("mIoU needs a segmentation network (DRN-D-105)")
    # Without a teacher the evaluated network is just "generator"; with one, "student" and "teacher".
    models = (
        {"student": student.eval(), "teacher": teacher.eval()} if teacher is not None else {"generator": student.eval()}
    )
    multiple = max(getattr(getattr(m, "spec", None), "size_multiple", 1) for m in models.values())
    dataset, files, root = _dataset(config, multiple)
    preparation = _preparation(config)

    # The real targets' features come from the cache, or from this pass over the data.
    target_cache = None
    reference: FeatureSet | None = None
    if wants_features and config.paired:
        assert extractor is not None
        name = f"{root.resolve().name}{'-' + config.split if config.split else ''}-{config.direction}-targets"
        target_cache = cache_path(name, files_fingerprint(files, root), extractor, preparation)
        reference = read_cached(*target_cache) if config.cache else None

    features: dict[str, list[np.ndarray]] = {name: [] for name in [*models, "target"]}
    perceptual = PerceptualDistance() if PERCEPTUAL_METRIC in metrics else None  # one network for all pairs
    paired = {key: PairedMetrics(perceptual) for key in _paired_keys(config, models, metrics)}
    segmentation = {name: SegmentationScore(segmenter) for name in models} if segmenter and "miou" in metrics else {}
    labels_of = _label_reader(config) if segmentation else None
    loader = DataLoader(dataset, batch_size=config.batch_size, shuffle=False, num_workers=config.num_workers)
    count = 0
    for batch in progress_bar(loader, desc="eval", unit="batch", disable=not config.progress, leave=False):
        inputs = batch["input"]
        outputs = {name: _run(model, inputs) for name, model in models.items()}
        count += len(inputs)
        if wants_features:
            assert extractor is not None
            for name, images in outputs.items():
                features[name].append(extractor.from_tensors(images))
            if config.paired and reference is None:
                features["target"].append(extractor.from_tensors(batch["target"]))
        for (name, against), metric in paired.items():
            metric.update(outputs[name], batch["target"] if against == "ground truth" else outputs[against])
        if labels_of is not None:
            labels = labels_of(batch)
            for name, score in segmentation.items():
                for i, label in enumerate(labels):
                    score.update(outputs[name][i : i + 1], label[None])

    if wants_features and reference is None:
        assert extractor is not None
        if config.paired:
            reference = FeatureSet(
                np.concatenate(features["target"]), extractor.protocol, extractor.network.sha256,
                f"{root} targets ({preparation})",
            )  # fmt: skip
            if config.cache and target_cache is not None:
                write_cached(*target_cache, reference, preparation)
        elif config.real is not None:
            reference = _real_folder_features(config, extractor, multiple)

    results = _results(config, metrics, models, features, reference, paired, segmentation, extractor, count)
    return {
        "reko_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "metrics": list(metrics),
        "protocol": extractor.protocol if extractor and wants_features else None,
        "inception": extractor.network.describe() if extractor and wants_features else None,
        "kid": {"subsets": config.kid_subsets, "subset_size": config.kid_subset_size, "seed": config.seed}
        if "kid" in metrics
        else None,
        "data": {
            "path": str(config.data),
            "split": config.split,
            "paired": config.paired,
            "direction": config.direction,
            "images": count,
            "size": config.size,
            "preparation": preparation,
            "limit": config.limit,
            "real": str(config.real) if config.real else None,
            "real_images": reference.count if reference is not None and not config.paired else None,
        },
        "models": {name: _describe_model(model) for name, model in models.items()},
        "results": results,
        "seconds": round(time.perf_counter() - started, 2),
    }


def _run(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    with torch.inference_mode():
        return model(inputs.to(device)).float().cpu()


def _transform(config: EvalConfig, multiple: int) -> TransformConfig:
    if config.size is None:
        return TransformConfig(preprocess="none", flip=False, size_multiple=multiple)
    if config.size % multiple:
        raise RekoError(f"image size {config.size} is not a multiple of {multiple}, which the generator needs")
    return TransformConfig(preprocess="resize", load_size=config.size, crop_size=config.size, flip=False)


def _preparation(config: EvalConfig) -> str:
    """How inputs/targets were prepared (part of the reference cache key and the report)."""
    size = f"resized to {config.size}x{config.size} (bicubic)" if config.size else "native size"
    side = f", paired {config.direction}, split {config.split}" if config.paired else ""
    limit = f", first {config.limit}" if config.limit else ""
    return f"{size}{side}{limit}"


def _dataset(config: EvalConfig, multiple: int) -> tuple[Dataset, list[Path], Path]:
    """The dataset, the files it reads (for the cache key) and the folder they are relative to."""
    transform = _transform(config, multiple)
    if config.paired:
        paired = PairedImageDataset(config.data, config.split, config.direction, transform)
        pairs = paired.pairs[: config.limit] if config.limit else paired.pairs
        files = [p for pair in pairs for p in pair if p is not None]
        dataset: Dataset = paired
        items = len(pairs)
    else:
        if config.split:
            raise RekoError(
                f"split {config.split!r} applies to paired data; for unpaired data give the input folder itself"
            )
        folder = ImageFolderDataset(config.data, transform)
        files = folder.paths[: config.limit] if config.limit else folder.paths
        dataset = folder
        items = len(files)
    if config.limit:
        dataset = Subset(dataset, range(items))
    return dataset, list(files), Path(config.data)


def _paired_keys(config: EvalConfig, models: dict[str, nn.Module], metrics: tuple[str, ...]) -> list[tuple[str, str]]:
    if not {*PAIRED_METRICS, PERCEPTUAL_METRIC} & set(metrics):
        return []
    keys = [(name, "ground truth") for name in models] if config.paired else []
    if "teacher" in models:
        keys.append(("student", "teacher"))
    return keys


def _real_folder_features(config: EvalConfig, extractor: FeatureExtractor, multiple: int) -> FeatureSet:
    """Features of the real target-domain folder, prepared like the inputs, cached."""
    assert config.real is not None
    real = Path(config.real)
    folder = ImageFolderDataset(real, _transform(config, multiple))
    size = f"resized to {config.size}x{config.size} (bicubic)" if config.size else "native size"

    def compute() -> np.ndarray:
        loader = DataLoader(folder, batch_size=config.batch_size, num_workers=config.num_workers)
        chunks = [
            extractor.from_tensors(batch["input"])
            for batch in progress_bar(loader, desc=f"inception {real.name}", disable=not config.progress, leave=False)
        ]
        return np.concatenate(chunks)

    return cached_features(
        real.resolve().name, files_fingerprint(folder.paths, real), extractor, compute,
        source=f"{real} ({size})", preparation=size, cache=config.cache,
    )  # fmt: skip


def _label_reader(config: EvalConfig) -> Callable[[dict[str, Any]], list[torch.Tensor]]:
    """Returns ``batch -> [(H, W) int64 train-id label map per item]``."""
    if config.labels == "input":

        def from_input(batch: dict[str, Any]) -> list[torch.Tensor]:
            colours = quantize(batch["input"])
            return [torch.from_numpy(cityscapes.colors_to_train_ids(c).astype(np.int64)) for c in colours]

        return from_input
    if config.label_format not in LABEL_FORMATS:
        raise RekoError(f"label format {config.label_format!r} is not one of {LABEL_FORMATS}")
    folder = Path(str(config.labels))
    by_stem = {p.stem: p for p in list_images(folder, what="label folder")}

    def from_folder(batch: dict[str, Any]) -> list[torch.Tensor]:
        labels = []
        for path in batch["path"]:
            stem = Path(path).stem
            if stem not in by_stem:
                raise RekoError(f"no label map named {stem}.* in {folder} for input {path}")
            labels.append(torch.from_numpy(_read_label(by_stem[stem], config.label_format).astype(np.int64)))
        return labels

    return from_folder


def _read_label(path: Path, label_format: str) -> np.ndarray:
    with Image.open(path) as image:
        if label_format == "color":
            return cityscapes.colors_to_train_ids(np.asarray(image.convert("RGB")))
        values = np.asarray(image if image.mode in ("L", "P", "I") else image.convert("L"))
    return cityscapes.label_ids_to_train_ids(values) if label_format == "ids" else values


def _results(
    config: EvalConfig,
    metrics: tuple[str, ...],
    models: dict[str, nn.Module],
    features: dict[str, list[np.ndarray]],
    reference: FeatureSet | None,
    paired: dict[tuple[str, str], PairedMetrics],
    segmentation: dict[str, SegmentationScore],
    extractor: FeatureExtractor | None,
    count: int,
) -> list[dict[str, Any]]:
    rows: dict[tuple[str, str], dict[str, Any]] = {}

    def row(name: str, against: str) -> dict[str, Any]:
        return rows.setdefault((name, against), {"model": name, "against": against, "images": count})

    sets = {}
    if extractor is not None and {"fid", "kid"} & set(metrics):
        sets = {
            name: FeatureSet(np.concatenate(chunks), extractor.protocol, extractor.network.sha256, f"{name} outputs")
            for name, chunks in features.items()
            if name in models and chunks
        }
    real = "ground truth" if config.paired else "real images"
    comparisons = [(name, real, reference) for name in sets if reference is not None]
    if "teacher" in sets:
        comparisons.append(("student", "teacher", sets["teacher"]))
    for name, against, ref in comparisons:
        assert ref is not None
        distance = compare(sets[name], ref, "kid" in metrics, config.kid_subsets, config.kid_subset_size, config.seed)
        entry = row(name, against)
        if "fid" in metrics:
            entry["fid"] = distance.fid
        if "kid" in metrics:
            entry.update(kid_mean=distance.kid_mean, kid_std=distance.kid_std, kid_subset_size=distance.kid_subset_size)
        entry["reference_images"] = distance.reference_count
    for (name, against), metric in paired.items():
        values = metric.compute()
        row(name, against).update({k: v for k, v in values.items() if k in metrics})
    for name, score in segmentation.items():
        result = score.compute()
        entry = row(name, "label maps")
        entry.update(miou=result.miou, pixel_accuracy=result.pixel_accuracy, class_iou=result.to_dict()["class_iou"])
    order = {"ground truth": 0, "real images": 0, "teacher": 1, "label maps": 2}
    return sorted(rows.values(), key=lambda r: (r["model"] == "teacher", order.get(r["against"], 3)))


def _describe_model(model: nn.Module) -> dict[str, Any]:
    spec = getattr(model, "spec", None)
    metadata = getattr(model, "checkpoint_metadata", {}) or {}
    return {
        "architecture": spec.describe() if spec is not None else type(model).__name__,
        "spec": spec.to_dict() if spec is not None else None,
        "parameters": sum(p.numel() for p in model.parameters()),
        "source": metadata.get("reko.source"),
    }
