"""`CompareResult`: what ``reko compare`` measured: one `EvalResult` per method and seed, the
teacher's, one `CostRow` per network, and the mean / sample standard deviation over seeds."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from reko.results.base import Result, ResultError
from reko.results.cost import CostRow
from reko.results.evaluation import EvalResult, MetricValue


@dataclass(frozen=True)
class RunFailure(Result):
    """A (method, seed) run that failed (``error`` set) or is still to do (``error`` None)."""

    KIND = "run_failure"
    VERSION = 1

    method: str
    seed: int
    error: str | None = None


@dataclass(frozen=True)
class CompareResult(Result):
    """Every method's students, evaluated on the same images against the same teacher outputs."""

    KIND = "comparison"
    VERSION = 1

    settings: dict[str, Any]
    eval_data: str
    images: int
    runs: dict[str, dict[str, EvalResult]]  # method -> seed (as text: JSON keys) -> evaluation
    teacher: EvalResult | None = None
    costs: dict[str, CostRow] = field(default_factory=dict)  # "teacher" / method -> cost
    failed: list[RunFailure] = field(default_factory=list)
    pending: list[RunFailure] = field(default_factory=list)
    overrides: tuple[str, ...] = ()

    @property
    def methods(self) -> list[str]:
        return [method for method, seeds in self.runs.items() if seeds]

    def per_seed(self, method: str) -> dict[int, dict[str, float | None]]:
        """``{seed: {"psnr_vs_teacher": ..., ...}}`` of ``method``'s student."""
        if method not in self.runs:
            raise ResultError(f"no method {method!r} in this comparison; it has {sorted(self.runs)}")
        return {int(seed): result.flat("student") for seed, result in self.runs[method].items()}

    def summary(self, method: str, metric: str) -> MetricValue:
        """Mean and sample standard deviation (n - 1; None for one seed) over the finite seed values."""
        values = [v.get(metric) for v in self.per_seed(method).values()]
        finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
        if not finite:
            return MetricValue(None, None, 0)
        std = statistics.stdev(finite) if len(finite) > 1 else None
        return MetricValue(statistics.fmean(finite), std, len(finite))
