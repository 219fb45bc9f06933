"""Evaluate a generator checkpoint on a test split; print a table and write eval.json.

Paired data (--paired; pix2pix aligned A|B images or A/ + B/ folders, --direction picks the
input side): PSNR, SSIM and L1 against the ground truth and FID/KID against the real targets.
Unpaired data (a folder of input images): FID/KID against --real (a folder of real images of
the target domain). With --teacher, the teacher runs on the same inputs: its own row, and the
student's fidelity to it (FID/KID/PSNR/SSIM/L1/ST-LPIPS of student vs teacher outputs; ST-LPIPS
with the `perceptual` extra). --metrics miou
segments the outputs with DRN-D-105 (Cityscapes labels->photo; --labels input uses the input
colour label maps, or give a folder of label maps named like the inputs).

Every number is recorded with its protocol, the Inception file's checksum, image counts and
sizes. Choose checkpoints on a validation split and report the test split once.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from reko.atomic import ensure_writable_dir
from reko.cli.fid import add_inception_arguments, build_extractor
from reko.cli.values import COUNT, MAX_SIDE, int_range
from reko.errors import RekoError

HELP = "evaluate a generator: FID/KID, PSNR/SSIM/L1, fidelity to a teacher, mIoU"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, help="student/generator checkpoint")
    parser.add_argument("--data", required=True, type=Path, help="folder of inputs, or a paired dataset (split)")
    parser.add_argument("--teacher", help="teacher checkpoint: adds its row and the student's fidelity to it")
    parser.add_argument("--paired", action="store_true", help="--data is paired (aligned A|B or A/ + B/)")
    parser.add_argument("--split", help="split sub-folder of a paired dataset (e.g. val, test)")
    parser.add_argument("--direction", choices=("AtoB", "BtoA"), default="AtoB", help="paired input side")
    parser.add_argument("--real", type=Path, help="folder of real target-domain images (unpaired FID reference)")
    parser.add_argument(
        "--metrics", help="comma list of fid,kid,psnr,ssim,l1,stlpips,miou (default: what the data allows)"
    )
    parser.add_argument(
        "--size",
        type=int_range(0, MAX_SIDE, " (pixels; 0 keeps their size)"),
        default=256,
        help="resize images to SIZE x SIZE; 0 keeps their size",
    )
    parser.add_argument("--batch-size", type=COUNT, default=4, help="images per generator call")
    parser.add_argument("--limit", type=COUNT, help="evaluate only the first N inputs")
    parser.add_argument("--out", default="eval.json", help="where to write the report: a .json file, or a folder")
    parser.add_argument("--labels", help="'input' or a folder of label maps (for miou)")
    parser.add_argument("--label-format", choices=("color", "ids", "trainids"), default="color", help="label map files")
    parser.add_argument("--drn", metavar="FILE", help="DRN-D-105 Cityscapes weights (for miou)")
    parser.add_argument("--device", default="cpu", help="torch device")
    add_inception_arguments(parser)


def run(args: argparse.Namespace) -> int:
    import torch

    from reko import api
    from reko.eval.evaluate import EvalConfig, resolve_metrics
    from reko.eval.report import format_results, write_json

    if args.limit is not None and args.limit < 1:
        raise RekoError(f"--limit must be >= 1, got {args.limit}")
    if args.threads:
        torch.set_num_threads(args.threads)
    config = EvalConfig(
        data=args.data,
        paired=args.paired,
        split=args.split,
        direction=args.direction,
        real=args.real,
        metrics=tuple(m.strip() for m in args.metrics.split(",") if m.strip()) if args.metrics else None,
        size=args.size or None,
        batch_size=args.batch_size,
        limit=args.limit,
        kid_subsets=args.kid_subsets,
        kid_subset_size=args.kid_subset_size,
        seed=args.seed,
        cache=not args.no_cache,
        labels=args.labels,
        label_format=args.label_format,
        num_workers=args.workers,
        progress=not args.no_progress,
    )
    metrics = resolve_metrics(config, args.teacher is not None)  # fail on bad flags before loading anything
    out = Path(args.out) if args.out.endswith(".json") else Path(args.out) / "eval.json"
    ensure_writable_dir(out.parent, "--out folder")  # before the work whose result it keeps
    extractor = build_extractor(args) if {"fid", "kid"} & set(metrics) else None
    segmenter = None
    if "miou" in metrics:
        from reko.eval.segmentation import load_drn

        segmenter = load_drn(args.drn, download=not args.no_download)
    report = api.evaluate(
        args.checkpoint, config, teacher=args.teacher, device=args.device, extractor=extractor, segmenter=segmenter
    )
    print(format_results(report))  # first: a failed write below must not lose the numbers
    write_json(out, report)
    print(f"wrote {out}")
    return 0
