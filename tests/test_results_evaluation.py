"""The evaluation / comparison / cost result types: round trips, lookups, seed statistics."""

from __future__ import annotations

import pytest

from reko.results import ResultError
from reko.results.comparison import CompareResult, RunFailure
from reko.results.cost import CostRow
from reko.results.evaluation import EvalResult, EvalRow, MetricValue, ModelInfo


def _eval(psnr: float, fid: float = 40.0) -> EvalResult:
    rows = [
        EvalRow("student", "teacher", 8, {"psnr": MetricValue(psnr), "kid": MetricValue(0.01, std=0.002)}),
        EvalRow("student", "real images", 8, {"fid": MetricValue(fid)}, reference_images=30),
    ]
    models = {"student": ModelInfo("resnet9 ngf 8", 1234, {"ngf": 8}, checkpoint="s.safetensors")}
    return EvalResult("0.1", ("fid", "kid", "psnr"), {"path": "test", "images": 8}, models, rows)


def test_eval_result_round_trips_and_finds_rows(tmp_path) -> None:
    result = _eval(24.5)
    back = EvalResult.read(result.write(tmp_path / "eval.json"))
    assert back == result
    assert back.row("student", "teacher").value("psnr") == 24.5
    assert back.flat("student") == {"psnr_vs_teacher": 24.5, "kid_vs_teacher": 0.01, "fid_vs_real": 40.0}
    with pytest.raises(ResultError, match="no teacher vs ground truth row"):
        back.row("teacher", "ground truth")
    with pytest.raises(ResultError, match="no metric 'ssim'"):
        back.row("student", "teacher").value("ssim")


def test_non_finite_values_read_back_as_none(tmp_path) -> None:
    row = EvalRow("student", "teacher", 2, {"psnr": MetricValue(float("inf"))})
    result = EvalResult("0.1", ("psnr",), {}, {}, [row])
    assert EvalResult.read(result.write(tmp_path / "e.json")).row("student", "teacher").value("psnr") is None


def test_comparison_nests_evaluations_and_costs(tmp_path) -> None:
    costs = {"teacher": CostRow("teacher", parameters=4000, macs_true=10, macs_field=20, latency_ms=5.0)}
    result = CompareResult(
        {"steps": 10}, "test", 8, {"reko": {"0": _eval(24.0), "1": _eval(26.0)}, "none": {"0": _eval(20.0)}},
        teacher=_eval(99.0), costs=costs, failed=[RunFailure("output", 0, "boom")],
    )  # fmt: skip
    back = CompareResult.read(result.write(tmp_path / "comparison.json"))
    assert back == result
    assert back.per_seed("reko")[1]["psnr_vs_teacher"] == 26.0
    summary = back.summary("reko", "psnr_vs_teacher")
    assert summary.value == 25.0 and summary.std == pytest.approx(2**0.5) and summary.n == 2
    assert back.summary("none", "psnr_vs_teacher").std is None
    with pytest.raises(ResultError, match="no method 'wavelet'"):
        back.per_seed("wavelet")


def test_an_eval_file_is_not_read_as_a_comparison(tmp_path) -> None:
    path = _eval(1.0).write(tmp_path / "eval.json")
    with pytest.raises(ResultError, match="expected a 'comparison' result"):
        CompareResult.read(path)
