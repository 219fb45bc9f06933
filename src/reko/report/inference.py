"""Run the teacher and every student of a report on a fixed set of held-out images.

For each direction a run trained (``student``, or ``student_AB`` / ``student_BA`` in cyclegan
mode) this loads the teacher named by the checkpoints' metadata and one student per run (per
method, first seed, in a comparison), translates the same images with all of them, and lets
each method that exposes ``visuals()`` (ReKo: attention maps and selected positions) score
those images exactly as it did in training, on the teacher's and student's tapped features.
These are pictures only: no number of the report is computed here (costs and metrics come from
the files that eval, compare and bench wrote).

Which images: see `reko.report.images`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from reko.distill.method import DistillMethod
from reko.distill.taps import FeatureTap
from reko.errors import RekoError
from reko.models import load_generator
from reko.report.collect import ReportData, RunInfo
from reko.report.images import Images, select_images
from reko.results.rundir import RunDir
from reko.translate import translate_tensor

_DIRECTION_TITLE = {"student": "", "student_AB": "A → B", "student_BA": "B → A"}
_CHUNK = 4  # images per forward pass: bounds the memory of the tapped teacher features


@dataclass
class RegionMaps:
    """A method's view of the images: per tap, scores (N, h, w) and selected positions (N, K)."""

    scores: dict[str, torch.Tensor] = field(default_factory=dict)
    selected: dict[str, torch.Tensor] = field(default_factory=dict)


@dataclass
class DirectionResult:
    """Outputs of the teacher and students of one direction on the same images."""

    generator: str  # student, student_AB, student_BA
    title: str
    images: Images
    teacher: Path
    outputs: dict[str, torch.Tensor] = field(default_factory=dict)  # "teacher" / student label -> (N, 3, H, W)
    regions: dict[str, RegionMaps] = field(default_factory=dict)  # student label -> its method's maps
    size: tuple[int, int] = (0, 0)


def student_runs(data: ReportData, generator: str) -> list[tuple[str, RunInfo]]:
    """``(label, run)`` for each student shown: every run of a run report, the first seed of each method otherwise."""
    runs = [run for run in data.runs if generator in run.checkpoints]
    if data.kind == "run":
        return [(run.method or "student", run) for run in runs]
    chosen: dict[str, RunInfo] = {}
    for run in runs:  # collect.py sorts each method's runs by seed number
        label = run.method or run.name
        chosen.setdefault(label, run)
    return list(chosen.items())


def run_models(
    data: ReportData,
    images_dir: Path | None = None,
    num_images: int = 4,
    size: int | None = None,
) -> list[DirectionResult]:
    """Translate a fixed image set with the teacher and the students of every direction.

    A direction that cannot be shown (no teacher file, no images) is skipped with a note in
    ``data.notes``.
    """
    generators = list(dict.fromkeys(name for run in data.runs for name in run.checkpoints))
    results = []
    for generator in generators:
        students = student_runs(data, generator)
        teacher_path = next((run.teachers[generator] for _, run in students if generator in run.teachers), None)
        if teacher_path is None:
            data.note(f"{generator}: no teacher checkpoint found: no side-by-side images for it")
            continue
        try:
            teacher = load_generator(teacher_path)
            images = select_images(
                data, students[0][1], generator, images_dir, num_images, size, teacher.spec.size_multiple
            )
            result = _run_direction(generator, teacher_path, teacher, students, images)
        except RekoError as error:
            data.note(f"{generator}: no side-by-side images ({error})")
            continue
        results.append(result)
        for label, run in students:
            other = run.teachers.get(generator)
            if other is not None and other.resolve() != teacher_path.resolve():
                data.note(f"{label} was distilled from {other}, not {teacher_path}: compared with the latter")
    return results


