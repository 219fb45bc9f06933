"""The real-task benchmark: on pix2pix facades (labels -> photo), which distiller makes the best
small student, scored against the real photos, and does any student reach its teacher?

The setting (fixed before any result was seen; issue 13): the real pix2pix teacher
``../shared/weights/teachers/facades_label2photo_unet128_ngf32.safetensors`` (U-Net-128, ngf 32,
BatchNorm, dropout; trained by reko on facades/train); U-Net-128 students of ngf 12 (7x fewer
parameters and MACs) in paired mode (conditional GAN + 100 x L1 to the real photo + the method's
term), 128x128 (resize 143, random crop, flips), BtoA; the same steps and seeds for every method,
so that for a seed every method starts from the same student and sees the same crops.

Phases (each resumable; one process; every finished piece is one JSON under --results):

* ``select``: on facades/train only. 50 pairs are carved out by a fixed seeded rule (`carve`,
  recorded in ``split.json``) and never trained on; students train on the other 350.
  (1) Learning curves of `CURVE_METHODS` (eval on the carved pairs every `CURVE_EVERY` steps up
  to `CURVE_STEPS`) fix the budget by `realtask_jobs.decide_budget` (``select/budget.json``); (2) the
  region-aware `RECIPES` are trained at that budget and the one with the lowest KID on the carved
  pairs becomes the ``reko-best`` row (``select/recipe.json``).
* ``final``: every row of `rows` (every registered method with its defaults, `EXTRA_ROWS`, and
  ``reko-best``), 3 seeds, trained on all 400 train pairs at the budget; the **last** checkpoint
  is evaluated once on facades/val + facades/test (206 pairs), as is the teacher (the bar).
  Nothing is chosen on these pairs.
* ``all``: select, then final, in the order of `jobs` (the methods that will not change first).

    python benchmarks/realtask.py --phase all --commit      # run / continue the benchmark
    python benchmarks/realtask.py --collect-only            # tabulate what is done

``--commit`` commits each finished result file on its own (``git commit -- FILE``), so a
stopped session loses at most the run in progress (whose state is saved every 500 steps).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling realtask_*.py modules
sys.modules.setdefault("realtask", sys.modules[__name__])  # they import this file as `realtask`

ROOT = Path(__file__).resolve().parents[1]
TEACHER = "weights/teachers/facades_label2photo_unet128_ngf32.safetensors"
FACADES = "data/facades"
SIZE, STUDENT_NGF, SEEDS = 128, 12, 3
CARVE_COUNT, CARVE_SEED = 50, 13
CURVE_METHODS = ("output", "reko")
CURVE_STEPS, CURVE_EVERY = 8000, 1000
BUDGET_FRACTIONS = (0.5, 0.75, 1.0)  # of CURVE_STEPS: the budgets decide_budget may choose
# pix2pix's training setting, as the teacher was trained (../shared/README.md), for every run.
RUN_OVERRIDES = (
    "mode=paired",
    "data.direction=BtoA",
    "discriminator.ndf=64",
    "discriminator.norm=batch",
    "loss.gan_mode=vanilla",
    "loss.l1_weight=100",
    "train.threads=1",
    "data.num_workers=0",
    "train.eval_every=0",
    "train.save_every=500",
    "log.image_every=2000",
    "log.progress=false",
)


@dataclass(frozen=True)
class Row:
    """One row of the table: a method with config overrides (``distill.*`` keys)."""

    name: str
    method: str
    overrides: tuple[str, ...] = ()
    note: str = ""


# Methods whose definition will not change: their final runs go first.
STABLE = ("none", "output", "feature", "attention", "wavelet", "patchnce-random")
# Registered methods that cannot run in this setting, and why (shown in the table instead of numbers).
NOT_APPLICABLE = {"similarity": "compares the samples of a batch; pix2pix trains at batch 1, where it refuses to run"}
# Rows beyond "every registered method with its defaults": one line each (e.g. a preset).
EXTRA_ROWS: tuple[Row, ...] = ()
BEST = "reko-best"  # the row of the recipe chosen in the select phase
# The region-aware candidates for reko-best, trained once (seed 0) at the budget on the split.
RECIPES: tuple[Row, ...] = (
    Row("reko", "reko", (), "ReKo's defaults"),
    Row("reko-peaks", "reko", ("distill.selection=peaks",), "local maxima instead of top-k"),
    Row("reko-distinct", "reko", ("distill.scoring=distinct",), "distinctiveness scoring (QS-Attn's criterion)"),
    Row("reko-masked", "reko", ("distill.negative_threshold=0.9",), "no negative with teacher cosine > 0.9"),
    Row("reko-learned-256", "reko", ("distill.scoring=learned", "distill.num_patches=256"), "learned scoring"),
    Row(
        "reko-learned-256-wavelet",
        "reko",
        ("distill.scoring=learned", "distill.num_patches=256", "distill.wavelet_weight=10"),
        "learned scoring + the wavelet term (the vintage benchmark's best objective)",
    ),
)


def rows(registered: list[str], best: Row | None) -> list[Row]:
    """The table's rows: the stable methods, the other registered ones (but `NOT_APPLICABLE`),
    `EXTRA_ROWS`, reko-best."""
    out = [Row(m, m) for m in STABLE if m in registered]
    out += [Row(m, m) for m in registered if m not in STABLE and m not in NOT_APPLICABLE]
    return out + list(EXTRA_ROWS) + ([best] if best else [])


# --------------------------------------------------------------------------- data


def carve(names: list[str], count: int, seed: int = CARVE_SEED) -> list[str]:
    """The ``count`` train pairs held out for selection: a seeded permutation of the sorted names."""
    import numpy as np

    ordered = sorted(names)
    return sorted(ordered[i] for i in np.random.default_rng(seed).permutation(len(ordered))[:count])


def _link(folder: Path, files: list[Path], prefix: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for file in files:
        link = folder / f"{prefix}{file.name}"
        if not link.is_symlink():
            link.symlink_to(file.resolve())
    return folder


def prepare_data(facades: Path, out: Path, count: int) -> tuple[dict[str, Path], dict[str, Any]]:
    """Folders of symbolic links (the images are read in place) and the recorded split."""
    from reko.data import list_images

    train = list_images(facades / "train")
    carved = set(carve([f.name for f in train], count))
    data = out / "data"
    folders = {
        "select": _link(data / "select" / "train", [f for f in train if f.name not in carved]).parent,
        "carved": _link(data / "carved", [f for f in train if f.name in carved]),
        "final": _link(data / "final" / "train", train).parent,
        "heldout": data / "heldout",
    }
    _link(folders["heldout"], list_images(facades / "val"), "val_")
    _link(folders["heldout"], list_images(facades / "test"), "test_")
    split = {
        "rule": f"numpy default_rng({CARVE_SEED}).permutation of the sorted facades/train names; the first {count}",
        "carved": sorted(carved),
        "train_for_selection": len(train) - len(carved),
        "train_for_final": len(train),
        "heldout": "facades/val + facades/test",
    }
    return folders, split


# --------------------------------------------------------------------------- runs


@dataclass
class Plan:
    """Everything a job needs: paths and the benchmark's scale (smaller in tests)."""

    teacher: str
    inception: str
    out: Path
    results: Path
    folders: dict[str, Path]
    size: int = SIZE
    student_ngf: int = STUDENT_NGF
    seeds: int = SEEDS
    curve_steps: int = CURVE_STEPS
    curve_every: int = CURVE_EVERY
    eval_limit: int | None = None
    steps: int | None = None  # the budget, once decided (or forced by --steps)
    commit: bool = False
    split: dict[str, Any] = field(default_factory=dict)  # the carved pairs, as recorded in split.json

    def config(self, row: Row, seed: int, steps: int, data: str) -> Any:
        from reko.config import load_config
        from reko.distill.config import DistillConfig

        overrides = [
            f"teacher={self.teacher}",
            f"data.root={self.folders[data]}",
            f"data.val_root={self.folders['carved']}",  # the trainer's end-of-run check only
            f"data.crop_size={self.size}",
            f"data.load_size={round(self.size * 286 / 256)}",
            f"student.ngf={self.student_ngf}",
            *RUN_OVERRIDES,
            f"train.steps={steps}",
            f"train.seed={seed}",
            f"distill.method={row.method}",
            *row.overrides,
        ]
        return load_config(DistillConfig, None, overrides)


