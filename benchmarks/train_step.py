"""Time and peak memory of one distillation step: GAN-only student vs output-L1 vs ReKo.

One step = the student's generator update and the discriminator's update (forward, backward,
Adam), one-direction (unpaired) mode with the real teacher (ResNet-9, ngf 64) and a student of
width 24, exactly as `reko distill` runs it (`reko.train.trainer.Trainer.train_step`). Methods:

- ``none``:   GAN only (the teacher still runs: its outputs are the discriminator's real samples);
- ``output``: + output-level L1 to the teacher;
- ``reko``:   + ReKo (4 taps, top-64 teacher-attention patches, MLP heads, PatchNCE).

For each (size, batch) one process builds the three distillers and alternates their steps
(none, output, reko, none, ...), so that load from other jobs on the machine slows all three
alike; the time is the median over the measured steps. Memory (CPU) = the tensors that live
through training (all weights, the teacher's included, and the optimiser states) + the peak of
the tensors allocated during one step (activations, gradients, temporaries), read from the
PyTorch profiler since PyTorch keeps no allocation statistics on CPU. On GPU it is
``torch.cuda.max_memory_allocated``. The data loader's throughput (images/s from ``trainA``
with the training transforms) is compared with the step rate.

    python benchmarks/train_step.py                       # all sizes, batches, methods
    python benchmarks/train_step.py --sizes 128 --batches 1 --steps 5

Any registered method can be measured, with ``distill.`` options after a colon (comma-separated), e.g.
``--methods none output output:perceptual_weight=0.4 perceptual nonlocal channel --note "..."``: each
is then a row of a second table, with its time and memory relative to ``output`` (needs ``output``).
``--note`` records the conditions (e.g. that the machine was shared with other jobs).

Writes ``benchmarks/results/train_step.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from reko.eval.machine import cpu_name

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("REKO_SHARED", REPO.parent / "shared"))
TEACHER = SHARED / "weights" / "teachers" / "vintage_resnet9_ngf64_G_A2B.pth"
PHOTOS = SHARED / "data" / "horse2zebra" / "trainA"
METHODS = ("none", "output", "reko")


def build_trainer(method: str, batch: int, device: str) -> tuple[object, object]:
    """A freshly initialised distiller of ``method`` and a prepared `Trainer` around it."""
    from reko.config import LogConfig, load_config
    from reko.distill.build import build_distiller
    from reko.distill.config import DistillConfig
    from reko.train.distributed import DistContext, resolve_device
    from reko.train.trainer import Trainer

    name, _, options = method.partition(":")
    overrides = [f"distill.{option}" for option in options.split(",") if option]
    config = load_config(
        DistillConfig,
        None,
        [f"teacher={TEACHER}", f"distill.method={name}", f"train.batch_size={batch}", f"train.device={device}"]
        + overrides,
    )
    torch.manual_seed(0)
    distiller = build_distiller(config, "unpaired")
    context = DistContext(device=resolve_device(device))
    trainer = Trainer(distiller, [], [], config.train, LogConfig(progress=False), "/nonexistent", context)
    trainer.prepare()
    return distiller, trainer


def measure(methods: list[str], size: int, batch: int, steps: int, warmup: int, device: str) -> list[dict]:
    """Every method at one size and batch, their steps interleaved: median time and memory."""
    from reko.train.trainer import to_device

    runs = {method: build_trainer(method, batch, device) for method in methods}
    first_trainer = next(iter(runs.values()))[1]
    data = to_device({"input": torch.rand(batch, 3, size, size) * 2 - 1}, first_trainer.device, False)
    cuda = first_trainer.device.type == "cuda"
    times: dict[str, list[float]] = {method: [] for method in methods}
    for i in range(warmup + steps):
        for method, (_, trainer) in runs.items():
            start = time.perf_counter()
            trainer.train_step(data)
            if cuda:
                torch.cuda.synchronize()
            if i >= warmup:
                times[method].append(time.perf_counter() - start)
    results = []
    for method, (distiller, trainer) in runs.items():
        resident = _resident_mb(distiller, trainer)
        if cuda:
            torch.cuda.reset_peak_memory_stats()
            trainer.train_step(data)
            peak, step = torch.cuda.max_memory_allocated() / 2**20, None
        else:
            step = _step_peak_mb(lambda trainer=trainer: trainer.train_step(data))
            peak = resident + step
        results.append(
            {
                "method": method,
                "size": size,
                "batch": batch,
                "median_s": statistics.median(times[method]),
                "times_s": times[method],
                "peak_mb": peak,
                "resident_mb": resident,
                "step_mb": step,
            }
        )
    return results


def _resident_mb(distiller: torch.nn.Module, trainer: object) -> float:
    """Tensors that live through training: all weights (the teacher's too) and optimiser states."""
    tensors = [*distiller.parameters(), *distiller.buffers()]
    for direction in [m for m in distiller.modules() if hasattr(m, "teacher")]:
        tensors += [*direction.teacher.generator.parameters(), *direction.teacher.generator.buffers()]
    for optimiser in trainer.optimisers.values():  # type: ignore[attr-defined]
        tensors += [t for state in optimiser.state.values() for t in state.values() if torch.is_tensor(t)]
    return sum(t.numel() * t.element_size() for t in tensors) / 2**20


def _step_peak_mb(step: object) -> float:
    """Peak tensor memory allocated during one step on top of what existed before it (CPU).

    PyTorch keeps no allocation statistics on CPU; the profiler records each operator's own
    allocations and frees, whose running sum in time order peaks at the step's peak (at operator
    granularity: temporaries freed inside one operator are not seen).
    """
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()  # type: ignore[operator]
    events = sorted(prof.events(), key=lambda e: e.time_range.start)
    running = peak = 0
    for event in events:
        running += event.self_cpu_memory_usage
        peak = max(peak, running)
    return peak / 2**20


def measure_loader(size: int, batch: int, workers: int, batches: int) -> float:
    """Images per second the training DataLoader delivers (decode, resize, crop, flip)."""
    from torch.utils.data import DataLoader

    from reko.config import DataConfig
    from reko.data import ImageFolderDataset
    from reko.train.data import train_transform
    from reko.train.sampler import EpochIndexed, StepBatchSampler

    data = DataConfig(load_size=size + size // 8, crop_size=size)
    dataset = ImageFolderDataset(PHOTOS, train_transform(data, 4))
    sampler = StepBatchSampler(len(dataset), batch, 0, 0, batches + 2)
    loader = iter(DataLoader(EpochIndexed(dataset), batch_sampler=sampler, num_workers=workers))
    next(loader), next(loader)  # start the workers
    start = time.perf_counter()
    for _ in range(batches):
        next(loader)
    return batches * batch / (time.perf_counter() - start)


def _child(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    results = measure(args.methods, args.sizes[0], args.batches[0], args.steps, args.warmup, args.device)
    print("RESULT " + json.dumps(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--steps", type=int, default=7, help="measured steps per configuration")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=1, help="repeat every configuration, interleaved")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "train_step")
    parser.add_argument("--note", default="", help="conditions of the measurement, written beside the numbers")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: measure in this process
    args = parser.parse_args()
    if args.child:
        return _child(args)

    runs: list[dict] = []
    for _ in range(args.rounds):
        for size in args.sizes:
            for batch in args.batches:
                command = [sys.executable, __file__, "--child", "1", "--sizes", str(size), "--batches", str(batch)]
                command += ["--methods", *args.methods, "--steps", str(args.steps), "--warmup", str(args.warmup)]
                command += ["--device", args.device, "--threads", str(args.threads)]
                child = subprocess.run(command, capture_output=True, text=True)
                if child.returncode:
                    raise SystemExit(f"measuring {size}px batch {batch} failed:\n{child.stderr[-3000:]}")
                out = child.stdout
                for run in json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[7:]):
                    runs.append(run)
                    print(
                        f"{run['method']:7s} {size}px batch {batch}: {run['median_s']:.3f} s, {run['peak_mb']:.0f} MB"
                    )
    rows = []
    for size in args.sizes:
        for batch in args.batches:
            row = {"size": size, "batch": batch}
            for method in args.methods:
                mine = [r for r in runs if (r["method"], r["size"], r["batch"]) == (method, size, batch)]
                row[method] = {
                    "median_s": statistics.median(t for r in mine for t in r["times_s"]),
                    **{k: max(r[k] for r in mine) for k in mine[0] if k.endswith("_mb") and mine[0][k] is not None},
                }
            rows.append(row)
    loader = {f"{size}px_workers{w}": measure_loader(size, 1, w, 40) for size in args.sizes for w in (0, 2)}
    report = {
        "machine": {"cpu": cpu_name(), "threads": args.threads, "device": args.device},
        "torch": torch.__version__,
        "student_ngf": 24,
        "teacher": TEACHER.name,
        "rows": rows,
        "loader_images_per_s": loader,
        "note": args.note,
        "command": "python " + " ".join([Path(__file__).relative_to(REPO).as_posix(), *sys.argv[1:]]),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(markdown(report), encoding="utf-8")
    print(markdown(report))


def markdown(report: dict) -> str:
    methods = [key for key in report["rows"][0] if key not in ("size", "batch")]
    if set(methods) != set(METHODS):
        return markdown_methods(report, methods)
    return markdown_default(report)


def markdown_methods(report: dict, methods: list[str]) -> str:
    """One row per (size, batch, method): time and memory, and their ratio to ``output``'s."""
    cpu = report["machine"]["device"] == "cpu"
    lines = [
        f"One distillation step (G + D update), unpaired mode, teacher {report['teacher']}, student ngf "
        f"{report['student_ngf']}, {report['machine']['device']} with {report['machine']['threads']} thread(s), "
        f"torch {report['torch']}. Time: median seconds per step over the measured steps; memory (MB): "
        + ("weights + optimiser states + the step's peak allocations (profiler)" if cpu else "max_memory_allocated")
        + ". `method:option=value` rows set `distill.option` on that method.",
        "",
        "| size | batch | method | time (s) | time / output | extra vs output (s) | memory (MB) | memory / output |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        base = row.get("output")
        for method in methods:
            value = row[method]
            ratio = f"{value['median_s'] / base['median_s']:.2f}" if base else "-"
            extra = f"{value['median_s'] - base['median_s']:+.3f}" if base else "-"
            memory = f"{value['peak_mb'] / base['peak_mb']:.2f}" if base else "-"
            lines.append(
                f"| {row['size']} | {row['batch']} | `{method}` | {value['median_s']:.3f} | {ratio} | {extra} | "
                f"{value['peak_mb']:.0f} | {memory} |"
            )
    if report.get("note"):
        lines += ["", f"Conditions: {report['note']}"]
    lines += ["", f"Command: `{report['command']}`", ""]
    return "\n".join(lines)


def markdown_default(report: dict) -> str:
    cpu = report["machine"]["device"] == "cpu"
    memory = (
        "memory = weights (teacher's included) + optimiser states + the step's peak tensor allocations "
        "(profiler, operator granularity)"
        if cpu
        else "memory = torch.cuda.max_memory_allocated"
    )
    lines = [
        f"One distillation step (G + D update), unpaired mode, teacher {report['teacher']}, student ngf "
        f"{report['student_ngf']}, {report['machine']['device']} with {report['machine']['threads']} thread(s), "
        f"torch {report['torch']}. Time: median seconds per step; {memory}, in MB.",
        "",
        "| size | batch | time GAN only | time output-L1 | time ReKo | ReKo / output time | memory GAN only "
        "| memory output-L1 | memory ReKo | ReKo / output memory |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        none, out, reko = row["none"], row["output"], row["reko"]
        lines.append(
            f"| {row['size']} | {row['batch']} | {none['median_s']:.3f} | {out['median_s']:.3f} | "
            f"{reko['median_s']:.3f} | {reko['median_s'] / out['median_s']:.3f} | {none['peak_mb']:.0f} | "
            f"{out['peak_mb']:.0f} | {reko['peak_mb']:.0f} | {reko['peak_mb'] / out['peak_mb']:.3f} |"
        )
    if cpu:
        lines += ["", "Of which allocated during the step (MB), GAN only / output-L1 / ReKo:", ""]
        for row in report["rows"]:
            values = " / ".join(f"{row[m]['step_mb']:.0f}" for m in ("none", "output", "reko"))
            lines.append(f"- {row['size']}px batch {row['batch']}: {values}")
    lines += ["", "Data loader (training transforms, batch 1) vs the ReKo step rate, images per second:", ""]
    for row in report["rows"]:
        if row["batch"] != 1:
            continue
        size = row["size"]
        step_rate = 1 / row["reko"]["median_s"]
        loader = report["loader_images_per_s"]
        lines.append(
            f"- {size}px: loader {loader[f'{size}px_workers0']:.0f} (in the main process) / "
            f"{loader[f'{size}px_workers2']:.0f} (2 workers); ReKo steps consume {step_rate:.1f}"
        )
    lines += ["", f"Command: `{report['command']}`", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
