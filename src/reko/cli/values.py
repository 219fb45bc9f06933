"""Argument types for numeric flags: a value out of range is argparse's one-line error (exit 2).

Every count, size and batch-size flag of every command uses `int_range`, so ``--size 0`` or
``--batch-size -1`` never reaches the library as a traceback.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

# The largest image side a size flag accepts: far above the field's 256-1024 px, and small enough
# that one activation of a ResNet generator at this size still fits in memory.
MAX_SIDE = 4096


def int_range(low: int, high: int | None = None, note: str = "") -> Callable[[str], int]:
    """An argparse ``type``: an integer in ``[low, high]`` (no upper bound if ``high`` is None)."""
    expected = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {expected}{note}, got {value}")
        return value

    parse.__name__ = "integer"
    return parse


SIDE = int_range(1, MAX_SIDE, " (pixels)")
COUNT = int_range(1)
THREADS = int_range(1)
