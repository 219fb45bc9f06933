"""Train a pix2pix or CycleGAN teacher generator from scratch.

pix2pix (``model: pix2pix``, paired data): GAN + L1 (lambda 100), conditional PatchGAN.
CycleGAN (``model: cyclegan``, unpaired data): two generators and discriminators, cycle 10,
identity 0.5, a history pool of 50 images. Both: LSGAN / vanilla / hinge (``loss.gan_mode``),
Adam 2e-4 with betas (0.5, 0.999), constant then linearly decaying learning rate.

Examples:
  reko train --config configs/pix2pix_facades.yaml --out runs/facades
  reko train --config configs/cyclegan_horse2zebra.yaml --set train.steps=20000 --out runs/h2z
  reko train --resume runs/facades
"""

from __future__ import annotations

import argparse
import sys

from reko.cli.run_options import add_run_arguments, flag_overrides, resume_overrides, summary

HELP = "train a pix2pix or CycleGAN teacher from scratch"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", metavar="DIR", default=None, help="dataset root (sets data.root)")
    parser.add_argument("--out", metavar="RUN_DIR", default=None, help="run folder to create (sets out)")
    add_run_arguments(parser, "model=cyclegan generator.ngf=32 train.steps=500")


def run(args: argparse.Namespace) -> int:
    from reko import api
    from reko.config import TeacherConfig, load_config

    if args.resume:
        result = api.resume(args.resume, resume_overrides(args, ("data", "out")), stop_at=args.stop_at)
    else:
        flags = flag_overrides([("data.root", args.data), ("out", args.out)])
        config = load_config(TeacherConfig, args.config, [*args.set, *flags])
        result = api.train_teacher(config, stop_at=args.stop_at)
    print(summary(result), file=sys.stderr)
    return 0
