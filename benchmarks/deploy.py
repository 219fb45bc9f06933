"""Deployment speed: the teacher and its ngf-24 student in every exported form, on this CPU.

Measures, at --size x --size, batch 1, with torch's and ONNX Runtime's intra-op threads pinned
to --threads, the latency of

* the teacher in PyTorch eager (the reference every speed-up is relative to), and in ONNX
  Runtime float and INT8;
* the student (--student, a distilled checkpoint; without it a freshly initialised ngf-24
  student, marked "untrained") in PyTorch eager, TorchScript (frozen, with and without
  ``optimize_for_inference``), ONNX Runtime float and ONNX Runtime INT8.

Every exported file passes `reko.export` parity first (float: max |diff| <= 1e-3 against
PyTorch; INT8: the PSNR below). Latencies are interleaved: --rounds rounds, each timing every
model --repeats times after --warmup untimed calls, so a burst of load on a shared machine hits
all rows alike; the table gives the median of all timed calls, their 25-75 % range and their
minimum (the least disturbed call), the median process CPU time per call (with --threads 1 a
measure that other processes on the machine do not distort), and speed-ups of each. The
targets are judged on wall-clock medians.

INT8 quality: PSNR of INT8 outputs against the float model on --psnr-images test images
(horse2zebra testA; calibration uses trainA), for the student and for the real teacher (a
trained network: the honest data point when the student is untrained).

Writes ``benchmarks/results/deploy.json`` and ``deploy.md``. Run from the repository:

    python benchmarks/deploy.py [--student CKPT] [--threads 2] [--shared ../shared]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import torch

from reko.eval.machine import machine
from reko.eval.macs import count_macs, count_parameters
from reko.eval.report import format_table, write_json
from reko.export import (
    FLOAT_TOLERANCE,
    Int8Settings,
    Tolerance,
    check_parity,
    export_onnx,
    export_torchscript,
    load_runner,
    quantize_int8,
)
from reko.export.images import folder_source
from reko.export.rewrites import rewrite_for_export
from reko.export.runtime import TorchRunner, TorchScriptRunner
from reko.models import create_generator, load_generator

RESULTS = Path(__file__).resolve().parent / "results"
TEACHER = Path("weights") / "teachers" / "vintage_resnet9_ngf64_G_A2B.pth"
TARGETS = {"onnx float": 5.0, "onnx int8": 10.0}  # speed-up over the teacher in PyTorch eager
MIN_INT8_PSNR = 30.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path(os.environ.get("REKO_SHARED", "../shared")))
    parser.add_argument("--teacher", type=Path, help="teacher checkpoint (default: the shared vintage ResNet-9)")
    parser.add_argument("--student", type=Path, help="distilled student (default: an untrained ngf-24 student)")
    parser.add_argument("--student-ngf", type=int, default=24, help="width of the untrained stand-in student")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls per model per round")
    parser.add_argument("--repeats", type=int, default=8, help="timed calls per model per round (teacher: half)")
    parser.add_argument("--calibration-count", type=int, default=32, help="INT8 calibration images (trainA)")
    parser.add_argument("--psnr-images", type=int, default=16, help="test images for the INT8 PSNR (testA)")
    parser.add_argument("--out", type=Path, default=RESULTS / "deploy", help="results path without extension")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    data = args.shared / "data" / "horse2zebra"
    teacher_path = args.teacher or args.shared / TEACHER
    teacher = load_generator(teacher_path)
    if args.student is not None:
        student, student_note = load_generator(args.student), f"distilled student {args.student}"
    else:
        torch.manual_seed(0)
        student = create_generator(teacher.spec.with_width(args.student_ngf)).eval()
        student_note = (
            f"UNTRAINED student: a freshly initialised ngf-{args.student_ngf} network (no --student given); "
            "its latency is that of a distilled one, its INT8 PSNR is not"
        )
    print(f"teacher: {teacher_path}\nstudent: {student_note}", flush=True)
    size = args.size
    calibration = folder_source(data / "trainA", what="calibration folder").load(args.calibration_count, size, size)
    calibration_list = [calibration[i : i + 1] for i in range(len(calibration))]
    test = folder_source(data / "testA", what="test folder").load(args.psnr_images, size, size)
    load_before = os.getloadavg()

    rows: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {}
    notes: dict[str, dict[str, Any]] = {}
    quality: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="reko-deploy-") as folder:
        work = Path(folder)
        for who, model in (("teacher", teacher), ("student", student)):
            reference = TorchRunner(Path(who), model)
            rows[f"{who} pytorch eager"] = reference
            fast, rewrites = rewrite_for_export(model)
            if who == "student":
                export_torchscript(fast, work / "student.pt", size=size, rewrites=rewrites)
                for optimize in (False, True):
                    name = "student torchscript" + (" +optimize_for_inference" if optimize else " (frozen)")
                    rows[name] = _checked(name, TorchScriptRunner(work / "student.pt", optimize), reference, test)
            start = time.perf_counter()
            export_onnx(fast, work / f"{who}.onnx", size=size, rewrites=rewrites)
            rows[f"{who} onnx float"] = _checked(
                f"{who} onnx float", load_runner(work / f"{who}.onnx", threads=args.threads), reference, test
            )
            notes[f"{who} onnx float"] = {"export_s": time.perf_counter() - start}
            start = time.perf_counter()
            info = quantize_int8(
                fast, work / f"{who}_int8.onnx", calibration_list, size=size, settings=Int8Settings(), rewrites=rewrites
            )
            int8 = load_runner(work / f"{who}_int8.onnx", threads=args.threads)
            rows[f"{who} onnx int8"] = int8
            quality[who] = _int8_psnr(reference, int8, test)
            notes[f"{who} onnx int8"] = {"export_s": time.perf_counter() - start, "int8": info.int8}
            print(f"{who}: INT8 PSNR vs float {quality[who]:.2f} dB on {len(test)} testA images", flush=True)

        timings, cpu_timings = _interleaved(rows, size, args)
    load_after = os.getloadavg()

    teacher_ms = statistics.median(timings["teacher pytorch eager"])
    teacher_min = min(timings["teacher pytorch eager"])
    teacher_cpu = statistics.median(cpu_timings["teacher pytorch eager"])
    macs = {"teacher": count_macs(teacher, size), "student": count_macs(student, size)}
    results = []
    for name, times in timings.items():
        who = name.split()[0]
        median = statistics.median(times)
        p25, p75 = (float(v) for v in np.percentile(times, [25, 75]))
        results.append(
            {
                "model": name,
                "median_ms": median,
                "p25_ms": p25,
                "p75_ms": p75,
                "min_ms": min(times),
                "calls": len(times),
                "speedup_vs_teacher_eager": teacher_ms / median,
                "speedup_of_minimum": teacher_min / min(times),
                "cpu_median_ms": statistics.median(cpu_timings[name]),
                "speedup_of_cpu_time": teacher_cpu / statistics.median(cpu_timings[name]),
                "macs_field": macs[who].field,
                "parameters": count_parameters(teacher if who == "teacher" else student),
                **notes.get(name, {}),
            }
        )
    summary = _summary(results, quality, macs)
    payload = {
        "machine": _machine(args.threads),
        "load_average_before": load_before,
        "load_average_after": load_after,
        "size": size,
        "batch": 1,
        "teacher": str(teacher_path),
        "student": str(args.student) if args.student else None,
        "student_note": student_note,
        "int8_psnr_db": quality,
        "psnr_images": len(test),
        "calibration_images": len(calibration_list),
        "rows": results,
        "summary": summary,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }
    write_json(args.out.with_suffix(".json"), payload)
    markdown = _markdown(payload)
    args.out.with_suffix(".md").write_text(markdown, encoding="utf-8")
    print(markdown)
    print(f"wrote {args.out.with_suffix('.json')} and {args.out.with_suffix('.md')}")
    return 0


def _checked(name: str, runner: Any, reference: TorchRunner, images: torch.Tensor) -> Any:
    """``runner`` after a float parity check on two test images (raises on a mismatch)."""
    result = check_parity(reference, runner, images[:2], FLOAT_TOLERANCE, candidate_name=name)
    print(result.describe(), flush=True)
    if not result.passed:
        raise SystemExit(f"{name} failed its parity check")
    return runner


def _int8_psnr(reference: TorchRunner, int8: Any, images: torch.Tensor) -> float:
    """PSNR (dB, pooled over ``images``) of the INT8 outputs against the float model's."""
    result = check_parity(reference, int8, images, Tolerance(min_psnr=MIN_INT8_PSNR), candidate_name="int8")
    return float(result.psnr_db)


