"""The quality benchmark: does region-aware contrastive distillation make a better student?

Under identical settings (same teacher, data, steps, seeds, initial weights and data order per
seed) every method distils the real pretrained CycleGAN teacher (vintagify, ResNet-9 ngf 64) into
ResNet-9 students of ngf 24 and ngf 16, on horse2zebra trainA + trainB photos at 128x128; each
student's *last* checkpoint (no selection on held-out data) is evaluated on testA + testB against
the teacher's outputs: FID and KID of the output sets, PSNR and SSIM per image.

Suites (one ``reko compare`` folder each under --out):

==============================  =============================================================
suite                           what changes
==============================  =============================================================
``ngf24``, ``ngf16``            the methods: none, output, feature, attention, wavelet,
                                patchnce-random, reko (defaults: teacher scoring, 64 patches,
                                trained heads)
``ablation_scoring_student_teacher``, ``ablation_scoring_learned``
                                reko with region scoring student+teacher / a learned head
``ablation_patches_16``, ``ablation_patches_256``
                                reko with 16 / 256 patches per layer
``ablation_frozen_teacher_head``
                                reko with the teacher-side projection head frozen at its
                                random initialisation (the authors' code)
==============================  =============================================================

The ablations use the ngf-24 student; their reference row (teacher scoring, 64 patches, trained
heads) is the ``reko`` row of ``ngf24``, trained once.

Jobs (suite, method, seed) run in ``--workers`` processes of one torch thread each (on a 2-core
CPU, two one-thread processes train ~2x faster than one two-thread process); each job is a
resumable ``reko distill`` run, so a stopped benchmark continues where it stopped when the same
command is run again. Each finished run leaves one small JSON in git (`quality_store`:
``benchmarks/results/<name>/<suite>/<method>_seed<seed>.json``, committed by ``--commit``), and a
run whose file is current is skipped: the benchmark resumes across sessions and machines. The
tables (``benchmarks/results/<name>.json`` and ``.md``, `quality_table`) are made from those
files alone, at the end or with ``--collect-only``. MACs in them are field MACs at 256x256.

    python benchmarks/quality.py [--shared ../shared] [--out runs/quality] [--steps 600] [--seeds 3] [--commit]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the benchmark's own modules

import quality_store as store  # noqa: E402
from quality_table import METRICS, SIZE, markdown, verdicts  # noqa: E402,F401

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TEACHER = "weights/teachers/vintage_resnet9_ngf64_G_A2B.pth"
METHODS = ("none", "output", "feature", "attention", "wavelet", "patchnce-random", "reko")


@dataclass(frozen=True)
class Suite:
    """One ``reko compare`` of the benchmark: its folder name, methods, student width and overrides."""

    name: str
    methods: tuple[str, ...]
    student_ngf: int
    overrides: tuple[str, ...] = ()
    title: str = ""


def suites() -> list[Suite]:
    def ablation(name: str, override: str, title: str) -> Suite:
        return Suite(f"ablation_{name}", ("reko",), 24, (override,), title)

    return [
        Suite("ngf24", METHODS, 24, title="student ngf 24"),
        Suite("ngf16", METHODS, 16, title="student ngf 16"),
        ablation("scoring_student_teacher", "distill.scoring=student+teacher", "scoring: student+teacher"),
        ablation("scoring_learned", "distill.scoring=learned", "scoring: learned head"),
        ablation("patches_16", "distill.num_patches=16", "16 patches per layer"),
        ablation("patches_256", "distill.num_patches=256", "256 patches per layer"),
        ablation("frozen_teacher_head", "distill.train_teacher_head=false", "frozen teacher head"),
    ]


ON_WAVELET = ("distill.output_weight=0", "distill.wavelet_weight=10")  # wavelet's objective, + the method's term
LEARNED_256 = ("distill.scoring=learned", "distill.num_patches=256")  # the two best single ablations together


def investigation_suites() -> list[Suite]:
    """Why ReKo does not win at the benchmark's budget: run only when named with ``--suites``.

    Each ``why_*`` suite changes one thing of the ngf-24 ``reko`` (or ``wavelet``) run; ``long``
    repeats the two at a longer budget (give it its own ``--out`` and ``--steps``).
    The numbers and the commands are in docs/benchmarks.md ("Why ReKo does not win here").
    """

    def why(name: str, method: str, overrides: tuple[str, ...], title: str) -> Suite:
        return Suite(f"why_{name}", (method,), 24, overrides, title)

    return [
        why("reko_weight_10", "reko", ("distill.weight=10",), "reko, PatchNCE weight 10 (default 1)"),
        why("wavelet_with_output_l1", "wavelet", ("distill.output_weight=10",), "wavelet + the output L1 (10)"),
        why("reko_on_wavelet", "reko", ON_WAVELET, "reko on wavelet's objective (wavelet term, no output L1)"),
        why("reko_peaks", "reko", ("distill.selection=peaks",), "reko, peaks instead of top-k (no neighbours)"),
        why("reko_without_output_l1", "reko", ("distill.output_weight=0",), "reko without the output L1"),
        why("reko_learned_256", "reko", LEARNED_256, "reko, learned scoring, 256 patches"),
        why(
            "reko_on_wavelet_with_output_l1",
            "reko",
            ("distill.wavelet_weight=10",),
            "reko on the best objective found (wavelet term + output L1)",
        ),
        Suite("long", ("wavelet", "reko"), 24, title="longer budget"),
    ]


BATCH_NORM = ("student.target_macs=1.43G", "student.norm=batch")


def mobile_suites() -> list[Suite]:
    """Mobile (depthwise-separable) students chosen by a MACs budget (``--target-macs``), with ReKo
    and the best baseline of the ngf suites (wavelet): run only when named with ``--suites``.

    The budgets (field MACs at 256x256) pick mobile ngf 23 (2.71G) and ngf 16 (1.42G, OMGD's
    horse2zebra student width) for this instance_affine teacher; ``student_ngf`` only labels them.
    """
    return [
        Suite("mobile_2.7G", ("wavelet", "reko"), 23, ("student.target_macs=2.71G",), "mobile student, 2.71G MACs"),
        Suite("mobile_1.4G", ("wavelet", "reko"), 16, ("student.target_macs=1.43G",), "mobile student, 1.42G MACs"),
        # BatchNorm folds into the convolutions at export (InstanceNorm cannot): the deploy speed-up's
        # student. Trained at batch 1 and evaluated with its running statistics, as it is deployed.
        Suite("mobile_1.4G_bn", ("wavelet", "reko"), 16, BATCH_NORM, "mobile student, 1.42G MACs, BatchNorm"),
    ]


# Every run: one torch thread, data decoded in the training process (two processes share 2 cores),
# and validation (on the 16 training images held out for the image grids) only once, at the end:
# the last checkpoint is what gets evaluated.
RUN_OVERRIDES = ("train.threads=1", "data.num_workers=0", "train.eval_every=0")


def link_images(target: Path, sources: list[Path]) -> Path:
    """``target`` filled with symbolic links to every image of ``sources`` (read in place, never copied)."""
    from reko.data import list_images

    target.mkdir(parents=True, exist_ok=True)
    for source in sources:
        for image in list_images(source):
            link = target / f"{source.name}_{image.name}"
            if not link.is_symlink():
                link.symlink_to(image.resolve())
    return target


def compare_settings(suite: Suite, args: argparse.Namespace, data: Path) -> Any:
    from reko.compare.settings import CompareSettings

    return CompareSettings(
        teacher=str(Path(args.shared) / TEACHER),
        data=str(data / "train"),  # held-out split: data/test (testA + testB)
        out=str(Path(args.out) / suite.name),
        methods=suite.methods,
        seeds=args.seeds,
        steps=args.steps,
        size=SIZE,
        overrides=(*RUN_OVERRIDES, *suite.overrides),
        student_ngf=suite.student_ngf,
        metrics=("paired", "fid"),
        inception=args.inception,
        latency_threads=1,
    )


# --------------------------------------------------------------------------- worker processes

_EVALUATOR: Any = None


def _evaluator(settings: Any) -> Any:
    """One evaluator per worker for every suite: they share the held-out images and the teacher,
    so the teacher's outputs and Inception features are computed once per process."""
    global _EVALUATOR
    if _EVALUATOR is None:
        from reko.compare.evaluation import Evaluator, load_eval_images
        from reko.compare.settings import default_eval_data
        from reko.models import load_generator

        teacher = load_generator(settings.teacher)
        images = load_eval_images(default_eval_data(settings.data), SIZE, False, "AtoB", 4, None)
        _EVALUATOR = Evaluator(settings, images, teacher)
    return _EVALUATOR


