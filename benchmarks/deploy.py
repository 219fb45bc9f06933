"""Deployment speed: the teacher against narrow and mobile students in every exported form, on this CPU.

Measures, at --size x --size, batch 1, with torch's and ONNX Runtime's intra-op threads pinned
to --threads, the latency of the teacher (ResNet-9 ngf 64) and of each student in PyTorch eager,
ONNX Runtime float and ONNX Runtime INT8 (reko's recipe, `reko.export.quantize`). Students:

* ``ngf24``: the teacher's architecture at ngf 24 (6.9x fewer MACs);
* ``mobile-2.7G``, ``mobile-1.4G``: the students ``reko distill --target-macs 2.71G`` / ``1.43G``
  picks for this teacher (mobile ResNet-9, ngf 23 and 16; `reko.models.budget`);
* ``mobile-1.4G-bn``: the 1.4G student with BatchNorm instead of the teacher's InstanceNorm (folded
  into the convolutions at export): what a different student norm buys under ONNX Runtime.

Each is a freshly initialised stand-in (marked "untrained": its latency is a trained one's, its
INT8 PSNR is not) unless ``--student NAME=CKPT`` gives a trained checkpoint. Every float export
passes `reko.export` parity first (max |diff| <= 1e-3). Latencies are interleaved: --rounds
rounds, each timing every row --repeats times after --warmup untimed calls, so load bursts on a
shared machine hit all rows alike; the table gives the median of all timed calls, their 25-75 %
range, the median process CPU time per call and speed-ups against the teacher in PyTorch eager.
The load average (``uptime``) before and after is recorded. INT8 quality: PSNR of INT8 outputs
against the float model on --psnr-images horse2zebra testA images (calibration on trainA).

Writes ``benchmarks/results/NAME.json`` and ``.md`` (--out). Run from the repository:

    python benchmarks/deploy.py --threads 1 --out benchmarks/results/deploy_1thread \\
        [--student mobile-2.7G=runs/.../student_latest.safetensors]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import torch
from torch import nn

from reko.eval.machine import machine
from reko.eval.macs import count_macs, count_parameters, spec_cost
from reko.eval.report import format_table, write_json
from reko.export import FLOAT_TOLERANCE, Int8Settings, Tolerance, check_parity, export_onnx, load_runner, quantize_int8
from reko.export.images import folder_source
from reko.export.rewrites import rewrite_for_export
from reko.export.runtime import TorchRunner
from reko.models import GeneratorSpec, create_generator, load_generator
from reko.models.budget import fit_budget

RESULTS = Path(__file__).resolve().parent / "results"
TEACHER = Path("weights") / "teachers" / "vintage_resnet9_ngf64_G_A2B.pth"
MOBILE_TARGET = 25.0  # a mobile student's INT8 ONNX Runtime speed-up over the teacher in PyTorch eager
MIN_INT8_PSNR = 30.0
BUDGETS = {"mobile-2.7G": 2.71e9, "mobile-1.4G": 1.43e9}


def stand_in_specs(teacher: GeneratorSpec) -> dict[str, GeneratorSpec]:
    """The default students: ngf 24, the two budget choices, and the 1.4G one with BatchNorm."""
    specs = {"ngf24": teacher.with_width(24)}
    specs.update({name: fit_budget(teacher, spec_cost, max_macs=macs).spec for name, macs in BUDGETS.items()})
    specs["mobile-1.4G-bn"] = specs["mobile-1.4G"].replace(norm="batch")
    return specs


def stand_in(spec: GeneratorSpec) -> nn.Module:
    """A freshly initialised network; BatchNorm gets running statistics from random images
    (else BN folds to the identity, which would flatter nothing but is not a network)."""
    torch.manual_seed(0)
    model = create_generator(spec)
    if spec.norm == "batch":
        model.train()
        with torch.no_grad():
            for _ in range(4):
                model(torch.rand(2, spec.in_channels, 64, 64) * 2 - 1)
    return model.eval()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path(os.environ.get("REKO_SHARED", "../shared")))
    parser.add_argument("--teacher", type=Path, help="teacher checkpoint (default: the shared vintage ResNet-9)")
    parser.add_argument("--student", action="append", default=[], metavar="NAME=CKPT", help="a trained student")
    parser.add_argument("--only", default="", help="comma list of student names to keep (default: all)")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls per row per round")
    parser.add_argument("--repeats", type=int, default=8, help="timed calls per row per round (teacher: half)")
    parser.add_argument("--calibration-count", type=int, default=32, help="INT8 calibration images (trainA)")
    parser.add_argument("--psnr-images", type=int, default=16, help="test images for the INT8 PSNR (testA)")
    parser.add_argument("--out", type=Path, default=RESULTS / "deploy", help="results path without extension")
    parser.add_argument("--keep", type=Path, help="keep exported files here and reuse them (for a second --threads)")
    parser.add_argument("--profile", action="store_true", help="ONNX Runtime's profiler: time share of each op type")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    data = args.shared / "data" / "horse2zebra"
    teacher_path = args.teacher or args.shared / TEACHER
    teacher = load_generator(teacher_path)
    models: dict[str, nn.Module] = {"teacher": teacher}
    notes: dict[str, str] = {"teacher": f"trained, {teacher_path}"}
    for name, spec in stand_in_specs(teacher.spec).items():
        models[name], notes[name] = stand_in(spec), "UNTRAINED stand-in (latency only; its INT8 PSNR is not a result)"
    for item in args.student:
        name, _, path = item.partition("=")
        if not path:
            parser.error(f"--student wants NAME=CKPT, got {item!r}")
        models[name], notes[name] = load_generator(path), f"trained, {path}"
    if args.only:
        keep = {"teacher", *args.only.split(",")}
        models = {k: v for k, v in models.items() if k in keep}
    for name, model in models.items():
        print(f"{name}: {model.spec.describe()} ({notes[name]})", flush=True)

    size = args.size
    calibration = folder_source(data / "trainA", what="calibration folder").load(args.calibration_count, size, size)
    calibration_list = [calibration[i : i + 1] for i in range(len(calibration))]
    test = folder_source(data / "testA", what="test folder").load(args.psnr_images, size, size)
    load_before, uptime_before = os.getloadavg(), _uptime()

    rows: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {}
    quality: dict[str, float] = {}
    profiles: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="reko-deploy-") as folder:
        work = args.keep or Path(folder)
        work.mkdir(parents=True, exist_ok=True)
        for who, model in models.items():
            reference = TorchRunner(Path(who), model)
            rows[f"{who} pytorch-eager"] = reference
            fast, rewrites = rewrite_for_export(model)
            if not (work / f"{who}.onnx").is_file():  # --keep reuses it; the parity check below still runs
                export_onnx(fast, work / f"{who}.onnx", size=size, rewrites=rewrites)
            runner = load_runner(work / f"{who}.onnx", threads=args.threads)
            rows[f"{who} onnx-float"] = _checked(f"{who} onnx float", runner, reference, test)
            if not (work / f"{who}_int8.onnx").is_file():
                settings = Int8Settings()
                quantize_int8(
                    fast, work / f"{who}_int8.onnx", calibration_list, size=size, settings=settings, rewrites=rewrites
                )
            int8 = load_runner(work / f"{who}_int8.onnx", threads=args.threads)
            rows[f"{who} onnx-int8"] = int8
            quality[who] = _int8_psnr(reference, int8, test)
            print(f"{who}: INT8 PSNR vs float {quality[who]:.2f} dB on {len(test)} testA images", flush=True)
            for kind, file in (("onnx-float", f"{who}.onnx"), ("onnx-int8", f"{who}_int8.onnx")):
                if args.profile:
                    profiles[f"{who} {kind}"] = _ort_profile(work / file, args.threads, size, work / "profile")
        timings, cpu_timings = _interleaved(rows, size, args)
    load_after, uptime_after = os.getloadavg(), _uptime()

    teacher_ms = statistics.median(timings["teacher pytorch-eager"])
    teacher_cpu = statistics.median(cpu_timings["teacher pytorch-eager"])
    costs = {who: (count_macs(m, size), count_parameters(m)) for who, m in models.items()}
    results = []
    for name, times in timings.items():
        who, runtime = name.split(" ")
        p25, p75 = (float(v) for v in np.percentile(times, [25, 75]))
        median, cpu = statistics.median(times), statistics.median(cpu_timings[name])
        results.append(
            {
                "model": who,
                "runtime": runtime,
                "median_ms": median,
                "p25_ms": p25,
                "p75_ms": p75,
                "min_ms": min(times),
                "calls": len(times),
                "speedup_vs_teacher_eager": teacher_ms / median,
                "cpu_median_ms": cpu,
                "speedup_of_cpu_time": teacher_cpu / cpu,
                "macs_field": costs[who][0].field,
                "macs_true": costs[who][0].true,
                "parameters": costs[who][1],
            }
        )
    payload = {
        "machine": {**machine(args.threads), "onnxruntime": onnxruntime.__version__},
        "load_average_before": load_before,
        "load_average_after": load_after,
        "uptime_before": uptime_before,
        "uptime_after": uptime_after,
        "size": size,
        "batch": 1,
        "models": {
            who: {"spec": m.spec.to_dict(), "describe": m.spec.describe(), "note": notes[who]}
            for who, m in models.items()
        },
        "int8_psnr_db": quality,
        "psnr_images": len(test),
        "calibration_images": len(calibration_list),
        "rows": results,
        "ort_profile_share": profiles,
        "summary": _summary(results, quality, notes),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }
    write_json(args.out.with_suffix(".json"), payload)
    markdown = _markdown(payload)
    args.out.with_suffix(".md").write_text(markdown, encoding="utf-8")
    print(markdown)
    print(f"wrote {args.out.with_suffix('.json')} and {args.out.with_suffix('.md')}")
    return 0


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def _ort_profile(path: Path, threads: int, size: int, prefix: Path, calls: int = 4) -> dict[str, float]:
    """Share of kernel time per ONNX op type (after ORT's graph optimisations: ``ReorderInput`` /
    ``ReorderOutput`` are its NCHWc layout conversions) over ``calls`` calls after one warm-up."""
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    options.enable_profiling, options.profile_file_prefix = True, str(prefix)
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: (np.random.rand(1, 3, size, size).astype(np.float32) * 2 - 1)}
    for _ in range(1 + calls):
        session.run(None, feed)
    events = json.loads(Path(session.end_profiling()).read_text(encoding="utf-8"))
    totals: dict[str, float] = {}
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            op = event["args"]["op_name"]
            totals[op] = totals.get(op, 0.0) + float(event["dur"])
    whole = sum(totals.values()) or 1.0
    return {op: t / whole for op, t in sorted(totals.items(), key=lambda item: -item[1])}


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
        for forward in rows.values():  # first calls build kernels
            for _ in range(2):
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


def _summary(results: list[dict[str, Any]], quality: dict[str, float], notes: dict[str, str]) -> dict[str, Any]:
    """Per student: MAC ratio and speed-ups; the mobile target (25x, INT8 ORT) on the best mobile row."""
    by = {(r["model"], r["runtime"]): r for r in results}
    teacher_macs = by[("teacher", "pytorch-eager")]["macs_field"]
    students: dict[str, Any] = {}
    for who in dict.fromkeys(r["model"] for r in results):
        if who == "teacher":
            continue
        students[who] = {
            "mac_ratio_field": teacher_macs / by[(who, "pytorch-eager")]["macs_field"],
            **{
                f"speedup {rt}": by[(who, rt)]["speedup_vs_teacher_eager"]
                for rt in ("pytorch-eager", "onnx-float", "onnx-int8")
            },
            "int8_psnr_db": quality[who],
            "trained": notes[who].startswith("trained"),
        }
    mobile = {k: v for k, v in students.items() if k.startswith("mobile")}
    best = max(mobile, key=lambda k: mobile[k]["speedup onnx-int8"]) if mobile else None
    summary: dict[str, Any] = {"students": students, "teacher_int8_psnr_db": quality["teacher"]}
    if best is not None:
        value = mobile[best]["speedup onnx-int8"]
        summary["mobile int8 speed-up"] = {
            "student": best,
            "value": value,
            "target": MOBILE_TARGET,
            "met": value >= MOBILE_TARGET,
        }
        trained = {k: v for k, v in mobile.items() if v["trained"]}
        summary["mobile int8 psnr"] = {
            k: {"value": v["int8_psnr_db"], "target": MIN_INT8_PSNR, "met": v["int8_psnr_db"] >= MIN_INT8_PSNR}
            for k, v in trained.items()
        }
    return summary


def _markdown(payload: dict[str, Any]) -> str:
    headers = [
        "model",
        "runtime",
        "median",
        "25-75 %",
        "CPU time",
        "speed-up (median)",
        "speed-up (CPU)",
        "MACs (field)",
        "INT8 PSNR",
    ]
    table = []
    for row in payload["rows"]:
        psnr = payload["int8_psnr_db"][row["model"]] if row["runtime"] == "onnx-int8" else None
        table.append(
            [
                row["model"],
                row["runtime"],
                f"{row['median_ms']:.1f} ms",
                f"{row['p25_ms']:.1f}-{row['p75_ms']:.1f}",
                f"{row['cpu_median_ms']:.1f} ms",
                f"{row['speedup_vs_teacher_eager']:.2f}x",
                f"{row['speedup_of_cpu_time']:.2f}x",
                f"{row['macs_field'] / 1e9:.2f}G",
                f"{psnr:.1f} dB" if psnr is not None else "",
            ]
        )
    machine = payload["machine"]
    lines = [
        f"Deployment latency, {payload['size']}x{payload['size']}, batch 1, {machine['threads']} threads "
        f"({machine['cpu']}; torch {machine['torch']}, onnxruntime {machine['onnxruntime']})",
        "",
        "```",
        format_table(headers, table),
        "```",
        "",
    ]
    lines += [f"- {who}: {m['describe']}; {m['note']}" for who, m in payload["models"].items()]
    for name, shares in payload["ort_profile_share"].items():
        top = ", ".join(f"{op} {100 * share:.0f} %" for op, share in list(shares.items())[:6])
        lines.append(f"- ONNX Runtime profile, {name}: {top}")
    summary = payload["summary"]
    item = summary.get("mobile int8 speed-up")
    if item:
        lines.append(
            f"- best mobile student in INT8 ONNX Runtime ({item['student']}): {item['value']:.2f}x the teacher in "
            f"PyTorch eager (target {item['target']:g}x: {'met' if item['met'] else 'NOT met'})"
        )
    for who, psnr in summary.get("mobile int8 psnr", {}).items():
        lines.append(
            f"- {who} (trained) INT8 PSNR vs float: {psnr['value']:.2f} dB "
            f"(target 30 dB: {'met' if psnr['met'] else 'NOT met'})"
        )
    lines.append(f"- teacher INT8 PSNR vs float (trained weights): {summary['teacher_int8_psnr_db']:.2f} dB")
    lines.append(f"- load before: `{payload['uptime_before']}`; after: `{payload['uptime_after']}` (2 cores, shared)")
    lines.append(f"- command: `{payload['command']}`")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
