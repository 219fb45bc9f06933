"""Aggregating a comparison: mean and standard deviation over seeds, as JSON and a markdown table.

``comparison.json``::

    {"settings": {...}, "eval": {"data": ..., "images": N},
     "teacher": {"method": "teacher", "parameters": ..., "macs_field": ..., "macs_true": ...,
                 "latency_ms": ..., "fid_vs_real": {"mean": ..., "std": null, "n": 1}, ...},
     "rows": [{"method": "none", "seeds": [0, 1], "parameters": ..., ...,
               "fid_vs_teacher": {"mean": ..., "std": ..., "n": 2}, ...}, ...],
     "per_seed": {"none": {"0": {metric: value}, ...}, ...},
     "failed": [{"method": ..., "seed": ..., "error": ...}]}

``std`` is the sample standard deviation over seeds (n - 1 in the denominator), None for one seed.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

# Column order and direction (True: higher is better) of known metrics; others follow, sorted.
METRIC_ORDER: tuple[tuple[str, bool], ...] = (
    ("fid_vs_teacher", False),
    ("kid_vs_teacher", False),
    ("psnr_vs_teacher", True),
    ("ssim_vs_teacher", True),
    ("l1_vs_teacher", False),
    ("stlpips_vs_teacher", False),
    ("fid_vs_real", False),
    ("kid_vs_real", False),
    ("psnr_vs_real", True),
    ("ssim_vs_real", True),
    ("l1_vs_real", False),
    ("stlpips_vs_real", False),
)
COST_KEYS: tuple[str, ...] = ("parameters", "macs_field", "macs_true", "latency_ms")


def stat(values: Sequence[float]) -> dict[str, Any]:
    """``{"mean", "std", "n"}`` of finite ``values`` (std: sample standard deviation; None for n < 2)."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not finite:
        return {"mean": None, "std": None, "n": 0}
    std = statistics.stdev(finite) if len(finite) > 1 else None
    return {"mean": statistics.fmean(finite), "std": std, "n": len(finite)}


def metric_names(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Metric columns present in any row, known ones first in `METRIC_ORDER`."""
    present = {key for row in rows for key, value in row.items() if isinstance(value, Mapping) and "mean" in value}
    known = [name for name, _ in METRIC_ORDER if name in present]
    return known + sorted(present - set(known))


def method_row(method: str, per_seed: Mapping[int, Mapping[str, float]], cost: Mapping[str, Any]) -> dict[str, Any]:
    """One method's row: its cost and, for every metric, the statistics over its seeds."""
    row: dict[str, Any] = {"method": method, "seeds": sorted(per_seed)}
    row.update({key: cost.get(key) for key in (*COST_KEYS, "architecture")})
    names = sorted({name for metrics in per_seed.values() for name in metrics})
    for name in names:
        row[name] = stat([metrics[name] for metrics in per_seed.values() if name in metrics])
    return row


def teacher_row(metrics: Mapping[str, float], cost: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"method": "teacher", "seeds": []}
    row.update({key: cost.get(key) for key in (*COST_KEYS, "architecture")})
    row.update({name: stat([value]) for name, value in metrics.items()})
    return row


# --------------------------------------------------------------------------- markdown


def _count(value: Any, unit: float, suffix: str) -> str:
    return "—" if value is None else f"{value / unit:.2f}{suffix}"


def _metric(name: str, value: Mapping[str, Any] | None) -> str:
    if not value or value.get("mean") is None:
        return "—"
    scale = 1000.0 if name.startswith("kid") else 1.0  # KID is conventionally shown x1000
    digits = 3 if name.startswith(("ssim", "l1", "stlpips")) else 2
    text = f"{value['mean'] * scale:.{digits}f}"
    if value.get("std") is not None:
        text += f" ± {value['std'] * scale:.{digits}f}"
    return text


def _header(name: str) -> str:
    higher = dict(METRIC_ORDER).get(name)
    arrow = "" if higher is None else (" ↑" if higher else " ↓")
    label = name.replace("_vs_", " vs ").replace("kid", "KID×1000").replace("fid", "FID")
    label = label.replace("stlpips", "ST-LPIPS")
    return label.replace("psnr", "PSNR").replace("ssim", "SSIM").replace("l1", "L1") + arrow


def markdown_table(teacher: Mapping[str, Any] | None, rows: Sequence[Mapping[str, Any]]) -> str:
    """The comparison as one markdown table: the teacher first, then a row per method."""
    all_rows = ([teacher] if teacher else []) + list(rows)
    names = metric_names(all_rows)
    headers = ["method", "seeds", "params", "MACs (field)", "MACs (true)", "latency (ms)", *map(_header, names)]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(["---"] * len(headers)) + "|"]
    for row in all_rows:
        latency = row.get("latency_ms")
        cells = [
            str(row["method"]),
            str(len(row.get("seeds", []))) if row["method"] != "teacher" else "—",
            _count(row.get("parameters"), 1e6, "M"),
            _count(row.get("macs_field"), 1e9, "G"),
            _count(row.get("macs_true"), 1e9, "G"),
            "—" if latency is None else f"{latency:.1f}",
            *[_metric(name, row.get(name)) for name in names],
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_report(document: Mapping[str, Any]) -> str:
    """``comparison.md``: a title, the settings in one paragraph, the table and any failed runs."""
    settings = document["settings"]
    evaluation = document.get("eval", {})
    lines = [
        "# Comparison of distillation methods",
        "",
        f"Teacher `{settings['teacher']}`, trained on `{settings['data']}` for {settings['steps']} steps at "
        f"{settings['size']}px, seeds 0..{settings['seeds'] - 1}; evaluated on {evaluation.get('images', '?')} "
        f"held-out images of `{evaluation.get('data', '?')}` at {settings['size']}px. Student: "
        f"{evaluation.get('student', '?')}. Values are mean ± sample standard deviation over seeds; "
        "latency is the median of batch-1 CPU forward passes "
        f"(torch threads: {evaluation.get('latency_threads', '?')}). KID is shown ×1000.",
        "",
        markdown_table(document.get("teacher"), document.get("rows", [])),
    ]
    images = evaluation.get("images")
    if isinstance(images, int) and images < 50 and any("fid" in name for name in metric_names(document["rows"])):
        lines += ["", f"FID/KID on {images} images are dominated by estimator noise; compare them only loosely."]
    if document.get("pending"):
        lines += ["", "Not finished yet (rerun the same command to continue): "]
        lines += [f"- {item['method']} seed {item['seed']}" for item in document["pending"]]
    if document.get("failed"):
        lines += ["", "Failed runs:", ""]
        lines += [f"- {item['method']} seed {item['seed']}: {item['error']}" for item in document["failed"]]
    if document.get("overrides"):
        lines += ["", "Every run's config overrides: " + ", ".join(f"`{o}`" for o in document["overrides"])]
    return "\n".join(lines) + "\n"