@dataclass(frozen=True)
class Job:
    """One (suite, method, seed) run and where its result file goes."""

    settings: Any
    suite: str
    method: str
    seed: int
    result: Path  # benchmarks/results/<name>/<suite>/<method>_seed<seed>.json
    commit: bool

    @property
    def prefix(self) -> str:
        return f"{self.suite}/{self.method}/seed{self.seed}"


def run_job(job: Job) -> dict[str, Any]:
    """Train (or resume, or skip) and evaluate one run, then save (and commit) its result file;
    skipped when that file is current. Never raises."""
    import torch

    from reko.compare.runner import EVAL_FILE, FINISHED_FILE, evaluate_run, run_dir, train_run
    from reko.compare.settings import default_eval_data

    torch.set_num_threads(1)
    settings, prefix = job.settings, job.prefix

    def log(message: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)

    start = time.perf_counter()
    try:
        key = store.run_key(settings, job.method, job.seed)
        if store.is_current(job.result, key):
            log(f"{prefix}: result current ({job.result})")
            if job.commit:  # a commit refused earlier (e.g. during a merge) is made now
                store.save_commit(job.result, f"quality: {prefix}")
            return {"prefix": prefix, "status": "current"}
        checkpoint = train_run(settings, job.method, job.seed, log, prefix)
        if checkpoint is None:
            return {"prefix": prefix, "status": "stopped"}
        evaluator = _evaluator(settings)
        fingerprint = settings.evaluation_fingerprint(str(default_eval_data(settings.data)))
        folder = run_dir(settings.out, job.method, job.seed)
        evaluate_run(folder, checkpoint, evaluator, fingerprint, log, prefix)
        evaluation = json.loads((folder / EVAL_FILE).read_text(encoding="utf-8"))
        seconds = json.loads((folder / FINISHED_FILE).read_text(encoding="utf-8"))["seconds"]
        result = store.run_result(job.suite, job.method, job.seed, key, settings.steps, evaluation, checkpoint, seconds)
        store.save_result(job.result, result, job.commit)
        log(f"{prefix}: saved {job.result}")
    except Exception as error:  # noqa: BLE001 - one failed run must not stop the others; reported below
        log(f"{prefix}: FAILED: {type(error).__name__}: {error}")
        return {"prefix": prefix, "status": "failed", "error": f"{type(error).__name__}: {error}"}
    return {"prefix": prefix, "status": "done", "seconds": time.perf_counter() - start}


