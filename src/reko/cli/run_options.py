"""What the training commands (`reko distill`, `reko train`) share: their run options and summary.

``--config``, ``--set``, ``--resume`` and ``--stop-at`` mean the same in both; the command's own
path flags (``--data``, ``--out``, ...) become ``(key, value)`` overrides applied after ``--set``,
their values kept as typed (never parsed as YAML: ``--data "photos #1"`` is that folder).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from reko.cli.values import int_range
from reko.errors import RekoError

if TYPE_CHECKING:  # the run machinery imports torch: only when the command runs
    from reko.train.runner import RunResult


def add_run_arguments(parser: argparse.ArgumentParser, set_example: str) -> None:
    """``--config``, ``--set KEY=VALUE ...`` (``set_example`` shows a few), ``--resume``, ``--stop-at``."""
    parser.add_argument("--config", metavar="YAML", default=None, help="config file (overrides the defaults)")
    add_set_argument(parser, f"config overrides, e.g. {set_example}")
    parser.add_argument("--resume", metavar="RUN_DIR", default=None, help="continue a stopped run from its state")
    parser.add_argument(
        "--stop-at", metavar="STEP", type=int_range(0), default=None, help="stop (resumably) after this step"
    )


def add_set_argument(parser: argparse.ArgumentParser, help_text: str) -> None:
    """``--set KEY=VALUE ...``: repeatable, each value a config override (`reko.config.parse_override`)."""
    parser.add_argument("--set", metavar="KEY=VALUE", nargs="+", action="extend", default=[], help=help_text)


def flag_overrides(pairs: Sequence[tuple[str, str | None]]) -> list[tuple[str, str]]:
    """``(key, value)`` overrides for the path flags that were given (``None``: not given), values as typed."""
    return [(key, value) for key, value in pairs if value is not None]


def resume_overrides(args: argparse.Namespace, new_run_flags: Sequence[str]) -> dict[str, Any]:
    """The ``--set`` overrides of a ``--resume``; a flag that would start a new run is an error."""
    from reko.config import parse_override

    given = [f"--{name.replace('_', '-')}" for name in ("config", *new_run_flags) if getattr(args, name, None)]
    if given:
        raise RekoError(
            f"--resume uses the run's own config.yaml, so {', '.join(given)} cannot be given with it; "
            "change values with --set key=value"
        )
    return dict(parse_override(text) for text in args.set)


def summary(result: RunResult) -> str:
    """What a run left behind, for the terminal."""
    state = "finished" if result.finished else f"stopped; continue with --resume {result.out_dir}"
    lines = [f"step {result.step} ({state})"]
    for name, path in result.latest.items():
        lines.append(f"  {name}: {path}")
    for name, path in result.best.items():
        lines.append(f"  {name} (best on validation): {path}")
    if result.metrics:
        lines.append("  validation: " + ", ".join(f"{k} {v:.4g}" for k, v in result.metrics.items()))
    return "\n".join(lines)
