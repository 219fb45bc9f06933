"""Distillers from a `DistillConfig`: the mode, the student's spec, teachers, students and methods.

`build_distiller(config, mode)` is what `reko.api.distill` trains; ``mode`` (`resolve_mode`, see
`reko.distill.distiller`) decides the data layout (`LAYOUT`): ``unpaired`` reads any image folder,
``paired`` a pix2pix root, ``cyclegan`` a CycleGAN root and two teachers.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import torch

from reko.distill.config import DistillConfig
from reko.distill.distiller import CycleDistiller, Direction, Distiller, PairedDistiller, UnpairedDistiller
from reko.distill.registry import get_method
from reko.errors import RekoError
from reko.gan.build import discriminator_spec
from reko.models import GeneratorSpec, create_discriminator, create_generator, load_generator
from reko.models.budget import CostOf, fit_budget, parse_count
from reko.models.spec import BLOCKS

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


def student_spec(config: DistillConfig, teacher_spec: GeneratorSpec, cost_of: CostOf | None = None) -> GeneratorSpec:
    """The teacher's spec with ``student.*`` fields replaced (None keeps the teacher's value),
    or, with ``student.target_macs`` / ``target_params``, the student `reko.models.budget` picks."""
    return student_choice(config, teacher_spec, cost_of)[0]


def student_choice(
    config: DistillConfig, teacher_spec: GeneratorSpec, cost_of: CostOf | None = None
) -> tuple[GeneratorSpec, str | None]:
    """`student_spec` and, for a budget, the sentence saying what was chosen and why.
    ``cost_of`` counts a spec's MACs for the budget (`reko.api` passes `reko.eval.macs.spec_cost`)."""
    student = config.student
    budget_keys = ("target_macs", "target_params", "budget_size")
    changes = {k: v for k, v in dataclasses.asdict(student).items() if v is not None and k not in budget_keys}
    if student.target_macs is None and student.target_params is None:
        return teacher_spec.replace(**changes), None
    if cost_of is None:
        raise RekoError("student.target_macs / target_params need a MAC counter (cost_of); reko.api passes one")
    changes.pop("ngf", None)  # the search chooses the width
    changes.pop("widths", None)
    blocks = (changes.pop("block"),) if "block" in changes else BLOCKS
    choice = fit_budget(
        teacher_spec.replace(**changes),
        cost_of,
        max_macs=None if student.target_macs is None else parse_count(student.target_macs, "student.target_macs"),
        max_params=None if student.target_params is None else parse_count(student.target_params, "target_params"),
        size=student.budget_size,
        blocks=blocks,
    )
    return choice.spec, choice.reason


def _load_teacher(path: str, what: str) -> Any:
    if not path:
        raise RekoError(f"no {what}: set {what} to a teacher checkpoint")
    return load_generator(path)


def check_method(config: DistillConfig) -> None:
    """The method's own constraints on the run (`similarity` needs batches of two), checked before anything loads."""
    method_cls = get_method(config.distill.method)
    method_cls.check_run(config.distill.options, config.train.batch_size, config.data.crop_size)


def build_distiller(config: DistillConfig, mode: str, cost_of: CostOf | None = None) -> Distiller:
    """Teachers, students, methods and discriminators of ``mode``, freshly initialised
    (``cost_of``: the MAC counter for a student budget, see `student_choice`)."""
    check_method(config)
    method_cls = get_method(config.distill.method)
    options = config.distill.options

    budget_reasons: list[str] = []

    def direction(teacher_path: str, what: str) -> Direction:
        teacher = _load_teacher(teacher_path, what)
        spec, reason = student_choice(config, teacher.spec, cost_of)
        if reason is not None:
            print(f"reko distill: student for the budget: {reason}", file=sys.stderr, flush=True)
            budget_reasons.append(reason)
        student = create_generator(spec)
        # The method's heads draw from their own RNG stream, so that for a given seed the students
        # and discriminators start from the same weights whatever the method (a fair comparison).
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.train.seed * 2 + (0 if what == "teacher" else 1))
            method = method_cls(options, teacher.feature_info, student.feature_info)
        return Direction(teacher, student, method)

    metadata = {"teacher": str(config.teacher), "method": config.distill.method}
    ab = direction(config.teacher, "teacher")
    spec = ab.student.spec
    if budget_reasons:
        metadata["student.budget"] = budget_reasons[0]
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
