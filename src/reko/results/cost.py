"""`CostRow`: what one network costs under one runtime (parameters, MACs in both conventions,
latency, peak memory), the one row ``reko eval``, ``compare``, ``demo``, ``bench`` and ``report`` share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reko.results.base import Result


@dataclass(frozen=True)
class CostRow(Result):
    """One network under one runtime; sizes are per call (``batch_size`` images of ``size`` x ``size``).

    ``parameters`` and MACs are None where the runtime hides them (an ONNX file measured alone);
    MACs are per image: ``macs_true`` counts every multiply-accumulate, ``macs_field`` the papers'
    convention (`reko.eval.macs`). Latency is the median (and IQR) of timed runs, in milliseconds.
    """

    KIND = "cost"
    VERSION = 1

    name: str
    backend: str = "pytorch-eager"
    batch_size: int = 1
    size: int = 256
    parameters: int | None = None
    macs_true: int | None = None
    macs_field: int | None = None
    latency_ms: float | None = None
    latency_iqr_ms: float | None = None
    latency_threads: int | None = None
    memory_mb: float | None = None  # what one forward pass adds (fresh process)
    architecture: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)
