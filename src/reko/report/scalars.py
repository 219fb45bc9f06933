"""A run's logged scalars: ``scalars.jsonl`` (exact values, with line numbers) or TensorBoard events."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from reko.results.rundir import SCALARS_FILE

VALIDATION_PREFIX = "val/"


@dataclass
class Series:
    """One logged scalar over training: ``steps`` and ``values`` of equal length."""

    steps: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)


@dataclass
class ValidationPoint:
    """The validation metrics logged at one step, and the ``scalars.jsonl`` line they are on."""

    step: int
    line: int
    metrics: dict[str, float]


def read_scalars(path: Path, rel: str, notes: list[str]) -> tuple[dict[str, Series], list[ValidationPoint], str]:
    """A run folder's scalars from ``scalars.jsonl`` (exact values, with line numbers) or else its
    TensorBoard events: ``(scalars by tag, validation points, which file)``; problems go to ``notes``.

    ``rel`` is the run folder's name relative to the report's input (for the notes)."""
    scalars: dict[str, Series] = {}
    validation_points: list[ValidationPoint] = []
    jsonl = path / SCALARS_FILE
    if jsonl.is_file():
        for number, line in enumerate(jsonl.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                notes.append(f"{rel + '/' if rel else ''}{SCALARS_FILE} line {number}: not JSON, skipped")
                continue
            step = record.get("step")
            if not isinstance(step, int):
                continue
            validation = {}
            for name, value in record.items():
                if name == "step" or not isinstance(value, (int, float)) or isinstance(value, bool):
                    continue
                series = scalars.setdefault(name, Series())
                series.steps.append(step)
                series.values.append(float(value))
                if name.startswith(VALIDATION_PREFIX):
                    validation[name[len(VALIDATION_PREFIX) :]] = value
            if validation:
                validation_points.append(ValidationPoint(step, number, validation))
        return scalars, validation_points, SCALARS_FILE
    events = path / "tensorboard"
    if events.is_dir() and any(events.rglob("events.out.tfevents.*")):
        scalars = _read_tensorboard(events, notes)
        return scalars, [], "tensorboard" if scalars else ""
    notes.append(f"{rel or path}: no {SCALARS_FILE} or TensorBoard events: no curves")
    return scalars, [], ""


def _read_tensorboard(folder: Path, notes: list[str]) -> dict[str, Series]:
    """Every scalar tag of the event files under ``folder`` (TensorBoard stores float32 values)."""
    from reko.extras import require

    event_accumulator = require("tensorboard.backend.event_processing.event_accumulator", "reading TensorBoard events")
    EventAccumulator = event_accumulator.EventAccumulator  # noqa: N806 - the class

    scalars: dict[str, Series] = {}
    for events_dir in sorted({p.parent for p in folder.rglob("events.out.tfevents.*")}):
        try:
            accumulator = EventAccumulator(str(events_dir), size_guidance={"scalars": 0})
            accumulator.Reload()
        except Exception as error:  # noqa: BLE001 - a corrupt event file must not stop the report
            notes.append(f"{events_dir}: unreadable TensorBoard events ({error})")
            continue
        for tag in accumulator.Tags().get("scalars", []):
            series = scalars.setdefault(tag, Series())
            for event in accumulator.Scalars(tag):
                series.steps.append(int(event.step))
                series.values.append(float(event.value))
    return scalars
