"""Each distillation mode for a few steps on real data: unpaired (real teacher), paired, both directions."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from tests.helpers.tiny_runs import FAST, scalars, size, tiny_teacher

from reko.api import distill
from reko.cli import main
from reko.config import load_config
from reko.distill.build import resolve_mode
from reko.distill.config import DistillConfig
from reko.distill.registry import method_names
from reko.errors import RekoError
from reko.models import load_generator, read_metadata

REPO = Path(__file__).resolve().parents[1]


def _grid_columns(run: Path) -> list[str]:
    grid = sorted((run / "images").iterdir())[-1]
    with Image.open(grid) as image:
        return image.text["columns"].split(" | ")


def test_unpaired_one_direction_with_the_real_teacher(
    tmp_path: Path, teacher_path: Path, horse2zebra_dir: Path
) -> None:
    overrides = [f"teacher={teacher_path}", f"data.root={horse2zebra_dir / 'trainA'}", "student.ngf=8"]
    config = load_config(DistillConfig, None, [*overrides, *size(64), *FAST, "train.steps=3"])
    assert resolve_mode(config) == "unpaired"
    result = distill(config, tmp_path / "run")
    student = load_generator(result.latest["student"])
    assert student.spec == load_generator(teacher_path).spec.with_width(8)  # the teacher's architecture
    assert _grid_columns(tmp_path / "run") == ["input", "teacher", "student", "attention", "patches"]
    assert read_metadata(result.latest["student"])["step"] == "3"
    assert set(result.metrics) == {"psnr", "l1"} and result.metrics["psnr"] > 0


def test_paired_mode_on_facades(tmp_path: Path, facades_dir: Path) -> None:
    teacher = tiny_teacher(tmp_path / "unet.safetensors", family="unet", num_downs=6)
    overrides = [f"teacher={teacher}", f"data.root={facades_dir}", "data.direction=BtoA", "student.ngf=4"]
    config = load_config(DistillConfig, None, [*overrides, *size(64), *FAST, "train.steps=2", "train.batch_size=2"])
    assert resolve_mode(config) == "paired"  # facades/ has train/
    result = distill(config, tmp_path / "run")
    assert set(result.metrics) == {"psnr", "l1", "psnr_teacher"}  # val/ of facades, against ground truth
    assert _grid_columns(tmp_path / "run") == ["input", "target", "teacher", "student", "attention", "patches"]
    assert {"G/gan", "G/l1", "G/reko_nce", "D/real", "D/fake"} <= set(scalars(tmp_path / "run")[1])


def test_both_directions_with_two_teachers(tmp_path: Path, photos_root: Path) -> None:
    teacher_ab = tiny_teacher(tmp_path / "ab.safetensors", seed=1)
    teacher_ba = tiny_teacher(tmp_path / "ba.safetensors", seed=2)
    overrides = [f"teacher={teacher_ab}", f"teacher_ba={teacher_ba}", f"data.root={photos_root}", "student.ngf=4"]
    config = load_config(DistillConfig, None, [*overrides, *size(32), *FAST, "train.steps=2", "loss.pool_size=2"])
    assert resolve_mode(config) == "cyclegan"
    result = distill(config, tmp_path / "run")
    assert set(result.latest) == {"student_AB", "student_BA"}
    assert {"psnr", "psnr_AB", "psnr_BA"} == set(result.metrics)
    parts = scalars(tmp_path / "run")[1]
    assert {"G/cycle_A", "G/identity_B", "G/AB/reko_nce", "G/BA/reko_nce", "D/D_A", "D/D_B"} <= set(parts)
    assert read_metadata(result.latest["student_BA"])["teacher_ba"] == str(teacher_ba)


@pytest.mark.parametrize("method", method_names())
def test_every_registered_method_distils(method: str, tmp_path: Path, photos_root: Path) -> None:
    teacher = tiny_teacher(tmp_path / "teacher.safetensors")
    overrides = [f"teacher={teacher}", f"data.root={photos_root / 'trainA'}", "student.ngf=4", *size(32), *FAST]
    kept = [o for o in overrides if not o.startswith(("distill.num_patches", "distill.embed_dim"))]
    config = load_config(
        DistillConfig, None, [*kept, f"distill.method={method}", "train.steps=1", "train.batch_size=2"]
    )
    result = distill(config, tmp_path / "run")
    assert result.finished and read_metadata(result.latest["student"])["method"] == method


def test_the_student_follows_the_teacher(tmp_path: Path, photos_root: Path) -> None:
    teacher = tiny_teacher(tmp_path / "teacher.safetensors")
    overrides = [f"teacher={teacher}", f"data.root={photos_root / 'trainA'}", "student.ngf=8", *size(32), *FAST]
    config = load_config(DistillConfig, None, [*overrides, "train.steps=24", "train.eval_every=24", "train.lr=1e-3"])
    distill(config, tmp_path / "run")
    evaluations = [r["val/psnr"] for r in scalars(tmp_path / "run") if "val/psnr" in r]
    assert evaluations[-1] > evaluations[0] + 3  # dB, student vs teacher on held-out images


def test_cli_distill_with_the_shipped_config(tmp_path: Path, photos_root: Path, capsys) -> None:
    teacher = tiny_teacher(tmp_path / "teacher.safetensors")
    args = [
        "distill",
        "--teacher",
        str(teacher),
        "--data",
        str(photos_root / "trainA"),
        "--out",
        str(tmp_path / "run"),
    ]
    args += ["--config", str(REPO / "configs" / "distill_horse2zebra_128.yaml")]
    args += ["--set", "student.ngf=4", "train.steps=1", *size(32), *FAST]
    assert main(args) == 0
    assert "student_latest.safetensors" in capsys.readouterr().err
    assert load_config(DistillConfig, tmp_path / "run" / "config.yaml").distill.options.scoring == "teacher"


def test_mode_errors_are_clear(tmp_path: Path, photos_root: Path) -> None:
    with pytest.raises(RekoError, match="set teacher_ba"):
        resolve_mode(load_config(DistillConfig, None, ["mode=cyclegan"]))
    teacher = tiny_teacher(tmp_path / "teacher.safetensors", family="unet", num_downs=6)
    config = load_config(DistillConfig, None, [f"teacher={teacher}", f"data.root={photos_root / 'trainA'}"])
    with pytest.raises(RekoError, match="crop_size 200 is not a multiple of 64"):
        distill(
            load_config(DistillConfig, None, [f"teacher={teacher}", "data.root=x", "data.crop_size=200"]),
            tmp_path / "r",
        )
    assert config.mode == "auto"
    assert main(["distill", "--data", str(photos_root), "--out", str(tmp_path / "r2")]) == 2  # no teacher


def test_bf16_autocast_and_channels_last_run_on_cpu(tmp_path: Path, photos_root: Path) -> None:
    teacher = tiny_teacher(tmp_path / "teacher.safetensors")
    overrides = [f"teacher={teacher}", f"data.root={photos_root / 'trainA'}", "student.ngf=4", *size(32), *FAST]
    options = ["train.steps=2", "train.amp=bf16", "train.channels_last=true", "distill.scoring=learned"]
    result = distill(load_config(DistillConfig, None, [*overrides, *options]), tmp_path / "run")
    assert result.finished and all(v == v for v in result.metrics.values())  # finite, not NaN
    with pytest.raises(RekoError, match="fp16 needs a CUDA device"):
        distill(load_config(DistillConfig, None, [*overrides, "train.amp=fp16", "train.device=cpu"]), tmp_path / "r2")
