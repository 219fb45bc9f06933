"""Distillers from a `DistillConfig`: the mode, the student's spec, teachers, students and methods.

`build_distiller(config, mode)` is what `reko.api.distill` trains; ``mode`` (`resolve_mode`, see
`reko.distill.distiller`) decides the data layout (`LAYOUT`): ``unpaired`` reads any image folder,
``paired`` a pix2pix root, ``cyclegan`` a CycleGAN root and two teachers.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch

from reko.distill.config import DistillConfig
from reko.distill.distiller import CycleDistiller, Direction, Distiller, PairedDistiller, UnpairedDistiller
from reko.distill.registry import get_method
from reko.errors import RekoError
from reko.gan.build import discriminator_spec
from reko.models import GeneratorSpec, create_discriminator, create_generator, load_generator

LAYOUT = {"unpaired": "folder", "paired": "paired", "cyclegan": "unpaired"}  # mode -> data layout


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
        raise RekoError(f"no {what}: set {what} to a teacher checkpoint")
    return load_generator(path)


def check_method(config: DistillConfig) -> None:
    """The method's own constraints on the run (`similarity` needs batches of two), checked before anything loads."""
    method_cls = get_method(config.distill.method)
    method_cls.check_run(config.distill.options, config.train.batch_size, config.data.crop_size)


def build_distiller(config: DistillConfig, mode: str) -> Distiller:
    """Teachers, students, methods and discriminators of ``mode``, freshly initialised."""
    check_method(config)
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
