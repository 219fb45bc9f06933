"""`EvalResult`: what ``reko eval`` (and the demo's ``eval.json``) measured, typed and versioned.

One `EvalRow` per comparison (``model`` vs ``against``: ground truth, real images, the teacher,
label maps), holding `MetricValue`s by metric name (``fid``, ``kid``, ``psnr``, ``ssim``, ``l1``,
``stlpips``, ``miou``, ``pixel_accuracy``). A value may carry a spread (KID's standard deviation
over subsets, a seed standard deviation) and a bootstrap interval (`reko.eval.bootstrap`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reko.results.base import Result, ResultError
from reko.results.cost import CostRow


@dataclass(frozen=True)
class MetricValue(Result):
    """One number with what is known of its spread: ``std`` (None: none known), ``n`` values behind
    it (seeds, or 1), and a ``low``/``high`` interval when one was computed."""

    KIND = "metric"
    VERSION = 1

    value: float | None  # None: not finite (PSNR of identical images is written as null)
    std: float | None = None
    n: int = 1
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class ModelInfo(Result):
    """A model that was evaluated: its architecture, spec, parameter count and files."""

    KIND = "model"
    VERSION = 1

    architecture: str
    parameters: int
    spec: dict[str, Any] | None = None
    source: str | None = None  # the checkpoint's recorded provenance
    checkpoint: str | None = None


@dataclass(frozen=True)
class EvalRow(Result):
    """``model``'s metrics against ``against`` on ``images`` images."""

    KIND = "eval_row"
    VERSION = 1

    model: str  # generator / student / teacher
    against: str  # ground truth / real images / teacher / label maps
    images: int
    metrics: dict[str, MetricValue] = field(default_factory=dict)
    reference_images: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. per-class IoU, KID subset size

    def value(self, name: str) -> float | None:
        """The value of metric ``name``; `ResultError` naming the metrics present when absent."""
        if name not in self.metrics:
            raise ResultError(f"{self.model} vs {self.against}: no metric {name!r}; has {sorted(self.metrics)}")
        return self.metrics[name].value


@dataclass(frozen=True)
class EvalResult(Result):
    """One evaluation: where the images came from, the protocol, the models, every row, costs."""

    KIND = "eval"
    VERSION = 1

    reko_version: str
    metrics: tuple[str, ...]
    data: dict[str, Any]  # path, split, paired, direction, images, size, preparation, limit, real...
    models: dict[str, ModelInfo]
    rows: list[EvalRow]
    created: str = ""
    protocol: str | None = None  # FID protocol (clean / legacy), None without FID/KID
    inception: dict[str, Any] | None = None  # the Inception file: kind, sha256, checksum_verified
    kid: dict[str, Any] | None = None  # subsets, subset_size, seed
    costs: list[CostRow] = field(default_factory=list)
    seconds: float | None = None
    threads: int | None = None
    notes: list[str] = field(default_factory=list)

    def row(self, model: str, against: str) -> EvalRow:
        """The row of ``model`` vs ``against``; `ResultError` listing the rows present otherwise."""
        for row in self.rows:
            if row.model == model and row.against == against:
                return row
        present = [f"{r.model} vs {r.against}" for r in self.rows]
        raise ResultError(f"no {model} vs {against} row in this evaluation; it has {present}")

    def flat(self, model: str) -> dict[str, float | None]:
        """``{"psnr_vs_teacher": ..., "fid_vs_real": ...}``: ``model``'s metrics by comparison, the
        names ``reko compare`` tables use (``ground truth`` / ``real images`` -> ``real``)."""
        out: dict[str, float | None] = {}
        for row in self.rows:
            if row.model != model:
                continue
            against = "real" if row.against in ("ground truth", "real images") else row.against.replace(" ", "_")
            out.update({f"{name}_vs_{against}": metric.value for name, metric in row.metrics.items()})
        return out
