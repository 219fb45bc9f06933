"""Running a training job: the run folder, its config, processes, seeds, and the `Trainer`.

`run_trainer` is what `reko.api.train_teacher` and `reko.api.distill` share: it prepares the run
folder (``config.yaml``), processes and seeds, builds the `Trainable` and the datasets, and trains.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from reko.atomic import WRITE_PROBE, ensure_writable_dir
from reko.config import from_dict, read_yaml, save_config, set_nested
from reko.errors import RekoError
from reko.gan.trainable import Trainable
from reko.results.rundir import CONFIG_FILE, STATE_FILE, RunDir
from reko.train.data import build_datasets
from reko.train.distributed import DistContext, init_distributed, shutdown_distributed
from reko.train.resuming import absolute_paths, check_resume, record_resume
from reko.train.state import seed_everything, set_deterministic
from reko.train.trainer import Trainer


@dataclass
class RunResult:
    """What a run did and where its files are."""

    out_dir: Path
    step: int
    finished: bool  # reached train.steps (False: stopped early, to be resumed)
    latest: dict[str, Path] = field(default_factory=dict)  # generator name -> *_latest.safetensors
    best: dict[str, Path] = field(default_factory=dict)  # generator name -> *_best.safetensors
    metrics: dict[str, float] = field(default_factory=dict)  # the last validation metrics
    best_value: float | None = None
    best_step: int | None = None
    config: Any = None  # the resolved config


def load_run_config(cls: type[Any], run_dir: str | os.PathLike[str], overrides: dict[str, Any] | None = None) -> Any:
    """The config a run folder was started with (``config.yaml``), with optional dotted overrides."""
    path = RunDir(run_dir).config
    if not path.is_file():
        raise RekoError(f"{run_dir} is not a run folder: it has no {CONFIG_FILE}")
    raw = read_yaml(path)
    for key, value in (overrides or {}).items():
        set_nested(raw, key, value)
    return from_dict(cls, raw)


def check_out_dir(out_dir: str | os.PathLike[str] | None, resume: bool) -> Path:
    if not out_dir:
        raise RekoError("no run folder: set out (the folder the run writes into)")
    out, run = Path(out_dir), RunDir(out_dir)
    if resume and not run.has_state():
        raise RekoError(f"cannot resume {out}: it has no {STATE_FILE} (the run never saved)")
    if not resume and run.state.exists():
        raise RekoError(f"{out} already holds a run; resume it, or choose another folder")
    if not resume and out.is_dir() and any(not p.name.startswith(WRITE_PROBE) for p in out.iterdir()):
        # Not a run that can be resumed: its files (checkpoints, config.yaml, logs) would be replaced or mixed.
        what = "a run that never saved its state" if run.config.is_file() else "files"
        raise RekoError(f"{out} is not empty (it holds {what}): choose a new or empty folder, or delete it")
    ensure_writable_dir(out, "run folder")  # a read-only destination fails now, not at the first save
    return out


def run_trainer(
    config: Any,
    out_dir: Path,
    layout: str,
    build: Callable[[], Trainable],
    resume: bool,
    stop_at: int | None,
) -> tuple[RunResult, Trainable]:
    """Start processes and seeds, build the trainable and the datasets, write config.yaml, train.

    A resume is checked first (`reko.train.resuming.check_resume`) and writes nothing until its
    state has loaded: a resume that fails leaves the run as it was.
    """
    config = absolute_paths(config)  # stored absolute: --resume works from any working directory
    run = RunDir(out_dir)
    changed = check_resume(run.config, config) if resume else {}
    threads = torch.get_num_threads()
    if config.train.threads > 0:
        # One thread per process is much faster when processes share cores (torchrun on a CPU,
        # or a busy machine): idle OpenMP threads spin while they wait for a core.
        torch.set_num_threads(config.train.threads)
    context: DistContext = init_distributed(config.train.device)
    try:
        set_deterministic(config.train.deterministic)
        seed_everything(config.train.seed)  # the same on every process: identical initial weights
        trainable = build()
        size_multiple = max(g.spec.size_multiple for g in trainable.generators().values())
        if config.data.crop_size % size_multiple:
            raise RekoError(
                f"data.crop_size {config.data.crop_size} is not a multiple of {size_multiple}, which this "
                "generator needs; change data.crop_size (and data.load_size)"
            )
        train_set, val_set = build_datasets(config.data, layout, config.train.seed, size_multiple)

        def started(step: int) -> None:  # the state has loaded (or the run is new): now write
            if context.is_main:
                record_resume(out_dir, step, changed)
                save_config(config, run.config)

        trainer = Trainer(
            trainable, train_set, val_set, config.train, config.log, out_dir, context, config.data.num_workers
        )
        fit = trainer.fit(resume=resume, stop_at=stop_at, on_start=started)
    finally:
        shutdown_distributed()
        torch.set_num_threads(threads)
    names = list(trainable.generators())
    result = RunResult(
        out_dir=out_dir,
        step=fit.step,
        finished=fit.finished,
        latest={n: run.checkpoint(n, "latest") for n in names},
        best={n: run.checkpoint(n, "best") for n in names if run.checkpoint(n, "best").exists()},
        metrics=fit.metrics,
        best_value=fit.best_value,
        best_step=fit.best_step,
        config=config,
    )
    return result, trainable
