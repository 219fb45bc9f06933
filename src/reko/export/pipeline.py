"""``reko export`` as one function: checkpoint -> exported file -> parity check -> report.

The file is written beside its destination under a temporary name, checked against PyTorch on
real (or, lacking any, synthetic) images, and only moved into place when every check passes:
a file that computes something else never reaches ``out``.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from reko.atomic import atomic_path
from reko.errors import RekoError
from reko.export.images import ImageSource, folder_source, test_source
from reko.export.metadata import EXPORT_FORMATS, ExportInfo
from reko.export.onnx import DEFAULT_OPSET, check_export_size, export_onnx
from reko.export.parity import (
    FLOAT_MAX_ABS,
    INT8_MIN_PSNR,
    Tolerance,
    check_parity,
    require_parity,
)
from reko.export.quality import int8_quality
from reko.export.quantize import Int8Settings, quantize_int8
from reko.export.report import ExportReport
from reko.export.rewrites import rewrite_for_export
from reko.export.runtime import TorchRunner, load_runner
from reko.export.torchscript import export_torchscript
from reko.models import GeneratorSpec, load_generator

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class ExportOptions:
    """Everything ``reko export`` can be asked (the CLI's flags, typed).

    Attributes:
        format: ``onnx`` or ``torchscript``.
        size: the fixed input side; with ``dynamic``, the first parity size.
        dynamic: free height and width (checked at two sizes).
        opset / exporter: ONNX only (`reko.export.onnx`).
        int8: static INT8 quantisation (ONNX only), calibrated on ``calibration``.
        calibration / calibration_count: INT8 calibration folder and how many of its images.
        int8_settings: the quantisation recipe.
        test_images: parity (and INT8 quality) images; None = `reko.export.images.default_test_folder`
            when present, else synthetic.
        parity_count: images per parity size.
        max_abs: float tolerance; min_psnr: INT8 tolerance (dB against the float model).
        quality_count: test images for the INT8 PSNR and FID/KID; fid: compute FID/KID.
        inception: the FID network file (default: found as ``reko fid`` finds it).
        threads: ONNX Runtime intra-op threads (default: torch's).
        rewrites: apply `reko.export.rewrites` (exact, faster graphs) before exporting.
    """

    format: str = "onnx"
    size: int = 256
    dynamic: bool = False
    opset: int = DEFAULT_OPSET
    exporter: str = "auto"
    int8: bool = False
    calibration: Path | None = None
    calibration_count: int = 32
    int8_settings: Int8Settings = Int8Settings()
    test_images: Path | None = None
    parity_count: int = 4
    max_abs: float = FLOAT_MAX_ABS
    min_psnr: float = INT8_MIN_PSNR
    quality_count: int = 100
    fid: bool = True
    inception: Path | None = None
    trust_inception: bool = False  # load a TorchScript Inception file of unknown checksum (runs its code)
    threads: int | None = None
    rewrites: bool = True

    def __post_init__(self) -> None:
        if self.format not in EXPORT_FORMATS:
            raise RekoError(f"export format {self.format!r} is not one of {EXPORT_FORMATS}")
        if self.int8 and self.format != "onnx":
            raise RekoError(f"INT8 quantisation is for ONNX exports only, not {self.format}")
        if self.int8 and self.calibration is None:
            raise RekoError(
                "INT8 quantisation needs calibration images: a folder of images to calibrate activation ranges on"
            )
        if not self.int8 and self.calibration is not None:
            raise RekoError("calibration images are only used by INT8 quantisation")
        for name in ("parity_count", "calibration_count", "quality_count"):
            if getattr(self, name) < 1:
                raise RekoError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.max_abs >= 0 or math.isnan(self.min_psnr):
            raise RekoError(f"tolerances must be numbers >= 0, got max_abs={self.max_abs}, min_psnr={self.min_psnr}")

    @property
    def tolerance(self) -> Tolerance:
        return Tolerance(min_psnr=self.min_psnr) if self.int8 else Tolerance(max_abs=self.max_abs)


def export_checkpoint(checkpoint: PathLike, out: PathLike, options: ExportOptions) -> ExportReport:
    """Export the generator in ``checkpoint`` to ``out`` and check it against PyTorch.

    Raises `reko.export.parity.ParityError` (a `RekoError`) when a check fails; ``out`` is then
    left untouched.
    """
    model = load_generator(checkpoint)
    spec: GeneratorSpec = model.spec
    sizes = parity_sizes(options.size, spec, options.dynamic)
    test = test_source(options.test_images)
    calibration = _calibration_source(options, test)
    out = Path(out)
    with atomic_path(out) as staged:
        start = time.perf_counter()
        info = _export(model, staged, options, Path(checkpoint).name, calibration, sizes[0])
        seconds = time.perf_counter() - start
        runner = load_runner(staged, "onnx" if options.format == "onnx" else "torchscript", threads=options.threads)
        reference = TorchRunner(Path(checkpoint), model)
        name = info.kind
        results = [
            check_parity(
                reference, runner, test.load(options.parity_count, h, w), options.tolerance, candidate_name=name
            )
            for h, w in sizes
        ]
        report = ExportReport(
            checkpoint=Path(checkpoint),
            output=out,
            spec=spec,
            info=info,
            parity_images=_describe_use(test, options.parity_count),
            parity=results,
            file_bytes=staged.stat().st_size,
            export_seconds=seconds,
        )
        require_parity(results, f"the exported {name} file")
        if options.int8:
            h, w = sizes[0]
            images = test.load(options.quality_count, h, w)
            report.int8_quality = int8_quality(
                reference,
                runner,
                images,
                _describe_use(test, options.quality_count),
                options.inception,
                options.fid,
                trust_inception=options.trust_inception,
            )
    return report


def parity_sizes(size: int, spec: GeneratorSpec, dynamic: bool) -> list[tuple[int, int]]:
    """(height, width) pairs to check: ``size`` x ``size``, plus for dynamic exports a second,
    non-square size (one multiple shorter, or taller when ``size`` is a single multiple); for
    dynamic exports ``size`` is first rounded to the nearest multiple."""
    multiple = spec.size_multiple
    if not dynamic:
        side = check_export_size(size, spec)
        return [(side, side)]
    side = max(multiple, round(size / multiple) * multiple)
    other = side - multiple if side - multiple >= multiple else side + multiple
    return [(side, side), (other, side)]


def _export(
    model: nn.Module,
    path: Path,
    options: ExportOptions,
    source: str,
    calibration: ImageSource | None,
    calibration_size: tuple[int, int],
) -> ExportInfo:
    size = None if options.dynamic else options.size
    rewrites: tuple[str, ...] = ()
    if options.rewrites:
        model, rewrites = rewrite_for_export(model)
    if options.format == "torchscript":
        return export_torchscript(model, path, size=size, dynamic=options.dynamic, source=source, rewrites=rewrites)
    if not options.int8:
        return export_onnx(
            model,
            path,
            size=size,
            dynamic=options.dynamic,
            opset=options.opset,
            exporter=options.exporter,
            source=source,
            rewrites=rewrites,
        )
    assert calibration is not None
    images = calibration.load(options.calibration_count, *calibration_size)
    return quantize_int8(
        model,
        path,
        [images[i : i + 1] for i in range(len(images))],
        size=size,
        dynamic=options.dynamic,
        opset=options.opset,
        exporter=options.exporter,
        settings=options.int8_settings,
        source=source,
        calibration_source=_describe_use(calibration, options.calibration_count),
        rewrites=rewrites,
    )


def _calibration_source(options: ExportOptions, test: ImageSource) -> ImageSource | None:
    """The calibration folder, refused when it shares images with the test images: INT8
    quality must be measured on images the calibration never saw."""
    if options.calibration is None:
        return None
    calibration = folder_source(options.calibration, what="calibration folder")
    shared = {p.resolve() for p in calibration.paths} & {p.resolve() for p in test.paths}
    if shared:
        example = sorted(shared)[0]
        raise RekoError(
            f"calibration and test images overlap ({len(shared)} files, e.g. {example}): INT8 quality must be "
            f"measured on images calibration never saw; use different test or calibration folders"
        )
    return calibration


def _describe_use(source: ImageSource, count: int) -> str:
    if source.synthetic:
        return f"{count} {source.description}"
    used = min(count, len(source.paths))
    return f"{used} of {source.description}"
