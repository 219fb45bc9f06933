"""A MACs / parameter budget picks the student: the search, its errors, and `reko distill --target-macs`
end to end (train, export with parity, translate a folder) on the package's demo photos."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.helpers.tiny_runs import FAST, size, tiny_teacher

from reko.cli import main
from reko.config import load_config
from reko.distill.build import student_choice
from reko.distill.config import DistillConfig
from reko.errors import RekoError
from reko.eval.macs import spec_cost
from reko.models import GeneratorSpec, load_generator, read_metadata
from reko.models.budget import fit_budget as _fit_budget
from reko.models.budget import parse_count

DEMO_PHOTOS = Path(__file__).resolve().parents[1] / "src" / "reko" / "demo_data" / "train"
TEACHER = GeneratorSpec(ngf=64, n_blocks=9)  # the field's ResNet-9 teacher, 56.8G MACs


def fit_budget(base: GeneratorSpec, **budget: object) -> object:
    return _fit_budget(base, spec_cost, **budget)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "value"), [("2.7G", 2.7e9), ("500M", 5e8), ("300k", 3e5), ("1.4e9", 1.4e9), (" 12 ", 12.0), (3, 3.0)]
)
def test_parse_count(text: str | int, value: float) -> None:
    assert parse_count(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["2.7X", "G", "-1G", "0", "", "1e999"])
def test_parse_count_rejects_what_is_not_a_positive_count(text: str) -> None:
    with pytest.raises(RekoError, match="budget"):
        parse_count(text)


@pytest.mark.parametrize(
    ("budget", "block", "ngf"), [(2.7e9, "mobile", 23), (1.41e9, "mobile", 16), (20e9, "mobile", 64)]
)
def test_the_widest_fitting_student_is_chosen(budget: float, block: str, ngf: int) -> None:
    choice = fit_budget(TEACHER, max_macs=budget)
    assert (choice.spec.block, choice.spec.ngf) == (block, ngf)
    assert choice.cost.macs_field <= budget
    if ngf < TEACHER.ngf:  # the largest that fits: one channel wider does not
        assert spec_cost(choice.spec.with_width(ngf + 1)).macs_field > budget
    assert f"ngf {ngf} of 64 with {block} blocks" in choice.reason


def test_a_fixed_block_a_parameter_budget_and_a_tie() -> None:
    conv = fit_budget(TEACHER, max_macs=2.7e9, blocks=("conv",))
    assert (conv.spec.block, conv.spec.ngf) == ("conv", 13) and conv.candidates == {"conv": 13}
    by_params = fit_budget(TEACHER, max_params=300e3)
    assert by_params.cost.parameters <= 300e3 < spec_cost(by_params.spec.with_width(by_params.spec.ngf + 1)).parameters
    both = fit_budget(TEACHER, max_macs=2.7e9, max_params=100e3)  # the tighter of the two decides
    assert both.cost.parameters <= 100e3 and both.spec.ngf < 23
    assert fit_budget(TEACHER, max_macs=100e9).spec == TEACHER  # a tie at full width keeps the teacher's block


def test_per_stage_widths_scale_uniformly() -> None:
    teacher = TEACHER.replace(n_blocks=2, widths=(64, 128, 256, 64, 64, 128, 64))
    choice = fit_budget(teacher, max_macs=1e9, blocks=("mobile",))
    ratio = choice.spec.ngf / 64
    assert choice.spec.widths == tuple(max(1, round(w * ratio)) for w in teacher.widths)


def test_an_impossible_budget_says_what_the_smallest_student_costs() -> None:
    with pytest.raises(RekoError, match=r"no student of resnet_9blocks fits the budget 0.001G MACs.*smallest"):
        fit_budget(TEACHER, max_macs=1e6)
    with pytest.raises(RekoError, match="needs max_macs or max_params"):
        fit_budget(TEACHER)
    with pytest.raises(RekoError, match="must be some of"):
        fit_budget(TEACHER, max_macs=1e9, blocks=("tiny",))


def test_the_config_budget_replaces_ngf_and_keeps_other_student_fields() -> None:
    config = load_config(DistillConfig, None, ["student.target_macs=2.7G", "student.ngf=8"])
    spec, reason = student_choice(config, TEACHER, spec_cost)
    assert (spec.block, spec.ngf) == ("mobile", 23) and reason is not None
    fixed = load_config(DistillConfig, None, ["student.target_macs=2.7G", "student.block=conv", "student.norm=batch"])
    spec, _ = student_choice(fixed, TEACHER, spec_cost)
    assert (spec.block, spec.ngf, spec.norm) == ("conv", 13, "batch")
    assert student_choice(load_config(DistillConfig, None, []), TEACHER, spec_cost) == (TEACHER.with_width(24), None)
    with pytest.raises(RekoError, match="student.target_macs"):
        student_choice(load_config(DistillConfig, None, ["student.target_macs=lots"]), TEACHER, spec_cost)


def test_distill_with_target_macs_trains_a_mobile_student_that_exports_and_translates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    teacher = tiny_teacher(tmp_path / "teacher.safetensors")  # ResNet ngf 8, 3 blocks: 0.57G MACs
    run = tmp_path / "run"
    argv = ["distill", "--teacher", str(teacher), "--data", str(DEMO_PHOTOS), "--out", str(run)]
    argv += ["--target-macs", "0.25G", "--set", *size(32), *FAST, "train.steps=2"]
    assert main(argv) == 0
    assert "student for the budget: mobile_resnet_3blocks" in capsys.readouterr().err
    checkpoint = run / "student_latest.safetensors"
    student = load_generator(checkpoint)
    assert (student.spec.block, student.spec.ngf) == ("mobile", 6)
    assert "0.25G MACs" in read_metadata(checkpoint)["student.budget"]

    assert main(["info", str(checkpoint)]) == 0
    info = capsys.readouterr().out
    assert "mobile" in info and "chosen for the budget" in info

    onnx_file = tmp_path / "student.onnx"
    assert (
        main(["export", "--checkpoint", str(checkpoint), "--format", "onnx", "--size", "64", "--out", str(onnx_file)])
        == 0
    )
    assert "PASSED" in capsys.readouterr().out  # parity with PyTorch
    photos, out = DEMO_PHOTOS.parent / "test", tmp_path / "translated"
    argv = ["translate", "--backend", "onnx", "--checkpoint", str(onnx_file), "--input", str(photos)]
    assert main([*argv, "--output", str(out), "--size", "64", "--tile", "64"]) == 0
    assert sorted(p.stem for p in out.iterdir()) == sorted(p.stem for p in photos.iterdir())


@pytest.mark.parametrize(
    ("field", "value"),
    [("target_macs", "2.7X"), ("target_macs", "-1G"), ("target_params", "lots"), ("budget_size", 0), ("ngf", 0)],
)
def test_a_bad_student_budget_is_refused_when_the_config_loads(field: str, value: object) -> None:
    with pytest.raises(RekoError, match=f"student.{field} must be"):
        load_config(DistillConfig, None, [(f"student.{field}", value)])
