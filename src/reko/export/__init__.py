"""Turn a generator checkpoint into deployable files, and prove they compute the same thing.

* ``onnx``: float ONNX export (dynamo or TorchScript exporter, fixed or dynamic H/W).
* ``torchscript``: traced + frozen TorchScript export.
* ``quantize`` (+ ``equalize``): static INT8 ONNX with ONNX Runtime, calibrated on images.
* ``parity``: run PyTorch and an export on the same images; max |diff|, PSNR, tolerances.
* ``runtime``: load a checkpoint / TorchScript / ONNX file as one ``(B, 3, H, W) -> (B, 3, H, W)``
  callable that refuses input sizes the file cannot take (``reko translate --backend``).
* ``pipeline``: ``reko export`` in one function; ``report``: its report; ``quality``: INT8 FID/KID.

Every exported file carries the generator's spec and its export settings (`metadata`), so it
can be run and re-checked with nothing else.
"""

from reko.export.metadata import EXPORT_FORMATS, ExportInfo
from reko.export.onnx import DEFAULT_OPSET, export_onnx
from reko.export.parity import (
    FLOAT_TOLERANCE,
    INT8_TOLERANCE,
    ParityError,
    ParityResult,
    Tolerance,
    check_parity,
    psnr,
    require_parity,
)
from reko.export.pipeline import ExportOptions, export_checkpoint
from reko.export.quantize import Int8Settings, quantize_int8
from reko.export.report import ExportReport
from reko.export.runtime import BACKENDS, Runner, load_runner
from reko.export.torchscript import export_torchscript

__all__ = [
    "BACKENDS",
    "DEFAULT_OPSET",
    "EXPORT_FORMATS",
    "FLOAT_TOLERANCE",
    "INT8_TOLERANCE",
    "ExportInfo",
    "ExportOptions",
    "ExportReport",
    "Int8Settings",
    "ParityError",
    "ParityResult",
    "Runner",
    "Tolerance",
    "check_parity",
    "export_checkpoint",
    "export_onnx",
    "export_torchscript",
    "load_runner",
    "psnr",
    "quantize_int8",
    "require_parity",
]