def _run_direction(
    generator: str,
    teacher_path: Path,
    teacher: nn.Module,
    students: list[tuple[str, RunInfo]],
    images: Images,
) -> DirectionResult:
    result = DirectionResult(generator, _DIRECTION_TITLE.get(generator, generator), images, teacher_path)
    result.size = (int(images.tensors.shape[-2]), int(images.tensors.shape[-1]))
    loaded = [(label, run, load_generator(run.checkpoints[generator])) for label, run in students]
    methods = {label: _method(run, generator, teacher, student) for label, run, student in loaded}
    taps = list(dict.fromkeys(tap for method in methods.values() if method is not None for tap in method.taps))
    result.outputs["teacher"], teacher_features = _translate(teacher, images.tensors, taps)
    for label, _, student in loaded:
        method = methods[label]
        output, features = _translate(student, images.tensors, method.taps if method is not None else [])
        result.outputs[label] = output
        if method is not None:
            maps = _regions(method, features, teacher_features, output, result.outputs["teacher"])
            if maps.scores:
                result.regions[label] = maps
    return result


# --------------------------------------------------------------------------- networks


def _method(run: RunInfo, generator: str, teacher: nn.Module, student: nn.Module) -> Any:
    """The run's distillation method with its trained heads (the heads file beside the student's
    checkpoint), if it draws pictures (``visuals``); else None."""
    from reko.config import from_dict
    from reko.distill.registry import get_method
    from reko.results.heads import Heads

    path = RunDir(run.path).heads_file(generator, run.checkpoint_tags.get(generator, "latest"))
    if not path.is_file():
        run.notes.append(f"{run.name}: no {path.name} (a run saved before heads files were): no region maps")
        return None
    try:
        heads = Heads.load(path)
        method_class = get_method(heads.spec.method)
        if method_class.visuals is DistillMethod.visuals:  # the base class's: it draws nothing
            return None
        options = from_dict(method_class.config_class, heads.spec.options)
        method = method_class(options, teacher.feature_info, student.feature_info).eval()
        method.load_state_dict(heads.tensors)  # strict: heads of another shape are an error, not a guess
    except (RekoError, RuntimeError) as error:
        run.notes.append(f"{run.name}: no region maps ({str(error).splitlines()[0]})")
        return None
    return method


@torch.no_grad()
def _translate(model: nn.Module, images: torch.Tensor, taps: list[str]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Outputs (N, 3, H, W) of ``model`` on ``images`` and its features at ``taps``, in chunks."""
    outputs, features = [], {tap: [] for tap in taps}
    multiple = model.spec.size_multiple
    for chunk in images.split(_CHUNK):
        with FeatureTap(model, taps) as tap:
            outputs.append(translate_tensor(model, chunk, multiple))
            for name in taps:
                features[name].append(tap.features[name].clone())
    return torch.cat(outputs), {name: torch.cat(parts) for name, parts in features.items()}


@torch.no_grad()
def _regions(
    method: Any,
    student_features: dict[str, torch.Tensor],
    teacher_features: dict[str, torch.Tensor],
    student_output: torch.Tensor,
    teacher_output: torch.Tensor,
) -> RegionMaps:
    """Score and select exactly as in training (the method's own forward), image chunk by chunk."""
    scores: dict[str, list[torch.Tensor]] = {}
    selected: dict[str, list[torch.Tensor]] = {}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # sampled selections (softmax, random) are the same on every report
        for start in range(0, student_output.shape[0], _CHUNK):
            part = slice(start, start + _CHUNK)
            method(
                {k: v[part] for k, v in student_features.items()},
                {k: v[part] for k, v in teacher_features.items()},
                student_output[part],
                teacher_output[part],
            )
            visuals = method.visuals()
            for tap, value in (visuals.get("attention") or {}).items():
                scores.setdefault(tap, []).append(value.float().cpu())
            for tap, index in (visuals.get("selected") or {}).items():
                selected.setdefault(tap, []).append(index.cpu())
    return RegionMaps({k: torch.cat(v) for k, v in scores.items()}, {k: torch.cat(v) for k, v in selected.items()})
