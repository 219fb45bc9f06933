"""The allowed values of the config sections (`reko.config`): one table, one check, one clear error.

A value outside its range would otherwise surface as a traceback deep in PyTorch, or hours into
a run. Each rule is ``field -> (predicate, what is expected)``; a new field adds its line here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from reko.errors import RekoError

# The largest seed: numpy seeds with 32 bits, and every stream derived from the seed must stay in range.
MAX_SEED = 2**32 - 1
_DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")

Rule = tuple[Callable[[Any], bool], str]


def _at_least(low: float, note: str = "") -> Rule:
    return (lambda v: v >= low), f">= {low}{note}"


_POSITIVE: Rule = ((lambda v: v > 0), "> 0")
_FRACTION: Rule = ((lambda v: 0 <= v < 1), "in [0, 1)")


def _is_count(value: Any) -> bool:
    """A budget such as ``2.7G``, ``500M``, ``300k``, ``1.4e9`` or a positive number (`reko.models.budget`)."""
    from reko.models.budget import parse_count

    try:
        parse_count(value)
    except RekoError:
        return False
    return True


_COUNT: Rule = (_is_count, "a positive count such as 2.7G, 500M, 300k or 1.4e9")

RULES: dict[str, dict[str, Rule]] = {
    "student": {
        "ngf": _at_least(1),
        "target_macs": _COUNT,
        "target_params": _COUNT,
        "budget_size": _at_least(8, " (pixels: the budget's square input size)"),
    },
    "data": {
        "load_size": _at_least(1),
        "crop_size": _at_least(1),
        "val_size": _at_least(1, " (images held out for validation when the data has no val split)"),
        "num_workers": _at_least(0),
    },
    "train": {
        "steps": _at_least(1),
        "decay_steps": _at_least(0),
        "batch_size": _at_least(1),
        "lr": _POSITIVE,
        "lr_discriminator": _POSITIVE,
        "beta1": _FRACTION,
        "beta2": _FRACTION,
        "seed": ((lambda v: 0 <= v <= MAX_SEED), f"in [0, {MAX_SEED}]"),
        "device": ((lambda v: _DEVICE.fullmatch(v) is not None), "auto, cpu, mps, cuda or cuda:N"),
        "threads": _at_least(0, " (0: PyTorch's default)"),
        "save_every": _at_least(1),
        "eval_every": _at_least(0, " (0: only at the end)"),
        "eval_batches": _at_least(0, " (0: the whole validation split)"),
    },
    "log": {"log_every": _at_least(0), "image_every": _at_least(0), "image_count": _at_least(1)},
    "loss": {
        "gan_weight": _at_least(0),
        "l1_weight": _at_least(0),
        "cycle_weight": _at_least(0),
        "identity_weight": _at_least(0),
        "pool_size": _at_least(0),
    },
    "discriminator": {"ndf": _at_least(1), "n_layers": _at_least(1)},
}


def check_values(section: str, config: Any) -> None:
    """Raise `RekoError` naming ``section.field``, the value and what is expected, for the first
    field of ``config`` outside its rule (None means "not set" and is not checked)."""
    for name, (valid, expected) in RULES[section].items():
        value = getattr(config, name)
        if value is not None and not valid(value):
            raise RekoError(f"{section}.{name} must be {expected}, got {value!r}")
