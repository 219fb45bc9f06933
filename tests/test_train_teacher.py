"""Teachers from scratch: pix2pix on facades, CycleGAN on horse2zebra (a few steps on real data)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from tests.helpers.tiny_runs import max_difference, scalars, size, trainable_state

from reko.api import train_teacher
from reko.cli import main
from reko.config import TeacherConfig, load_config
from reko.models import load_generator

REPO = Path(__file__).resolve().parents[1]
FAST = [
    "data.val_size=2",
    "data.num_workers=0",
    "train.threads=1",  # tiny networks: a second thread only waits, and spins on a busy machine
    "discriminator.ndf=8",
    "train.save_every=2",
    "train.eval_every=2",
    "train.eval_batches=2",
    "log.image_every=2",
    "log.image_count=2",
    "log.log_every=1",
    "log.progress=false",
]


def test_pix2pix_trains_on_facades(tmp_path: Path, facades_dir: Path) -> None:
    overrides = ["model=pix2pix", f"data.root={facades_dir}", "data.direction=BtoA", "generator.family=unet"]
    overrides += ["generator.num_downs=5", "generator.ngf=8", "generator.norm=batch", "generator.dropout=true"]
    config = load_config(TeacherConfig, None, [*overrides, *size(32), *FAST, "train.steps=16", "train.lr=1e-3"])
    result = train_teacher(config, tmp_path / "run")
    generator = load_generator(result.latest["generator"])
    assert generator.spec.name == "unet_32" and generator.spec.norm == "batch"
    assert result.best["generator"].exists() and set(result.metrics) == {"psnr", "l1"}
    l1 = [r["G/l1"] for r in scalars(tmp_path / "run") if "G/l1" in r]
    assert sum(l1[-4:]) < sum(l1[:4])  # it learns
    with Image.open(sorted((tmp_path / "run" / "images").iterdir())[-1]) as grid:
        assert grid.text["columns"] == "input | target | output"


def test_cyclegan_trains_and_resumes_exactly_with_its_pools(tmp_path: Path, horse2zebra_dir: Path) -> None:
    overrides = ["model=cyclegan", f"data.root={horse2zebra_dir}", "generator.ngf=4", "generator.n_blocks=2"]
    config = load_config(TeacherConfig, None, [*overrides, *size(32), *FAST, "train.steps=5", "loss.pool_size=2"])
    straight = train_teacher(config, tmp_path / "straight")
    train_teacher(config, tmp_path / "split", stop_at=2)
    resumed = train_teacher(config, tmp_path / "split", resume=True)
    assert set(straight.latest) == {"G_AB", "G_BA"} and set(straight.metrics) == {"cycle_psnr", "cycle_l1"}
    assert resumed.step == 5
    state = trainable_state(tmp_path / "split")
    assert state["pool_a._extra_state"]["count"] == 2  # the history is part of the state
    assert max_difference(trainable_state(tmp_path / "straight"), state) == 0.0
    parts = scalars(tmp_path / "straight")[1]
    assert {"G/gan_AB", "G/cycle_A", "G/identity_A", "D/D_A", "D/D_B"} <= set(parts)


def test_cli_train_with_the_shipped_config(tmp_path: Path, facades_dir: Path, capsys) -> None:
    args = ["train", "--config", str(REPO / "configs" / "pix2pix_facades.yaml"), "--data", str(facades_dir)]
    args += ["--out", str(tmp_path / "run"), "--set", "generator.num_downs=5", "train.steps=1", *size(32), *FAST]
    assert main(args) == 0
    assert "generator_latest.safetensors" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "run"), "--set", "train.steps=2"]) == 0
    assert load_config(TeacherConfig, tmp_path / "run" / "config.yaml").train.steps == 2