def config_key(config: Any) -> str:
    """A short hash of what a run trains (its resolved config, without its own paths)."""
    from reko.config import to_dict

    data = to_dict(config)
    data["out"] = ""
    data["teacher"] = Path(data["teacher"]).name
    data["data"]["root"] = Path(data["data"]["root"]).name
    data["data"]["val_root"] = ""
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:10]


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def train(config: Any, folder: Path, stop_at: int | None = None) -> Path | None:
    """Train (or resume) ``config`` in ``folder`` up to ``stop_at`` (default: all its steps); the
    student checkpoint then, or None if the run was stopped (a signal) before."""
    from reko.api import distill
    from reko.results.rundir import STATE_FILE

    target = min(stop_at or config.train.steps, config.train.steps)
    resume = (folder / STATE_FILE).is_file()
    if not resume and folder.exists():
        shutil.rmtree(folder)  # never saved its state: start again
    timing = folder / "timing.json"
    seconds = json.loads(timing.read_text())["seconds"] if timing.is_file() else 0.0
    start = time.perf_counter()
    result = distill(config, folder, resume=resume, stop_at=target)
    from reko.eval.report import write_json

    write_json(timing, {"seconds": seconds + time.perf_counter() - start, "step": result.step})
    return result.latest["student"] if result.step >= target else None


