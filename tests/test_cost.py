"""Latency statistics, thread pinning, peak memory, ONNX Runtime rows and the cost table."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from reko.errors import RekoError
from reko.eval.cost import CostRow, format_cost_table, profile_model, profile_onnx
from reko.eval.latency import LatencyStats, measure_latency, pinned_threads
from reko.eval.macs import count_macs, count_parameters
from reko.eval.memory import peak_memory
from reko.models import GeneratorSpec, create_generator


@pytest.fixture(scope="module")
def tiny_generator() -> torch.nn.Module:
    return create_generator(GeneratorSpec(ngf=8, n_blocks=2)).eval()


def test_measure_latency_of_a_callable() -> None:
    calls = []

    def work() -> None:
        calls.append(1)
        time.sleep(0.01)

    stats = measure_latency(work, warmup=2, repeats=7)
    assert len(calls) == 9
    assert stats.repeats == 7 and stats.warmup == 2
    assert 9.5 <= stats.min_ms <= stats.p25_ms <= stats.median_ms <= stats.p75_ms
    assert stats.iqr_ms == pytest.approx(stats.p75_ms - stats.p25_ms)
    assert stats.median_ms < 60  # a sleep of 10 ms, with scheduler slack on a busy machine
    with pytest.raises(RekoError, match="repeats"):
        measure_latency(work, repeats=0)


def test_threads_are_pinned_recorded_and_restored() -> None:
    before = torch.get_num_threads()
    seen = []
    stats = measure_latency(lambda: seen.append(torch.get_num_threads()), warmup=0, repeats=3, threads=1)
    assert seen == [1, 1, 1] and stats.threads == 1
    assert torch.get_num_threads() == before
    with pinned_threads(None) as threads:
        assert threads == before
    with pytest.raises(RekoError, match="threads"):
        with pinned_threads(0):
            pass


def test_peak_memory_sees_the_activations(tiny_generator) -> None:
    small = peak_memory(tiny_generator, (1, 3, 64, 64), threads=1)
    large = peak_memory(tiny_generator, (1, 3, 512, 512), threads=1)
    if small is None or large is None:
        pytest.skip("no /proc/self/status on this system")
    print(f"forward memory: 64x64 {small.forward_mb:.1f} MiB, 512x512 {large.forward_mb:.1f} MiB")
    assert large.peak_mb >= large.baseline_mb > 0
    # 64x more pixels: the first activations alone are 8 x 512 x 512 floats = 8 MiB.
    assert large.forward_mb > small.forward_mb + 8
    weights = sum(p.numel() for p in tiny_generator.parameters()) * 4 / 2**20
    assert small.weights_mb == pytest.approx(weights, rel=0.05)


def test_profile_model_counts_and_times(tiny_generator) -> None:
    row = profile_model("student", tiny_generator, size=64, warmup=1, repeats=3, threads=1, memory=False)
    macs = count_macs(tiny_generator, 64)
    assert row.parameters == count_parameters(tiny_generator)
    assert (row.macs_true, row.macs_field) == (macs.true, macs.field)
    assert row.latency is not None and row.latency.median_ms > 0 and row.latency.threads == 1
    assert row.backend == "pytorch-eager" and row.size == 64 and row.batch_size == 1
    assert row.to_dict()["latency"]["repeats"] == 3


def test_onnx_runtime_row(tiny_generator, tmp_path: Path) -> None:
    path = tmp_path / "tiny.onnx"
    torch.onnx.export(tiny_generator, (torch.zeros(1, 3, 64, 64),), str(path), dynamo=False, input_names=["image"])
    pytorch = profile_model("student", tiny_generator, size=64, warmup=1, repeats=3, threads=1, memory=False)
    row = profile_onnx("tiny.onnx", path, size=64, warmup=1, repeats=3, threads=1, memory=True, like=pytorch)
    assert row.backend == "onnxruntime-cpu" and row.parameters == pytorch.parameters
    assert row.latency is not None and row.latency.threads == 1
    if row.memory is not None:
        assert row.memory.forward_mb >= 0
    with pytest.raises(RekoError, match="does not exist"):
        profile_onnx("missing", tmp_path / "missing.onnx")


def _row(name: str, params: int, macs: int, ms: float) -> CostRow:
    latency = LatencyStats(ms, 1.0, ms - 0.5, ms + 0.5, ms, ms - 1, 5, 1, 2)
    return CostRow(name, "pytorch-eager", 1, 256, params, macs, macs, latency)


def test_cost_table_ratios() -> None:
    rows = [_row("teacher", 11_000_000, 56_000_000_000, 800.0), _row("student", 1_000_000, 7_000_000_000, 100.0)]
    extra = CostRow("student.onnx", "onnxruntime-cpu", 1, 256, latency=_row("x", 1, 1, 50.0).latency)
    table = format_cost_table([*rows, extra], baseline="teacher")
    print(table)
    student_line = next(line for line in table.splitlines() if line.startswith("student "))
    assert "1.00M (x11.0)" in student_line and "7.00G (x8.0)" in student_line and "100.0 ms (x8.0)" in student_line
    onnx_line = next(line for line in table.splitlines() if line.startswith("student.onnx"))
    assert "50.0 ms (x16.0)" in onnx_line and " - " in onnx_line
    assert "2 threads" in table
    with pytest.raises(RekoError, match="baseline"):
        format_cost_table(rows, baseline="nobody")


def test_machine_record_names_the_cpu_and_versions() -> None:
    from reko.eval.machine import cpu_name, machine

    info = machine(threads=1)
    assert info["cpu"] == cpu_name() and info["cpu"] not in ("", "unknown")
    assert info["threads"] == 1 and info["cores"] >= 1 and info["torch"].startswith("2.")
