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
  reko distill --teacher teacher.pth --data photos/ --out runs/mobile --target-macs 2.7G
  reko distill --resume runs/reko
  torchrun --nproc_per_node=2 -m reko distill ...   (data-parallel; gloo on CPU, NCCL on GPU)
"""

from __future__ import annotations

import argparse
import sys

from reko.cli.run_options import add_run_arguments, flag_overrides, resume_overrides, summary

HELP = "distil a teacher generator into a small student (ReKo and baselines)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--teacher", metavar="CKPT", default=None, help="teacher checkpoint (.safetensors or pix2pix .pth)"
    )
    parser.add_argument("--teacher-ba", metavar="CKPT", default=None, help="B->A teacher: distil both directions")
    parser.add_argument("--data", metavar="DIR", default=None, help="image folder, pix2pix root or CycleGAN root")
    parser.add_argument("--out", metavar="RUN_DIR", default=None, help="run folder to create")
    parser.add_argument(
        "--target-macs",
        metavar="N",
        default=None,
        help="MACs budget (field convention at student.budget_size, 256): e.g. 2.7G; picks the widest "
        "uniform scaling of the teacher that fits, conv or mobile blocks (= --set student.target_macs=N)",
    )
    parser.add_argument(
        "--target-params", metavar="N", default=None, help="parameter budget, e.g. 300k (= student.target_params)"
    )
    add_run_arguments(parser, "student.ngf=16 distill.method=output train.steps=500")
    from reko.distill.registry import method_names

    parser.epilog = (
        f"methods (--set distill.method=NAME, default reko): {', '.join(method_names())}; "
        "what each compares, its paper and weights: docs/methods.md"
    )


def run(args: argparse.Namespace) -> int:
    from reko import api
    from reko.config import load_config
    from reko.distill.config import DistillConfig

    if args.resume:
        overrides = resume_overrides(args, ("teacher", "teacher_ba", "data", "out", "target_macs", "target_params"))
        result = api.resume(args.resume, overrides, stop_at=args.stop_at)
    else:
        flags = flag_overrides(
            [
                ("teacher", args.teacher),
                ("teacher_ba", args.teacher_ba),
                ("data.root", args.data),
                ("out", args.out),
                ("student.target_macs", args.target_macs),
                ("student.target_params", args.target_params),
            ]
        )
        config = load_config(DistillConfig, args.config, [*args.set, *flags])
        result = api.distill(config, stop_at=args.stop_at)
    print(summary(result), file=sys.stderr)
    return 0
