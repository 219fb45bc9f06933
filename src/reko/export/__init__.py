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

from __future__ import annotations

import importlib
from typing import Any

# Public name -> the module that defines it. Imported on first use, so that `reko --help` and
# `import reko.export.onnx` do not pay for ONNX Runtime's quantisation tooling.
_PUBLIC: dict[str, str] = {
    "BACKENDS": "reko.export.runtime",
    "DEFAULT_OPSET": "reko.export.onnx",
    "EXPORT_FORMATS": "reko.export.metadata",
    "FLOAT_TOLERANCE": "reko.export.parity",
    "INT8_TOLERANCE": "reko.export.parity",
    "ExportInfo": "reko.export.metadata",
    "ExportOptions": "reko.export.pipeline",
    "ExportReport": "reko.export.report",
    "Int8Settings": "reko.export.quantize",
    "ParityError": "reko.export.parity",
    "ParityResult": "reko.export.parity",
    "Runner": "reko.export.runtime",
    "Tolerance": "reko.export.parity",
    "check_parity": "reko.export.parity",
    "export_checkpoint": "reko.export.pipeline",
    "export_onnx": "reko.export.onnx",
    "export_torchscript": "reko.export.torchscript",
    "load_runner": "reko.export.runtime",
    "psnr": "reko.export.parity",
    "quantize_int8": "reko.export.quantize",
    "require_parity": "reko.export.parity",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'reko.export' has no attribute {name!r}")
    return getattr(importlib.import_module(_PUBLIC[name]), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
