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
command is run again. At the end every suite is aggregated by `reko.compare.compare` (which reuses
the trained and evaluated runs and measures costs), and the results go to
``benchmarks/results/quality.json`` and ``quality.md``.

    python benchmarks/quality.py [--shared ../shared] [--out runs/quality] [--steps 600] [--seeds 3]
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

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TEACHER = "weights/teachers/vintage_resnet9_ngf64_G_A2B.pth"
METHODS = ("none", "output", "feature", "attention", "wavelet", "patchnce-random", "reko")
METRICS = (("fid_vs_teacher", False), ("kid_vs_teacher", False), ("psnr_vs_teacher", True), ("ssim_vs_teacher", True))
SIZE = 128


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


def mobile_suites() -> list[Suite]:
    """Mobile (depthwise-separable) students chosen by a MACs budget (``--target-macs``), with ReKo
    and the best baseline of the ngf suites (wavelet): run only when named with ``--suites``.

    The budgets (field MACs at 256x256) pick mobile ngf 23 (2.71G) and ngf 16 (1.42G, OMGD's
    horse2zebra student width) for this instance_affine teacher; ``student_ngf`` only labels them.
    """
    return [
        Suite("mobile_2.7G", ("wavelet", "reko"), 23, ("student.target_macs=2.71G",), "mobile student, 2.71G MACs"),
        Suite("mobile_1.4G", ("wavelet", "reko"), 16, ("student.target_macs=1.43G",), "mobile student, 1.42G MACs"),
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


def run_job(job: tuple[Any, str, int, str]) -> dict[str, Any]:
    """Train (or resume, or skip) and evaluate one (suite, method, seed); never raises."""
    import torch

    from reko.compare.runner import evaluate_run, run_dir, train_run
    from reko.compare.settings import default_eval_data

    torch.set_num_threads(1)
    settings, method, seed, prefix = job

    def log(message: str) -> None:
        print(message, flush=True)

    start = time.perf_counter()
    try:
        checkpoint = train_run(settings, method, seed, log, prefix)
        if checkpoint is None:
            return {"prefix": prefix, "status": "stopped"}
        evaluator = _evaluator(settings)
        fingerprint = settings.evaluation_fingerprint(str(default_eval_data(settings.data)))
        evaluate_run(run_dir(settings.out, method, seed), checkpoint, evaluator, fingerprint, log, prefix)
    except Exception as error:  # noqa: BLE001 - one failed run must not stop the others; reported below
        log(f"{prefix}: FAILED: {type(error).__name__}: {error}")
        return {"prefix": prefix, "status": "failed", "error": f"{type(error).__name__}: {error}"}
    return {"prefix": prefix, "status": "done", "seconds": time.perf_counter() - start}


# --------------------------------------------------------------------------- aggregation


def collect_finished(settings: Any) -> dict[str, Any]:
    """The suite's document from the runs finished and evaluated so far, without training anything
    (``--collect-only``): metrics from each run's ``eval.json``; parameters and MACs, no latency."""
    from reko.compare.runner import EVAL_FILE, run_dir
    from reko.compare.table import method_row
    from reko.eval.macs import count_macs, count_parameters
    from reko.models import load_generator

    rows, per_seed, images = [], {}, None
    for method in settings.methods:
        per_seed[method] = {}
        checkpoint = None
        for seed in settings.seed_list:
            path = run_dir(settings.out, method, seed) / EVAL_FILE
            if path.is_file():
                saved = json.loads(path.read_text(encoding="utf-8"))
                per_seed[method][seed] = saved["metrics"]
                checkpoint, images = saved["checkpoint"], saved["images"]
        if checkpoint:
            student = load_generator(checkpoint)
            cost = {"parameters": count_parameters(student), "macs_field": count_macs(student, SIZE).field}
            rows.append(method_row(method, per_seed[method], cost))
    return {"rows": rows, "eval": {"images": images}, "per_seed": per_seed}


def training_seconds(settings: Any) -> list[float]:
    """Training time of every finished run of the suite (from ``finished.json``)."""
    from reko.compare.runner import FINISHED_FILE, run_dir

    seconds = []
    for method in settings.methods:
        for seed in settings.seed_list:
            path = run_dir(settings.out, method, seed) / FINISHED_FILE
            if path.is_file():
                seconds.append(float(json.loads(path.read_text(encoding="utf-8"))["seconds"]))
    return seconds


def verdicts(document: dict[str, Any]) -> list[dict[str, Any]]:
    """For each metric: ReKo against the best other method, relative to the seed spread.

    ``win`` / ``loss``: ReKo's mean is better / worse than the best other method's by more than
    the larger of the two seed standard deviations; ``tie`` otherwise.
    """
    rows = {row["method"]: row for row in document["rows"]}
    if "reko" not in rows:
        return []
    out = []
    for metric, higher_is_better in METRICS:
        reko = rows["reko"].get(metric) or {}
        others = [(name, row.get(metric) or {}) for name, row in rows.items() if name != "reko"]
        others = [(name, value) for name, value in others if value.get("mean") is not None]
        if reko.get("mean") is None or not others:
            continue
        sign = 1.0 if higher_is_better else -1.0
        best_name, best = max(others, key=lambda item: sign * item[1]["mean"])
        gain = sign * (reko["mean"] - best["mean"])  # > 0: ReKo is better
        if reko.get("std") is None or best.get("std") is None:  # one seed: no spread to judge against
            spread, verdict = None, "undecided (one seed)"
        else:
            spread = max(reko["std"], best["std"])
            verdict = "win" if gain > spread else "loss" if gain < -spread else "tie"
        out.append(
            {
                "metric": metric,
                "reko": reko,
                "best_other": best_name,
                "best_other_value": best,
                "reko_better_by": gain,
                "seed_spread": spread,
                "verdict": verdict,
            }
        )
    return out


def _cell(value: dict[str, Any] | None, metric: str) -> str:
    if not value or value.get("mean") is None:
        return "—"
    scale = 1000.0 if metric.startswith("kid") else 1.0  # KID x 1000, as the field prints it
    mean, std = value["mean"] * scale, value.get("std")
    digits = 3 if metric.startswith("ssim") else 2
    return f"{mean:.{digits}f} ± {std * scale:.{digits}f}" if std is not None else f"{mean:.{digits}f}"


def _table(rows: list[dict[str, Any]], label: str) -> list[str]:
    header = [label, "seeds", *[name.replace("_vs_teacher", "").upper() for name, _ in METRICS], "params", "MACs"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [row["label"], str(len(row.get("seeds", [])))]
        cells += [_cell(row.get(name), name) for name, _ in METRICS]
        params, macs = row.get("parameters"), row.get("macs_field")
        cells += [f"{params / 1e6:.2f}M" if params else "—", f"{macs / 1e9:.2f}G" if macs else "—"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def markdown(payload: dict[str, Any]) -> str:
    lines = [
        "# Quality benchmark",
        "",
        f"Command: `{payload['command']}`",
        "",
        f"Machine: {payload['machine']}. {payload['steps']} steps (batch 1, images) per run, seeds "
        f"{payload['seeds']}, {SIZE}x{SIZE}; evaluated on {payload['eval_images']} held-out images "
        "(horse2zebra testA + testB) against the teacher's outputs; KID x 1000; mean ± sample std over seeds.",
        "",
    ]
    for name in ("ngf24", "ngf16"):
        document = payload["suites"].get(name)
        if not document:
            continue
        lines += [f"## Methods, {payload['titles'][name]}", ""]
        lines += _table([{**row, "label": row["method"]} for row in document["rows"]], "method")
        lines += [""]
        for item in payload["verdicts"].get(name, []):
            lines.append(
                f"- {item['metric']}: ReKo **{item['verdict']}** against {item['best_other']} "
                f"(better by {item['reko_better_by']:+.4g}, seed spread "
                f"{'—' if item['seed_spread'] is None else format(item['seed_spread'], '.4g')})"
            )
        lines += [""]
    ablation_rows = []
    reference = next((r for r in payload["suites"].get("ngf24", {}).get("rows", []) if r["method"] == "reko"), None)
    if reference:
        ablation_rows.append({**reference, "label": "reko (teacher scoring, 64 patches, trained heads)"})
    for name, document in payload["suites"].items():
        if name.startswith("ablation") and document.get("rows"):
            ablation_rows.append({**document["rows"][0], "label": payload["titles"][name]})
    if ablation_rows:
        lines += ["## ReKo ablations, student ngf 24", ""] + _table(ablation_rows, "variant") + [""]
    for section, prefix in (
        ("Investigation, student ngf 24", ""),
        ("Mobile students, chosen by a MACs budget", "mobile"),
    ):
        other_rows = [
            {**row, "label": f"{payload['titles'][name]}: {row['method']}"}
            for name, document in payload["suites"].items()
            if name not in ("ngf24", "ngf16")
            and not name.startswith("ablation")
            and name.startswith("mobile") == bool(prefix)
            for row in document.get("rows", [])
        ]
        if other_rows:
            lines += [f"## {section}", ""] + _table(other_rows, "variant") + [""]
    timing = payload["training_seconds_per_run"]
    if timing["mean"] is not None:
        lines.append(
            f"Training time per run: mean {timing['mean']:.0f} s (min {timing['min']:.0f}, max {timing['max']:.0f}) "
            f"over the {payload['runs_trained']} runs trained so far of {payload['jobs_total']}; "
            f"{payload['workers']} one-thread runs at a time."
        )
    if payload["partial"]:
        lines.append("**Partial**: tabulated with `--collect-only` from the runs finished so far (no latency).")
    else:
        lines.append(
            f"Wall time of this invocation: {payload['wall_seconds'] / 60:.1f} min "
            f"({payload['jobs_run']} jobs, failed: {payload['failed'] or 'none'})."
        )
    lines.append("")
    return "\n".join(lines)


def main() -> int:
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
    parser.add_argument("--name", default="quality", help="results/NAME.json and NAME.md")
    parser.add_argument(
        "--collect-only", action="store_true", help="tabulate the runs finished so far; train and time nothing"
    )
    args = parser.parse_args()
    shared = Path(args.shared)
    args.inception = args.inception or str(shared / "weights" / "inception" / "fid_inception_v3_2015_12_05.pt")

    import torch

    from reko.compare.runner import check_settings, compare
    from reko.eval.machine import cpu_name
    from reko.eval.report import write_json

    known = {suite.name: suite for suite in [*suites(), *investigation_suites(), *mobile_suites()]}
    names = args.suites.split(",") if args.suites else [suite.name for suite in suites()]
    unknown = [name for name in names if name not in known]
    if unknown:
        parser.error(f"unknown suite(s) {unknown}; known: {sorted(known)}")
    chosen = [known[name] for name in names]
    horse2zebra = shared / "data" / "horse2zebra"
    data = Path(args.out) / "data"
    link_images(data / "train", [horse2zebra / "trainA", horse2zebra / "trainB"])
    link_images(data / "test", [horse2zebra / "testA", horse2zebra / "testB"])

    settings = {suite.name: compare_settings(suite, args, data) for suite in chosen}
    for item in settings.values():
        check_settings(item)  # once, here: workers share the folders
    jobs = [
        (settings[suite.name], method, seed, f"{suite.name}/{method}/seed{seed}")
        for seed in range(args.seeds)  # seed-major: a stopped benchmark has compared every method
        for suite in chosen
        for method in suite.methods
    ]
    start = time.perf_counter()
    outcomes: list[dict[str, Any]] = []
    if args.collect_only:
        documents = {suite.name: collect_finished(settings[suite.name]) for suite in chosen}
    else:
        print(f"quality benchmark: {len(jobs)} runs of {args.steps} steps in {args.workers} processes", flush=True)
        context = multiprocessing.get_context("spawn")
        with context.Pool(args.workers) as pool:
            outcomes = list(pool.imap_unordered(run_job, jobs))
        if any(o["status"] == "stopped" for o in outcomes):
            print("runs stopped before their last step; run the same command to continue")
            return 1
        torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))  # the workers are done: use the cores
        documents = {}
        for suite in chosen:  # everything is trained and evaluated: this reuses it and adds the costs
            documents[suite.name] = json.loads(json.dumps(compare(settings[suite.name]).document, default=str))
    failed = [o for o in outcomes if o["status"] == "failed"]
    trained = [t for suite in chosen for t in training_seconds(settings[suite.name])]
    payload = {
        "command": "python benchmarks/quality.py " + " ".join(sys.argv[1:]),
        "machine": f"{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}",
        "steps": args.steps,
        "seeds": args.seeds,
        "workers": args.workers,
        "eval_images": next((d["eval"]["images"] for d in documents.values() if d["eval"]["images"]), None),
        "titles": {s.name: s.title for s in chosen},
        "suites": documents,
        "verdicts": {name: verdicts(documents[name]) for name in ("ngf24", "ngf16") if name in documents},
        "partial": args.collect_only,
        "wall_seconds": time.perf_counter() - start,
        "job_seconds": sum(o.get("seconds", 0.0) for o in outcomes),
        "jobs_run": len(outcomes),
        "jobs_total": len(jobs),
        "runs_trained": len(trained),
        "training_seconds_per_run": {
            "mean": sum(trained) / len(trained) if trained else None,
            "min": min(trained, default=None),
            "max": max(trained, default=None),
        },
        "failed": [o["prefix"] for o in failed],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_json(RESULTS / f"{args.name}.json", payload)
    (RESULTS / f"{args.name}.md").write_text(markdown(payload), encoding="utf-8")
    print(markdown(payload))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
