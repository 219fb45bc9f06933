"""What ``--resume`` may change, and the record of what it changed.

A resumed run continues the saved networks, optimisers and data order. Settings that decide what
those steps trained (the networks, the method, the data and how it is cropped, the seed, the
batch size, the learning rates, the losses) cannot change on resume: the run would silently
become a mix of two configs while its ``config.yaml`` described only the last. `check_resume`
refuses them before anything is loaded or written. The settings in `RESUMABLE` (how long to go
on, how often to save, evaluate and log, where the files now are, how to load them) may change;
each resume that changes one appends ``{"step", "changed": {key: [old, new]}}`` to
``resumes.jsonl`` (`record_resume`), so every segment of the run keeps its settings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reko.config import read_yaml, to_dict
from reko.errors import RekoError
from reko.results.rundir import RunDir

# Dotted keys (or section prefixes ending in ".") that a resume may change.
RESUMABLE: tuple[str, ...] = (
    "out",
    "teacher",  # the same teacher, moved: its weights are checked when loaded
    "teacher_ba",
    "data.root",  # the same images, moved
    "data.val_root",
    "data.num_workers",
    "data.skip_bad",
    "train.steps",  # train longer (with the default decay_steps the decay follows: recorded)
    "train.device",
    "train.threads",
    "train.save_every",
    "train.eval_every",
    "train.eval_batches",
    "log.",
)


def resumable(key: str) -> bool:
    return any(key == allowed or (allowed.endswith(".") and key.startswith(allowed)) for allowed in RESUMABLE)


def changes(saved: dict[str, Any], current: dict[str, Any], prefix: str = "") -> dict[str, list[Any]]:
    """``{dotted key: [saved, current]}`` for every key of ``saved`` whose value differs in ``current``
    (keys a newer reko added, absent from an older ``config.yaml``, took their defaults: not changes)."""
    found: dict[str, list[Any]] = {}
    for key, old in saved.items():
        if key not in current:
            continue
        new = current[key]
        if isinstance(old, dict) and isinstance(new, dict):
            found.update(changes(old, new, f"{prefix}{key}."))
        elif old != new:
            found[f"{prefix}{key}"] = [old, new]
    return found


def check_resume(config_file: Path, config: Any) -> dict[str, list[Any]]:
    """The changes ``config`` makes to the run's saved ``config_file``; `RekoError` if one changes what
    the saved steps trained. Reads only: nothing is written."""
    found = changes(read_yaml(config_file), to_dict(config))
    refused = {key: value for key, value in found.items() if not resumable(key)}
    if refused:
        details = "; ".join(f"{key}: {old!r} -> {new!r}" for key, (old, new) in refused.items())
        raise RekoError(
            f"--resume cannot change what the run's saved steps trained ({details}): the run would become a mix "
            f"of two configs. Start a new run with --out for that; a resume may change only {', '.join(RESUMABLE)}"
        )
    return found


def record_resume(run_dir: Path, step: int, found: dict[str, list[Any]]) -> None:
    """Append the changes of a resume at ``step`` to ``resumes.jsonl`` (nothing if there are none)."""
    if found:
        with RunDir(run_dir).resumes.open("a", encoding="utf-8") as f:
            f.write(json.dumps({"step": step, "changed": found}) + "\n")


# The config's file and folder paths: stored absolute, so that --resume works from any directory.
PATH_KEYS: tuple[str, ...] = ("teacher", "teacher_ba", "data.root", "data.val_root")


def absolute_paths(config: Any) -> Any:
    """``config`` with its non-empty `PATH_KEYS` made absolute (resolved against the working directory)."""
    from reko.config import replace

    flat = to_dict(config)
    updates = {}
    for key in PATH_KEYS:
        section, _, name = key.rpartition(".")
        value = (flat.get(section, {}) if section else flat).get(name)
        if isinstance(value, str) and value and not Path(value).is_absolute():
            updates[key] = str(Path(value).resolve())
    return replace(config, **updates) if updates else config
