"""`Trainer`: the training loop. It knows nothing of any distillation method or data mode.

Every step::

    loss_g = trainable.generator_step(batch)       -> backward -> average over processes -> Adam step
    loss_d = trainable.discriminator_step(batch)   -> backward -> average over processes -> Adam step
    both learning rates follow "constant, then linear decay to 0" (pix2pix / CycleGAN)

and, at their cadences: scalars (TensorBoard + ``scalars.jsonl`` + the progress bar), an image
grid of fixed validation images, validation metrics (the "best" checkpoint), and the training
state (``state.pt``) with the latest generator checkpoints. SIGINT / SIGTERM finish the current
step, save and return; ``fit(resume=True)`` continues exactly where the saved state stopped.

Files in the run folder (``out_dir``)::

    state.pt                      everything needed to resume (written atomically)
    <generator>_latest.safetensors, <generator>_best.safetensors
    scalars.jsonl                 one JSON object per logged step / evaluation
    images/step_000100.png        image grids
    tensorboard/                  TensorBoard event files
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from reko.atomic import remove_stale_temporaries
from reko.config import LogConfig, TrainConfig
from reko.data.images import save_png
from reko.errors import RekoError, one_line
from reko.gan.trainable import Batch, Trainable
from reko.models import save_generator
from reko.progress import progress_bar
from reko.results.rundir import STATE_FILE, RunDir
from reko.train.distributed import DistContext, any_process, average_gradients, broadcast_module, gather_objects
from reko.train.images import make_grid
from reko.train.logs import append_scalars, open_logs
from reko.train.optim import autocast, build_optimisation, linear_decay
from reko.train.sampler import EpochIndexed, StepBatchSampler
from reko.train.signals import StopSignals
from reko.train.state import capture_rng, load_state, restore_rng, save_state, seed_everything
from reko.train.validation import mean_metrics, to_device

__all__ = ["STATE_FILE", "FitResult", "Trainer", "linear_decay", "to_device"]  # the last two: their old home

# _PRIVATE_GENERATOR: every DataLoader here gets its own torch.Generator, because creating a
# loader's iterator otherwise draws a seed from the global torch RNG, whose state is part of the
# saved training state: a resumed run would then draw different random numbers than a straight one.


@dataclass
class FitResult:
    """What `Trainer.fit` did: the last step, whether the run is complete, metrics and files."""

    out_dir: Path
    step: int
    finished: bool
    metrics: dict[str, float] = field(default_factory=dict)  # the last validation metrics
    best_value: float | None = None
    best_step: int | None = None
    checkpoints: dict[str, Path] = field(default_factory=dict)  # "<generator>_latest" / "_best" -> file


class Trainer:
    """Trains a `Trainable` on ``train_set`` and validates on ``val_set``, writing into ``out_dir``.

    Args:
        trainable: what to train (its teacher, if any, stays frozen inside it).
        train_set / val_set: map-style datasets of dicts (see `reko.train.data`).
        train / log: the loop's settings.
        out_dir: the run folder.
        context: this process's place in a multi-process run (default: alone on ``cpu``).
        num_workers: DataLoader worker processes.
    """

    def __init__(
        self,
        trainable: Trainable,
        train_set: Any,
        val_set: Any,
        train: TrainConfig,
        log: LogConfig,
        out_dir: str | Path,
        context: DistContext | None = None,
        num_workers: int = 0,
    ) -> None:
        self.trainable = trainable
        self.train_set, self.val_set = train_set, val_set
        self.config, self.log = train, log
        self.out_dir = Path(out_dir)
        self.run = RunDir(out_dir)  # every path of the run folder
        self.context = context or DistContext()
        self.num_workers = num_workers
        self.device = self.context.device
        if train.amp == "fp16" and self.device.type != "cuda":
            raise RekoError("train.amp=fp16 needs a CUDA device; use bf16 or none on CPU")
        self.step = 0
        self.best_value: float | None = None
        self.best_step: int | None = None
        self.metrics: dict[str, float] = {}
        self.checkpoints: dict[str, Path] = {}

    # ------------------------------------------------------------------ setup

    def prepare(self) -> None:
        """Move the trainable to the device and build optimisers, schedules and the AMP scaler."""
        self.trainable.to(self.device)
        if self.config.channels_last:
            self.trainable.to(memory_format=torch.channels_last)
        self.optimisation = build_optimisation(self.trainable, self.config, self.device)
        self.params = self.optimisation.params
        self.optimisers = self.optimisation.optimisers
        self.schedulers = self.optimisation.schedulers
        self.scaler = self.optimisation.scaler

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        return autocast(self.config.amp, self.device)

    def _loader(self, dataset: Any, sampler: Any) -> DataLoader:
        return DataLoader(
            EpochIndexed(dataset),
            batch_sampler=sampler,
            num_workers=self.num_workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=False,
            generator=torch.Generator(),  # see _PRIVATE_GENERATOR
        )

    # ------------------------------------------------------------------ the loop

    def fit(
        self, resume: bool = False, stop_at: int | None = None, on_start: Callable[[int], None] | None = None
    ) -> FitResult:
        """Train until ``train.steps`` (or ``stop_at``, or a stop signal); returns what happened.

        ``resume``: continue from ``out_dir/state.pt`` (weights, optimisers, schedules, RNGs, step).
        ``on_start(step)``: called once the state has loaded (or the networks are initialised),
        before anything is written into ``out_dir``: a resume whose state does not load writes nothing.
        """
        cfg, ctx = self.config, self.context
        self.prepare()
        if resume:
            self._load()
        else:
            broadcast_module(self.trainable, ctx)
            seed_everything(cfg.seed + ctx.rank)  # processes draw different random numbers from here on
        if on_start is not None:
            on_start(self.step)
        end = cfg.steps if stop_at is None else min(cfg.steps, stop_at)
        writer = self._open_logs(resume)
        grid_batch = self._grid_batch()
        if not resume and cfg.eval_every > 0:
            self._evaluate(writer)  # the untrained model, for comparison
        sampler = StepBatchSampler(
            len(self.train_set), cfg.batch_size, cfg.seed, self.step, end, ctx.rank, ctx.world_size
        )
        bar = progress_bar(
            total=cfg.steps, initial=self.step, disable=not (ctx.is_main and self.log.progress), dynamic_ncols=True
        )
        self.trainable.train()
        window = {"start": time.perf_counter(), "data": 0.0, "steps": 0}
        try:
            with StopSignals() as signals:
                batches = iter(self._loader(self.train_set, sampler))
                while self.step < end:
                    fetch = time.perf_counter()
                    batch = to_device(self._next_batch(batches), self.device, cfg.channels_last)
                    window["data"] += time.perf_counter() - fetch
                    parts = self.train_step(batch)
                    self.step += 1
                    window["steps"] += 1
                    bar.update(1)
                    self._after_step(parts, writer, bar, window, grid_batch)
                    if any_process(signals.requested, ctx):
                        break
        finally:
            bar.close()
        finished = self.step >= cfg.steps
        if finished and (cfg.eval_every == 0 or self.step % cfg.eval_every != 0) and len(self.val_set) > 0:
            self._evaluate(writer)  # eval_every 0: only here, at the end
        if finished and self.log.image_every > 0 and self.step % self.log.image_every != 0:
            self._write_grid(writer, grid_batch)
        if self.step % cfg.save_every != 0:  # (a multiple was saved by _after_step)
            self._save()
        if writer is not None:
            writer.close()
        return FitResult(
            out_dir=self.out_dir,
            step=self.step,
            finished=finished,
            metrics=dict(self.metrics),
            best_value=self.best_value,
            best_step=self.best_step,
            checkpoints=dict(self.checkpoints),
        )

    def _next_batch(self, batches: Iterator[Batch]) -> Batch:
        """The next batch; an unreadable image saves the state of the last step and stops the run
        with one error naming the file (the run resumes once the file is fixed or removed)."""
        try:
            return next(batches)
        except RekoError as error:
            saved = ""
            if self.context.world_size == 1:  # saving is collective: the other processes are not here
                if self.step % self.config.save_every != 0 or not self.run.state.exists():
                    self._save()
                saved = f" The state of step {self.step} is saved: fix or remove the file and --resume {self.out_dir}."
            raise RekoError(
                f"{one_line(error)}.{saved} Or set data.skip_bad=true to check every image at the start and skip "
                "unreadable ones"
            ) from None

    def train_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        """One generator update and one discriminator update; returns the named loss parts."""
        parts: dict[str, torch.Tensor] = {}
        for role in ("generator", "discriminator"):
            if role not in self.optimisers:
                continue
            step_fn = self.trainable.generator_step if role == "generator" else self.trainable.discriminator_step
            with self._autocast():
                loss, role_parts = step_fn(batch)
            optimiser = self.optimisers[role]
            optimiser.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            average_gradients(self.params[role], self.context)
            self.scaler.step(optimiser)
            prefix = "G" if role == "generator" else "D"
            parts[f"{prefix}/total"] = loss.detach()
            parts.update({f"{prefix}/{name}": value for name, value in role_parts.items()})
        self.scaler.update()
        for scheduler in self.schedulers.values():
            scheduler.step()
        return parts

    def _after_step(
        self, parts: dict[str, torch.Tensor], writer: Any, bar: Any, window: dict[str, Any], grid_batch: Batch | None
    ) -> None:
        cfg, log, step = self.config, self.log, self.step
        if log.log_every > 0 and step % log.log_every == 0:
            elapsed = time.perf_counter() - window["start"]
            scalars = {name: float(value) for name, value in parts.items()}
            if not all(math.isfinite(v) for v in scalars.values()):
                raise RekoError(f"a loss is not finite at step {step}: {scalars}")
            scalars["lr"] = self.optimisers["generator"].param_groups[0]["lr"]
            scalars["time/step_s"] = elapsed / max(1, window["steps"])
            scalars["time/data_wait_fraction"] = window["data"] / max(elapsed, 1e-9)
            window.update(start=time.perf_counter(), data=0.0, steps=0)
            if self.context.is_main:
                self._log_scalars(writer, scalars)
                bar.set_postfix({k.split("/")[0]: f"{v:.3g}" for k, v in scalars.items() if k.endswith("/total")})
        if log.image_every > 0 and step % log.image_every == 0:
            self._write_grid(writer, grid_batch)
        if cfg.eval_every > 0 and step % cfg.eval_every == 0:
            self._evaluate(writer)
        if step % cfg.save_every == 0:
            self._save()

    # ------------------------------------------------------------------ validation and pictures

    @contextlib.contextmanager
    def _inference(self) -> Iterator[None]:
        """Eval mode, no gradients, and the training RNG streams untouched."""
        self.trainable.eval()
        try:
            with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
                with torch.no_grad(), self._autocast():
                    yield
        finally:
            self.trainable.train()

    def _evaluate(self, writer: Any) -> None:
        """Validation metrics on rank 0; saves the best generators when the chosen metric improves."""
        if not self.context.is_main:
            return
        loader = DataLoader(
            self.val_set,
            batch_size=max(1, self.config.batch_size),
            shuffle=False,
            num_workers=self.num_workers,
            generator=torch.Generator(),
        )
        cfg = self.config
        self.metrics = mean_metrics(
            self.trainable, loader, self.device, cfg.channels_last, cfg.eval_batches, self._inference
        )
        self._log_scalars(writer, {f"val/{name}": value for name, value in self.metrics.items()})
        name, direction = self.trainable.best_metric
        value = self.metrics.get(name)
        if value is None or self.step == 0:
            return
        better = self.best_value is None or (value > self.best_value if direction == "max" else value < self.best_value)
        if better:
            self.best_value, self.best_step = value, self.step
            self._save_generators("best")

    def _grid_batch(self) -> Batch | None:
        if not self.context.is_main or self.log.image_every <= 0 or len(self.val_set) == 0:
            return None
        count = min(self.log.image_count, len(self.val_set))
        return next(iter(DataLoader(self.val_set, batch_size=count, shuffle=False, generator=torch.Generator())))

    def _write_grid(self, writer: Any, batch: Batch | None) -> None:
        if batch is None:
            return
        with self._inference():
            columns = self.trainable.grid(to_device(batch, self.device, False))
        image = make_grid(columns)
        save_png(image, self.run.grid(self.step), {"columns": " | ".join(columns)})
        if writer is not None:
            import numpy as np

            writer.add_image("grid", np.asarray(image), self.step, dataformats="HWC")

    # ------------------------------------------------------------------ logs, checkpoints, state

    def _open_logs(self, resume: bool) -> Any:
        if not self.context.is_main:
            return None
        remove_stale_temporaries(self.out_dir)  # what writes killed mid-way left (up to a full-size state)
        remove_stale_temporaries(self.run.images)
        return open_logs(self.out_dir, self.step if resume else None)

    def _log_scalars(self, writer: Any, scalars: dict[str, float]) -> None:
        if writer is not None:
            for name, value in scalars.items():
                writer.add_scalar(name, value, self.step)
        append_scalars(self.out_dir, self.step, scalars)

    def _save_generators(self, tag: str) -> None:
        metadata = {**self.trainable.checkpoint_metadata(), "step": str(self.step), "checkpoint": tag}
        for name, generator in self.trainable.generators().items():
            path = self.run.checkpoint(name, tag)
            save_generator(generator, path, metadata)
            self.checkpoints[f"{name}_{tag}"] = path
        for name, heads in self.trainable.heads(self.step).items():
            heads.save(self.run.heads_file(name, tag))

    def _save(self) -> None:
        """``state.pt`` and the latest generators (a collective: every process calls it)."""
        rng_states = gather_objects(capture_rng(), self.context)
        if not self.context.is_main:
            return
        state = {
            "step": self.step,
            "world_size": self.context.world_size,
            "trainable": self.trainable.state_dict(),
            **self.optimisation.state_dict(),  # optimisers, schedulers, scaler
            "best": {"value": self.best_value, "step": self.best_step},
            "metrics": self.metrics,
            "rng": rng_states,
        }
        save_state(state, self.run.state)
        self._save_generators("latest")

    def _load(self) -> None:
        path = self.run.state
        state = load_state(path)  # on CPU: optimisers move their state to the parameters
        try:
            self.trainable.load_state_dict(state["trainable"])
            self.optimisation.load_state_dict(state)
        except (RuntimeError, KeyError, ValueError, TypeError) as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise RekoError(f"{path} does not fit this run's networks ({reason[:300]}); nothing was changed") from None
        self.step = int(state["step"])
        self.best_value, self.best_step = state["best"]["value"], state["best"]["step"]
        self.metrics = dict(state.get("metrics", {}))
        rng_states = state["rng"]
        # Same number of processes: each continues its own random streams. Otherwise (allowed,
        # but not bit-exact) every process continues from rank 0's.
        own = rng_states[self.context.rank] if len(rng_states) == self.context.world_size else rng_states[0]
        restore_rng(own)
        for name in self.trainable.generators():
            self.checkpoints[f"{name}_latest"] = self.run.checkpoint(name, "latest")
