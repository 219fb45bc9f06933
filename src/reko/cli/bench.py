"""Side-by-side cost of a student and its teacher: parameters, MACs, latency, memory, ratios.

MACs are per image in two conventions (field: torchprofile's, as papers report; true: without
the zeros a transposed convolution inserts). Latency is PyTorch eager on the CPU: --warmup
untimed calls, then the median and interquartile range of --repeats timed calls at
--batch-size x 3 x --size x --size, with torch's thread count pinned (--threads) and recorded.
Forward memory is what one forward pass adds, measured in a fresh process from the kernel's
peak-RSS counter. --onnx adds ONNX Runtime (CPU) rows for exported files; --export-formats
exports the student itself (TorchScript, ONNX, INT8 ONNX; each parity-checked) and times it.
Ratios are teacher / row.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reko.cli.values import COUNT, SIDE, THREADS, int_range

HELP = "parameters, MACs, latency and memory of a student next to its teacher"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, help="student checkpoint")
    parser.add_argument("--teacher", required=True, help="teacher checkpoint (the ratios' reference)")
    parser.add_argument("--size", type=SIDE, default=256, help="input height and width")
    parser.add_argument("--batch-size", type=COUNT, default=1, help="images per call")
    parser.add_argument("--threads", type=THREADS, help="torch / ONNX Runtime intra-op threads (default: torch's)")
    parser.add_argument("--warmup", type=int_range(0), default=3, help="untimed calls before timing")
    parser.add_argument("--repeats", type=COUNT, default=10, help="timed calls")
    parser.add_argument(
        "--onnx", nargs="+", action="extend", default=[], metavar="FILE", help="exported models to time (repeatable)"
    )
    parser.add_argument(
        "--export-formats",
        metavar="LIST",
        help="also export the student (parity-checked) and time it: comma list of torchscript,onnx,int8",
    )
    parser.add_argument("--calibration", type=Path, metavar="DIR", help="INT8 calibration images (for int8)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the rows as JSON")


def _say(message: str) -> None:
    print(f"reko bench: {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    import torch

    from reko.errors import RekoError
    from reko.eval.cost import format_cost_table, profile_model, profile_onnx
    from reko.eval.report import write_json
    from reko.models import load_generator

    kinds: list[str] = []
    if args.export_formats:  # check the request before timing anything
        from reko.export.bench import parse_kinds

        kinds = parse_kinds(args.export_formats)
        if "int8" in kinds and args.calibration is None:
            raise RekoError("--export-formats int8 needs calibration images: pass --calibration DIR")
        if "int8" in kinds and not args.calibration.is_dir():
            raise RekoError(f"--calibration {args.calibration} is not a folder of images")
    threads = args.threads or torch.get_num_threads()
    common = {
        "size": args.size,
        "batch_size": args.batch_size,
        "warmup": args.warmup,
        "repeats": args.repeats,
        "threads": threads,
        "memory": not args.no_memory,
    }
    _say(f"timing the teacher ({args.warmup} + {args.repeats} calls, {threads} threads)")
    teacher_row = profile_model("teacher", load_generator(args.teacher), **common)
    _say("timing the student")
    student = load_generator(args.checkpoint)
    student_row = profile_model("student", student, **common)
    rows = [teacher_row, student_row]
    if kinds:
        from reko.export.bench import exported_cost_rows

        _say(f"exporting and timing the student as {', '.join(kinds)}")
        rows += exported_cost_rows(args.checkpoint, kinds, like=student_row, calibration=args.calibration, **common)
    for file in args.onnx:
        _say(f"timing {file} under ONNX Runtime")
        rows.append(profile_onnx(Path(file).name, file, like=student_row, **common))
    print(format_cost_table(rows, baseline="teacher"))
    budget = getattr(student, "checkpoint_metadata", {}).get("student.budget")
    print(f"student: {student.spec.describe()}")
    if budget:
        print(f"chosen for the budget: {budget}")
    if args.json:
        write_json(
            args.json,
            {
                "rows": [r.to_dict() for r in rows],
                "teacher": args.teacher,
                "student": args.checkpoint,
                "student_spec": student.spec.to_dict(),
                "student_budget": budget,
            },
        )
        print(f"wrote {args.json}")
    return 0
