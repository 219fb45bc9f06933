"""Export a generator checkpoint to ONNX or TorchScript, then check it against PyTorch.

The exported file runs next to the PyTorch model on real images (--test-images; by default
$REKO_SHARED/data/horse2zebra/testA when that is set, else the 8 demo photos shipped with reko, as
the report says) and
must match it: float exports within --max-abs-diff (default 1e-3, an eighth of one 8-bit level),
INT8 exports above --min-psnr dB (default 30). On a mismatch nothing is written and the exit
status is 1. Dynamic exports (--dynamic) accept any height and width that are multiples of the
generator's factor (4 for ResNet, 2**num_downs for U-Net) and are checked at two sizes.

--int8 quantises statically with ONNX Runtime (QDQ, per-channel INT8 weights, convolutions
only, InstanceNorm channel equalisation first), calibrated on --calibration DIR; its report adds
the PSNR and FID/KID of the INT8 outputs against the float outputs on the test images, which must
not include calibration images.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reko.atomic import ensure_writable_dir
from reko.cli.inception_options import add_inception_file_arguments
from reko.cli.values import COUNT, SIDE, THREADS
from reko.errors import RekoError

HELP = "export a checkpoint to ONNX / TorchScript (optionally INT8) and check it against PyTorch"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from reko.export.onnx import DEFAULT_OPSET, EXPORTERS
    from reko.export.parity import FLOAT_MAX_ABS, INT8_MIN_PSNR
    from reko.export.quantize import ACTIVATION_TYPES, CALIBRATION_METHODS, QUANT_FORMATS

    parser.add_argument("--checkpoint", required=True, help="generator (.safetensors or pix2pix/CycleGAN .pth)")
    parser.add_argument("--format", choices=("onnx", "torchscript"), default="onnx", help="what to export to")
    parser.add_argument("--out", required=True, type=Path, help="the exported file (.onnx or .pt)")
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--size", type=SIDE, default=256, help="fixed input height and width (dynamic: checked at 256)")
    sizes.add_argument("--dynamic", action="store_true", help="any height/width that is a multiple of the factor")
    parser.add_argument(
        "--opset", type=int, default=DEFAULT_OPSET, help="ONNX opset (11-17 use the TorchScript exporter)"
    )
    parser.add_argument(
        "--exporter", choices=EXPORTERS, default="auto", help="torch.onnx exporter (auto: dynamo from opset 18)"
    )
    int8 = parser.add_argument_group("INT8 (ONNX only)")
    int8.add_argument("--int8", action="store_true", help="static INT8 quantisation with ONNX Runtime")
    int8.add_argument("--calibration", type=Path, metavar="DIR", help="images to calibrate activation ranges on")
    int8.add_argument("--calibration-count", type=COUNT, default=32, help="calibration images used (first N, sorted)")
    int8.add_argument("--calibration-method", choices=CALIBRATION_METHODS, default="percentile", help="range estimator")
    int8.add_argument("--activation-type", choices=ACTIVATION_TYPES, default="int8", help="activation integer type")
    int8.add_argument("--quant-format", choices=QUANT_FORMATS, default="qdq", help="ONNX quantised graph form")
    int8.add_argument("--no-equalize", action="store_true", help="skip InstanceNorm channel equalisation")
    int8.add_argument("--quality-count", type=COUNT, default=100, help="test images for INT8 PSNR and FID/KID")
    int8.add_argument("--no-fid", action="store_true", help="skip FID/KID (PSNR only)")
    add_inception_file_arguments(int8)
    check = parser.add_argument_group("parity check")
    check.add_argument("--test-images", type=Path, metavar="DIR", help="real images to compare on (None: see above)")
    check.add_argument("--parity-count", type=COUNT, default=4, help="images per checked size")
    check.add_argument("--max-abs-diff", type=float, default=FLOAT_MAX_ABS, help="float tolerance on |output diff|")
    check.add_argument("--min-psnr", type=float, default=INT8_MIN_PSNR, help="INT8 tolerance: PSNR vs float, dB")
    parser.add_argument("--threads", type=THREADS, help="ONNX Runtime intra-op threads (None: torch's)")
    parser.add_argument("--no-rewrites", action="store_true", help="export the graph as built (no head phase split)")
    parser.add_argument("--report", type=Path, metavar="FILE", help="also write the report as JSON")


def run(args: argparse.Namespace) -> int:
    from reko import api
    from reko.eval.report import write_json
    from reko.export.parity import ParityError
    from reko.export.pipeline import ExportOptions
    from reko.export.quantize import Int8Settings

    if args.format != "onnx" and args.exporter != "auto":
        raise RekoError("--exporter applies to --format onnx only")
    if args.out.is_dir():
        raise RekoError(f"--out {args.out} is a folder: name the exported file (e.g. {args.out / 'student.onnx'})")
    ensure_writable_dir(args.out.parent, "--out folder")  # before the export, not after it
    if args.report:
        ensure_writable_dir(Path(args.report).parent, "--report folder")
    options = ExportOptions(
        format=args.format,
        size=args.size,
        dynamic=args.dynamic,
        opset=args.opset,
        exporter=args.exporter,
        int8=args.int8,
        calibration=args.calibration,
        calibration_count=args.calibration_count,
        int8_settings=Int8Settings(
            calibration_method=args.calibration_method,
            activation_type=args.activation_type,
            quant_format=args.quant_format,
            equalize=not args.no_equalize,
        ),
        test_images=args.test_images,
        parity_count=args.parity_count,
        max_abs=args.max_abs_diff,
        min_psnr=args.min_psnr,
        quality_count=args.quality_count,
        fid=not args.no_fid,
        inception=args.inception,
        trust_inception=args.trust_inception,
        threads=args.threads,
        rewrites=not args.no_rewrites,
    )
    try:
        report = api.export(args.checkpoint, args.out, options)
    except ParityError as error:
        print(f"reko export: parity check FAILED: {error}", file=sys.stderr)
        print(f"reko export: {args.out} was not written", file=sys.stderr)
        return 1
    print(report.format())
    if args.report:
        write_json(args.report, report.to_dict())
        print(f"wrote {args.report}")
    return 0
