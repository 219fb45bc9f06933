"""Tabulating benchmarks/realtask.py: what is done, what is missing, and the verdicts.

`collect` reads the result files (see realtask_jobs.py) and builds one document: the selection
(learning curves, budget, region-aware candidates), the final table (teacher first, then a row per
method: mean ± sample std over seeds), the cells still missing or stale, and two kinds of verdict,
computed only where every seed of both sides is in:

* method against method, per metric: *win* / *loss* when the means differ by more than the larger
  of the two seed standard deviations, *tie* otherwise (the rule of the vintage benchmark);
* student against teacher, on KID and FID vs the real photos: per seed, the bootstrap interval of
  (student - teacher) on the same image draws; *better* / *worse* when every seed's interval lies
  below / above 0, *level* otherwise.

`write_tables` writes ``realtask.json`` and ``realtask.md`` beside the results folder, a
``comparison.json`` into the final runs' folder for ``reko report OUT/final`` (`report_view`) and, with
``--update-docs FILE``, replaces the text between ``<!-- realtask:begin -->`` and
``<!-- realtask:end -->`` in FILE with the markdown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from realtask import BEST, NOT_APPLICABLE, RECIPES, STABLE, Plan, Row, config_key, read, rows
from realtask_eval import EVAL_VERSION
from realtask_jobs import best_row

from reko.compare.table import stat
from reko.eval.report import write_json

# (key, label, higher is better, scale); the final table's columns in order.
COLUMNS: tuple[tuple[str, str, bool, float], ...] = (
    ("kid_vs_real", "KID×1000 vs real ↓", False, 1000.0),
    ("fid_vs_real", "FID vs real ↓", False, 1.0),
    ("psnr_vs_real", "PSNR ↑", True, 1.0),
    ("ssim_vs_real", "SSIM ↑", True, 1.0),
    ("stlpips_vs_real", "ST-LPIPS ↓", False, 1.0),
    ("kid_vs_teacher", "KID×1000 vs teacher ↓", False, 1000.0),
    ("fid_vs_teacher", "FID vs teacher ↓", False, 1.0),
    ("kid_vs_real_trainmode", "KID×1000 vs real, train mode ↓", False, 1000.0),
)
BEGIN, END = "<!-- realtask:begin -->", "<!-- realtask:end -->"


def _cells(plan: Plan, row: Row) -> dict[int, dict[str, Any]]:
    """Per seed: ``{"status": done|stale|missing, "data": result or None}``."""
    out = {}
    for seed in range(plan.seeds):
        data = read(plan.results / "final" / row.name / f"seed{seed}.json")
        key = config_key(plan.config(row, seed, plan.steps, "final")) if plan.steps else None
        if data is None:
            status = "missing"
        elif data.get("key") != key or data.get("eval_version") != EVAL_VERSION:
            status = "stale"
        else:
            status = "done"
        out[seed] = {"status": status, "data": data}
    return out


def _row_stats(name: str, cells: dict[int, dict[str, Any]]) -> dict[str, Any]:
    done = {seed: cell["data"] for seed, cell in cells.items() if cell["status"] == "done"}
    row: dict[str, Any] = {"row": name, "seeds": sorted(done), "status": {s: c["status"] for s, c in cells.items()}}
    for key, *_ in COLUMNS:
        row[key] = stat([d["scores"]["metrics"].get(key) for d in done.values()])
    row["difference_to_teacher"] = {
        metric: [d["scores"]["intervals"][f"{metric}_minus_baseline"] for d in done.values()]
        for metric in ("kid", "fid")
    }
    if done:
        first = next(iter(done.values()))
        row.update({"parameters": first["parameters"], "macs_field": first["macs_field"], "method": first["method"]})
        seconds = [d["training_seconds"] for d in done.values() if d.get("training_seconds")]
        row["training_seconds"] = stat(seconds)
    return row


def method_verdicts(table: list[dict[str, Any]], seeds: int) -> list[dict[str, Any]]:
    """Every non-stable row against every stable (baseline) row, per column; complete rows only."""
    complete = {r["row"]: r for r in table if len(r["seeds"]) == seeds and seeds > 1}
    out = []
    for name, row in complete.items():
        if name in STABLE:
            continue
        for baseline in [complete[b] for b in STABLE if b in complete]:
            for key, _, higher, _ in COLUMNS:
                a, b = row[key], baseline[key]
                if a["mean"] is None or b["mean"] is None:
                    continue
                gain = (a["mean"] - b["mean"]) * (1.0 if higher else -1.0)
                spread = max(a["std"], b["std"])
                verdict = "win" if gain > spread else "loss" if gain < -spread else "tie"
                out.append(
                    {"row": name, "against": baseline["row"], "metric": key, "better_by": gain, "verdict": verdict}
                )
    return out


def teacher_verdict(row: dict[str, Any], seeds: int) -> dict[str, str]:
    """Per metric (kid, fid): better / worse / level than the teacher, or pending."""
    out = {}
    for metric, intervals in row["difference_to_teacher"].items():
        if len(intervals) < seeds:
            out[metric] = "pending"
        elif all(i["high"] < 0 for i in intervals):
            out[metric] = "better"
        elif all(i["low"] > 0 for i in intervals):
            out[metric] = "worse"
        else:
            out[metric] = "level"
    return out


def collect(plan: Plan) -> dict[str, Any]:
    """The whole benchmark as one document, from the result files alone."""
    from reko.distill.registry import method_names

    select = plan.results / "select"
    registered = method_names()
    best = best_row(plan.results)
    table_rows = rows(registered, best)
    table = [_row_stats(row.name, _cells(plan, row)) for row in table_rows]
    if best is None:
        table.append({"row": BEST, "seeds": [], "status": {}, "pending": "chosen in the select phase"})
    not_applicable = {name: why for name, why in NOT_APPLICABLE.items() if name in registered}
    pending = [
        f"{r['row']} seed {seed} ({status})" for r in table for seed, status in r["status"].items() if status != "done"
    ]
    if best is None:
        pending.append(f"{BEST}: all seeds (after the select phase chooses the recipe)")
    teacher = read(plan.results / "final" / "teacher.json")
    return {
        "budget": read(select / "budget.json"),
        "steps": plan.steps,
        "split": read(plan.results / "split.json"),
        "curves": {p.stem[len("curve_") :]: read(p) for p in sorted(select.glob("curve_*.json"))},
        "select_teacher": read(select / "teacher.json"),
        "recipes": {r.name: read(select / "recipes" / f"{r.name}.json") for r in RECIPES},
        "recipe": read(select / "recipe.json"),
        "teacher": teacher,
        "table": table,
        "pending": pending,
        "verdicts": method_verdicts([r for r in table if "pending" not in r], plan.seeds),
        "teacher_verdicts": {r["row"]: teacher_verdict(r, plan.seeds) for r in table if "pending" not in r},
        "seeds": plan.seeds,
        "runs_total": len(table) * plan.seeds,
        "runs_done": sum(len(r["seeds"]) for r in table),
        "not_applicable": not_applicable,
    }


def _value(value: float | None, scale: float, digits: int = 2) -> str:
    return "—" if value is None else f"{value * scale:.{digits}f}"


def _cell(value: dict[str, Any] | None, key: str, scale: float) -> str:
    if not value or value.get("mean") is None:
        return "—"
    digits = 3 if key.startswith(("ssim", "stlpips")) else 2 if not key.startswith("kid") else 1
    text = _value(value["mean"], scale, digits)
    return text + (f" ± {_value(value['std'], scale, digits)}" if value.get("std") is not None else "")


def _teacher_cells(teacher: dict[str, Any]) -> list[str]:
    metrics, intervals = teacher["scores"]["metrics"], teacher["scores"]["intervals"]
    cells = []
    for key, _, _, scale in COLUMNS:
        if key.endswith("_teacher"):
            cells.append("—")
            continue
        digits = 3 if key.startswith(("ssim", "stlpips")) else 1 if key.startswith("kid") else 2
        text = _value(metrics.get(key), scale, digits)
        interval = intervals.get(key.split("_")[0]) if key in ("kid_vs_real", "fid_vs_real") else None
        if interval:
            text += f" [{_value(interval['low'], scale, digits)}, {_value(interval['high'], scale, digits)}]"
        cells.append(text)
    return cells


def _selection_lines(document: dict[str, Any]) -> list[str]:
    lines = ["### Selection on the carved split (facades/train only)", ""]
    split = document.get("split") or {}
    if split:
        lines += [
            f"Carved: {len(split['carved'])} train pairs ({split['rule']}); selection runs train on the other "
            f"{split['train_for_selection']}.",
            "",
        ]
    curves = {name: data for name, data in document["curves"].items() if data}
    if curves:
        lines += ["| step | " + " | ".join(f"{m}: KID×1000 / FID / PSNR" for m in curves) + " |"]
        lines += ["|---|" + "---|" * len(curves)]
        steps = sorted({p["step"] for data in curves.values() for p in data["points"]})
        for step in steps:
            cells = []
            for data in curves.values():
                point = next((p for p in data["points"] if p["step"] == step), None)
                cells.append(
                    "—"
                    if point is None
                    else f"{point['kid_vs_real'] * 1000:.1f} ± {point['kid_std'] * 1000:.1f} / "
                    f"{point['fid_vs_real']:.1f} / {point['psnr_vs_real']:.2f}"
                )
            lines.append(f"| {step} | " + " | ".join(cells) + " |")
        lines += ["", "(KID ± its bootstrap std over the carved pairs; one seed.)", ""]
    budget = document.get("budget")
    lines += [
        f"**Budget: {budget['steps']} steps** (chosen by the rule below)." if budget else "Budget: not chosen yet."
    ]
    lines += [""]
    recipes = {name: data for name, data in document["recipes"].items() if data}
    if recipes:
        lines += ["| region-aware candidate | overrides | KID×1000 | FID | PSNR |", "|---|---|---|---|---|"]
        for name, data in recipes.items():
            s = data["scores"]
            overrides = ", ".join(f"`{o}`" for o in data["overrides"]) or "(defaults)"
            lines.append(
                f"| {name} | {overrides} | {s['kid_vs_real'] * 1000:.1f} | {s['fid_vs_real']:.1f} | "
                f"{s['psnr_vs_real']:.2f} |"
            )
        lines += [""]
    choice = document.get("recipe")
    lines += [f"**reko-best = {choice['chosen']}**." if choice else "reko-best: not chosen yet.", ""]
    return lines


def _verdict_table(verdicts: list[dict[str, Any]]) -> list[str]:
    """One line per (row, baseline): the verdict per metric and by how much (KID x1000)."""
    scales = {key: (label, scale) for key, label, _, scale in COLUMNS}
    metrics = [key for key, *_ in COLUMNS if any(v["metric"] == key for v in verdicts)]
    lines = ["Verdicts, method against baseline (better by more than the larger seed std: win; worse: loss):", ""]
    lines += [
        "| row vs baseline | " + " | ".join(scales[m][0] for m in metrics) + " |",
        "|---|" + "---|" * len(metrics),
    ]
    pairs = list(dict.fromkeys((v["row"], v["against"]) for v in verdicts))
    for row, against in pairs:
        found = {v["metric"]: v for v in verdicts if (v["row"], v["against"]) == (row, against)}
        cells = [
            f"{found[m]['verdict']} {found[m]['better_by'] * scales[m][1]:+.2f}" if m in found else "—" for m in metrics
        ]
        lines.append(f"| {row} vs {against} | " + " | ".join(cells) + " |")
    return lines + [""]


def markdown(document: dict[str, Any]) -> str:
    done, total = document["runs_done"], document["runs_total"]
    status = "complete" if not document["pending"] else f"in progress: {done} of {total} final runs done"
    lines = [f"**Status: {status}.**", ""]
    lines += _selection_lines(document)
    images = (document.get("teacher") or {}).get("scores", {}).get("images", "?")
    steps = document["steps"] or "?"
    lines += [f"### Final: facades val + test ({images} pairs), {steps} steps, last checkpoint", ""]
    headers = ["row", "seeds", *[label for _, label, _, _ in COLUMNS], "params"]
    lines += ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    teacher = document.get("teacher")
    if teacher:
        cells = ["**teacher** (ngf 32)", "—", *_teacher_cells(teacher), f"{teacher['parameters'] / 1e6:.2f}M"]
        lines.append("| " + " | ".join(cells) + " |")
    for row in document["table"]:
        if "pending" in row:
            lines.append(f"| {row['row']} | 0 | " + " | ".join(["pending"] * len(COLUMNS)) + " | — |")
            continue
        cells = [row["row"], f"{len(row['seeds'])}/{document['seeds']}"]
        cells += [_cell(row.get(key), key, scale) for key, _, _, scale in COLUMNS]
        cells.append(f"{row['parameters'] / 1e6:.2f}M" if row.get("parameters") else "—")
        lines.append("| " + " | ".join(cells) + " |")
    for name, why in document.get("not_applicable", {}).items():
        lines.append(f"| {name} | n/a | " + " | ".join(["n/a"] * len(COLUMNS)) + f" | {why} |")
    lines += [
        "",
        f"Teacher: the value on all {images} pairs [its 95 % bootstrap interval over images]. "
        "Students: mean ± sample std over seeds; — = not run yet. ST-LPIPS: — where the `perceptual` extra is missing.",
        "",
    ]
    if document["pending"]:
        lines += ["Still to run (or stale: trained with other settings than the current ones):", ""]
        lines += [f"- {item}" for item in document["pending"]] + [""]
    verdicts = document["teacher_verdicts"]
    decided = {name: v for name, v in verdicts.items() if any(x != "pending" for x in v.values())}
    if decided:
        lines += ["Student against teacher (KID / FID vs real, paired bootstrap per seed):", ""]
        lines += [f"- {name}: KID {v['kid']}, FID {v['fid']}" for name, v in decided.items()] + [""]
    if document["verdicts"]:
        lines += _verdict_table(document["verdicts"])
    return "\n".join(lines)


def report_view(plan: Plan, document: dict[str, Any]) -> dict[str, Any]:
    """``comparison.json`` for the final run folders, so that ``reko report OUT/final`` renders the
    benchmark: label map | teacher | one student per row (its first seed) on the held-out pairs."""
    teacher = document.get("teacher") or {}
    metrics = (teacher.get("scores") or {}).get("metrics", {})
    columns = [key for key, *_ in COLUMNS]
    table = [r for r in document["table"] if r.get("seeds")]
    return {
        "settings": {"teacher": plan.teacher, "mode": "paired", "size": plan.size, "steps": plan.steps},
        "eval": {"data": str(plan.folders["heldout"]), "images": (teacher.get("scores") or {}).get("images")},
        "teacher": {
            "method": "teacher",
            "parameters": teacher.get("parameters"),
            "macs_field": teacher.get("macs_field"),
            **{key: stat([metrics[key]]) for key in columns if metrics.get(key) is not None},
        },
        "rows": [
            {
                "method": r["row"],
                "seeds": r["seeds"],
                "parameters": r.get("parameters"),
                "macs_field": r.get("macs_field"),
            }
            | {key: r[key] for key in columns}
            for r in table
        ],
    }


def write_tables(plan: Plan, document: dict[str, Any], docs: Path | None) -> None:
    text = markdown(document)
    if (plan.out / "final" / "runs").is_dir():
        write_json(plan.out / "final" / "comparison.json", report_view(plan, document))
    base = plan.results.parent / plan.results.name
    write_json(base.with_suffix(".json"), document)
    base.with_suffix(".md").write_text("# Real-task benchmark (facades labels -> photo)\n\n" + text, encoding="utf-8")
    print(text)
    if docs is not None:
        page = docs.read_text(encoding="utf-8")
        if BEGIN not in page or END not in page:
            raise SystemExit(f"{docs} has no {BEGIN} ... {END} block to fill")
        head, rest = page.split(BEGIN, 1)
        docs.write_text(head + BEGIN + "\n" + text + "\n" + END + rest.split(END, 1)[1], encoding="utf-8")
