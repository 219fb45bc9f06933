"""Write an HTML report of a run folder or a comparison folder (PNGs beside the page).

The page holds the metrics and cost tables (numbers exactly as in the JSON files), side-by-side
images input | teacher | each student on fixed held-out images, ReKo's score maps and chosen
regions on those images, and the loss and metric curves.

Examples:
  reko report runs/reko_h2z
  reko report comparisons/h2z --images ../shared/data/horse2zebra/testA --num-images 6 --out site/
"""

from __future__ import annotations

import argparse

from reko.cli.values import COUNT, SIDE

HELP = "write an HTML report (tables, images, attention maps, curves) of a run or comparison folder"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="RUN_DIR_OR_COMPARISON_DIR", help="a reko distill or reko compare folder")
    parser.add_argument(
        "--out", metavar="DIR", default=None, help="folder for index.html and its PNGs; PATH/report if not given"
    )
    parser.add_argument(
        "--images",
        metavar="DIR",
        default=None,
        help="input images for the grids; if not given, those the run was evaluated on, else its validation images",
    )
    parser.add_argument("--num-images", metavar="N", type=COUNT, default=4, help="images in the side-by-side grids")
    parser.add_argument(
        "--size",
        metavar="N",
        type=SIDE,
        default=None,
        help="square image side; if not given, the evaluation size or the run's data.crop_size",
    )


def run(args: argparse.Namespace) -> int:
    from reko.report import write_report

    page = write_report(
        args.path,
        out_dir=args.out,
        images=args.images,
        num_images=args.num_images,
        size=args.size,
    )
    print(page)
    return 0
