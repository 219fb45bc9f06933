"""`compare(settings)`: train every (method, seed), evaluate each student, write the table.

Layout of the comparison folder::

    settings.json                   what the runs were trained with (a later call must agree)
    runs/<method>/seed<k>/          a `reko distill` run folder, plus
        finished.json               written when training reached its last step
        eval.json                   the student's metrics on the held-out images
    teacher/eval.json               the teacher's metrics against real data (where there is some)
    comparison.json, comparison.md  the aggregate, rewritten atomically after every run (the
                                    costs are measured last, back to back, so they are comparable)

It resumes: a run with ``finished.json`` is not trained again, one with a current ``eval.json``
is not evaluated again, and a run stopped midway (it has ``state.pt``) continues through the
trainer's resume. Runs go seed by seed (every method with seed 0, then seed 1, ...), so a
comparison stopped early already compares all methods on the seeds it finished.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reko.api import distill
from reko.atomic import ensure_writable_dir, write_text_atomic
from reko.compare.evaluation import Evaluator, load_eval_images
from reko.compare.settings import CompareSettings, default_eval_data
from reko.compare.table import markdown_report, method_row, teacher_row
from reko.distill.build import check_method, resolve_mode
from reko.errors import RekoError
from reko.eval.report import json_safe, write_json
from reko.models import load_generator
from reko.results.rundir import EVAL_FILE, FINISHED_FILE, STATE_FILE, RunDir  # noqa: F401 (FINISHED_FILE: benchmarks)

SETTINGS_FILE = "settings.json"
COMPARISON_JSON = "comparison.json"
COMPARISON_MD = "comparison.md"
STUDENT = "student"  # the generator a one-direction distillation run saves


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class ComparisonResult:
    """What `compare` did: the aggregate document and the runs that failed or are still to do."""

    out_dir: Path
    document: dict[str, Any]
    failed: list[dict[str, Any]] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.failed and not self.pending


def run_dir(out: str | Path, method: str, seed: int) -> Path:
    return Path(out) / "runs" / method / f"seed{seed}"


def check_settings(settings: CompareSettings) -> None:
    """Refuse a folder whose runs were trained with other settings (nothing is written here).

    Recorded settings whose folder holds no trained state (a start that failed, e.g. on a bad
    teacher) lock nothing: they are replaced by `record_settings` once this start gets going.
    """
    path = Path(settings.out) / SETTINGS_FILE
    current = settings.training_fingerprint()
    if not path.is_file() or not _anything_trained(Path(settings.out)):
        return
    saved = json.loads(path.read_text(encoding="utf-8"))
    changed = sorted(key for key in current if saved.get(key) != current[key])
    if changed:
        details = "; ".join(f"{key}: {saved.get(key)!r} -> {current[key]!r}" for key in changed)
        raise RekoError(
            f"{settings.out} holds a comparison trained with other settings ({details}); "
            "use another --out, or the same settings to resume it"
        )


def record_settings(settings: CompareSettings) -> None:
    """Write the training settings, once the start has loaded the teacher and the images."""
    path = Path(settings.out) / SETTINGS_FILE
    if not path.is_file() or not _anything_trained(Path(settings.out)):
        write_json(path, settings.training_fingerprint())


def _anything_trained(out: Path) -> bool:
    runs = out / "runs"
    return runs.is_dir() and any(runs.glob(f"*/*/{STATE_FILE}"))


def train_run(
    settings: CompareSettings, method: str, seed: int, log: Callable[[str], None], prefix: str
) -> Path | None:
    """Train (or resume, or skip) one run; its final student checkpoint, or None if it was stopped."""
    run = RunDir(run_dir(settings.out, method, seed))
    folder, marker = run.path, run.finished_file
    if marker.is_file():
        log(f"{prefix}: already trained ({folder})")
        return Path(json.loads(marker.read_text(encoding="utf-8"))["checkpoint"])
    config = settings.run_config(method, seed, folder)
    resume = run.has_state()
    if not resume and folder.exists():
        shutil.rmtree(folder)  # a run that never saved its state: start it again from nothing
    log(f"{prefix}: {'resuming' if resume else 'training'} {settings.steps} steps -> {folder}")
    start = time.perf_counter()
    result = distill(config, folder, resume=resume)
    if not result.finished:
        log(f"{prefix}: stopped at step {result.step}; rerun the same command to continue")
        return None
    checkpoint = result.latest[STUDENT]
    seconds = time.perf_counter() - start
    write_json(marker, {"step": result.step, "checkpoint": str(checkpoint), "seconds": seconds})
    log(f"{prefix}: trained in {seconds:.0f} s")
    return checkpoint


def evaluate_run(
    folder: Path, checkpoint: Path, evaluator: Evaluator, fingerprint: str, log: Callable[[str], None], prefix: str
) -> dict[str, float]:
    """The student's metrics, cached in ``eval.json`` under ``fingerprint``."""
    path = RunDir(folder).eval_file
    if path.is_file():
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved.get("fingerprint") == fingerprint:
            return _floats(saved["metrics"])
    start = time.perf_counter()
    metrics = evaluator.evaluate_student(load_generator(checkpoint))
    write_json(
        path,
        {
            "fingerprint": fingerprint,
            "checkpoint": str(checkpoint),
            "eval_data": evaluator.images.source,
            "images": len(evaluator.images.inputs),
            "metrics": metrics,
        },
    )
    shown = ", ".join(f"{name} {value:.4g}" for name, value in metrics.items())
    log(f"{prefix}: evaluated in {time.perf_counter() - start:.0f} s: {shown}")
    return metrics


