"""`distill(config, out_dir)`: train a student from a frozen teacher; what ``reko distill`` calls.

>>> from reko.config import DistillConfig, load_config
>>> config = load_config(DistillConfig, "configs/distill_horse2zebra_128.yaml",
...                      ["teacher=../shared/weights/teachers/vintage_resnet9_ngf64_G_A2B.pth",
...                       "data.root=../shared/data/horse2zebra/trainA", "train.steps=300"])
>>> result = distill(config, "runs/reko_h2z")           # RunResult
>>> result.latest["student"], result.best.get("student"), result.metrics["psnr"]

The mode (``config.mode``, see `reko.distill.distiller`) decides the data layout: ``unpaired``
reads any image folder, ``paired`` a pix2pix root, ``cyclegan`` a CycleGAN root and two teachers.
`resume(run_dir)` continues a stopped run from its ``config.yaml`` and ``state.pt``.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import torch

from reko.config import DistillConfig
from reko.distill.distiller import CycleDistiller, Direction, Distiller, PairedDistiller, UnpairedDistiller
from reko.distill.registry import get_method
from reko.errors import RekoError
from reko.models import GeneratorSpec, create_discriminator, create_generator, load_generator
from reko.train.run import RunResult, check_out_dir, discriminator_spec, load_run_config, run_trainer

_LAYOUT = {"unpaired": "folder", "paired": "paired", "cyclegan": "unpaired"}


def resolve_mode(config: DistillConfig) -> str:
    """``config.mode``, or for ``auto``: cyclegan with two teachers, paired if data.root has train/, else unpaired."""
    if config.mode != "auto":
        mode = config.mode
    elif config.teacher_ba:
        mode = "cyclegan"
    elif config.data.root and (Path(config.data.root) / "train").is_dir():
        mode = "paired"
    else:
        mode = "unpaired"
    if mode == "cyclegan" and not config.teacher_ba:
        raise RekoError("mode cyclegan distils both directions: set teacher_ba (the B -> A teacher)")
    if mode != "cyclegan" and config.teacher_ba:
        raise RekoError(f"teacher_ba is only used in mode cyclegan, not {mode}")
    return mode


def student_spec(config: DistillConfig, teacher_spec: GeneratorSpec) -> GeneratorSpec:
    """The teacher's spec with ``student.*`` fields replaced (None keeps the teacher's value)."""
    changes = {k: v for k, v in dataclasses.asdict(config.student).items() if v is not None}
    return teacher_spec.replace(**changes)


def _load_teacher(path: str, what: str) -> Any:
    if not path:
        raise RekoError(f"no {what}: pass --teacher CKPT (or set {what} in the config)")
    return load_generator(path)


def build_distiller(config: DistillConfig, mode: str) -> Distiller:
    """Teachers, students, methods and discriminators of ``mode``, freshly initialised."""
    method_cls = get_method(config.distill.method)
    options = config.distill.options

    def direction(teacher_path: str, what: str) -> Direction:
        teacher = _load_teacher(teacher_path, what)
        student = create_generator(student_spec(config, teacher.spec))
        # The method's heads draw from their own RNG stream, so that for a given seed the students
        # and discriminators start from the same weights whatever the method (a fair comparison).
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.train.seed * 2 + (0 if what == "teacher" else 1))
            method = method_cls(options, teacher.feature_info, student.feature_info)
        return Direction(teacher, student, method)

    metadata = {"teacher": str(config.teacher), "method": config.distill.method}
    ab = direction(config.teacher, "teacher")
    spec = ab.student.spec
    if mode == "unpaired":
        return UnpairedDistiller(
            ab, create_discriminator(discriminator_spec(config, spec.out_channels)), config.loss, metadata
        )
    if mode == "paired":
        d_spec = discriminator_spec(config, spec.in_channels + spec.out_channels)  # conditional, as pix2pix
        return PairedDistiller(ab, create_discriminator(d_spec), config.loss, metadata)
    ba = direction(config.teacher_ba, "teacher_ba")
    d_a = create_discriminator(discriminator_spec(config, spec.in_channels))
    d_b = create_discriminator(discriminator_spec(config, spec.out_channels))
    return CycleDistiller(ab, ba, d_a, d_b, config.loss, {**metadata, "teacher_ba": str(config.teacher_ba)})


def distill(
    config: DistillConfig,
    out_dir: str | os.PathLike[str] | None = None,
    *,
    resume: bool = False,
    stop_at: int | None = None,
) -> RunResult:
    """Train a student (two, in mode cyclegan) from the frozen teacher(s) of ``config``.

    Args:
        config: the resolved configuration.
        out_dir: the run folder (default ``config.out``); must not hold a run unless ``resume``.
        resume: continue the run saved in ``out_dir`` (use `resume` to reload its config too).
        stop_at: stop after this step (saving the state) even if ``train.steps`` is further.

    Returns:
        A `RunResult`: ``latest`` / ``best`` map ``student`` (or ``student_AB``/``student_BA``) to
        checkpoint files loadable with `reko.models.load_generator`; ``metrics`` are the last
        validation metrics (``psnr`` / ``l1`` of student vs teacher, or vs ground truth if paired).
    """
    out = check_out_dir(out_dir or config.out, resume)
    mode = resolve_mode(config)
    result, _ = run_trainer(config, out, _LAYOUT[mode], lambda: build_distiller(config, mode), resume, stop_at)
    return result


def resume(
    run_dir: str | os.PathLike[str], overrides: dict[str, Any] | None = None, stop_at: int | None = None
) -> RunResult:
    """Continue the distillation run in ``run_dir`` with its own config (plus dotted ``overrides``)."""
    config = load_run_config(DistillConfig, run_dir, overrides)
    return distill(config, run_dir, resume=True, stop_at=stop_at)