# --------------------------------------------------------------------------- the command


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", default=os.environ.get("REKO_SHARED", str(ROOT.parent / "shared")))
    parser.add_argument("--out", default=str(ROOT / "runs" / "quality"))
    parser.add_argument("--steps", type=int, default=600, help="training steps (images) of every run")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="parallel one-thread training processes")
    parser.add_argument(
        "--suites", default="", help="comma-separated suite names (default: the benchmark's; see investigation_suites)"
    )
    parser.add_argument("--inception", default=None, help="FID network (default: the shared one)")
    parser.add_argument("--name", default="quality", help="results/NAME.json, NAME.md and the per-run NAME/")
    parser.add_argument("--results", default=str(RESULTS), help="where the result files go (default: the repo's)")
    parser.add_argument("--commit", action="store_true", help="git-commit each run's result file as it finishes")
    parser.add_argument("--collect-only", action="store_true", help="tabulate the per-run result files; train nothing")
    args = parser.parse_args(argv)
    args.inception = args.inception or str(
        Path(args.shared) / "weights" / "inception" / "fid_inception_v3_2015_12_05.pt"
    )
    known = {suite.name: suite for suite in [*suites(), *investigation_suites(), *mobile_suites()]}
    names = args.suites.split(",") if args.suites else [suite.name for suite in suites()]
    unknown = [name for name in names if name not in known]
    if unknown:
        parser.error(f"unknown suite(s) {unknown}; known: {sorted(known)}")
    args.chosen = [known[name] for name in names]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    chosen, results = args.chosen, Path(args.results)
    horse2zebra = Path(args.shared) / "data" / "horse2zebra"
    data = Path(args.out) / "data"
    link_images(data / "train", [horse2zebra / "trainA", horse2zebra / "trainB"])
    link_images(data / "test", [horse2zebra / "testA", horse2zebra / "testB"])

    from reko.compare.runner import check_settings

    settings = {suite.name: compare_settings(suite, args, data) for suite in chosen}
    for item in settings.values():
        check_settings(item)  # once, here: workers share the folders
    jobs = [
        Job(
            settings[s.name],
            s.name,
            m,
            seed,
            store.result_path(results, args.name, s.name, m, seed),
            args.commit,
        )
        for seed in range(args.seeds)  # seed-major: a stopped benchmark has compared every method
        for s in chosen
        for m in s.methods
    ]
    start = time.perf_counter()
    outcomes: list[dict[str, Any]] = []
    if not args.collect_only:
        print(f"quality benchmark: {len(jobs)} runs of {args.steps} steps in {args.workers} processes", flush=True)
        context = multiprocessing.get_context("spawn")
        with context.Pool(args.workers) as pool:
            outcomes = list(pool.imap_unordered(run_job, jobs))
    documents = {s.name: store.suite_document(results, args.name, s.name, s.methods, args.seeds) for s in chosen}
    payload = summary(args, documents, outcomes, jobs, time.perf_counter() - start)
    from reko.eval.report import write_json

    results.mkdir(parents=True, exist_ok=True)
    for path, write in ((results / f"{args.name}.json", None), (results / f"{args.name}.md", markdown(payload))):
        write_json(path, payload) if write is None else path.write_text(write, encoding="utf-8")
        if args.commit and not args.collect_only:
            store.save_commit(path, f"quality {args.name}: the table of the runs finished")
    print(markdown(payload))
    return 1 if payload["failed"] or payload["partial"] and not args.collect_only else 0


