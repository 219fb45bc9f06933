"""Train every method with every seed under identical settings and compare them in one table.

Each (method, seed) is a `reko distill` run in OUT/runs/<method>/seed<k>/: same steps, same data
order and same initial student for a given seed, whatever the method. Each student is evaluated on
held-out images against the teacher (FID/KID, PSNR/SSIM) and against real data where there is some;
parameters, MACs (field and true conventions) and CPU latency are measured too. The results go to
OUT/comparison.json and OUT/comparison.md (mean ± std over seeds, the teacher's row for reference).
Rerunning the same command resumes: finished runs are not repeated.

Examples:
  reko compare --teacher teacher.pth --data ../shared/data/horse2zebra/trainA \\
      --methods none,output,feature,reko --seeds 3 --steps 2000 --out runs/compare
  reko compare ... --size 128 --eval-limit 50 --set train.batch_size=4 --metrics paired
"""

from __future__ import annotations

import argparse

from reko.cli.inception_options import add_inception_file_arguments
from reko.cli.run_options import add_set_argument
from reko.cli.values import COUNT, SIDE, THREADS, int_range

HELP = "train several distillation methods identically and compare them in one table"


def _csv(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--teacher", metavar="CKPT", required=True, help="teacher checkpoint")
    parser.add_argument(
        "--data", metavar="DIR", required=True, help="training images (a photo folder, or a pix2pix root)"
    )
    parser.add_argument("--out", metavar="DIR", required=True, help="comparison folder (created or resumed)")
    parser.add_argument(
        "--methods", type=_csv, default=("none", "output", "feature", "reko"), help="comma-separated method names"
    )
    parser.add_argument("--seeds", type=COUNT, default=3, help="number of seeds (0 .. N-1) per method")
    parser.add_argument("--steps", type=COUNT, default=1000, help="training steps per run")
    parser.add_argument("--size", type=SIDE, default=256, help="training crop and evaluation size (pixels)")
    parser.add_argument("--student-ngf", type=COUNT, default=None, help="student base width (default: config's)")
    parser.add_argument("--config", metavar="YAML", default=None, help="distill config applied to every run")
    add_set_argument(
        parser, "config overrides for every run, e.g. train.batch_size=4 (not distill.method or train.seed)"
    )
    parser.add_argument(
        "--eval-data", metavar="DIR", default=None, help="held-out images (default: the data's test split)"
    )
    parser.add_argument(
        "--eval-limit",
        type=int_range(2, note=" (FID needs two images)"),
        default=None,
        help="evaluate on the first N held-out images",
    )
    parser.add_argument(
        "--eval-target", metavar="DIR", default=None, help="real target-domain images for FID/KID vs real"
    )
    parser.add_argument(
        "--metrics",
        type=_csv,
        default=("paired", "fid"),
        help="metric groups: paired (PSNR/SSIM/L1), fid (FID/KID; runs Inception, slow on CPU)",
    )
    add_inception_file_arguments(parser)
    parser.add_argument("--latency-repeats", type=COUNT, default=20, help="timed forward passes per model")
    parser.add_argument(
        "--latency-threads", type=THREADS, default=None, help="torch threads while timing (default: current count)"
    )


def run(args: argparse.Namespace) -> int:
    from reko.compare import CompareSettings, compare

    settings = CompareSettings(
        teacher=args.teacher,
        data=args.data,
        out=args.out,
        methods=args.methods,
        seeds=args.seeds,
        steps=args.steps,
        size=args.size,
        config=args.config,
        overrides=tuple(args.set),
        student_ngf=args.student_ngf,
        eval_data=args.eval_data,
        eval_limit=args.eval_limit,
        eval_target=args.eval_target,
        metrics=args.metrics,
        inception=args.inception,
        trust_inception=args.trust_inception,
        latency_repeats=args.latency_repeats,
        latency_threads=args.latency_threads,
    )
    result = compare(settings)
    if result.failed:
        print(f"reko compare: {len(result.failed)} run(s) failed; see {result.out_dir / 'comparison.md'}")
        return 1
    if result.pending:
        return 130
    print((result.out_dir / "comparison.md").read_text(encoding="utf-8"))
    return 0
