"""Download an official pix2pix/CycleGAN dataset or pretrained generator (needs internet).

Datasets are unpacked under ROOT (default: the reko cache, $REKO_CACHE or ~/.cache/reko);
generators are saved as .pth files that every reko command reads directly. `--list` prints
the catalogue with URLs without downloading anything.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from reko.zoo import CATALOG, download

HELP = "download an official dataset or pretrained generator (or --list them)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="catalogue name, e.g. cyclegan/horse2zebra, cyclegan-model/horse2zebra")
    parser.add_argument("--root", type=Path, default=None, help="where to put it (default: the reko cache)")
    parser.add_argument("--list", action="store_true", help="list the catalogue and exit")


def run(args: argparse.Namespace) -> int:
    if args.list or not args.name:
        width = max(len(n) for n in CATALOG)
        for name, entry in sorted(CATALOG.items()):
            print(f"{name:<{width}}  {entry.layout:<26}  {entry.url}")
        return 0
    print(download(args.name, args.root))
    return 0
