"""Run a generator from any of its forms as one callable: a checkpoint (PyTorch eager), a
TorchScript file or an ONNX file (float or INT8) under ONNX Runtime.

Every runner is ``(B, C, H, W) float32 in [-1, 1] -> (B, C_out, H, W)`` on CPU tensors and knows
the generator's spec; exported files also know the input sizes they accept and refuse others
with a `RekoError` *before* running (ONNX Runtime would run a ResNet on a wrong size and return
an image of another size). `load_runner` is what ``reko translate --backend`` and the latency
benchmarks use.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from reko.errors import RekoError
from reko.export.metadata import KEYS, ExportInfo, parse_metadata
from reko.extras import require
from reko.models import GeneratorSpec

PathLike = str | os.PathLike[str]
BACKENDS: tuple[str, ...] = ("torch", "onnx", "torchscript")


class Runner:
    """A generator behind ``__call__``; subclasses implement `_run`.

    Attributes:
        name: what it is, for tables (``onnx``, ``onnx-int8``, ``torchscript``, ``torch``).
        path: the file it came from.
        spec: the generator's architecture.
        info: export settings (None for a checkpoint run by PyTorch).
    """

    name = "runner"

    def __init__(self, path: Path, spec: GeneratorSpec, info: ExportInfo | None) -> None:
        self.path = path
        self.spec = spec
        self.info = info

    @property
    def size_multiple(self) -> int:
        return self.spec.size_multiple

    def check_input(self, x: torch.Tensor) -> None:
        """`RekoError` unless ``x`` is ``(B, in_channels, H, W)`` with a size this form accepts."""
        if x.dim() != 4 or x.shape[1] != self.spec.in_channels:
            raise RekoError(
                f"{self.path}: expects (B, {self.spec.in_channels}, H, W) images, got shape {tuple(x.shape)}"
            )
        height, width = int(x.shape[2]), int(x.shape[3])
        if self.info is not None:
            self.info.check_size(height, width)
        elif height % self.size_multiple or width % self.size_multiple or min(height, width) < 1:
            raise RekoError(
                f"input {height}x{width} does not fit {self.spec.describe()}: height and width must be "
                f"multiples of {self.size_multiple}"
            )

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return self._run(x.detach().to("cpu", torch.float32))

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class TorchRunner(Runner):
    """A generator checkpoint in PyTorch eager mode (the reference every export is checked against)."""

    name = "torch"

    def __init__(self, path: Path, model: nn.Module) -> None:
        super().__init__(path, model.spec, None)
        self.model = model.eval()

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return self.model(x)


class TorchScriptRunner(Runner):
    """A TorchScript file from `reko.export.torchscript`, optionally through
    ``torch.jit.optimize_for_inference`` (oneDNN-prepacked convolutions; applied at load time
    because such graphs cannot be saved)."""

    def __init__(self, path: Path, optimize: bool = True) -> None:
        extra = dict.fromkeys(KEYS, "")
        try:
            module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
        except Exception as error:  # noqa: BLE001 - torch raises RuntimeError and others
            raise RekoError(f"{path}: not a readable TorchScript file ({_first_line(error)})") from None
        entries = {k: v.decode() if isinstance(v, bytes) else str(v) for k, v in extra.items() if v}
        spec, info = parse_metadata(entries, path)
        super().__init__(path, spec, info)
        module.eval()
        if optimize:
            module = torch.jit.optimize_for_inference(module)
        self.module = module
        self.optimized = optimize
        self.name = info.kind

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return self.module(x)


class OnnxRunner(Runner):
    """An ONNX file (float or INT8) in an ONNX Runtime CPU session (`onnx_session`)."""

    def __init__(self, path: Path, threads: int | None = None) -> None:
        onnx = require("onnx", "running an ONNX file")
        try:
            proto = onnx.load(str(path), load_external_data=False)
        except Exception as error:  # noqa: BLE001 - protobuf decode errors have many types
            raise RekoError(f"{path}: not a readable ONNX file ({_first_line(error)})") from None
        spec, info = parse_metadata({p.key: p.value for p in proto.metadata_props}, path)
        super().__init__(path, spec, info)
        self.session = onnx_session(path, threads)
        self.input_name = self.session.get_inputs()[0].name
        self.name = info.kind

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        feeds = {self.input_name: np.ascontiguousarray(x.numpy())}
        try:
            (output,) = self.session.run(None, feeds)
        except Exception as error:  # noqa: BLE001 - onnxruntime's own exception types
            message = _first_line(error)
            raise RekoError(f"{self.path}: ONNX Runtime failed on a {tuple(x.shape)} input ({message})") from None
        return torch.from_numpy(output)


def onnx_session(path: PathLike, threads: int | None = None) -> object:
    """An ONNX Runtime CPU session with every graph optimisation on and ``threads`` intra-op
    threads (default: torch's count, so both runtimes are timed on equal terms)."""
    ort = require("onnxruntime", "running an ONNX file")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = int(threads or torch.get_num_threads())
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # errors reach us as exceptions; keep ORT's own log quiet
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # noqa: BLE001
        raise RekoError(f"{path}: ONNX Runtime cannot load it ({_first_line(error)})") from None


def detect_backend(path: PathLike) -> str:
    """``onnx`` or ``torchscript`` from the file's content, ``torch`` for a checkpoint."""
    file = Path(path)
    if not file.is_file():
        raise RekoError(f"model file {file} does not exist" if not file.exists() else f"{file} is not a file")
    if zipfile.is_zipfile(file):
        with zipfile.ZipFile(file) as archive:
            if any(name.endswith("/constants.pkl") or name.endswith("/code/") for name in archive.namelist()):
                return "torchscript"
        return "torch"  # a zip-format torch.save checkpoint
    if file.suffix == ".onnx":
        return "onnx"
    return "torch"


def load_runner(path: PathLike, backend: str = "auto", threads: int | None = None, optimize: bool = True) -> Runner:
    """``path`` as a `Runner`: ``backend`` is ``torch`` (a checkpoint), ``onnx``, ``torchscript``
    or ``auto`` (from the file). ``threads``: ONNX Runtime intra-op threads; ``optimize``:
    TorchScript's optimize_for_inference."""
    file = Path(path)
    if backend == "auto":
        backend = detect_backend(file)
    if backend not in BACKENDS:
        raise RekoError(f"backend {backend!r} is not one of {BACKENDS}")
    if not file.is_file():
        raise RekoError(f"model file {file} does not exist")
    if backend == "onnx":
        return OnnxRunner(file, threads)
    if backend == "torchscript":
        return TorchScriptRunner(file, optimize=optimize)
    from reko.models import load_generator

    return TorchRunner(file, load_generator(file))


def _first_line(error: BaseException) -> str:
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[0][:300] if lines else type(error).__name__
