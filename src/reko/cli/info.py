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
from reko.models import GeneratorSpec, load_generator

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
        "block": spec.block,
        "stage_widths": list(spec.stage_widths()),
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
        ("blocks", _BLOCKS[spec.block]),
        ("stage widths", _widths(spec)),
        ("norm", spec.norm + (", dropout 0.5" if spec.dropout else "")),
        ("parameters", f"{info['parameters']:,} ({info['parameters'] / 1e6:.3f}M)"),
        (f"MACs at {size}x{size} (field)", f"{macs.field / 1e9:.2f}G  (torchprofile convention, as papers report)"),
        (f"MACs at {size}x{size} (true)", f"{macs.true / 1e9:.2f}G  (transposed convs without inserted zeros)"),
        ("input size multiple", str(spec.size_multiple)),
    ]
    budget = info["metadata"].get("student.budget")
    if budget:
        rows.append(("chosen for the budget", budget))
    rows += [(f"metadata {k}", v) for k, v in info["metadata"].items() if k != "student.budget"]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0


_BLOCKS = {"conv": "conv (full convolutions)", "mobile": "mobile (depthwise-separable convolutions)"}


def _widths(spec: GeneratorSpec) -> str:
    widths = list(spec.stage_widths())
    if spec.family == "resnet":
        n = spec.n_blocks
        hidden = widths[3 : 3 + n]
        inner = str(hidden[0]) if len(set(hidden)) == 1 else ",".join(map(str, hidden))
        text = f"stem {widths[0]}, down1 {widths[1]}, down2 {widths[2]}, block hidden {inner}, "
        text += f"up1 {widths[3 + n]}, up2 {widths[4 + n]}"
    else:
        text = "encoder " + ", ".join(map(str, widths))
    return text + (" (per-stage widths)" if spec.widths is not None else " (from ngf)")


def _fit(size: int, multiple: int) -> int:
    """Round up to what the network accepts, so `--size 250` still counts something sensible."""
    return max(multiple, -(-size // multiple) * multiple)
