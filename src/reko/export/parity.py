"""Parity checks: does an exported model compute what the PyTorch model computes?

Both run on the same images; the check reports the largest absolute difference between their
outputs and the PSNR of one against the other (outputs in [-1, 1], so the data range is 2), and
passes when they are within a `Tolerance`. Float exports are held to a maximum absolute
difference (default `FLOAT_MAX_ABS`), INT8 exports to a minimum PSNR (default `INT8_MIN_PSNR`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch

from reko.errors import RekoError

Forward = Callable[[torch.Tensor], torch.Tensor]

DATA_RANGE = 2.0  # generator outputs live in [-1, 1]
# One 8-bit output level is 2/255 = 7.8e-3: float exports must stay well inside it, so that a
# saved PNG differs from PyTorch's by at most one level (in practice they agree to ~1e-5).
FLOAT_MAX_ABS = 1e-3
# INT8 changes the arithmetic; 30 dB (RMS error 0.063, ~4 levels of 255) is where the
# difference stops being visible in side-by-side images.
INT8_MIN_PSNR = 30.0


class ParityError(RekoError):
    """An exported model's outputs differ from PyTorch's by more than the tolerance."""


@dataclass(frozen=True)
class Tolerance:
    """When two outputs count as the same: ``max_abs`` (largest absolute difference allowed)
    and/or ``min_psnr`` (dB, over all images). None disables a bound."""

    max_abs: float | None = None
    min_psnr: float | None = None

    def __post_init__(self) -> None:
        if self.max_abs is None and self.min_psnr is None:
            raise RekoError("a parity tolerance needs max_abs, min_psnr or both")
        if self.max_abs is not None and not self.max_abs >= 0:
            raise RekoError(f"max_abs tolerance must be >= 0, got {self.max_abs}")

    def accepts(self, max_abs_diff: float, psnr_db: float) -> bool:
        ok_abs = self.max_abs is None or max_abs_diff <= self.max_abs
        ok_psnr = self.min_psnr is None or psnr_db >= self.min_psnr
        return ok_abs and ok_psnr and not math.isnan(max_abs_diff)

    def describe(self) -> str:
        parts = []
        if self.max_abs is not None:
            parts.append(f"max |diff| <= {self.max_abs:g}")
        if self.min_psnr is not None:
            parts.append(f"PSNR >= {self.min_psnr:g} dB")
        return " and ".join(parts)


FLOAT_TOLERANCE = Tolerance(max_abs=FLOAT_MAX_ABS)
INT8_TOLERANCE = Tolerance(min_psnr=INT8_MIN_PSNR)


@dataclass(frozen=True)
class ParityResult:
    """One parity check: ``candidate`` against ``reference`` on ``images`` images of one size.

    ``psnr_db`` pools the squared error of all images; ``worst_psnr_db`` is the worst image's.
    """

    candidate: str
    reference: str
    height: int
    width: int
    images: int
    max_abs_diff: float
    mean_abs_diff: float
    psnr_db: float
    worst_psnr_db: float
    tolerance: str
    passed: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        verdict = "ok" if self.passed else "FAILED"
        return (
            f"{self.candidate} vs {self.reference} at {self.height}x{self.width} on {self.images} images: "
            f"max |diff| {self.max_abs_diff:.2e}, PSNR {_db(self.psnr_db)} (worst image {_db(self.worst_psnr_db)}) "
            f"[{self.tolerance}: {verdict}]"
        )


def psnr(reference: torch.Tensor, candidate: torch.Tensor, data_range: float = DATA_RANGE) -> float:
    """PSNR in dB of ``candidate`` against ``reference`` (any equal shapes); inf when equal."""
    mse = torch.mean((reference.double() - candidate.double()) ** 2).item()
    return math.inf if mse == 0 else 10.0 * math.log10(data_range**2 / mse)


def check_parity(
    reference: Forward,
    candidate: Forward,
    images: torch.Tensor,
    tolerance: Tolerance,
    candidate_name: str = "export",
    reference_name: str = "pytorch",
    batch_size: int = 1,
) -> ParityResult:
    """Run both forwards on ``images`` ``(N, C, H, W)`` in [-1, 1] and compare their outputs.

    Does not raise on a mismatch: see `require_parity`.
    """
    if images.dim() != 4 or len(images) == 0:
        raise RekoError(f"parity images must be a non-empty (N, C, H, W) batch, got shape {tuple(images.shape)}")
    expected, got = [], []
    with torch.inference_mode():
        for start in range(0, len(images), max(1, batch_size)):
            batch = images[start : start + max(1, batch_size)]
            expected.append(reference(batch).float().cpu())
            got.append(candidate(batch).float().cpu())
    ref, out = torch.cat(expected), torch.cat(got)
    if ref.shape != out.shape:
        raise ParityError(
            f"{candidate_name} returned shape {tuple(out.shape)} where {reference_name} returned {tuple(ref.shape)}"
        )
    diff = (ref - out).abs()
    max_abs = float(diff.max()) if torch.isfinite(diff).all() else math.nan
    worst = min(psnr(ref[i], out[i]) for i in range(len(ref)))
    pooled = psnr(ref, out)
    return ParityResult(
        candidate=candidate_name,
        reference=reference_name,
        height=int(images.shape[2]),
        width=int(images.shape[3]),
        images=len(images),
        max_abs_diff=max_abs,
        mean_abs_diff=float(diff.mean()),
        psnr_db=pooled,
        worst_psnr_db=worst,
        tolerance=tolerance.describe(),
        passed=tolerance.accepts(max_abs, pooled),
    )


def require_parity(results: Sequence[ParityResult], what: str) -> None:
    """Raise `ParityError` listing every failed check in ``results``."""
    failed = [r for r in results if not r.passed]
    if failed:
        details = "; ".join(r.describe() for r in failed)
        raise ParityError(f"{what} does not compute what the PyTorch model computes: {details}")


def _db(value: float) -> str:
    return "inf dB" if math.isinf(value) else f"{value:.2f} dB"
