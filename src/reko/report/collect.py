"""Find and read what a run folder or a comparison folder holds: `collect(path) -> ReportData`.

A run folder (``reko distill --out RUN_DIR``) holds ``config.yaml``, ``scalars.jsonl`` (or only
``tensorboard/`` event files), ``images/step_*.png`` grids, ``<generator>_best|latest.safetensors``
checkpoints, ``state.pt`` and, once evaluated, JSON results (``eval.json`` ...). A comparison
folder (``reko compare --out OUT``) holds ``comparison.json`` (+ ``comparison.md``) and run
folders ``runs/<method>/seed<k>/``.

Every part is optional: a missing or unreadable file adds a note and its section is left out;
only a folder that is neither kind is an error. Numbers are kept exactly as parsed from the
JSON files, with the pointer they were read from (see `reko.report.tables`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import yaml

from reko.errors import RekoError
from reko.report.scalars import SCALARS_FILE, VALIDATION_PREFIX, Series, ValidationPoint, read_scalars
from reko.report.tables import Cell, Source, Table, build_table, is_cost, json_rows, pointer_join, with_ratios
from reko.results.rundir import RunDir

COMPARISON_FILE = "comparison.json"
COMPARISON_MD = "comparison.md"
_SEED = re.compile(r"(\d+)$")


@dataclass
class RunInfo:
    """What one run folder holds.

    ``checkpoints`` maps a generator name (``student``, ``student_AB``...) to its best checkpoint,
    or its latest where no best was saved; ``teachers`` maps the same names to the teacher
    checkpoint each was distilled from (from the checkpoint's metadata, else ``config.yaml``).
    """

    name: str
    method: str
    path: Path
    rel: str  # path relative to the report's input folder ("" for a run report)
    config: dict[str, Any] | None = None
    checkpoints: dict[str, Path] = field(default_factory=dict)
    checkpoint_tags: dict[str, str] = field(default_factory=dict)  # name -> "best" | "latest"
    teachers: dict[str, Path] = field(default_factory=dict)
    scalars: dict[str, Series] = field(default_factory=dict)
    scalars_from: str = ""  # "scalars.jsonl" | "tensorboard" | ""
    validation: list[ValidationPoint] = field(default_factory=list)
    results: list[tuple[str, Any]] = field(default_factory=list)  # (file relative to the input, parsed JSON)
    grids: list[Path] = field(default_factory=list)  # training image grids, oldest first
    state: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def seed(self) -> int | None:
        match = _SEED.search(self.path.name)
        return int(match.group(1)) if match else None


@dataclass
class ReportData:
    """Everything the report shows, read from disk; `reko.report.html` renders it."""

    kind: Literal["run", "comparison"]
    source: Path
    title: str
    runs: list[RunInfo]
    tables: list[Table] = field(default_factory=list)
    comparison: Any = None  # parsed comparison.json
    comparison_md: str = ""
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        self.notes.append(text)


# --------------------------------------------------------------------------- entry point


def collect(path: str | Path) -> ReportData:
    """Read a run folder or a comparison folder (see the module docstring)."""
    source = Path(path)
    if not source.is_dir():
        raise RekoError(
            f"{source} is not a folder: give a run folder (what reko distill writes) or a comparison folder"
        )
    if (source / COMPARISON_FILE).is_file() or _run_dirs(source / "runs"):
        return _collect_comparison(source)
    if is_run_dir(source):
        return _collect_run(source)
    raise RekoError(
        f"{source} is neither a run folder (config.yaml, scalars.jsonl or *_latest.safetensors) "
        f"nor a comparison folder ({COMPARISON_FILE} or runs/<method>/seed<k>/)"
    )


def is_run_dir(path: Path) -> bool:
    return RunDir(path).is_run()


def _run_dirs(runs: Path) -> list[Path]:
    """``runs/<method>/seed<k>/`` (or ``runs/<name>/``) run folders, sorted by method then seed number."""
    if not runs.is_dir():
        return []
    found = []
    for method_dir in sorted(p for p in runs.iterdir() if p.is_dir()):
        if is_run_dir(method_dir):
            found.append(method_dir)
            continue
        children = [p for p in method_dir.iterdir() if is_run_dir(p)]
        found += sorted(children, key=lambda p: (_seed_number(p), p.name))
    return found


def _seed_number(path: Path) -> int:
    match = _SEED.search(path.name)
    return int(match.group(1)) if match else 1 << 30


# --------------------------------------------------------------------------- one run


def _collect_run(source: Path) -> ReportData:
    run = read_run(source, source, name=source.resolve().name)
    data = ReportData("run", source, f"Run {run.name}", [run])
    data.tables += [
        with_ratios(t) if t.id == "cost" else t for t in _result_tables(run, "Evaluation", "metrics", "cost")
    ]
    validation = validation_table(run)
    if validation is not None:
        data.tables.append(validation)
    return data


def read_run(path: Path, root: Path, name: str) -> RunInfo:
    """Read one run folder; ``root`` is the report's input folder (for relative file names)."""
    rel = path.relative_to(root).as_posix() if path != root else ""
    run = RunInfo(name=name, method="", path=path, rel=rel)
    run.config = _read_yaml(RunDir(path).config, run.notes)
    _find_checkpoints(run)
    run.method = _method_of(run)
    run.scalars, run.validation, run.scalars_from = read_scalars(run.path, run.rel, run.notes)
    for result in sorted(path.glob("*.json")):
        parsed = _read_json(result, run.notes)
        if parsed is not None:
            run.results.append((_join(rel, result.name), parsed))
            # Caveats a command wrote beside its numbers ("FID on 8 images is noise") go on the page too.
            if isinstance(parsed, dict) and isinstance(parsed.get("notes"), list):
                run.notes += [f"{_join(rel, result.name)}: {note}" for note in parsed["notes"] if isinstance(note, str)]
    run.grids = RunDir(path).grids()
    run.state = RunDir(path).state if RunDir(path).has_state() else None
    return run


def _find_checkpoints(run: RunInfo) -> None:
    from reko.models import read_metadata  # late: reko.models imports torch

    found = RunDir(run.path).checkpoints()
    if not found:
        run.notes.append(f"{run.rel or run.path}: no student checkpoints (*_best/latest.safetensors)")
    config = run.config or {}
    for name, tags in found.items():
        tag = "best" if "best" in tags else "latest"
        run.checkpoints[name], run.checkpoint_tags[name] = tags[tag], tag
        try:
            metadata = read_metadata(tags[tag])
        except RekoError as error:
            run.notes.append(str(error))
            metadata = {}
        key = "teacher_ba" if name.endswith("_BA") else "teacher"
        teacher = metadata.get(key) or config.get(key) or ""
        if teacher:
            resolved = _existing_teacher(Path(teacher), run.path)
            if resolved is None:
                run.notes.append(f"{run.rel or run.path}: teacher {teacher} of {name} does not exist here")
            else:
                run.teachers[name] = resolved
        else:
            run.notes.append(f"{run.rel or run.path}: {name} names no teacher (checkpoint metadata or config.yaml)")


def _existing_teacher(path: Path, run_dir: Path) -> Path | None:
    """The teacher path as recorded, or relative to the run folder (a run moved with its teacher)."""
    for candidate in (path, run_dir / path):
        if candidate.is_file():
            return candidate
    return None


def _method_of(run: RunInfo) -> str:
    distill = (run.config or {}).get("distill")
    if isinstance(distill, dict) and isinstance(distill.get("method"), str):
        return distill["method"]
    from reko.models import read_metadata

    for checkpoint in run.checkpoints.values():
        try:
            method = read_metadata(checkpoint).get("method")
        except RekoError:
            continue
        if method:
            return method
    return run.path.parent.name if _SEED.search(run.path.name) else ""


def validation_table(run: RunInfo) -> Table | None:
    """The last validation metrics and those of the best checkpoint, exactly as in ``scalars.jsonl``."""
    if not run.validation or run.scalars_from != SCALARS_FILE:
        return None
    points: list[tuple[str, ValidationPoint]] = [(f"last (step {run.validation[-1].step})", run.validation[-1])]
    best_step = _best_step(run)
    if best_step is not None:
        best = [p for p in run.validation if p.step == best_step]
        if best and best[-1] is not run.validation[-1]:
            points.append((f"best checkpoint (step {best_step})", best[-1]))
    columns = list(dict.fromkeys(name for _, point in points for name in point.metrics))
    table = Table(
        "validation",
        "Validation during training (student on the held-out validation images)",
        columns,
        note=f"From {_join(run.rel, SCALARS_FILE)}; the best checkpoint is the one the report's images use.",
    )
    file = _join(run.rel, SCALARS_FILE)
    for label, point in points:
        cells = [
            Cell(point.metrics[c], source=Source(file, pointer_join("", VALIDATION_PREFIX + c), point.line))
            if c in point.metrics
            else Cell(None)
            for c in columns
        ]
        table.rows.append((label, cells))
    return table


def _best_step(run: RunInfo) -> int | None:
    from reko.models import read_metadata

    for name, tag in run.checkpoint_tags.items():
        if tag != "best":
            continue
        try:
            step = read_metadata(run.checkpoints[name]).get("step", "")
        except RekoError:
            return None
        return int(step) if step.isdigit() else None
    return None


def _result_tables(run: RunInfo, title: str, metrics_id: str, cost_id: str, name: str = "") -> list[Table]:
    """The quality and cost numbers of a run's JSON result files (one row per row found in each).

    ``name`` goes before each row label (a run's name, in a comparison's table of every run); a
    file that is a single unnamed row is labelled with ``name``, else its file name.
    """
    tables = []
    for table_id, what, keep in ((metrics_id, "metrics", lambda c: not is_cost(c)), (cost_id, "cost", is_cost)):
        combined: Table | None = None
        for file, document in run.results:
            rows = [replace(row, label=_row_label(name, row.label, file)) for row in json_rows(document)]
            table = build_table(table_id, f"{title} {what}", file, rows, keep, note=f"From {file}.")
            if table is None:
                continue
            combined = table if combined is None else _merge(combined, table)
        if combined is not None:
            tables.append(combined)
    return tables


def _row_label(name: str, label: str, file: str) -> str:
    if name and label:
        return f"{name}: {label}"
    return name or label or Path(file).name


def _merge(first: Table, second: Table) -> Table:
    """Rows of both tables under the union of their columns."""
    columns = first.columns + [c for c in second.columns if c not in first.columns]
    merged = Table(first.id, first.title, columns, note=f"{first.note} {second.note}")
    for table in (first, second):
        for label, cells in table.rows:
            by_column = dict(zip(table.columns, cells, strict=True))
            merged.rows.append((label, [by_column.get(c, Cell(None)) for c in columns]))
    return merged


# --------------------------------------------------------------------------- a comparison


def _collect_comparison(source: Path) -> ReportData:
    runs_root = source / "runs"
    runs = [read_run(path, source, name=path.relative_to(runs_root).as_posix()) for path in _run_dirs(runs_root)]
    data = ReportData("comparison", source, f"Comparison {source.resolve().name}", runs)
    if not runs:
        data.note(f"{runs_root}: no run folders (runs/<method>/seed<k>/): no curves or images")
    comparison_path = source / COMPARISON_FILE
    if comparison_path.is_file():
        data.comparison = _read_json(comparison_path, data.notes)
    else:
        data.note(f"{source} has no {COMPARISON_FILE}: the tables show each run's own results")
    if (source / COMPARISON_MD).is_file():
        data.comparison_md = (source / COMPARISON_MD).read_text(encoding="utf-8")
    if data.comparison is not None:
        rows = json_rows(data.comparison)
        note = f"From {COMPARISON_FILE}: mean ± standard deviation over seeds where several seeds ran."
        for table_id, title, keep in (
            ("metrics", "Metrics", lambda c: not is_cost(c)),
            ("cost", "Cost", is_cost),
        ):
            table = build_table(table_id, title, COMPARISON_FILE, rows, keep, note=note)
            if table is not None:
                data.tables.append(with_ratios(table) if table_id == "cost" else table)
        if not rows:
            data.note(f"{COMPARISON_FILE}: no rows found (expected a list of per-method objects)")
    # Each run's own metrics (its cost is its method's, already in the table above).
    for table_id, what in (("runs-metrics", "metrics"),):
        merged: Table | None = None
        for run in runs:
            for table in _result_tables(run, "", "runs-metrics", "runs-cost", name=run.name):
                if table.id == table_id:
                    merged = table if merged is None else _merge(merged, table)
        if merged is not None:
            merged.title, merged.note = f"Every run: {what}", "From each run's own JSON results."
            data.tables.append(merged)
    return data


# --------------------------------------------------------------------------- files


def _read_json(path: Path, notes: list[str]) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        notes.append(f"{path}: unreadable JSON ({error}); left out")
        return None


def _read_yaml(path: Path, notes: list[str]) -> dict[str, Any] | None:
    if not path.is_file():
        notes.append(f"{path}: missing; the run's settings are unknown")
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        notes.append(f"{path}: unreadable YAML ({error})")
        return None
    return data if isinstance(data, dict) else None


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name