def _floats(metrics: dict[str, Any]) -> dict[str, float]:
    """Metrics read back from JSON (where ``inf`` was written as null)."""
    return {name: float("inf") if value is None else float(value) for name, value in metrics.items()}


def _teacher_metrics(evaluator: Evaluator, out: Path, fingerprint: str) -> dict[str, float]:
    path = out / "teacher" / EVAL_FILE
    if path.is_file():
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved.get("fingerprint") == fingerprint:
            return _floats(saved["metrics"])
    metrics = evaluator.evaluate_teacher()
    write_json(path, {"fingerprint": fingerprint, "metrics": metrics})
    return metrics


def compare(settings: CompareSettings, log: Callable[[str], None] = _stderr) -> ComparisonResult:
    """Run the comparison described by ``settings`` (resuming what a previous call left) and
    write ``comparison.json`` and ``comparison.md`` into ``settings.out``."""
    for method in settings.methods:  # every method's own constraints, before any run trains
        check_method(settings.run_config(method, 0, run_dir(settings.out, method, 0)))
    out = ensure_writable_dir(settings.out, "comparison folder")
    check_settings(settings)
    mode = resolve_mode(settings.run_config(settings.methods[0], 0, run_dir(out, settings.methods[0], 0)))
    if mode == "cyclegan":
        raise RekoError("reko compare distils one direction; do not set teacher_ba")
    teacher = load_generator(settings.teacher)
    eval_data = str(settings.eval_data or default_eval_data(settings.data))
    fingerprint = settings.evaluation_fingerprint(eval_data)
    direction = settings.run_config(settings.methods[0], 0, out).data.direction
    images = load_eval_images(
        eval_data, settings.size, mode == "paired", direction, teacher.spec.size_multiple, settings.eval_limit
    )
    evaluator = Evaluator(settings, images, teacher, settings.eval_target)
    record_settings(settings)  # only now: a start that failed above must not lock the folder
    log(
        f"reko compare: {len(settings.methods)} methods x {settings.seeds} seeds, {settings.steps} steps each; "
        f"evaluating on {len(images.inputs)} images of {eval_data}"
    )

    runs = [(method, seed) for seed in settings.seed_list for method in settings.methods]
    per_seed: dict[str, dict[int, dict[str, float]]] = {method: {} for method in settings.methods}
    costs: dict[str, dict[str, Any]] = {}
    checkpoints: dict[str, Path] = {}  # one student per method: its seeds share the architecture
    failed: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    student_arch = "?"
    teacher_entry: dict[str, Any] | None = None

    def document() -> dict[str, Any]:
        rows = [method_row(m, per_seed[m], costs.get(m, {})) for m in settings.methods if per_seed[m]]
        return {
            "settings": {**settings.to_dict(), "mode": mode},
            "eval": {
                "data": eval_data,
                "images": len(images.inputs),
                "student": student_arch,
                "latency_threads": next((c.get("latency_threads") for c in costs.values()), None),
            },
            "teacher": teacher_entry,
            "rows": rows,
            "per_seed": {m: {str(s): v for s, v in per_seed[m].items()} for m in settings.methods},
            "failed": failed,
            "pending": pending,
            "overrides": list(settings.overrides),
        }

    for index, (method, seed) in enumerate(runs, 1):
        prefix = f"[{index}/{len(runs)}] {method} seed {seed}"
        try:
            checkpoint = train_run(settings, method, seed, log, prefix)
            if checkpoint is None:
                pending = [{"method": m, "seed": s} for m, s in runs[index - 1 :]]
                break
            metrics = evaluate_run(run_dir(out, method, seed), checkpoint, evaluator, fingerprint, log, prefix)
        except RekoError as error:
            failed.append({"method": method, "seed": seed, "error": str(error)})
            log(f"{prefix}: FAILED: {error}")
            continue
        per_seed[method][seed] = metrics
        checkpoints.setdefault(method, checkpoint)
        _write(out, document())

    # Costs last, back to back: on a shared machine, latencies timed minutes apart are not comparable.
    log("reko compare: teacher metrics; parameters, MACs and latency of every network")
    teacher_cost = evaluator.cost(teacher)
    for method, checkpoint in checkpoints.items():
        costs[method] = evaluator.cost(load_generator(checkpoint))
        student_arch = costs[method].get("architecture", student_arch)
    teacher_metrics = {} if pending else _teacher_metrics(evaluator, out, fingerprint)
    teacher_entry = teacher_row(teacher_metrics, teacher_cost)
    final = document()
    _write(out, final)
    log(f"reko compare: wrote {out / COMPARISON_MD} and {out / COMPARISON_JSON}")
    return ComparisonResult(out, final, failed, pending)


def _write(out: Path, document: dict[str, Any]) -> None:
    write_json(out / COMPARISON_JSON, document)
    write_text_atomic(out / COMPARISON_MD, markdown_report(json_safe(document)))
