"""Translate images of any size with a generator checkpoint; writes PNGs with the same stems.

Sizes: by default (--keep-size) each image is reflect-padded to what the network accepts,
translated and cropped back. --size N resizes the shorter side to N (aspect ratio kept, bicubic)
before translating and resizes the result back, so every output has its input's size.
Images above --max-pixels, or larger than --tile, are translated in overlapping tiles blended
with a smooth window. With --aligned the inputs are pix2pix side-by-side A|B images and
--direction picks the half to translate (AtoB: left); otherwise --direction is only recorded
in the PNGs' text metadata, with the checkpoint and the source file. --backend onnx|torchscript
runs a file written by `reko export` instead of a checkpoint (ONNX Runtime / TorchScript, CPU).
"""

from __future__ import annotations

import argparse

from reko.cli.values import COUNT, SIDE, THREADS, int_range
from reko.translate import DEFAULT_MAX_PIXELS, TranslateOptions

HELP = "translate an image or a folder of images with a generator checkpoint"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint", required=True, help="generator (.safetensors or pix2pix/CycleGAN .pth; see --backend)"
    )
    parser.add_argument("--input", required=True, help="an image file or a folder of images")
    parser.add_argument("--output", required=True, help="folder for the translated PNGs (created if missing)")
    parser.add_argument("--direction", choices=("AtoB", "BtoA"), default="AtoB", help="which half of --aligned inputs")
    parser.add_argument("--aligned", action="store_true", help="inputs are pix2pix side-by-side A|B images")
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--size", type=SIDE, metavar="N", help="resize the shorter side to N, translate, resize back")
    sizes.add_argument("--keep-size", action="store_true", help="translate at the original size (the default)")
    parser.add_argument("--batch-size", type=COUNT, default=1, help="same-size images per call (tiles when tiling)")
    parser.add_argument("--tile", type=SIDE, metavar="N", help="translate in overlapping NxN tiles")
    parser.add_argument("--overlap", type=int_range(0), metavar="N", help="tile overlap in pixels (default: tile/4)")
    parser.add_argument(
        "--max-pixels", type=COUNT, default=DEFAULT_MAX_PIXELS, help="tile images with more pixels than this"
    )
    parser.add_argument("--recursive", action="store_true", help="include sub-folders, mirrored in --output")
    parser.add_argument("--skip-bad", action="store_true", help="skip unreadable images with a warning")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu, cuda, cuda:1")
    parser.add_argument(
        "--backend",
        choices=("torch", "onnx", "torchscript"),
        default="torch",
        help="run --checkpoint in PyTorch, or an exported file (reko export) in ONNX Runtime / TorchScript. "
        "A TorchScript file runs the code it carries when loaded: use only files you exported or trust",
    )
    parser.add_argument("--threads", type=THREADS, help="ONNX Runtime intra-op threads (default: torch's)")


def run(args: argparse.Namespace) -> int:
    from reko import api

    options = TranslateOptions(
        size=args.size,
        direction=args.direction,
        aligned=args.aligned,
        batch_size=args.batch_size,
        tile=args.tile,
        overlap=args.overlap,
        max_pixels=args.max_pixels,
        recursive=args.recursive,
        skip_bad=args.skip_bad,
    )
    written = api.translate(
        args.checkpoint,
        args.input,
        args.output,
        options,
        backend=args.backend,
        device=args.device,
        threads=args.threads,
    )
    print(f"wrote {len(written)} image{'s' if len(written) != 1 else ''} to {args.output}")
    return 0
