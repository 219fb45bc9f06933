"""The cost of a generator: parameters, MACs (both conventions), latency and peak memory.

`profile_model` measures a PyTorch module (eager mode), `profile_onnx` an exported ``.onnx``
file under ONNX Runtime (CPU); both return a `CostRow`. `format_cost_table` lays rows side by
side with their ratios to a baseline row (the teacher): any code that can build a `CostRow`
(e.g. the export module, for TorchScript or quantised models) adds its rows to the same table.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from reko.errors import RekoError
from reko.eval.latency import LatencyStats, measure_latency
from reko.eval.macs import count_macs, count_parameters
from reko.eval.memory import MemoryStats, peak_memory, peak_memory_onnx
from reko.eval.report import format_table

PathLike = str | os.PathLike[str]


@dataclass
class CostRow:
    """One model under one runtime. Sizes are per call: ``batch_size`` images of ``size`` x ``size``.

    ``parameters`` and MACs may be None where the runtime hides them (an ONNX file); MACs are per
    image.
    """

    name: str
    backend: str
    batch_size: int
    size: int
    parameters: int | None = None
    macs_true: int | None = None
    macs_field: int | None = None
    latency: LatencyStats | None = None
    memory: MemoryStats | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "backend": self.backend,
            "batch_size": self.batch_size,
            "size": self.size,
            "parameters": self.parameters,
            "macs_true": self.macs_true,
            "macs_field": self.macs_field,
            "latency": self.latency.to_dict() if self.latency else None,
            "memory": self.memory.to_dict() if self.memory else None,
            "notes": self.notes,
        }


def profile_model(
    name: str,
    model: nn.Module,
    size: int = 256,
    batch_size: int = 1,
    warmup: int = 5,
    repeats: int = 30,
    threads: int | None = None,
    memory: bool = True,
    in_channels: int | None = None,
) -> CostRow:
    """Parameters, MACs, eager latency and (optionally) peak memory of ``model`` on CPU."""
    spec = getattr(model, "spec", None)
    channels = in_channels or (spec.in_channels if spec is not None else 3)
    model = model.eval()
    macs = count_macs(model, size, in_channels=channels)
    x = torch.rand(batch_size, channels, size, size) * 2 - 1
    latency = measure_latency(lambda: model(x), warmup=warmup, repeats=repeats, threads=threads)
    mem = peak_memory(model, tuple(x.shape), threads=latency.threads) if memory else None
    return CostRow(
        name=name,
        backend="pytorch-eager",
        batch_size=batch_size,
        size=size,
        parameters=count_parameters(model),
        macs_true=macs.true,
        macs_field=macs.field,
        latency=latency,
        memory=mem,
        notes={"torch": torch.__version__},
    )


def profile_onnx(
    name: str,
    path: PathLike,
    size: int = 256,
    batch_size: int = 1,
    warmup: int = 5,
    repeats: int = 30,
    threads: int | None = None,
    memory: bool = True,
    like: CostRow | None = None,
) -> CostRow:
    """Latency (and peak memory) of an ``.onnx`` file under ONNX Runtime's CPU provider.

    ``like``: the PyTorch row of the same network, whose parameter and MAC counts are copied
    (an exported graph performs the same arithmetic).
    """
    from reko.extras import require

    ort = require("onnxruntime", "timing an ONNX file")
    file = Path(path)
    if not file.is_file():
        raise RekoError(f"ONNX file {file} does not exist")
    threads = threads or torch.get_num_threads()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(str(file), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # noqa: BLE001 - onnxruntime raises its own exception types
        raise RekoError(f"{file}: ONNX Runtime cannot load it ({str(error).splitlines()[0]})") from None
    model_input = session.get_inputs()[0]
    channels = model_input.shape[1] if isinstance(model_input.shape[1], int) else 3
    shape = (batch_size, channels, size, size)
    feeds = {model_input.name: (np.random.default_rng(0).random(shape, dtype=np.float32) * 2 - 1)}
    latency = measure_latency(lambda: session.run(None, feeds), warmup=warmup, repeats=repeats)
    latency = LatencyStats(**{**latency.to_dict(), "threads": threads})  # the session's own threads
    mem = peak_memory_onnx(file, shape, threads=threads) if memory else None
    return CostRow(
        name=name,
        backend="onnxruntime-cpu",
        batch_size=batch_size,
        size=size,
        parameters=like.parameters if like else None,
        macs_true=like.macs_true if like else None,
        macs_field=like.macs_field if like else None,
        latency=latency,
        memory=mem,
        notes={"onnxruntime": ort.__version__, "file": str(file)},
    )


def format_cost_table(rows: Sequence[CostRow], baseline: str | None = None) -> str:
    """A plain-text table of ``rows``; with ``baseline`` (a row name), each value is followed by
    the baseline's value divided by it (x compression or x speed-up)."""
    base = next((r for r in rows if r.name == baseline), None) if baseline else None
    if baseline and base is None:
        raise RekoError(f"baseline row {baseline!r} is not among {[r.name for r in rows]}")
    headers = ["model", "backend", "params", "MACs (field)", "MACs (true)", "latency median", "IQR", "forward mem"]
    table = []
    for row in rows:
        lat = row.latency.median_ms if row.latency else None
        table.append(
            [
                row.name,
                row.backend,
                _with_ratio(row.parameters, base.parameters if base else None, _millions),
                _with_ratio(row.macs_field, base.macs_field if base else None, _giga),
                _with_ratio(row.macs_true, base.macs_true if base else None, _giga),
                _with_ratio(lat, base.latency.median_ms if base and base.latency else None, _ms),
                f"{row.latency.iqr_ms:.1f} ms" if row.latency else "-",
                f"{row.memory.forward_mb:.0f} MiB" if row.memory else "-",
            ]
        )
    lines = [format_table(headers, table)]
    first = rows[0] if rows else None
    if first is not None:
        threads = first.latency.threads if first.latency else "?"
        lines.append(
            f"batch {first.batch_size}, {first.size}x{first.size}, {threads} threads; MACs per image; "
            f"forward mem = memory one forward pass adds (fresh process); (xN) = {baseline} / row"
        )
    return "\n".join(lines)


def _with_ratio(value: float | None, reference: float | None, fmt: Any) -> str:
    if value is None:
        return "-"
    text = fmt(value)
    if reference is not None and value > 0:
        text += f" (x{reference / value:.1f})"
    return text


def _millions(v: float) -> str:
    return f"{v / 1e6:.2f}M"


def _giga(v: float) -> str:
    return f"{v / 1e9:.2f}G"


def _ms(v: float) -> str:
    return f"{v:.1f} ms"
