"""Latency of any callable: warm-up, then the median and interquartile range of repeated runs.

Works for a PyTorch module (wrap it: ``lambda: model(x)``), an ONNX Runtime session
(``lambda: session.run(None, feeds)``) or anything else. PyTorch's intra-op thread count is
pinned for the measurement (`pinned_threads`) and recorded, since it changes CPU latency
more than most model changes do; ONNX Runtime sessions pin their own threads when created.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from reko.errors import RekoError


@dataclass(frozen=True)
class LatencyStats:
    """Wall-clock time of one call, in milliseconds, over ``repeats`` timed calls."""

    median_ms: float
    iqr_ms: float  # 75th - 25th percentile
    p25_ms: float
    p75_ms: float
    mean_ms: float
    min_ms: float
    repeats: int
    warmup: int
    threads: int  # torch intra-op threads during the measurement (or the session's, for ORT)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.median_ms:.2f} ms (IQR {self.iqr_ms:.2f}, n={self.repeats}, {self.threads} threads)"


@contextlib.contextmanager
def pinned_threads(threads: int | None) -> Iterator[int]:
    """Set ``torch.set_num_threads(threads)`` inside the block (None keeps the current count)."""
    previous = torch.get_num_threads()
    if threads is not None:
        if threads < 1:
            raise RekoError(f"threads must be >= 1, got {threads}")
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(previous)


def measure_latency(
    fn: Callable[[], Any], warmup: int = 5, repeats: int = 30, threads: int | None = None
) -> LatencyStats:
    """Call ``fn`` ``warmup`` times untimed, then ``repeats`` times timed (``perf_counter``).

    Args:
        fn: the work to time; its result is discarded.
        warmup: untimed calls first (allocator, oneDNN primitive caches, lazy initialisation).
        repeats: timed calls (at least 1); the median and IQR are robust to the odd slow call.
        threads: torch intra-op threads while measuring (None keeps the current setting).
    """
    if repeats < 1 or warmup < 0:
        raise RekoError(f"need repeats >= 1 and warmup >= 0, got repeats={repeats}, warmup={warmup}")
    with pinned_threads(threads) as used, torch.inference_mode():
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1000.0)
    p25, p75 = (float(v) for v in np.percentile(times, [25, 75]))
    return LatencyStats(
        median_ms=float(statistics.median(times)),
        iqr_ms=p75 - p25,
        p25_ms=p25,
        p75_ms=p75,
        mean_ms=float(statistics.fmean(times)),
        min_ms=float(min(times)),
        repeats=repeats,
        warmup=warmup,
        threads=used,
    )
