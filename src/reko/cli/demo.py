"""Run the whole job end to end on files shipped with reko: no download, no other file, a few minutes on a CPU.

Distils the shipped small teacher (a ResNet-9 with 16 base filters, itself distilled from a real
CycleGAN generator that gives photographs a vintage look; see reko/demo_data/README.md) into a
4x smaller student (ngf 8) with ReKo on 24 shipped photos at 128x128; evaluates the student
against the teacher on 8 held-out photos (PSNR, SSIM, L1; FID/KID only if an Inception network
is found locally); exports it to ONNX with the parity check (a mismatch stops the demo, exit 1);
measures parameters, MACs and latency; and writes an HTML report, whose path it prints last.

The run folder is an ordinary `reko distill` folder. A folder that already holds a run is refused;
--resume continues an interrupted demo (Ctrl-C saves the state), or redoes the evaluation, export
and report of a finished one. One thread by default: on a busy 2-core machine two threads made a
step 40x slower (OpenMP threads spin while they wait for a core); try --threads 2 on an idle one.
See docs/demo.md.

Examples:
  reko demo
  reko demo --out runs/demo2 --steps 600 --threads 2
  reko demo --out runs/demo --resume
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reko.cli.inception_options import add_inception_file_arguments
from reko.cli.values import COUNT, THREADS

HELP = "distil, evaluate, export and report on the shipped sample set (a few minutes, no download)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="RUN_DIR", type=Path, default=Path("runs/demo"), help="run folder to create")
    parser.add_argument(
        "--steps", metavar="N", type=COUNT, default=None, help="distillation steps (None: 1000, or a resumed run's own)"
    )
    parser.add_argument(
        "--threads",
        metavar="N",
        type=THREADS,
        default=1,
        help="CPU threads (2 is faster only on an idle 2-core machine)",
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in --out (or redo evaluation, export, report)"
    )
    parser.add_argument("--no-fid", action="store_true", help="skip FID/KID even if an Inception network is found")
    add_inception_file_arguments(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from reko.demo import DemoOptions, run_demo, summary
    from reko.export.parity import ParityError

    options = DemoOptions(
        out=args.out,
        steps=args.steps,
        threads=args.threads,
        resume=args.resume,
        fid=not args.no_fid,
        inception=args.inception,
        trust_inception=args.trust_inception,
        progress=not args.no_progress,
    )
    try:
        result = run_demo(options)
    except ParityError as error:
        print(f"reko demo: parity check FAILED: {error}", file=sys.stderr)
        print("reko demo: the ONNX file was not written and no report was made", file=sys.stderr)
        return 1
    print(summary(result))
    return 0 if result.finished else 130