def training_seconds(folder: Path) -> float | None:
    timing = folder / "timing.json"
    return json.loads(timing.read_text())["seconds"] if timing.is_file() else None


def read(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def save(plan: Plan, path: Path, data: dict[str, Any], message: str) -> None:
    from reko.eval.report import write_json

    write_json(path, data)
    if plan.commit:
        commit(path, message)


def commit(path: Path, message: str, attempts: int = 30, repo: Path = ROOT) -> bool:
    """``git add`` + ``git commit -- path`` (that file only), retrying while another git holds
    the index lock. False (with a log line) if it could not commit; the file stays written."""
    for _ in range(attempts):
        steps = [["git", "add", "--", str(path)], ["git", "commit", "-q", "-m", message, "--", str(path)]]
        failed = None
        for command in steps:
            done = subprocess.run(command, cwd=repo, capture_output=True, text=True)
            if done.returncode:
                failed = done.stderr + done.stdout
                break
        if failed is None:
            return True
        if "index.lock" not in failed:
            status = subprocess.run(["git", "status", "--porcelain", "--", str(path)], cwd=repo, capture_output=True)
            if not status.stdout.strip():
                return True  # nothing changed: already committed
            log(f"commit of {path} failed: {failed.strip()}")
            return False
        time.sleep(2)
    log(f"commit of {path} gave up: the index stayed locked")
    return False


# --------------------------------------------------------------------------- the phases


def jobs(plan: Plan, phase: str, only: set[str] | None) -> Iterator[tuple[str, Callable[[], bool]]]:
    """The benchmark's pieces in order; each returns False when it could not finish (stopped)."""
    from realtask_jobs import Jobs

    work = Jobs(plan)
    if phase in ("select", "all"):
        yield "split", work.split
        for method in CURVE_METHODS:
            yield f"curve {method}", lambda method=method: work.curve(method)
        yield "budget", work.budget
    if phase in ("final", "all"):
        yield "final teacher", work.final_teacher
        for seed in range(plan.seeds):
            for row in work.final_rows(stable=True, only=only):
                yield f"final {row.name} seed {seed}", lambda row=row, seed=seed: work.final(row, seed)
    if phase in ("select", "all"):
        for recipe in RECIPES:
            yield f"recipe {recipe.name}", lambda recipe=recipe: work.recipe(recipe)
        yield "recipe choice", work.choose_recipe
    if phase in ("final", "all"):
        for seed in range(plan.seeds):
            for row in work.final_rows(stable=False, only=only):
                yield f"final {row.name} seed {seed}", lambda row=row, seed=seed: work.final(row, seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phase", choices=("select", "final", "all"), default="all")
    parser.add_argument("--collect-only", action="store_true", help="tabulate the finished runs; train nothing")
    parser.add_argument("--commit", action="store_true", help="git-commit each finished result file on its own")
    parser.add_argument("--rows", default="", help="comma-separated final rows to run (default: all)")
    parser.add_argument("--shared", default=os.environ.get("REKO_SHARED", str(ROOT.parent / "shared")))
    parser.add_argument("--out", default=str(ROOT / "runs" / "realtask"), help="run folders")
    parser.add_argument("--results", default=str(ROOT / "benchmarks" / "results" / "realtask"))
    parser.add_argument("--update-docs", default="", help="also rewrite the table block of this markdown file")
    # The benchmark's scale; change only for a quick check (tests): results record it.
    parser.add_argument("--teacher", default=None)
    parser.add_argument("--inception", default=None)
    parser.add_argument("--size", type=int, default=SIZE)
    parser.add_argument("--student-ngf", type=int, default=STUDENT_NGF)
    parser.add_argument("--seeds", type=int, default=SEEDS)
    parser.add_argument("--carve", type=int, default=CARVE_COUNT)
    parser.add_argument("--curve-steps", type=int, default=CURVE_STEPS)
    parser.add_argument("--curve-every", type=int, default=CURVE_EVERY)
    parser.add_argument("--steps", type=int, default=None, help="force the budget (default: select/budget.json)")
    parser.add_argument("--eval-limit", type=int, default=None, help="score only the first N held-out pairs")
    args = parser.parse_args(argv)
    shared = Path(args.shared)
    results = Path(args.results)
    folders, split = prepare_data(shared / FACADES, Path(args.out), args.carve)
    budget = read(results / "select" / "budget.json")
    plan = Plan(
        teacher=args.teacher or str(shared / TEACHER),
        inception=args.inception or str(shared / "weights" / "inception" / "fid_inception_v3_2015_12_05.pt"),
        out=Path(args.out),
        results=results,
        folders=folders,
        size=args.size,
        student_ngf=args.student_ngf,
        seeds=args.seeds,
        curve_steps=args.curve_steps,
        curve_every=args.curve_every,
        eval_limit=args.eval_limit,
        steps=args.steps or (budget["steps"] if budget else None),
        commit=args.commit,
        split=split,
    )
    from realtask_table import collect, write_tables

    if not args.collect_only:
        only = set(args.rows.split(",")) if args.rows else None
        start = time.perf_counter()
        failed = []
        for name, job in jobs(plan, args.phase, only):
            log(f"{name}: start")
            try:
                finished = job()
            except Exception as error:  # noqa: BLE001 - one broken row must not stop the others
                log(f"{name}: FAILED: {type(error).__name__}: {error}")
                failed.append(name)
                continue
            if not finished:
                log(f"{name}: stopped; run the same command to continue")
                return 1
        log(f"{args.phase}: done in {(time.perf_counter() - start) / 60:.1f} min; failed: {failed or 'none'}")
    document = collect(plan)
    write_tables(plan, document, Path(args.update_docs) if args.update_docs else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
