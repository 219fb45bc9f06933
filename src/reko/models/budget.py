"""Choose a student that fits a MACs and/or parameter budget: a pure function of specs.

The search (ours, deliberately simple; GAN Compression's ``--budget`` and CAT's
``--target_flops`` search per-stage channels with a trained supernet instead):

1. For each candidate block (``conv`` and ``mobile`` unless one is fixed) take the teacher's
   spec with that block and scale *every* stage width uniformly: ``base.with_width(ngf)`` for
   ``ngf = base.ngf, base.ngf - 1, ..., 1`` (per-stage ``widths``, if the base has them, scale
   by ``ngf / base.ngf``). MACs and parameters grow with the widths, so the largest ``ngf``
   that fits is found by bisection.
2. Among the blocks, keep the one whose fitting student is widest (largest ``ngf``: the most
   of the teacher's channels, so the most capacity per tap to distil into); a tie keeps the
   teacher's block. At budgets well below the teacher's, the mobile block wins: at 2.7G MACs
   (field) a ResNet-9 student can be conv ngf 14 or mobile ngf 23.

MACs are in the field's convention (torchprofile's) at ``size`` x ``size``. The search is pure:
the caller passes ``cost_of`` (spec, size) -> `Cost`; `reko.eval.macs.spec_cost` counts on
PyTorch's ``meta`` device (shapes only, no arithmetic), so a search is instant. (models/ sits
below eval/ in the package layers, so the counter is handed in rather than imported.)
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from reko.errors import RekoError
from reko.models.spec import BLOCKS, GeneratorSpec

_SUFFIXES = {"": 1.0, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}


def parse_count(text: str | float | int, what: str = "budget") -> float:
    """``"2.7G"`` -> 2.7e9, ``"500M"``, ``"300k"``, ``"1.4e9"`` or a number; must be > 0."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKmMgGtT]?)\s*", str(text))
        if match is None:
            raise RekoError(f"{what} {text!r} is not a count: give e.g. 2.7G, 500M, 300k or 1.4e9")
        value = float(match.group(1)) * _SUFFIXES[match.group(2).lower()]
    if not math.isfinite(value) or value <= 0:
        raise RekoError(f"{what} must be a positive count, got {text!r}")
    return value


@dataclass(frozen=True)
class Cost:
    macs_field: int
    macs_true: int
    parameters: int


@dataclass(frozen=True)
class BudgetChoice:
    """The chosen student spec, its cost, and a sentence saying why (printed and saved)."""

    spec: GeneratorSpec
    cost: Cost
    reason: str
    candidates: dict[str, int]  # block -> the largest ngf that fits (0: none fits)


CostOf = Callable[[GeneratorSpec, int], Cost]  # (spec, size) -> its cost at size x size


def fit_budget(
    base: GeneratorSpec,
    cost_of: CostOf,
    max_macs: float | None = None,
    max_params: float | None = None,
    size: int = 256,
    blocks: tuple[str, ...] = BLOCKS,
) -> BudgetChoice:
    """The widest uniform scaling of ``base`` (per block in ``blocks``) within the budget.

    Args:
        base: the teacher's spec (its family, depth, norm and widths are kept; ngf <= base.ngf).
        cost_of: the counter, e.g. `reko.eval.macs.spec_cost`.
        max_macs: MACs (field convention) at ``size`` x ``size``, or None for no limit.
        max_params: parameters, or None for no limit.
        blocks: the blocks to try (``("mobile",)`` fixes one).
    """
    if max_macs is None and max_params is None:
        raise RekoError("a budget needs max_macs or max_params (e.g. max_macs=2.7e9)")
    unknown = [b for b in blocks if b not in BLOCKS]
    if unknown or not blocks:
        raise RekoError(f"budget blocks {list(blocks)} must be some of {BLOCKS}")

    def fits(cost: Cost) -> bool:
        return (max_macs is None or cost.macs_field <= max_macs) and (
            max_params is None or cost.parameters <= max_params
        )

    found: dict[str, tuple[int, Cost]] = {}
    for block in blocks:
        spec = base.replace(block=block)
        low, high = 0, base.ngf  # invariant: ngf = low fits (0 = nothing yet), ngf > high does not
        while low < high:
            mid = (low + high + 1) // 2
            if fits(cost_of(spec.with_width(mid), size)):
                low = mid
            else:
                high = mid - 1
        if low > 0:
            found[block] = (low, cost_of(spec.with_width(low), size))
    candidates = {b: found[b][0] if b in found else 0 for b in blocks}
    limit = _describe_limit(max_macs, max_params, size)
    if not found:
        smallest = {b: cost_of(base.replace(block=b).with_width(1), size) for b in blocks}
        least = ", ".join(
            f"{b} ngf 1: {_g(c.macs_field)} MACs, {c.parameters:,} parameters" for b, c in smallest.items()
        )
        raise RekoError(f"no student of {base.name} fits {limit}: the smallest are {least}")
    # Widest first; a tie keeps the teacher's block.
    block = max(found, key=lambda b: (found[b][0], b == base.block))
    ngf, cost = found[block]
    chosen = base.replace(block=block).with_width(ngf)
    others = ", ".join(
        f"{b} blocks fit ngf {n} at most" if n else f"no {b} student fits" for b, n in candidates.items() if b != block
    )
    reason = (
        f"{chosen.describe()}: {_g(cost.macs_field)} MACs (field) / {_g(cost.macs_true)} (true) at {size}x{size}, "
        f"{cost.parameters:,} parameters, within {limit}: the widest uniform scaling of the teacher's widths "
        f"that fits is ngf {ngf} of {base.ngf} with {block} blocks" + (f" ({others})" if others else "")
    )
    return BudgetChoice(chosen, cost, reason, candidates)


def _describe_limit(max_macs: float | None, max_params: float | None, size: int) -> str:
    parts = []
    if max_macs is not None:
        parts.append(f"{_g(max_macs)} MACs (field, {size}x{size})")
    if max_params is not None:
        parts.append(f"{max_params / 1e6:.3g}M parameters")
    return "the budget " + " and ".join(parts)


def _g(count: float) -> str:
    return f"{count / 1e9:.3g}G"