def summary(
    args: argparse.Namespace, documents: dict[str, Any], outcomes: list[dict[str, Any]], jobs: list[Job], wall: float
) -> dict[str, Any]:
    """The benchmark's document: every suite's rows (from the per-run files), verdicts, timing."""
    import torch

    from reko.eval.machine import cpu_name

    finished = sum(job.result.is_file() for job in jobs)
    trained = store.training_seconds(Path(args.results), args.name)
    return {
        "command": "python benchmarks/quality.py " + " ".join(sys.argv[1:]),
        "machine": f"{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}",
        "steps": args.steps,
        "seeds": args.seeds,
        "workers": args.workers,
        "eval_images": next((d["eval"]["images"] for d in documents.values() if d["eval"]["images"]), None),
        "titles": {s.name: s.title for s in args.chosen},
        "suites": documents,
        "verdicts": {name: verdicts(documents[name]) for name in ("ngf24", "ngf16") if name in documents},
        "partial": finished < len(jobs),
        "wall_seconds": wall,
        "job_seconds": sum(o.get("seconds", 0.0) for o in outcomes),
        "jobs_run": len(outcomes),
        "jobs_total": len(jobs),
        "runs_trained": finished,
        "training_seconds_per_run": {
            "mean": sum(trained) / len(trained) if trained else None,
            "min": min(trained, default=None),
            "max": max(trained, default=None),
        },
        "failed": [o["prefix"] for o in outcomes if o["status"] == "failed"],
    }


if __name__ == "__main__":
    sys.exit(main())
