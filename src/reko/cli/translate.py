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
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from reko.errors import RekoError
from reko.translate import DEFAULT_MAX_PIXELS, Forward, TranslateOptions, translate_files

if TYPE_CHECKING:
    from reko.models import GeneratorSpec

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
    sizes.add_argument("--size", type=int, metavar="N", help="resize the shorter side to N, translate, resize back")
    sizes.add_argument("--keep-size", action="store_true", help="translate at the original size (the default)")
    parser.add_argument("--batch-size", type=int, default=1, help="same-size images per call (tiles when tiling)")
    parser.add_argument("--tile", type=int, metavar="N", help="translate in overlapping NxN tiles")
    parser.add_argument("--overlap", type=int, metavar="N", help="tile overlap in pixels (default: tile/4)")
    parser.add_argument(
        "--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, help="tile images with more pixels than this"
    )
    parser.add_argument("--recursive", action="store_true", help="include sub-folders, mirrored in --output")
    parser.add_argument("--skip-bad", action="store_true", help="skip unreadable images with a warning")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu, cuda, cuda:1")
    parser.add_argument(
        "--backend",
        choices=("torch", "onnx", "torchscript"),
        default="torch",
        help="run --checkpoint in PyTorch, or an exported file (reko export) in ONNX Runtime / TorchScript",
    )
    parser.add_argument("--threads", type=int, help="ONNX Runtime intra-op threads (default: torch's)")


def run(args: argparse.Namespace) -> int:
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
    if not Path(args.input).exists():
        raise RekoError(f"input {args.input} does not exist")
    forward, size_multiple = _build_forward(args)
    written = translate_files(
        forward,
        args.input,
        args.output,
        size_multiple,
        options,
        metadata={"reko.checkpoint": str(args.checkpoint)},
    )
    print(f"wrote {len(written)} image{'s' if len(written) != 1 else ''} to {args.output}")
    return 0


def _build_forward(args: argparse.Namespace) -> tuple[Forward, int]:
    """The generator as ``(B, 3, H, W) in [-1, 1] -> (B, 3, H, W)`` plus its size multiple.

    The one place that knows the backend: another backend returns another callable.
    """
    from reko.models import load_generator

    if args.backend != "torch":  # an exported file: its runner checks sizes and runs on CPU
        from reko.export.runtime import load_runner

        if args.device.split(":")[0] != "cpu":
            raise RekoError(f"--backend {args.backend} runs on the CPU; drop --device {args.device}")
        runner = load_runner(args.checkpoint, args.backend, threads=args.threads)
        _require_rgb(args.checkpoint, runner.spec)
        return runner, runner.size_multiple
    device = _device(args.device)
    model = load_generator(args.checkpoint, map_location=device)
    spec = model.spec
    _require_rgb(args.checkpoint, spec)

    def forward(x: torch.Tensor) -> torch.Tensor:
        return model(x.to(device))

    return forward, spec.size_multiple


def _require_rgb(checkpoint: str, spec: GeneratorSpec) -> None:
    if spec.in_channels != 3 or spec.out_channels != 3:
        raise RekoError(
            f"{checkpoint}: translate needs an RGB generator (3 channels in and out), this one has "
            f"{spec.in_channels} in and {spec.out_channels} out"
        )


def _device(name: str) -> torch.device:
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise RekoError(f"--device {name!r} is not a torch device ({error})") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RekoError(f"--device {name}: CUDA is not available on this machine; use --device cpu")
    return device
