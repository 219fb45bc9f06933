"""``reko demo``: the whole job end to end on files shipped inside the package, in a few minutes on a CPU.

1. **distil** the shipped teacher into a 4x smaller student with ReKo (`reko.api.distill`)
   on the 24 shipped training photos (4 held out for validation) at 128x128;
2. **evaluate** the student against the teacher on the 8 shipped test photos: PSNR, SSIM, L1
   (and FID/KID when an Inception network is found locally; nothing is downloaded) -> ``eval.json``;
3. **export** the student to ONNX and check it against PyTorch on those photos -> ``export/``;
   a failed parity check stops the demo (`reko.export.parity.ParityError`);
4. **measure** parameters, MACs and CPU latency of teacher, student and the ONNX file -> ``cost.json``;
5. **report**: ``report/index.html`` (`reko.report.write_report`).

The teacher is *not* a paper's generator: it is a ResNet-9 with 16 base filters that
``benchmarks/make_demo_teacher.py`` distilled from a real CycleGAN generator (vintagify, ResNet-9,
ngf 64: photographs -> vintage look), stored in float16; its provenance is in its metadata and in
``demo_data/README.md``. Everything runs from the installed package: no download, no other file.

The run folder is a normal ``reko distill`` folder (``reko report`` and ``reko export`` work on it).
A folder that already holds a run is refused unless ``resume`` is set, which continues an
interrupted distillation (or, for a finished one, redoes steps 2-5).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from torch import nn

from reko.config import from_dict
from reko.distill.config import DistillConfig
from reko.errors import RekoError
from reko.eval.latency import pinned_threads
from reko.models import load_generator

TEACHER_FILE = "teacher_resnet9_ngf16.safetensors"
SIZE = 128  # the shipped photos are 128x128
STUDENT_NGF = 8  # the teacher's 16 halved: 4.0x fewer parameters, 3.7x fewer MACs at 128x128
DEFAULT_STEPS = 1000
STATE_FILE = "state.pt"
EXPORT_DIR = "export"


@dataclass(frozen=True)
class DemoFiles:
    """The shipped files: the teacher checkpoint and the training / test photo folders."""

    teacher: Path
    train: Path
    test: Path


def demo_files() -> DemoFiles:
    """The demo's files inside the installed package (`importlib.resources`, so it works installed)."""
    root = Path(str(resources.files("reko") / "demo_data"))
    files = DemoFiles(root / TEACHER_FILE, root / "train", root / "test")
    for path in (files.teacher, files.train, files.test):
        if not path.exists():
            raise RekoError(f"{path} is missing: the reko package was installed without its demo data")
    return files


@dataclass(frozen=True)
class DemoOptions:
    """What ``reko demo`` can be asked.

    Attributes:
        out: the run folder.
        steps: distillation steps (batch 1); None: `DEFAULT_STEPS` (a resumed run: its own).
        threads: torch (and ONNX Runtime) threads. 1 by default: these small networks gain little from a
            second thread, and on a busy 2-core machine two threads made a step 40x slower (8 s vs 0.2 s).
        resume: continue the run already in ``out`` instead of refusing it.
        fid: compute FID/KID when an Inception network is found locally.
        inception: the Inception file (default: looked up as ``reko fid`` does, without downloading).
        progress: the distillation's progress bar.
        latency_repeats: timed runs per network for the cost table.
    """

    out: Path = Path("runs/demo")
    steps: int | None = None  # None: DEFAULT_STEPS, or the resumed run's own
    threads: int = 1
    resume: bool = False
    fid: bool = True
    inception: Path | None = None
    trust_inception: bool = False  # load a TorchScript Inception file of unknown checksum (runs its code)
    progress: bool = True
    latency_repeats: int = 30

    def __post_init__(self) -> None:
        if self.steps is not None and self.steps < 1:
            raise RekoError(f"--steps must be >= 1, got {self.steps}")
        if self.threads < 1:
            raise RekoError(f"--threads must be >= 1, got {self.threads}")
        if self.latency_repeats < 1:
            raise RekoError(f"latency_repeats must be >= 1, got {self.latency_repeats}")
        if self.fid and self.inception is not None and not Path(self.inception).is_file():
            raise RekoError(f"--inception {self.inception} is not a file")  # fail before minutes of training


