"""Latency rows for exported forms of a checkpoint, for ``reko bench``'s cost table.

`exported_cost_rows` exports the checkpoint to each requested form in a temporary folder with
`reko.export.pipeline.export_checkpoint` (so every timed file has passed its parity check), then
times it through `reko.export.runtime` exactly as `reko.eval.cost.profile_model` times PyTorch:
warm-up calls, then the median and IQR of timed calls, torch / ONNX Runtime threads pinned.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch

from reko.errors import RekoError
from reko.eval.cost import CostRow
from reko.eval.latency import LatencyStats, measure_latency
from reko.export.pipeline import ExportOptions, export_checkpoint
from reko.export.runtime import load_runner

PathLike = str | os.PathLike[str]
EXPORT_KINDS: tuple[str, ...] = ("torchscript", "onnx", "int8")
_BACKENDS = {"torchscript": "torchscript", "onnx": "onnxruntime-cpu", "int8": "onnxruntime-cpu-int8"}


def parse_kinds(text: str) -> list[str]:
    """``"onnx,int8"`` -> ``["onnx", "int8"]``, or a `RekoError` naming the valid kinds."""
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in EXPORT_KINDS]
    if unknown or not kinds:
        raise RekoError(f"export formats {unknown or text!r} not understood: choose from {','.join(EXPORT_KINDS)}")
    return kinds


def exported_cost_rows(
    checkpoint: PathLike,
    kinds: Sequence[str],
    like: CostRow | None = None,
    size: int = 256,
    batch_size: int = 1,
    warmup: int = 5,
    repeats: int = 30,
    threads: int | None = None,
    calibration: PathLike | None = None,
    name: str = "student",
    memory: bool = False,  # accepted for symmetry with profile_model; not measured for exports
) -> list[CostRow]:
    """One `CostRow` per kind (``torchscript``, ``onnx``, ``int8``) of ``checkpoint`` at a fixed
    ``size``; ``like`` (the checkpoint's PyTorch row) lends its parameter and MAC counts.
    ``int8`` needs ``calibration``, a folder of images."""
    if "int8" in kinds and calibration is None:
        raise RekoError("timing the INT8 export needs calibration images (a folder); calibration is None")
    threads = threads or torch.get_num_threads()
    rows = []
    with tempfile.TemporaryDirectory(prefix="reko-bench-") as folder:
        for kind in kinds:
            file = Path(folder) / f"model.{'pt' if kind == 'torchscript' else 'onnx'}"
            options = ExportOptions(
                format="torchscript" if kind == "torchscript" else "onnx",
                size=size,
                int8=kind == "int8",
                calibration=Path(calibration) if kind == "int8" and calibration is not None else None,
                parity_count=1,
                quality_count=1,
                fid=False,
                threads=threads,
            )
            report = export_checkpoint(checkpoint, file, options)
            runner = load_runner(file, options.format, threads=threads)
            x = torch.rand(batch_size, runner.spec.in_channels, size, size) * 2 - 1
            latency = measure_latency(
                lambda runner=runner, x=x: runner(x), warmup=warmup, repeats=repeats, threads=threads
            )
            latency = LatencyStats(**{**latency.to_dict(), "threads": threads})
            rows.append(
                CostRow(
                    name=f"{name} {kind}",
                    backend=_BACKENDS[kind],
                    batch_size=batch_size,
                    size=size,
                    parameters=like.parameters if like else None,
                    macs_true=like.macs_true if like else None,
                    macs_field=like.macs_field if like else None,
                    latency=latency,
                    notes={
                        "parity": [r.describe() for r in report.parity],
                        "rewrites": list(report.info.rewrites),
                        "int8": report.info.int8,
                    },
                )
            )
    return rows
