"""The quality benchmark's verdicts and markdown (benchmarks/quality.py writes, this reads)."""

from __future__ import annotations

from typing import Any

METRICS = (("fid_vs_teacher", False), ("kid_vs_teacher", False), ("psnr_vs_teacher", True), ("ssim_vs_teacher", True))
SIZE = 128


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
    header = [label, "seeds", *[name.replace("_vs_teacher", "").upper() for name, _ in METRICS], "params", "MACs@256"]
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