@dataclass
class DemoResult:
    """What the demo did and where its files are; ``finished`` is False when it was interrupted."""

    out_dir: Path
    finished: bool
    step: int
    report: Path | None = None
    eval_file: Path | None = None
    onnx_file: Path | None = None
    metrics: dict[str, float] = field(default_factory=dict)  # student vs teacher on the test photos
    fid_note: str = ""
    parity: list[Any] = field(default_factory=list)  # `reko.export.parity.ParityResult`s, all passed
    costs: list[dict[str, Any]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # per stage, and "total"


def demo_config(files: DemoFiles, options: DemoOptions) -> DistillConfig:
    """The distillation: ReKo, teacher ngf 16 -> student ngf 8, 128x128, a small discriminator."""
    steps = options.steps or DEFAULT_STEPS
    raw: dict[str, Any] = {
        "teacher": str(files.teacher),
        "out": str(options.out),
        "mode": "unpaired",
        "data": {
            "root": str(files.train),
            "load_size": SIZE + SIZE // 8,  # resize 144, random crop 128 (the field's 286 -> 256)
            "crop_size": SIZE,
            "val_size": 4,  # held out of the 24 training photos for the best checkpoint
            "num_workers": 0,  # worker processes take seconds to start: more than they save here
        },
        "student": {"ngf": STUDENT_NGF},
        "discriminator": {"ndf": 16},  # the default 64 would cost more than both generators together
        "distill": {"method": "reko", "num_patches": 64},
        "train": {
            "steps": steps,
            "lr": 5e-4,  # 2.5x the field's 2e-4: +1.5 dB PSNR vs the teacher after 400 steps (23.9 vs 22.4)
            "threads": options.threads,
            "save_every": min(200, steps),
            "eval_every": min(100, steps),
        },
        "log": {"log_every": min(10, steps), "image_every": min(200, steps), "progress": options.progress},
    }
    return from_dict(DistillConfig, raw)


def run_demo(options: DemoOptions, say: Callable[[str], None] | None = None) -> DemoResult:
    """Run the five steps of the module docstring into ``options.out``; ``say`` prints progress."""
    say = say or (lambda text: print(text, file=sys.stderr, flush=True))
    files = demo_files()
    out = Path(options.out)
    _check_out(out, options.resume)
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    with pinned_threads(options.threads) as threads:
        again = f" (continuing the run in {out})" if options.resume else ""
        say(f"reko demo: [1/5] distilling the shipped teacher into an ngf-{STUDENT_NGF} student with ReKo{again} ...")
        tick = time.perf_counter()
        result = _distill(files, options)
        seconds["distill"] = time.perf_counter() - tick
        demo = DemoResult(out, result.finished, result.step, seconds=seconds)
        if not result.finished:
            seconds["total"] = time.perf_counter() - started
            return demo
        student_file = result.best.get("student", result.latest["student"])
        teacher, student = load_generator(files.teacher), load_generator(student_file)

        say(f"reko demo: [2/5] evaluating the student against the teacher on {_count(files.test)} test photos ...")
        tick = time.perf_counter()
        demo.eval_file, demo.metrics, demo.fid_note = _evaluate(files, options, out, student_file, student, teacher)
        seconds["evaluate"] = time.perf_counter() - tick

        say("reko demo: [3/5] exporting the student to ONNX and checking it against PyTorch ...")
        tick = time.perf_counter()
        demo.onnx_file, demo.parity = _export(files, out, student_file, threads)
        seconds["export"] = time.perf_counter() - tick

        say("reko demo: [4/5] measuring parameters, MACs and CPU latency ...")
        tick = time.perf_counter()
        demo.costs = _costs(out, teacher, student, demo.onnx_file, threads, options.latency_repeats)
        seconds["cost"] = time.perf_counter() - tick

        say("reko demo: [5/5] writing the report ...")
        tick = time.perf_counter()
        from reko.report import write_report

        demo.report = write_report(out, num_images=_count(files.test), size=SIZE)
        seconds["report"] = time.perf_counter() - tick
    seconds["total"] = time.perf_counter() - started
    return demo


def _check_out(out: Path, resume: bool) -> None:
    """Refuse to mix two runs in one folder (as ``reko distill`` does); say how to continue."""
    has_run = (out / STATE_FILE).is_file()
    if resume and not has_run:
        raise RekoError(f"cannot resume {out}: it holds no demo run ({STATE_FILE} is missing); drop --resume")
    if not resume and has_run:
        raise RekoError(
            f"{out} already holds a run: continue it (or redo its evaluation, export and report) with "
            f"`reko demo --out {out} --resume`, or choose another --out"
        )
    if not resume and out.exists() and (not out.is_dir() or any(out.iterdir())):
        # Not a resumable run (e.g. one stopped before its first save): its logs would mix with ours.
        raise RekoError(f"{out} exists and is not an empty folder: delete it or choose another --out")


def _distill(files: DemoFiles, options: DemoOptions) -> Any:
    from reko.api import distill, resume

    if options.resume:
        overrides: dict[str, Any] = {"log.progress": options.progress}
        if options.steps is not None:
            overrides["train.steps"] = options.steps
        return resume(options.out, overrides)
    return distill(demo_config(files, options), options.out)


def _count(folder: Path) -> int:
    from reko.data import list_images

    return len(list_images(folder))


def _evaluate(
    files: DemoFiles, options: DemoOptions, out: Path, student_file: Path, student: nn.Module, teacher: nn.Module
) -> tuple[Path, dict[str, float], str]:
    """``eval.json`` in ``reko eval``'s format (so ``reko report`` shows it and grids its images)."""
    from reko.eval.evaluate import EvalConfig, evaluate
    from reko.eval.report import write_json

    images = _count(files.test)
    extractor, notes = _extractor(options, images) if options.fid else (None, ["FID/KID skipped (as asked)"])
    metrics = ("fid", "kid", "psnr", "ssim", "l1") if extractor is not None else ("psnr", "ssim", "l1")
    config = EvalConfig(
        data=files.test, metrics=metrics, size=SIZE, batch_size=8, num_workers=0, progress=False, cache=False
    )
    report = evaluate(student, config, teacher=teacher, extractor=extractor)
    report["models"]["student"]["checkpoint"] = str(student_file)
    report["models"]["teacher"]["checkpoint"] = str(files.teacher)
    report["threads"] = torch.get_num_threads()
    report["notes"] = notes
    path = write_json(out / "eval.json", report)
    row = next(r for r in report["results"] if r["model"] == "student" and r["against"] == "teacher")
    values = {k: float(v) for k, v in row.items() if k in ("psnr", "ssim", "l1", "fid", "kid_mean")}
    return path, values, notes[0].split(" (looked at ")[0]  # the terminal gets the note's first part


def _extractor(options: DemoOptions, images: int) -> tuple[Any, list[str]]:
    """The FID feature extractor if an Inception file is found locally (never downloaded), and the
    one note for ``eval.json`` (the report shows it; the terminal its part before the files searched)."""
    from reko.eval.features import FeatureExtractor
    from reko.eval.inception import load_inception

    try:
        network = load_inception(options.inception, download=False, trust=options.trust_inception)
    except RekoError as error:
        if options.inception is not None:
            raise  # a file the user named must work; only the automatic lookup may come up empty
        return None, [f"FID/KID skipped (the demo downloads nothing): {error}"]
    extractor = FeatureExtractor(network, "clean", batch_size=8, num_workers=0, progress=False)
    note = (
        f"FID/KID of the student's outputs against the teacher's, on only {images} images: "
        "far too few for either to mean much (papers use thousands); shown to exercise the pipeline"
    )
    return extractor, [note]


def _export(files: DemoFiles, out: Path, student_file: Path, threads: int) -> tuple[Path, list[Any]]:
    """ONNX file + parity check on the test photos (raises `ParityError` on a mismatch) + ``export.json``.

    Kept in ``export/``: ``reko report`` turns every JSON file at the top of a run folder into a table.
    """
    from reko.eval.report import write_json
    from reko.export.pipeline import ExportOptions, export_checkpoint

    folder = out / EXPORT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    onnx_file = folder / "student.onnx"
    options = ExportOptions(size=SIZE, test_images=files.test, parity_count=_count(files.test), threads=threads)
    report = export_checkpoint(student_file, onnx_file, options)
    write_json(folder / "export.json", report.to_dict())
    return onnx_file, list(report.parity)


def _costs(
    out: Path, teacher: nn.Module, student: nn.Module, onnx_file: Path, threads: int, repeats: int
) -> list[dict[str, Any]]:
    """``cost.json``: teacher and student under PyTorch, the student's ONNX file under ONNX Runtime."""
    from reko.eval.cost import profile_model, profile_onnx
    from reko.eval.report import write_json

    warmup = 5
    rows = [
        profile_model(name, model, size=SIZE, warmup=warmup, repeats=repeats, threads=threads, memory=False)
        for name, model in (("teacher", teacher), ("student", student))
    ]
    rows.append(
        profile_onnx(
            "student (ONNX Runtime)", onnx_file, size=SIZE, warmup=warmup, repeats=repeats, threads=threads,
            memory=False, like=rows[1],
        )
    )  # fmt: skip
    table = [
        {
            "model": row.name,
            "backend": row.backend,
            "parameters": row.parameters,
            "macs_true": row.macs_true,
            "macs_field": row.macs_field,
            "latency_ms": row.latency.median_ms if row.latency else None,
            "latency_iqr_ms": row.latency.iqr_ms if row.latency else None,
            "latency_threads": row.latency.threads if row.latency else None,
        }
        for row in rows
    ]
    document = {
        "note": f"batch 1, {SIZE}x{SIZE}, CPU, {threads} threads; latency: median of {repeats} runs after {warmup}",
        "rows": table,
    }
    write_json(out / "cost.json", document)
    return table


def summary(result: DemoResult) -> str:
    """What the demo did, for the terminal."""
    if not result.finished:
        return f"reko demo stopped at step {result.step}; continue it with `reko demo --out {result.out_dir} --resume`"
    by_name = {row["model"]: row for row in result.costs}
    teacher, student, onnx = by_name["teacher"], by_name["student"], by_name["student (ONNX Runtime)"]
    m = result.metrics
    stages = ", ".join(f"{name} {_duration(s)}" for name, s in result.seconds.items() if name != "total")
    quality = f"PSNR {m['psnr']:.2f} dB, SSIM {m['ssim']:.3f}, L1 {m['l1']:.4f}"
    if "fid" in m:
        quality += f", FID {m['fid']:.1f}, KID {m.get('kid_mean', math.nan):.4f} (too few images to mean much)"
    checks = ", ".join(
        f"max |diff| {r.max_abs_diff:.1e} on {r.images} test photos ({r.tolerance})" for r in result.parity
    )
    lines = [
        f"reko demo finished in {_duration(result.seconds['total'])} ({stages})",
        f"  teacher   shipped ResNet-9 ngf 16 (distilled from a real CycleGAN generator; see demo_data/README.md): "
        f"{teacher['parameters'] / 1e6:.2f} M parameters, {teacher['macs_true'] / 1e9:.2f} GMACs",
        f"  student   ResNet-9 ngf {STUDENT_NGF}, ReKo, {result.step} steps: {student['parameters'] / 1e6:.2f} M "
        f"parameters ({teacher['parameters'] / student['parameters']:.1f}x fewer), "
        f"{student['macs_true'] / 1e9:.2f} GMACs",
        f"  quality   student vs teacher on the test photos: {quality}",
    ]
    if "fid" not in m:
        lines.append(f"            {result.fid_note}")
    lines += [
        f"  latency   {SIZE}x{SIZE}, batch 1, {teacher['latency_threads']} threads: teacher "
        f"{teacher['latency_ms']:.1f} ms, student {student['latency_ms']:.1f} ms (PyTorch), "
        f"{onnx['latency_ms']:.1f} ms (ONNX Runtime)",
        f"  ONNX      {result.onnx_file}: parity with PyTorch passed, {checks}",
        f"  files     {result.out_dir}/ (eval.json, cost.json, export/, student_best.safetensors, config.yaml)",
        f"report: {result.report}",
    ]
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{seconds:.1f} s"