def _interleaved(
    rows: dict[str, Callable[[torch.Tensor], torch.Tensor]], size: int, args: argparse.Namespace
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall-clock and process CPU milliseconds per call for every row: ``rounds`` rounds over
    all rows, so load bursts on a shared machine spread over every row instead of landing on
    one. With one thread, CPU time is what the call itself computed, whatever else runs."""
    x = torch.rand(1, 3, size, size) * 2 - 1
    wall: dict[str, list[float]] = {name: [] for name in rows}
    cpu: dict[str, list[float]] = {name: [] for name in rows}
    with torch.inference_mode():
        for forward in rows.values():  # first calls build kernels and (TorchScript) optimise graphs
            for _ in range(3):
                forward(x)
        for round_index in range(args.rounds):
            for name, forward in rows.items():
                repeats = max(2, args.repeats // 2) if name.startswith("teacher") else args.repeats
                for _ in range(args.warmup):
                    forward(x)
                for _ in range(repeats):
                    start, start_cpu = time.perf_counter(), time.process_time()
                    forward(x)
                    wall[name].append((time.perf_counter() - start) * 1000.0)
                    cpu[name].append((time.process_time() - start_cpu) * 1000.0)
            done = ", ".join(f"{n}: {statistics.median(t):.1f}" for n, t in wall.items())
            print(f"round {round_index + 1}/{args.rounds} (median ms) {done}", flush=True)
    return wall, cpu


def _summary(results: list[dict[str, Any]], quality: dict[str, float], macs: dict[str, Any]) -> dict[str, Any]:
    by_name = {r["model"]: r for r in results}
    summary: dict[str, Any] = {"mac_ratio_field": macs["teacher"].field / macs["student"].field}
    for kind, target in TARGETS.items():
        speedup = by_name[f"student {kind}"]["speedup_vs_teacher_eager"]
        summary[f"student {kind} speed-up"] = {"value": speedup, "target": target, "met": speedup >= target}
    summary["student int8 psnr"] = {
        "value": quality["student"],
        "target": MIN_INT8_PSNR,
        "met": quality["student"] >= MIN_INT8_PSNR,
    }
    summary["teacher int8 psnr"] = {"value": quality["teacher"], "target": MIN_INT8_PSNR}
    return summary


def _markdown(payload: dict[str, Any]) -> str:
    headers = ["model", "runtime", "median", "25-75 %", "min", "speed-up (median)", "speed-up (min)"]
    headers += ["CPU time", "speed-up (CPU)", "MACs"]
    table = []
    for row in payload["rows"]:
        who, runtime = row["model"].split(" ", 1)
        table.append(
            [
                who,
                runtime,
                f"{row['median_ms']:.1f} ms",
                f"{row['p25_ms']:.1f}-{row['p75_ms']:.1f}",
                f"{row['min_ms']:.1f} ms",
                f"{row['speedup_vs_teacher_eager']:.2f}x",
                f"{row['speedup_of_minimum']:.2f}x",
                f"{row['cpu_median_ms']:.1f} ms",
                f"{row['speedup_of_cpu_time']:.2f}x",
                f"{row['macs_field'] / 1e9:.2f}G",
            ]
        )
    machine = payload["machine"]
    summary = payload["summary"]
    lines = [
        f"Deployment latency, {payload['size']}x{payload['size']}, batch 1, {machine['threads']} threads "
        f"({machine['cpu']}; torch {machine['torch']}, onnxruntime {machine['onnxruntime']})",
        "",
        "```",
        format_table(headers, table),
        "```",
        "",
        f"- student: {payload['student_note']}",
        f"- MACs (field convention) teacher / student: {summary['mac_ratio_field']:.2f}x",
        "- CPU time: process CPU time per call (median); with 1 thread it is unaffected by other load, with "
        "more it includes threads waiting for each other",
    ]
    for key in ("student onnx float speed-up", "student onnx int8 speed-up"):
        item = summary[key]
        lines.append(
            f"- {key}: {item['value']:.2f}x (target {item['target']:g}x: {'met' if item['met'] else 'NOT met'})"
        )
    item = summary["student int8 psnr"]
    lines.append(
        f"- student INT8 PSNR vs float: {item['value']:.2f} dB (target {item['target']:g} dB: "
        f"{'met' if item['met'] else 'NOT met'}; {payload['psnr_images']} testA images)"
    )
    lines.append(f"- teacher INT8 PSNR vs float (trained weights): {summary['teacher int8 psnr']['value']:.2f} dB")
    lines.append(
        f"- load average before / after: {_load(payload['load_average_before'])} / "
        f"{_load(payload['load_average_after'])} (a shared machine: compare with the 25-75 % range)"
    )
    lines.append(f"- command: `{payload['command']}`")
    return "\n".join(lines) + "\n"


def _load(values: Any) -> str:
    return " ".join(f"{v:.2f}" for v in values)


def _machine(threads: int) -> dict[str, Any]:
    return {**machine(threads), "onnxruntime": onnxruntime.__version__}


if __name__ == "__main__":
    raise SystemExit(main())
