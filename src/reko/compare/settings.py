"""`CompareSettings`: what one ``reko compare`` measures, and the distillation config of each run.

Every run of a comparison is built from the same settings; only ``distill.method`` and
``train.seed`` change between runs. The seed alone decides the student's initial weights and the
order of the training data (``reko.train.runner.run_trainer`` seeds everything from ``train.seed``
before the student is built, and the data sampler draws its permutations from it), so two
methods trained with one seed start from the same student and see the same batches.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from reko.config import load_config, parse_override
from reko.distill.config import DistillConfig
from reko.distill.registry import method_names
from reko.errors import RekoError

METRIC_GROUPS: tuple[str, ...] = ("paired", "fid")
# Config keys that compare sets for every run, and the flag that sets each instead of --set.
RESERVED_KEYS: dict[str, str] = {
    "distill.method": "--methods",
    "train.seed": "--seeds",
    "train.steps": "--steps",
    "teacher": "--teacher",
    "data.root": "--data",
    "data.crop_size": "--size",
    "out": "--out",
    "student.ngf": "--student-ngf",
}


@dataclass(frozen=True)
class CompareSettings:
    """Options of a comparison (see ``reko compare --help``).

    Attributes:
        teacher: teacher checkpoint (reko ``.safetensors`` or a pix2pix/CycleGAN ``.pth``).
        data: training data, as ``reko distill --data`` takes it (a folder of photos for one direction,
            or a pix2pix root with ``train/``).
        out: the comparison folder.
        methods: registered method names, in table order.
        seeds: number of seeds; runs use seeds ``0 .. seeds - 1``.
        steps: training steps of every run.
        size: training crop and evaluation size in pixels (the training images are resized to
            ``size * 286 / 256`` and randomly cropped, as pix2pix does at 256).
        config: optional YAML config applied to every run before ``overrides``.
        overrides: ``key=value`` config overrides applied to every run.
        student_ngf: the student's base width (None: the config's ``student.ngf``).
        eval_data: held-out images (None: the data's test split, see `default_eval_data`).
        eval_limit: evaluate on the first N held-out images only (None: all).
        eval_target: optional folder of real target-domain images for FID/KID "vs real".
        metrics: metric groups: ``paired`` (PSNR/SSIM/L1 vs teacher, and vs ground truth for paired
            data) and ``fid`` (FID/KID vs teacher outputs, and vs real targets where there are some).
        inception: the FID network file (None: `reko.eval.inception.find_inception`'s search).
        latency_repeats: timed forward passes per model for the latency column.
        latency_threads: torch threads while timing (None: the current count, pinned explicitly).
        eval_batch_size: images per forward pass during evaluation.
    """

    teacher: str
    data: str
    out: str
    methods: tuple[str, ...] = ("none", "output", "feature", "reko")
    seeds: int = 3
    steps: int = 1000
    size: int = 256
    config: str | None = None
    overrides: tuple[str, ...] = ()
    student_ngf: int | None = None
    eval_data: str | None = None
    eval_limit: int | None = None
    eval_target: str | None = None
    metrics: tuple[str, ...] = METRIC_GROUPS
    inception: str | None = None
    trust_inception: bool = False  # load a TorchScript Inception file of unknown checksum (runs its code)
    latency_repeats: int = 20
    latency_threads: int | None = None
    eval_batch_size: int = 8

    def __post_init__(self) -> None:
        known = method_names()
        for method in self.methods:
            if method not in known:
                raise RekoError(f"unknown distillation method {method!r}; choose from {known}")
        if not self.methods:
            raise RekoError("no methods to compare: pass --methods none,output,...")
        if len(set(self.methods)) != len(self.methods):
            raise RekoError(f"a method is listed twice in {list(self.methods)}")
        for name in ("seeds", "steps", "size", "latency_repeats", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise RekoError(f"compare {name} must be >= 1, got {getattr(self, name)}")
        if self.latency_threads is not None and self.latency_threads < 1:
            raise RekoError(f"--latency-threads must be >= 1, got {self.latency_threads}")
        if self.eval_limit is not None and self.eval_limit < 2:
            raise RekoError(f"--eval-limit must be >= 2 (FID needs two images), got {self.eval_limit}")
        for group in self.metrics:
            if group not in METRIC_GROUPS:
                raise RekoError(f"metric group {group!r} is not one of {METRIC_GROUPS}")
        for override in self.overrides:
            key = parse_override(override)[0]
            if key in RESERVED_KEYS:  # compare sets these itself; a --set would silently fight it
                raise RekoError(f"--set {key}=... cannot be used with reko compare: use {RESERVED_KEYS[key]}")
        if not Path(self.teacher).is_file():
            raise RekoError(f"teacher checkpoint {self.teacher} does not exist")
        if not Path(self.data).is_dir():
            raise RekoError(f"training data {self.data} is not a folder")

    @property
    def seed_list(self) -> list[int]:
        return list(range(self.seeds))

    def load_size(self) -> int:
        return max(self.size, round(self.size * 286 / 256))

    def base_overrides(self) -> list[tuple[str, Any]]:
        """The typed overrides shared by every run, before the user's own ``overrides`` (which win)."""
        items: list[tuple[str, Any]] = [
            ("teacher", self.teacher),
            ("data.root", self.data),
            ("train.steps", self.steps),
            ("data.crop_size", self.size),
            ("data.load_size", self.load_size()),
        ]
        if self.student_ngf is not None:
            items.append(("student.ngf", self.student_ngf))
        return items

    def run_config(self, method: str, seed: int, out_dir: str | Path) -> DistillConfig:
        """The full config of one run: the shared settings, then the method and the seed."""
        if method not in self.methods:
            raise RekoError(f"method {method!r} is not one of this comparison's {list(self.methods)}")
        overrides = [
            *self.base_overrides(),
            *self.overrides,  # the user's --set text: YAML values
            ("distill.method", method),
            ("train.seed", seed),
            ("out", str(out_dir)),
        ]
        return load_config(DistillConfig, self.config, overrides)

    def training_fingerprint(self) -> dict[str, Any]:
        """What makes finished runs reusable: everything that changes what a run trains."""
        config_text = Path(self.config).read_text(encoding="utf-8") if self.config else ""
        return {
            "teacher": str(Path(self.teacher).resolve()),
            "data": str(Path(self.data).resolve()),
            "steps": self.steps,
            "size": self.size,
            "student_ngf": self.student_ngf,
            "overrides": list(self.overrides),
            "config_sha256": hashlib.sha256(config_text.encode()).hexdigest() if self.config else None,
        }

    def evaluation_fingerprint(self, eval_data: str) -> str:
        """A short hash of what changes an evaluation's numbers (a different one re-evaluates)."""
        key = {
            "eval_data": str(Path(eval_data).resolve()),
            "eval_limit": self.eval_limit,
            "eval_target": str(Path(self.eval_target).resolve()) if self.eval_target else None,
            "metrics": sorted(self.metrics),
            "size": self.size,
            "inception": self.inception,
        }
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["methods"] = list(self.methods)
        data["overrides"] = list(self.overrides)
        data["metrics"] = list(self.metrics)
        return data


def default_eval_data(data: str | Path) -> Path:
    """The held-out split beside the training data.

    ``X/trainA`` -> ``X/testA`` (CycleGAN layout), ``X/train`` -> ``X/test``, a pix2pix root with
    ``train/`` -> its ``test/`` (else ``val/``). Anything else needs ``--eval-data``.
    """
    root = Path(data)
    if (root / "train").is_dir():
        for split in ("test", "val"):
            if (root / split).is_dir():
                return root
        raise RekoError(f"{root} has train/ but no test/ or val/ split to evaluate on: pass --eval-data DIR")
    name = root.name
    if name.startswith("train"):
        sibling = root.parent / ("test" + name[len("train") :])
        if sibling.is_dir():
            return sibling
        raise RekoError(f"no held-out split {sibling} beside {root}: pass --eval-data DIR")
    raise RekoError(f"cannot tell the test split of {root}: pass --eval-data DIR (held-out images)")
