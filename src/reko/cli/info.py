"""Print a generator checkpoint's architecture, parameter count and MACs.

Reads reko checkpoints (.safetensors) and pytorch-CycleGAN-and-pix2pix generators (.pth).
MACs are given in two conventions: true multiply-accumulates (transposed convolutions counted
from their input) and the field's convention (torchprofile, as GAN Compression, CAT, OMGD and
ReKo report: ResNet-9-blocks ngf=64 = 56.8G at 256x256).
"""

from __future__ import annotations

import argparse
import json

from reko.cli.values import SIDE
from reko.eval.macs import count_macs, count_parameters
from reko.models import load_generator

HELP = "architecture, parameters and MACs of a generator checkpoint"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="generator checkpoint (.safetensors or pix2pix/CycleGAN .pth)")
    parser.add_argument("--size", type=SIDE, default=256, help="input height and width for MAC counting")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    model = load_generator(args.checkpoint)
    spec = model.spec
    size = _fit(args.size, spec.size_multiple)
    macs = count_macs(model, size)
    info = {
        "checkpoint": str(args.checkpoint),
        "family": spec.family,
        "architecture": spec.name,
        "blocks": spec.n_blocks if spec.family == "resnet" else None,
        "num_downs": spec.num_downs if spec.family == "unet" else None,
        "ngf": spec.ngf,
        "norm": spec.norm,
        "dropout": spec.dropout,
        "parameters": count_parameters(model),
        "input_size": size,
        "macs_true": macs.true,
        "macs_field": macs.field,
        "spec": spec.to_dict(),
        "metadata": {k: v for k, v in getattr(model, "checkpoint_metadata", {}).items() if k != "reko.spec"},
    }
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    depth = f"{spec.n_blocks} residual blocks" if spec.family == "resnet" else f"{spec.num_downs} down-samplings"
    rows = [
        ("checkpoint", str(args.checkpoint)),
        ("architecture", f"{spec.name} ({spec.family}, {depth})"),
        ("base width (ngf)", str(spec.ngf)),
        ("norm", spec.norm + (", dropout 0.5" if spec.dropout else "")),
        ("parameters", f"{info['parameters']:,} ({info['parameters'] / 1e6:.3f}M)"),
        (f"MACs at {size}x{size} (field)", f"{macs.field / 1e9:.2f}G  (torchprofile convention, as papers report)"),
        (f"MACs at {size}x{size} (true)", f"{macs.true / 1e9:.2f}G  (transposed convs without inserted zeros)"),
        ("input size multiple", str(spec.size_multiple)),
    ]
    rows += [(f"metadata {k}", v) for k, v in info["metadata"].items()]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0


def _fit(size: int, multiple: int) -> int:
    """Round up to what the network accepts, so `--size 250` still counts something sensible."""
    return max(multiple, -(-size // multiple) * multiple)
