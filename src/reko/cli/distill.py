"""Train a small student generator from a frozen teacher (ReKo or a baseline method).

Modes (``--set mode=...``, default auto):
  unpaired   --data is any folder of photos: the teacher's outputs are the targets
  paired     --data is a pix2pix folder with train/ (and val/): GAN + L1 to ground truth + distillation
  cyclegan   --teacher-ba given, --data a CycleGAN folder (trainA/ trainB/): two students

Everything goes into RUN_DIR: config.yaml, state.pt, student_latest/best.safetensors, scalars.jsonl,
images/ (grids), tensorboard/. Stop with Ctrl-C (the state is saved) and continue with --resume.

Examples:
  reko distill --teacher teacher.pth --data photos/ --out runs/reko --config configs/distill_horse2zebra_128.yaml
  reko distill --teacher teacher.pth --data photos/ --out runs/small --set student.ngf=16 train.steps=2000
  reko distill --resume runs/reko
  torchrun --nproc_per_node=2 -m reko distill ...   (data-parallel; gloo on CPU, NCCL on GPU)
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from reko.errors import RekoError

if TYPE_CHECKING:  # the run machinery imports torch: only when the command runs
    from reko.train.run import RunResult

HELP = "distil a teacher generator into a small student (ReKo and baselines)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--teacher", metavar="CKPT", default=None, help="teacher checkpoint (.safetensors or pix2pix .pth)"
    )
    parser.add_argument("--teacher-ba", metavar="CKPT", default=None, help="B->A teacher: distil both directions")
    parser.add_argument("--data", metavar="DIR", default=None, help="image folder, pix2pix root or CycleGAN root")
    parser.add_argument("--out", metavar="RUN_DIR", default=None, help="run folder to create")
    parser.add_argument("--config", metavar="YAML", default=None, help="config file (overrides the defaults)")
    parser.add_argument(
        "--set",
        metavar="KEY=VALUE",
        nargs="+",
        action="extend",
        default=[],
        help="config overrides, e.g. student.ngf=16 distill.method=output train.steps=500",
    )
    parser.add_argument("--resume", metavar="RUN_DIR", default=None, help="continue a stopped run from its state")
    parser.add_argument("--stop-at", metavar="STEP", type=int, default=None, help="stop (resumably) after this step")


def run(args: argparse.Namespace) -> int:
    from reko.config import DistillConfig, load_config, parse_override
    from reko.distill.run import distill, resume

    if args.resume:
        if args.teacher or args.teacher_ba or args.data or args.config or args.out:
            raise RekoError("--resume uses the run's own config.yaml; change values with --set key=value")
        overrides = dict(parse_override(text) for text in args.set)
        result = resume(args.resume, overrides, stop_at=args.stop_at)
    else:
        flags = [
            f"{key}={value}"
            for key, value in (
                ("teacher", args.teacher),
                ("teacher_ba", args.teacher_ba),
                ("data.root", args.data),
                ("out", args.out),
            )
            if value is not None
        ]
        config = load_config(DistillConfig, args.config, [*args.set, *flags])
        result = distill(config, stop_at=args.stop_at)
    print(summary(result), file=sys.stderr)
    return 0


def summary(result: RunResult) -> str:
    """What a run left behind, for the terminal."""
    state = "finished" if result.finished else f"stopped; continue with --resume {result.out_dir}"
    lines = [f"step {result.step} ({state})"]
    for name, path in result.latest.items():
        lines.append(f"  {name}: {path}")
    for name, path in result.best.items():
        lines.append(f"  {name} (best on validation): {path}")
    if result.metrics:
        lines.append("  validation: " + ", ".join(f"{k} {v:.4g}" for k, v in result.metrics.items()))
    return "\n".join(lines)
