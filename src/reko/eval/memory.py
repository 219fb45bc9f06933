"""Peak memory of one inference, measured in a fresh process from the kernel's own counters.

PyTorch's CPU allocator has no peak counter and ``tracemalloc`` does not see its buffers, so
the model runs in a child process (``python -m reko.eval.memory``): it loads the model and
builds the input, reads its resident memory (``VmRSS``), resets the kernel's high-water mark
(writing ``5`` to ``/proc/self/clear_refs``, Linux >= 4.0), runs ONE forward pass and reads
the high-water mark (``VmHWM``). ``forward_mb`` = peak - baseline is what that first inference
added on top of the loaded model (activations, workspaces, one-time kernel caches);
``peak_mb`` is the whole process's peak during it (Python and library code included).
A fresh process matters: in a warmed-up process freed memory stays resident and hides the peak.

Where the high-water mark cannot be reset or read (not Linux), the result is None.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from reko.errors import RekoError

_STATUS = Path("/proc/self/status")


@dataclass(frozen=True)
class MemoryStats:
    peak_mb: float  # process peak resident memory during the forward pass (MiB)
    baseline_mb: float  # resident memory with model and input loaded, before it (MiB)
    forward_mb: float  # peak - baseline (MiB)
    weights_mb: float  # parameters and buffers (MiB), for reference
    method: str = "VmHWM after clear_refs, fresh process, first forward"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def peak_memory(
    model: nn.Module, input_shape: tuple[int, ...], threads: int | None = None, timeout: float = 600.0
) -> MemoryStats | None:
    """Peak memory of ``model`` on a zero input of ``input_shape`` (e.g. ``(1, 3, 256, 256)``)."""
    if not _STATUS.exists():
        return None
    weights = sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()]) / 2**20
    with tempfile.TemporaryDirectory(prefix="reko-memory-") as tmp:
        file = Path(tmp) / "model.pt"
        torch.save(model, file)  # a whole module: the child unpickles our own file only
        result = _run_child("torch", file, input_shape, threads, timeout)
    return None if result is None else MemoryStats(weights_mb=weights, **result)


def peak_memory_onnx(
    path: str | os.PathLike[str], input_shape: tuple[int, ...], threads: int | None = None, timeout: float = 600.0
) -> MemoryStats | None:
    """Peak memory of one ONNX Runtime (CPU) inference of the model file at ``path``."""
    if not _STATUS.exists():
        return None
    result = _run_child("onnx", Path(path), input_shape, threads, timeout)
    weights = Path(path).stat().st_size / 2**20
    return None if result is None else MemoryStats(weights_mb=weights, **result)


def _run_child(
    kind: str, file: Path, input_shape: tuple[int, ...], threads: int | None, timeout: float
) -> dict[str, float] | None:
    command = [sys.executable, "-m", "reko.eval.memory", kind, str(file), json.dumps(list(input_shape))]
    command.append(str(threads or torch.get_num_threads()))
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise RekoError(f"memory measurement of {file.name} took over {timeout:.0f} s") from None
    if done.returncode != 0:
        raise RekoError(f"memory measurement of {file.name} failed: {done.stderr.strip().splitlines()[-1:]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return data or None


def _status_mb(field: str) -> float:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0  # kB -> MiB
    raise KeyError(field)


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _child(kind: str, file: str, shape: list[int], threads: int) -> dict[str, float]:
    """Runs in the fresh process: load, build the input, reset the peak, run once, report."""
    torch.set_num_threads(threads)
    if kind == "torch":
        model = torch.load(file, map_location="cpu", weights_only=False).eval()  # our own temp file
        x = torch.zeros(shape)

        def forward() -> None:
            with torch.inference_mode():
                model(x)
    else:
        import numpy as np

        from reko.extras import require

        ort = require("onnxruntime", "measuring an ONNX file's memory")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        session = ort.InferenceSession(file, options, providers=["CPUExecutionProvider"])
        feeds = {session.get_inputs()[0].name: np.zeros(shape, dtype=np.float32)}

        def forward() -> None:
            session.run(None, feeds)

    baseline = _status_mb("VmRSS")
    if not _reset_peak():
        return {}
    forward()
    peak = _status_mb("VmHWM")
    return {"peak_mb": peak, "baseline_mb": baseline, "forward_mb": max(0.0, peak - baseline)}


if __name__ == "__main__":
    kind_arg, file_arg, shape_arg, threads_arg = sys.argv[1:5]
    print(json.dumps(_child(kind_arg, file_arg, json.loads(shape_arg), int(threads_arg))))
