"""The quality benchmark's per-run results, kept in git: one small JSON per finished run.

Training folders (``--out``) live outside the repository and are lost with a machine; these
files are not. ``benchmarks/results/<name>/<suite>/<method>_seed<seed>.json`` holds a finished
run's metrics, its cost, its training seconds and the key of what it trained and how it was
evaluated. A run whose file holds the current key is skipped, so the benchmark resumes across
sessions and machines, and ``--collect-only`` tabulates from these files alone.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # realtask's commit(), when loaded by path


def result_path(results: Path, name: str, suite: str, method: str, seed: int) -> Path:
    return results / name / suite / f"{method}_seed{seed}.json"


def run_key(settings: Any, method: str, seed: int) -> str:
    """A short hash of what one run trains and how it is evaluated, without machine paths:
    the resolved run config (teacher and data by file name) and the evaluation settings."""
    from reko.config import to_dict

    config = to_dict(settings.run_config(method, seed, "run"))
    config["out"] = ""
    config["teacher"] = Path(config["teacher"]).name
    config["data"]["root"] = Path(config["data"]["root"]).name
    evaluation = {
        "metrics": sorted(settings.metrics),
        "size": settings.size,
        "eval_limit": settings.eval_limit,
        "inception": Path(settings.inception).name if settings.inception else None,
    }
    text = json.dumps({"config": config, "evaluation": evaluation}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def read_result(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def is_current(path: Path, key: str) -> bool:
    saved = read_result(path)
    return saved is not None and saved.get("key") == key


def save_result(path: Path, result: dict[str, Any], commit: bool) -> None:
    """Write one run's result and, with ``commit``, git-commit that file alone."""
    from reko.eval.report import write_json

    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, result)
    if commit:
        save_commit(path, f"quality {path.parent.parent.name}: {path.parent.name}/{path.stem}")


def save_commit(path: Path, message: str) -> bool:
    """``git commit`` of that one file (realtask's, retrying while the index is locked)."""
    from realtask import commit

    return commit(path, message, repo=ROOT)


def run_result(
    suite: str, method: str, seed: int, key: str, steps: int, evaluation: dict[str, Any], checkpoint: Path, seconds: Any
) -> dict[str, Any]:
    """The file's content for one finished, evaluated run (its cost counted from the checkpoint)."""
    from reko.eval.macs import count_macs, count_parameters
    from reko.models import load_generator

    student = load_generator(checkpoint)
    return {
        "suite": suite,
        "method": method,
        "seed": seed,
        "key": key,
        "steps": steps,
        "metrics": evaluation["metrics"],
        "images": evaluation["images"],
        "training_seconds": seconds,
        "parameters": count_parameters(student),
        "macs_field": count_macs(student, 256).field,
        "macs_size": 256,
        "architecture": student.spec.describe(),
    }


def suite_document(results: Path, name: str, suite: str, methods: tuple[str, ...], seeds: int) -> dict[str, Any]:
    """One suite's rows from the files of its finished runs (any key: the table says what ran)."""
    from reko.compare.table import method_row

    rows, per_seed, images = [], {}, None
    for method in methods:
        found = [read_result(result_path(results, name, suite, method, seed)) for seed in range(seeds)]
        found = [item for item in found if item is not None]
        per_seed[method] = {item["seed"]: item["metrics"] for item in found}
        if found:
            images = found[0]["images"]
            cost = {key: found[0][key] for key in ("parameters", "macs_field", "architecture")}
            rows.append(method_row(method, per_seed[method], cost))
    return {"rows": rows, "eval": {"images": images}, "per_seed": per_seed}


def training_seconds(results: Path, name: str) -> list[float]:
    """Training time of every finished run recorded under ``results/name``."""
    seconds = []
    for path in sorted((results / name).glob("*/*.json")):
        value = (read_result(path) or {}).get("training_seconds")
        if value is not None:
            seconds.append(float(value))
    return seconds
