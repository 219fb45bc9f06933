"""The pieces of benchmarks/realtask.py: each trains (or resumes) what it needs, scores it, and
saves one JSON (committed with ``--commit``); each is skipped when its JSON is already current.

Result files under ``--results`` (default ``benchmarks/results/realtask/``)::

    split.json                        the carved selection pairs (the rule and the names)
    select/teacher.json               the teacher on the carved pairs (it trained on them: context only)
    select/curve_<method>.json        a learning curve: scores on the carved pairs every 1k steps
    select/budget.json                the budget and the checks that chose it
    select/recipes/<name>.json        one region-aware candidate at the budget (seed 0)
    select/recipe.json                the chosen candidate (the ``reko-best`` row)
    final/teacher.json                the teacher on the 206 held-out pairs: the bar
    final/<row>/seed<k>.json          one finished final run

A result records the hash of the config it was trained with (`realtask.config_key`): when a
method's defaults change, its old results are shown as stale and the run is trained again.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from realtask import (
    BEST,
    BUDGET_FRACTIONS,
    CURVE_METHODS,
    RECIPES,
    STABLE,
    Plan,
    Row,
    config_key,
    log,
    read,
    rows,
    save,
    train,
    training_seconds,
)
from realtask_eval import EVAL_VERSION, Scorer

from reko.errors import RekoError

PSNR_TOLERANCE_DB = 0.25


def decide_budget(curves: dict[str, list[dict[str, Any]]], candidates: list[int]) -> dict[str, Any]:
    """The smallest candidate budget at which every curve is as good as at its end.

    "As good": KID on the carved pairs no higher than at the last step plus one bootstrap
    standard deviation of that last value, and PSNR no lower than the last by more than
    `PSNR_TOLERANCE_DB`. The points before the end are mid-schedule (the learning rate has not
    finished decaying), so the rule errs towards the longer budget.
    """
    table = {}
    chosen = None
    for steps in candidates:
        checks = {}
        for method, points in curves.items():
            at = {p["step"]: p for p in points}
            end = points[-1]
            if steps not in at:
                raise ValueError(f"curve of {method} has no point at step {steps}")
            kid_ok = at[steps]["kid_vs_real"] <= end["kid_vs_real"] + end["kid_std"]
            psnr_ok = at[steps]["psnr_vs_real"] >= end["psnr_vs_real"] - PSNR_TOLERANCE_DB
            checks[method] = {"kid_ok": kid_ok, "psnr_ok": psnr_ok}
        table[str(steps)] = checks
        if chosen is None and all(c["kid_ok"] and c["psnr_ok"] for c in checks.values()):
            chosen = steps
    return {"steps": chosen or candidates[-1], "candidates": candidates, "checks": table, "rule": decide_budget.__doc__}


def curve_point(step: int, scores: dict[str, Any]) -> dict[str, Any]:
    m = scores["metrics"]
    return {
        "step": step,
        "kid_vs_real": m["kid_vs_real"],
        "kid_std": scores["intervals"]["kid"]["std"],
        "fid_vs_real": m["fid_vs_real"],
        "psnr_vs_real": m["psnr_vs_real"],
        "kid_vs_teacher": m["kid_vs_teacher"],
    }


def best_row(results: Path) -> Row | None:
    """The ``reko-best`` row once the select phase has chosen it."""
    choice = read(results / "select" / "recipe.json")
    if not choice:
        return None
    return Row(BEST, choice["method"], tuple(choice["overrides"]), f"the select phase's choice: {choice['chosen']}")


def _code_version() -> str:
    import subprocess

    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


class Jobs:
    """The benchmark's jobs on one `Plan`; the scorers (teacher outputs, real features) are built once."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self._scorers: dict[str, Scorer] = {}
        self._teacher: Any = None

    # ------------------------------------------------------------------ shared pieces

    def teacher(self) -> Any:
        from reko.models import load_generator

        if self._teacher is None:
            self._teacher = load_generator(self.plan.teacher)
        return self._teacher

    def scorer(self, which: str) -> Scorer:
        """``carved`` (selection) or ``heldout`` (final) pairs."""
        from reko.compare.evaluation import load_eval_images

        if which not in self._scorers:
            teacher = self.teacher()
            images = load_eval_images(
                self.plan.folders[which], self.plan.size, True, "BtoA", teacher.spec.size_multiple, self.plan.eval_limit
            )
            self._scorers[which] = Scorer(images, teacher, self.plan.inception)
        return self._scorers[which]

    def _score(self, which: str, checkpoint: Path | None) -> tuple[dict[str, Any], float]:
        from reko.models import load_generator

        start = time.perf_counter()
        scores = self.scorer(which).score(None if checkpoint is None else load_generator(checkpoint))
        return scores, time.perf_counter() - start

    def _record(self, row: Row, config: Any, seed: int, checkpoint: Path, folder: Path) -> dict[str, Any]:
        from reko.config import to_dict
        from reko.eval.macs import count_macs, count_parameters
        from reko.models import load_generator

        student = load_generator(checkpoint)
        return {
            "row": row.name,
            "method": row.method,
            "overrides": list(row.overrides),
            "seed": seed,
            "steps": config.train.steps,
            "key": config_key(config),
            "distill": to_dict(config)["distill"],
            "student": student.spec.describe(),
            "parameters": count_parameters(student),
            "macs_field": count_macs(student, self.plan.size).field,
            "checkpoint": str(checkpoint),
            "training_seconds": training_seconds(folder),
            "code": _code_version(),
            "eval_version": EVAL_VERSION,
        }

    # ------------------------------------------------------------------ select phase

    def split(self) -> bool:
        path = self.plan.results / "split.json"
        if read(path) != self.plan.split:
            save(self.plan, path, self.plan.split, "realtask: the carved selection split")
        path = self.plan.results / "select" / "teacher.json"
        if (read(path) or {}).get("eval_version") != EVAL_VERSION:
            scores, seconds = self._score("carved", None)
            data = {"eval_version": EVAL_VERSION, "scores": scores, "eval_seconds": seconds}
            data["note"] = "the teacher trained on these pairs: context only, not a bar"
            save(self.plan, path, data, "realtask: the teacher on the carved split")
        return True

    def curve(self, method: str) -> bool:
        plan = self.plan
        config = plan.config(Row(method, method), 0, plan.curve_steps, "select")
        key = config_key(config)
        folder = plan.out / "select" / "curve" / f"{method}-{key}"
        path = plan.results / "select" / f"curve_{method}.json"
        saved = read(path) or {}
        current = saved.get("key") == key and saved.get("eval_version") == EVAL_VERSION
        points: list[dict[str, Any]] = list(saved.get("points", [])) if current else []
        for step in range(plan.curve_every, plan.curve_steps + 1, plan.curve_every):
            if any(point["step"] == step for point in points):
                continue
            checkpoint = train(config, folder, stop_at=step)
            if checkpoint is None:
                return False
            scores, _ = self._score("carved", checkpoint)
            points.append(curve_point(step, scores))
            log(f"curve {method} step {step}: {points[-1]}")
            data = {"method": method, "key": key, "eval_version": EVAL_VERSION, "seed": 0, "points": points}
            data["training_seconds"] = training_seconds(folder)
            save(plan, path, data, f"realtask: learning curve of {method}, step {step}")
        return True

    def budget(self) -> bool:
        plan = self.plan
        path = plan.results / "select" / "budget.json"
        decision = read(path)
        if decision is None:
            curves = {m: (read(plan.results / "select" / f"curve_{m}.json") or {}).get("points") for m in CURVE_METHODS}
            missing = [m for m, points in curves.items() if not points]
            if missing:
                raise RekoError(f"no learning curve of {missing} yet: cannot choose the budget")
            every = plan.curve_every
            candidates = sorted({max(every, round(f * plan.curve_steps / every) * every) for f in BUDGET_FRACTIONS})
            decision = decide_budget(curves, candidates)  # type: ignore[arg-type]
            save(plan, path, decision, f"realtask: budget {decision['steps']} steps")
        log(f"budget: {decision['steps']} steps" + (f" (forced: {plan.steps})" if plan.steps else ""))
        plan.steps = plan.steps or decision["steps"]
        return True

    def recipe(self, recipe: Row) -> bool:
        plan = self.plan
        steps = self._budget()
        config = plan.config(recipe, 0, steps, "select")
        key = config_key(config)
        path = plan.results / "select" / "recipes" / f"{recipe.name}.json"
        if (read(path) or {}).get("key") == key:
            return True
        curve = read(plan.results / "select" / f"curve_{recipe.method}.json") or {}
        point = next((p for p in curve.get("points", []) if p["step"] == steps), None)
        if curve.get("key") == key and point is not None:  # the same run as a learning curve's
            summary, source = point, "the learning-curve run (same config)"
        else:
            folder = plan.out / "select" / "recipes" / f"{recipe.name}-{key}"
            checkpoint = train(config, folder)
            if checkpoint is None:
                return False
            summary, source = curve_point(steps, self._score("carved", checkpoint)[0]), str(folder)
        data = {"name": recipe.name, "method": recipe.method, "overrides": list(recipe.overrides), "key": key}
        data.update({"steps": steps, "scores": summary, "source": source, "note": recipe.note})
        save(plan, path, data, f"realtask: region-aware candidate {recipe.name}")
        return True

    def choose_recipe(self) -> bool:
        """reko-best = the candidate with the lowest KID vs real on the carved pairs (seed 0)."""
        plan = self.plan
        found = {r.name: read(plan.results / "select" / "recipes" / f"{r.name}.json") for r in RECIPES}
        done = {name: data for name, data in found.items() if data}
        if not done:
            raise RekoError("no region-aware candidate has finished: cannot choose reko-best")
        chosen = min(done.values(), key=lambda data: data["scores"]["kid_vs_real"])
        choice = {
            "chosen": chosen["name"],
            "method": chosen["method"],
            "overrides": chosen["overrides"],
            "rule": self.choose_recipe.__doc__,
            "candidates": {name: data["scores"] for name, data in done.items()},
            "missing": sorted(set(found) - set(done)),
        }
        path = plan.results / "select" / "recipe.json"
        if read(path) != choice:
            save(plan, path, choice, f"realtask: reko-best is {chosen['name']}")
        return True

    # ------------------------------------------------------------------ final phase

    def _budget(self) -> int:
        if self.plan.steps is None:
            raise RekoError("no budget yet: run --phase select first (or pass --steps N)")
        return self.plan.steps

    def final_rows(self, stable: bool, only: set[str] | None) -> list[Row]:
        from reko.distill.registry import method_names

        chosen = rows(method_names(), best_row(self.plan.results))
        chosen = [row for row in chosen if (row.name in STABLE) == stable]
        return [row for row in chosen if only is None or row.name in only]

    def final_teacher(self) -> bool:
        from reko.eval.macs import count_macs, count_parameters

        path = self.plan.results / "final" / "teacher.json"
        if (read(path) or {}).get("eval_version") == EVAL_VERSION:
            return True
        scores, seconds = self._score("heldout", None)
        teacher = self.teacher()
        data = {"eval_version": EVAL_VERSION, "scores": scores, "eval_seconds": seconds, "teacher": self.plan.teacher}
        data.update({"parameters": count_parameters(teacher), "macs_field": count_macs(teacher, self.plan.size).field})
        save(self.plan, path, data, "realtask: the teacher on facades val + test")
        return True

    def final(self, row: Row, seed: int) -> bool:
        plan = self.plan
        config = plan.config(row, seed, self._budget(), "final")
        key = config_key(config)
        path = plan.results / "final" / row.name / f"seed{seed}.json"
        saved = read(path) or {}
        if saved.get("key") == key and saved.get("eval_version") == EVAL_VERSION:
            return True
        folder = plan.out / "final" / "runs" / row.name / f"seed{seed}-{key}"  # a layout `reko report` reads
        checkpoint = train(config, folder)
        if checkpoint is None:
            return False
        scores, seconds = self._score("heldout", checkpoint)
        data = {**self._record(row, config, seed, checkpoint, folder), "scores": scores, "eval_seconds": seconds}
        save(plan, path, data, f"realtask: final {row.name} seed {seed}")
        shown = {k: round(v, 4) for k, v in scores["metrics"].items() if isinstance(v, float)}
        log(f"final {row.name} seed {seed}: {shown}")
        return True
