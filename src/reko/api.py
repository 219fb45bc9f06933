"""The composition root: every command of ``reko`` is one call of a function here.

>>> from reko import api
>>> from reko.config import load_config
>>> from reko.distill.config import DistillConfig
>>> config = load_config(DistillConfig, "configs/distill_horse2zebra_128.yaml",
...                      ["teacher=teacher.pth", "data.root=photos/", "train.steps=300"])
>>> result = api.distill(config, "runs/reko_h2z")          # RunResult
>>> result.latest["student"], result.best.get("student"), result.metrics["psnr"]
>>> api.resume("runs/reko_h2z", stop_at=400)               # continue a stopped run
>>> api.evaluate("runs/reko_h2z/student_best.safetensors", EvalConfig(data="test/"))
>>> api.export("runs/reko_h2z/student_best.safetensors", "student.onnx", ExportOptions())
>>> api.translate("student.safetensors", "photos/", "out/", TranslateOptions())

Here the pieces meet: configs become models (`reko.gan.build`, `reko.distill.build`), models
meet the loop (`reko.train.runner`), checkpoints meet metrics (`reko.eval`), exporters
(`reko.export`) and the tiled translation (`reko.translate`). The layers below know nothing of
each other beyond their imports (errors/atomic -> data, models -> gan -> distill -> train ->
eval/export -> api -> cli), which `tests/test_layers.py` checks.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from reko.config import TeacherConfig, read_yaml
from reko.distill.build import LAYOUT, build_distiller, resolve_mode
from reko.distill.config import DistillConfig
from reko.errors import RekoError
from reko.eval.evaluate import EvalConfig
from reko.eval.macs import spec_cost
from reko.export.pipeline import ExportOptions, ExportReport, export_checkpoint
from reko.gan.build import build_teacher, data_layout
from reko.models import GeneratorSpec, load_generator
from reko.results.rundir import RunDir
from reko.train.runner import RunResult, check_out_dir, load_run_config, run_trainer
from reko.translate import Forward, TranslateOptions, translate_files

PathLike = str | os.PathLike[str]


def distill(
    config: DistillConfig, out_dir: PathLike | None = None, *, resume: bool = False, stop_at: int | None = None
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
    result, _ = run_trainer(
        config, out, LAYOUT[mode], lambda: build_distiller(config, mode, spec_cost), resume, stop_at
    )
    return result


def train_teacher(
    config: TeacherConfig, out_dir: PathLike | None = None, *, resume: bool = False, stop_at: int | None = None
) -> RunResult:
    """Train a pix2pix (paired data) or CycleGAN (unpaired data) teacher from scratch.

    Writes into ``out_dir`` (default ``config.out``): ``config.yaml``, ``state.pt``,
    ``generator_latest/best.safetensors`` (pix2pix) or ``G_AB_* / G_BA_*`` (CycleGAN), scalars,
    grids and TensorBoard logs. ``stop_at`` stops (resumably) after that step.
    """
    out = check_out_dir(out_dir or config.out, resume)
    result, _ = run_trainer(config, out, data_layout(config), lambda: build_teacher(config), resume, stop_at)
    return result


def resume(run_dir: PathLike, overrides: dict[str, Any] | None = None, stop_at: int | None = None) -> RunResult:
    """Continue the run in ``run_dir`` (distillation or teacher) with its own config plus dotted ``overrides``."""
    path = RunDir(run_dir).config
    is_teacher = path.is_file() and "model" in read_yaml(path)  # only a teacher run's config has `model`
    if is_teacher:
        return train_teacher(load_run_config(TeacherConfig, run_dir, overrides), run_dir, resume=True, stop_at=stop_at)
    return distill(load_run_config(DistillConfig, run_dir, overrides), run_dir, resume=True, stop_at=stop_at)


def evaluate(
    checkpoint: PathLike,
    config: EvalConfig,
    *,
    teacher: PathLike | None = None,
    device: str = "cpu",
    extractor: Any = None,
    segmenter: nn.Module | None = None,
) -> dict[str, Any]:
    """`reko.eval.evaluate.evaluate` of the generator in ``checkpoint`` (and its ``teacher``), as a report dict.

    ``extractor`` (a `reko.eval.features.FeatureExtractor`) is needed for FID/KID, ``segmenter``
    for mIoU; both are moved to ``device``.
    """
    from reko.eval.evaluate import evaluate as run_evaluation

    student = load_generator(checkpoint, map_location=device)
    teacher_model = load_generator(teacher, map_location=device) if teacher else None
    if extractor is not None:
        extractor.network.to(device)
    if segmenter is not None:
        segmenter = segmenter.to(device)
    report = run_evaluation(student, config, teacher=teacher_model, extractor=extractor, segmenter=segmenter)
    report["models"]["student" if teacher_model is not None else "generator"]["checkpoint"] = str(checkpoint)
    if teacher_model is not None:
        report["models"]["teacher"]["checkpoint"] = str(teacher)
    report["threads"] = torch.get_num_threads()
    return report


def export(checkpoint: PathLike, out: PathLike, options: ExportOptions) -> ExportReport:
    """Export a generator checkpoint to ONNX / TorchScript (optionally int8), parity-checked against PyTorch."""
    return export_checkpoint(checkpoint, out, options)


def translate(
    checkpoint: PathLike,
    source: PathLike,
    output: PathLike,
    options: TranslateOptions,
    *,
    backend: str = "torch",
    device: str = "cpu",
    threads: int | None = None,
) -> list[Path]:
    """Translate an image or a folder of images into PNGs in ``output``; returns the files written.

    ``backend``: ``torch`` runs a checkpoint on ``device``; ``onnx`` / ``torchscript`` run a file
    written by `export` in ONNX Runtime / TorchScript on the CPU (``threads``: its intra-op threads).
    """
    if not Path(source).exists():
        raise RekoError(f"input {source} does not exist")
    forward, size_multiple = _forward(checkpoint, backend, device, threads)
    return translate_files(
        forward, source, output, size_multiple, options, metadata={"reko.checkpoint": str(checkpoint)}
    )


def _forward(checkpoint: PathLike, backend: str, device: str, threads: int | None) -> tuple[Forward, int]:
    """The generator as ``(B, 3, H, W) in [-1, 1] -> (B, 3, H, W)`` plus its size multiple.

    The one place that knows the backend: another backend returns another callable.
    """
    if backend != "torch":  # an exported file: its runner checks sizes and runs on CPU
        from reko.export.runtime import load_runner

        if device.split(":")[0] != "cpu":
            raise RekoError(f"the {backend} backend runs on the CPU, not on device {device!r}")
        runner = load_runner(checkpoint, backend, threads=threads)
        _require_rgb(checkpoint, runner.spec)
        return runner, runner.size_multiple
    torch_device = _device(device)
    model = load_generator(checkpoint, map_location=torch_device)
    spec = model.spec
    _require_rgb(checkpoint, spec)

    def forward(x: torch.Tensor) -> torch.Tensor:
        return model(x.to(torch_device))

    return forward, spec.size_multiple


def _require_rgb(checkpoint: PathLike, spec: GeneratorSpec) -> None:
    if spec.in_channels != 3 or spec.out_channels != 3:
        raise RekoError(
            f"{checkpoint}: translate needs an RGB generator (3 channels in and out), this one has "
            f"{spec.in_channels} in and {spec.out_channels} out"
        )


def _device(name: str) -> torch.device:
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise RekoError(f"device {name!r} is not a torch device ({error})") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RekoError(f"device {name}: CUDA is not available on this machine; use the CPU")
    return device
