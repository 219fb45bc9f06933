"""Which held-out images the report translates, and how they are prepared.

In order of preference, for the A -> B (or only) direction:

1. ``--images DIR``: its first N images (sorted), resized to a square;
2. the images the run or comparison was *evaluated* on: ``comparison.json`` ``eval.data``, or a
   run's result JSON (``eval_data`` of a comparison run's ``eval.json``, ``data.path`` of
   ``reko eval``'s) — prepared as the evaluation did (resized to ``size`` x ``size``);
3. the run's validation split, exactly as the trainer's validation saw it.

A cyclegan run's B -> A student always uses its own validation B images (only those are in its
input domain). Sizes are rounded up to the generator's size multiple.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from reko.data import ImageFolderDataset, PairedImageDataset, TransformConfig
from reko.errors import RekoError
from reko.report.collect import ReportData, RunInfo

# Which batch key of a run's validation data is the input of each generator.
_INPUT_KEY = {"student": "input", "student_AB": "A", "student_BA": "B"}


@dataclass
class Images:
    """``tensors`` (N, 3, H, W) in [-1, 1], their file ``names``, where they came from, and for
    paired evaluation images the real target photos ``targets`` (N, 3, H, W) (else None)."""

    tensors: torch.Tensor
    names: list[str]
    origin: str
    targets: torch.Tensor | None = None


@dataclass(frozen=True)
class HeldOut:
    """A folder of evaluation images and how the evaluation prepared them."""

    path: Path
    paired: bool
    direction: str
    size: int | None


def select_images(
    data: ReportData, run: RunInfo, generator: str, images_dir: Path | None, count: int, size: int | None, multiple: int
) -> Images:
    """The first ``count`` images the report shows for ``generator`` (see the module docstring)."""
    if count < 1:
        raise RekoError(f"the number of images must be >= 1, got {count}")
    if generator != "student_BA":
        if images_dir is not None:
            side = _round_up(size or config_size(run) or 256, multiple)
            return _folder(HeldOut(images_dir, False, "AtoB", side), count, side, "the images folder")
        held_out = evaluation_images(data, run)
        if held_out is not None and not held_out.path.exists():  # recorded relative to another folder
            for base in (run.path, Path(data.source)):
                if (base / held_out.path).exists():
                    held_out = dataclasses.replace(held_out, path=base / held_out.path)
                    break
        if held_out is not None and held_out.path.exists():
            side = _round_up(size or held_out.size or config_size(run) or 256, multiple)
            return _folder(held_out, count, side, "the evaluation images")
    return _validation(run, generator, count, size, multiple)


def evaluation_images(data: ReportData, run: RunInfo) -> HeldOut | None:
    """The held-out images a comparison or a run was evaluated on, if its JSON files say."""
    config = run.config or {}
    data_section = config.get("data") if isinstance(config.get("data"), dict) else {}
    direction = str(data_section.get("direction", "AtoB"))
    mode = _run_mode(run)
    comparison = data.comparison if isinstance(data.comparison, dict) else {}
    evaluation = comparison.get("eval")
    if isinstance(evaluation, dict) and isinstance(evaluation.get("data"), str):
        settings = comparison.get("settings") if isinstance(comparison.get("settings"), dict) else {}
        paired = settings.get("mode", mode) == "paired"
        return HeldOut(Path(evaluation["data"]), paired, direction, _int(settings.get("size")))
    for _, document in run.results:
        if not isinstance(document, dict):
            continue
        if isinstance(document.get("eval_data"), str):  # reko compare's per-run eval.json
            return HeldOut(Path(document["eval_data"]), mode == "paired", direction, config_size(run))
        section = document.get("data")
        if isinstance(section, dict) and isinstance(section.get("path"), str):  # reko eval's eval.json
            path = Path(section["path"]) / section["split"] if section.get("split") else Path(section["path"])
            paired = bool(section.get("paired"))
            return HeldOut(path, paired, str(section.get("direction") or direction), _int(section.get("size")))
    return None


def _folder(held_out: HeldOut, count: int, side: int, what: str) -> Images:
    """The first ``count`` images of a folder (or of a paired split's inputs), resized to ``side``²."""
    transform = TransformConfig(preprocess="resize", load_size=side, crop_size=side, flip=False)
    root = held_out.path
    dataset: Any
    if held_out.paired:
        split = next((s for s in ("test", "val") if (root / s).is_dir()), None)
        dataset = PairedImageDataset(root, split, held_out.direction, transform)
    else:
        dataset = ImageFolderDataset(root, transform)
    items = [dataset[i] for i in range(min(count, len(dataset)))]
    if not items:
        raise RekoError(f"{root} holds no images")
    names = [Path(item["path"]).name for item in items]
    origin = f"the first {len(items)} images of {root} ({what}), resized to {side}×{side}"
    targets = torch.stack([item["target"] for item in items]) if held_out.paired else None
    return Images(torch.stack([item["input"] for item in items]), names, origin, targets)


def _validation(run: RunInfo, generator: str, count: int, size: int | None, multiple: int) -> Images:
    """The first ``count`` images of the run's validation split, as the trainer's validation saw them."""
    from reko.distill.build import resolve_mode
    from reko.distill.config import DistillConfig
    from reko.train.data import build_datasets
    from reko.train.runner import load_run_config

    config = load_run_config(DistillConfig, run.path)
    if not config.data.root or not Path(config.data.root).exists():
        raise RekoError(f"the run's data.root {config.data.root!r} is not here; give a folder of images")
    data = config.data
    if size is not None:
        side = _round_up(size, multiple)
        data = dataclasses.replace(data, crop_size=side, load_size=max(side, data.load_size))
    # The data layout of each mode, as reko.distill.build.LAYOUT names it.
    layout = {"cyclegan": "unpaired", "paired": "paired"}.get(resolve_mode(config), "folder")
    _, val_set = build_datasets(data, layout, config.train.seed, multiple)
    key = _INPUT_KEY.get(generator, "input")
    items = [val_set[i] for i in range(min(count, len(val_set)))]
    if not items:
        raise RekoError("the run's validation split is empty; give a folder of images")
    path_key = "path" if key == "input" else f"path_{key}"
    names = [Path(item[path_key]).name for item in items]
    origin = f"the first {len(items)} validation images of {data.val_root or data.root} (as in training)"
    return Images(torch.stack([item[key] for item in items]), names, origin)


def _run_mode(run: RunInfo) -> str:
    """The run's data mode from its checkpoints' metadata (``unpaired``, ``paired``, ``cyclegan``)."""
    from reko.models import read_metadata

    for checkpoint in run.checkpoints.values():
        try:
            return read_metadata(checkpoint).get("mode", "unpaired")
        except RekoError:
            continue
    return "unpaired"


def config_size(run: RunInfo) -> int | None:
    """The run's training crop size (``data.crop_size`` of its config.yaml)."""
    data = (run.config or {}).get("data")
    return _int(data.get("crop_size")) if isinstance(data, dict) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _round_up(value: int, multiple: int) -> int:
    return math.ceil(value / multiple) * multiple
