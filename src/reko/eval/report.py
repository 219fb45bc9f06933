"""Plain-text tables and strict JSON for evaluation results; `format_results`: ``reko eval``'s table."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reko.atomic import write_text_atomic


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns separated by two spaces, with a rule under the header."""
    table = [list(headers), *[list(r) for r in rows]]
    widths = [max(len(r[i]) for r in table) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def json_safe(value: Any) -> Any:
    """``inf``/``nan`` -> None (strict JSON has neither), recursively; paths -> strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as indented strict JSON, atomically."""
    write_text_atomic(path, json.dumps(json_safe(data), indent=2, allow_nan=False) + "\n")
    return Path(path)


def _spread(scale: float, std: float | None) -> str:
    """`` +- std`` (scaled), or nothing when there is no spread (KID on whole sets)."""
    return "" if std is None else f" +- {scale * std:.2f}"


def format_results(report: dict[str, Any]) -> str:
    """The report's results as a plain-text table (KID x 1000, as papers print it)."""
    columns = [
        ("fid", "FID", lambda r: f"{r['fid']:.2f}"),
        ("kid_mean", "KID x1e3", lambda r: f"{1e3 * r['kid_mean']:.2f}" + _spread(1e3, r.get("kid_std"))),
        ("psnr", "PSNR", lambda r: f"{r['psnr']:.2f}"),
        ("ssim", "SSIM", lambda r: f"{r['ssim']:.4f}"),
        ("l1", "L1", lambda r: f"{r['l1']:.4f}"),
        ("stlpips", "ST-LPIPS", lambda r: f"{r['stlpips']:.4f}"),
        ("miou", "mIoU", lambda r: f"{100 * r['miou']:.2f}"),
        ("pixel_accuracy", "pix acc", lambda r: f"{100 * r['pixel_accuracy']:.2f}"),
    ]
    rows = report["results"]
    used = [c for c in columns if any(r.get(c[0]) is not None for r in rows)]
    headers = ["model", "vs", "images"] + [c[1] for c in used]
    body = [
        [r["model"], r["against"], str(r["images"])]
        + [fmt(r) if r.get(key) is not None else "-" for key, _, fmt in used]
        for r in rows
    ]
    lines = [format_table(headers, body)]
    data = report["data"]
    if report.get("protocol"):
        network = report["inception"]
        lines.append(
            f"FID protocol {report['protocol']}, Inception {network['kind']} sha256 {network['sha256'][:12]}"
            f"{' (verified)' if network['checksum_verified'] else ' (unverified checksum)'}"
        )
    lines.append(f"data {data['path']}: {data['images']} images, {data['preparation']}")
    return "\n".join(lines)
