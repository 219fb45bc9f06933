"""Optional dependencies: which extra of ``pip install "reko[...]"`` brings which module.

``pip install reko`` brings what training, distillation, evaluation and TorchScript export need.
The parts below are extras (pyproject.toml, the README's table), imported only where they are
used, so that ``import reko`` and ``reko --help`` work without them and a missing one fails with
one `RekoError` naming the extra to install:

=============  ===================================  ===================================================
extra          modules                              used by
=============  ===================================  ===================================================
``export``     onnx, onnxscript, onnxruntime        ONNX export and its parity check, INT8, ONNX timing
``report``     matplotlib                           ``reko report``'s figures
``tensorboard`` tensorboard                         TensorBoard event files (``scalars.jsonl`` is always written)
``perceptual`` (stlpips-pytorch's weight files)     ST-LPIPS; checked by `reko.perceptual.weights`
=============  ===================================  ===================================================
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import Any

from reko.errors import RekoError

EXTRA_OF: dict[str, str] = {
    "onnx": "export",
    "onnxscript": "export",
    "onnxruntime": "export",
    "matplotlib": "report",
    "tensorboard": "tensorboard",
}


def missing_extra(module: str, what: str) -> RekoError:
    """The error for ``what`` (e.g. ``ONNX export``) when ``module`` is not installed."""
    package = module.split(".")[0]
    return RekoError(f'{what} needs {package}, which is not installed: pip install "reko[{EXTRA_OF[package]}]"')


def require(module: str, what: str) -> ModuleType:
    """``import module`` (e.g. ``onnxruntime.quantization``), or `missing_extra` if its package (or an
    optional package it imports, e.g. onnxscript's onnx) is not installed.

    An installed package that fails to import for another reason raises its own error.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        missing = (error.name or "").split(".")[0]
        if missing == module.split(".")[0] or missing in EXTRA_OF:
            raise missing_extra(missing, what) from None
        raise


def installed(module: str) -> bool:
    """Whether ``module`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a blocked or half-removed module
        return False


class LazyModule:
    """A module imported on first attribute access through `require`: a file can keep ``onnx.load(...)``
    while importing that file needs no onnx (``onnx = LazyModule("onnx", "ONNX export")``)."""

    def __init__(self, module: str, what: str) -> None:
        self._module, self._what = module, what

    def __getattr__(self, name: str) -> Any:
        return getattr(require(self._module, self._what), name)
