"""Segmentation score of generated street photos: mIoU and pixel accuracy (Cityscapes).

The field's protocol (pix2pix, GAN Compression, CAT, OMGD, ReKo): segment each generated photo
with DRN-D-105 (`reko.eval.drn`), up-sample its class log-probabilities bilinearly to the label
map's resolution, take the arg-max, and accumulate a 19x19 confusion matrix over the whole set,
ignoring label 255. Per-class IoU = TP / (TP + FP + FN); mIoU is their mean over the classes that
occur in the labels or the predictions (fyu/drn's ``nanmean``); pixel accuracy = trace / total.

The confusion matrix counts with ``torch.bincount`` (rows: label, columns: prediction).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from reko.download import cache_dir, fetch
from reko.errors import RekoError
from reko.eval import cityscapes
from reko.eval.drn import DRNSeg
from reko.eval.protocols import quantize

PathLike = str | os.PathLike[str]

# fyu/drn's Cityscapes models (listed at http://go.yf.io/drn-cityscapes-models); the file
# GAN Compression and its successors load as --drn_path.
DRN_URL = "http://dl.yf.io/drn/drn-d-105_ms_cityscapes.pth"
DRN_FILENAME = "drn-d-105_ms_cityscapes.pth"
ENV_PATH = "REKO_DRN"


def confusion_matrix(
    prediction: torch.Tensor, label: torch.Tensor, num_classes: int, ignore_index: int = cityscapes.IGNORE_INDEX
) -> torch.Tensor:
    """``(C, C)`` int64 counts, rows = label class, columns = predicted class.

    ``prediction`` and ``label`` are integer tensors of one shape; label pixels equal to
    ``ignore_index`` or outside ``[0, C)`` are not counted.
    """
    if prediction.shape != label.shape:
        raise RekoError(f"prediction {tuple(prediction.shape)} and label {tuple(label.shape)} differ in shape")
    label = label.reshape(-1).long()
    prediction = prediction.reshape(-1).long()
    keep = (label != ignore_index) & (label >= 0) & (label < num_classes)
    index = label[keep] * num_classes + prediction[keep].clamp(0, num_classes - 1)
    return torch.bincount(index, minlength=num_classes**2).reshape(num_classes, num_classes)


@dataclass(frozen=True)
class SegmentationResult:
    miou: float  # in [0, 1]
    pixel_accuracy: float  # in [0, 1]
    mean_class_accuracy: float  # in [0, 1]
    class_iou: tuple[float | None, ...]  # None for classes absent from labels and predictions
    pixels: int

    def to_dict(self) -> dict[str, Any]:
        names = cityscapes.CLASS_NAMES if len(self.class_iou) == cityscapes.NUM_CLASSES else None
        per_class = {(names[i] if names else str(i)): v for i, v in enumerate(self.class_iou)}
        return {
            "miou": self.miou,
            "pixel_accuracy": self.pixel_accuracy,
            "mean_class_accuracy": self.mean_class_accuracy,
            "class_iou": per_class,
            "pixels": self.pixels,
        }


def scores_from_confusion(hist: torch.Tensor) -> SegmentationResult:
    """mIoU, pixel accuracy and per-class IoU of a confusion matrix (rows = labels)."""
    hist = hist.double()
    total = float(hist.sum())
    if total == 0:
        raise RekoError("no labelled pixels were counted (every label pixel was ignored)")
    true_positive = hist.diag()
    union = hist.sum(0) + hist.sum(1) - true_positive
    present = union > 0
    iou = torch.where(present, true_positive / union.clamp(min=1), torch.full_like(union, float("nan")))
    labelled = hist.sum(1) > 0
    class_accuracy = true_positive[labelled] / hist.sum(1)[labelled]
    return SegmentationResult(
        miou=float(iou[present].mean()),
        pixel_accuracy=float(true_positive.sum()) / total,
        mean_class_accuracy=float(class_accuracy.mean()),
        class_iou=tuple(float(v) if p else None for v, p in zip(iou, present, strict=True)),
        pixels=int(total),
    )


class SegmentationScore:
    """Accumulates the confusion matrix of a segmentation network on generated images.

    Args:
        model: ``(B, 3, H, W)`` normalised images -> ``(B, C, h, w)`` class scores (e.g. `DRNSeg`,
            whose log-probabilities are what the field up-samples).
        num_classes: C (19 for Cityscapes).
        mean, std: per-channel normalisation of [0, 1] images (Cityscapes' by default).
    """

    def __init__(
        self,
        model: nn.Module,
        num_classes: int = cityscapes.NUM_CLASSES,
        ignore_index: int = cityscapes.IGNORE_INDEX,
        mean: tuple[float, float, float] = cityscapes.MEAN,
        std: tuple[float, float, float] = cityscapes.STD,
    ) -> None:
        self.model = model.eval()
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.mean = torch.tensor(mean).view(1, 3, 1, 1)
        self.std = torch.tensor(std).view(1, 3, 1, 1)
        self.reset()

    def reset(self) -> None:
        self.hist = torch.zeros(self.num_classes, self.num_classes, dtype=torch.int64)

    @torch.inference_mode()
    def predict(self, images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """``(B, 3, h, w)`` images in [-1, 1] -> ``(B, H, W)`` int64 classes at ``size = (H, W)``."""
        pixels = torch.from_numpy(quantize(images)).permute(0, 3, 1, 2).float().div_(255.0)  # as saved
        param = next(self.model.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        scores = self.model(((pixels - self.mean) / self.std).to(device)).float()
        if tuple(scores.shape[-2:]) != tuple(size):
            scores = F.interpolate(scores, size=size, mode="bilinear", align_corners=False)
        return scores.argmax(dim=1).cpu()

    def update(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        """Add generated ``(B, 3, h, w)`` images in [-1, 1] and their ``(B, H, W)`` train-id labels."""
        if labels.dim() != 3 or labels.shape[0] != images.shape[0]:
            raise RekoError(f"labels must be (B, H, W) for {images.shape[0]} images, got {tuple(labels.shape)}")
        prediction = self.predict(images, (labels.shape[1], labels.shape[2]))
        self.hist += confusion_matrix(prediction, labels, self.num_classes, self.ignore_index)

    def compute(self) -> SegmentationResult:
        return scores_from_confusion(self.hist)


def load_drn(path: PathLike | None = None, download: bool = True, name: str = "drn_d_105") -> DRNSeg:
    """DRN-D-105 Cityscapes weights: ``path``, ``$REKO_DRN``, ``<cache>/drn/...``, or downloaded.

    Accepts fyu/drn checkpoints as saved (``module.`` prefixes, optional ``state_dict`` key),
    read with ``weights_only=True``.
    """
    file = _find_drn(path, download)
    try:
        state = torch.load(str(file), map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - torch raises anything on a bad file
        raise RekoError(f"{file}: not a readable DRN checkpoint ({str(error).splitlines()[0]})") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise RekoError(f"{file}: expected a DRNSeg state dict, got {type(state).__name__}")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    model = DRNSeg(name, classes=int(state["seg.weight"].shape[0]) if "seg.weight" in state else 19)
    expected = model.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    wrong = [k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or wrong:
        raise RekoError(
            f"{file}: not a {name} DRNSeg checkpoint (missing {missing[:3]}, unexpected {unexpected[:3]}, "
            f"wrong shapes {wrong[:3]})"
        )
    model.load_state_dict(state, strict=False)  # old files lack num_batches_tracked
    return model.eval()


def _find_drn(path: PathLike | None, download: bool) -> Path:
    if path is not None:
        if not Path(path).is_file():
            raise RekoError(f"DRN weights {path} do not exist")
        return Path(path)
    if os.environ.get(ENV_PATH):
        return _find_drn(os.environ[ENV_PATH], download=False)
    cached = cache_dir() / "drn" / DRN_FILENAME
    if cached.is_file() or not download:
        if not cached.is_file():
            raise RekoError(f"no DRN weights at {cached}; give the weights file or set ${ENV_PATH} ({DRN_URL})")
        return cached
    return fetch(DRN_URL, cached)
