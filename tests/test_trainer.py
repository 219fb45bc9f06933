"""The training loop: exact resume, data order, schedules, signals, run-folder files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from tests.helpers.tiny_runs import FAST, max_difference, scalars, size, tiny_teacher, trainable_state

from reko.api import distill, resume
from reko.config import load_config
from reko.distill.config import DistillConfig
from reko.errors import RekoError
from reko.gan.pool import ImagePool
from reko.models import load_generator, read_metadata
from reko.train.sampler import StepBatchSampler
from reko.train.trainer import linear_decay

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def teacher(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_teacher(tmp_path_factory.mktemp("teacher") / "teacher.safetensors")


def _config(teacher: Path, data: Path, *extra: str) -> DistillConfig:
    base = [f"teacher={teacher}", f"data.root={data}", "student.ngf=4", "train.batch_size=2", *size(32), *FAST]
    return load_config(DistillConfig, None, [*base, *extra])


def test_resume_continues_exactly(tmp_path: Path, teacher: Path, photos_root: Path) -> None:
    """N steps straight == k steps, stop, resume, N - k steps: weights, optimisers, logs."""
    config = _config(teacher, photos_root / "trainA", "train.steps=6", "train.save_every=4")
    straight = distill(config, tmp_path / "straight")
    first = distill(config, tmp_path / "split", stop_at=3)  # 3 is no save step: saved on stopping
    assert (first.step, first.finished) == (3, False)
    second = resume(tmp_path / "split")
    assert (straight.step, second.step, second.finished) == (6, 6, True)
    assert max_difference(trainable_state(tmp_path / "straight"), trainable_state(tmp_path / "split")) == 0.0
    a = torch.load(tmp_path / "straight" / "state.pt", weights_only=True)
    b = torch.load(tmp_path / "split" / "state.pt", weights_only=True)
    for name in a["optimisers"]:
        for key, state in a["optimisers"][name]["state"].items():
            assert torch.equal(state["exp_avg_sq"], b["optimisers"][name]["state"][key]["exp_avg_sq"])
    assert a["schedulers"] == b["schedulers"]
    logs_a = [r for r in scalars(tmp_path / "straight") if "G/total" in r]
    logs_b = [r for r in scalars(tmp_path / "split") if "G/total" in r]
    assert [r["step"] for r in logs_b] == [1, 2, 3, 4, 5, 6]
    assert [r["G/total"] for r in logs_a] == [r["G/total"] for r in logs_b]
    assert straight.metrics == second.metrics


def test_run_folder_holds_config_checkpoints_grids_and_logs(tmp_path: Path, teacher: Path, photos_root: Path) -> None:
    result = distill(_config(teacher, photos_root / "trainA", "train.steps=2"), tmp_path / "run")
    run = tmp_path / "run"
    assert load_config(DistillConfig, run / "config.yaml").train.steps == 2
    assert sorted(p.name for p in (run / "images").iterdir()) == ["step_000002.png"]
    assert any((run / "tensorboard").iterdir())
    student = load_generator(result.latest["student"])
    assert student.spec.ngf == 4 and student.spec.n_blocks == 3
    metadata = read_metadata(result.best["student"])
    assert metadata["teacher"] == str(teacher) and metadata["method"] == "reko" and metadata["mode"] == "unpaired"
    assert result.best_step == 2 and set(result.metrics) == {"psnr", "l1"}
    records = scalars(run)
    assert records[0] == {"step": 0, "val/psnr": records[0]["val/psnr"], "val/l1": records[0]["val/l1"]}
    assert {"G/gan", "G/reko_nce", "G/output_l1", "D/gan", "lr", "time/step_s"} <= set(records[1])


def test_eval_every_zero_validates_once_at_the_end(tmp_path: Path, teacher: Path, photos_root: Path) -> None:
    config = _config(teacher, photos_root / "trainA", "train.steps=3", "train.eval_every=0")
    result = distill(config, tmp_path / "run")
    validations = [r for r in scalars(tmp_path / "run") if "val/psnr" in r]
    assert [r["step"] for r in validations] == [3]  # not at step 0, once at the end
    assert result.best_step == 3 and set(result.metrics) == {"psnr", "l1"}


def test_a_run_folder_is_never_overwritten(tmp_path: Path, teacher: Path, photos_root: Path) -> None:
    config = _config(teacher, photos_root / "trainA", "train.steps=1")
    distill(config, tmp_path / "run")
    with pytest.raises(RekoError, match="already holds a run"):
        distill(config, tmp_path / "run")
    with pytest.raises(RekoError, match="cannot resume"):
        distill(config, tmp_path / "empty", resume=True)


def test_sigint_finishes_the_step_saves_and_resumes(tmp_path: Path, teacher: Path, photos_root: Path) -> None:
    run = tmp_path / "run"
    settings = [f"teacher={teacher}", "student.ngf=4", *size(32), *FAST, "train.steps=500", "train.save_every=1000"]
    command = [sys.executable, "-m", "reko", "distill", "--data", str(photos_root / "trainA"), "--out", str(run)]
    process = subprocess.Popen([*command, "--set", *settings], stderr=subprocess.PIPE, text=True, cwd=REPO)
    deadline = time.time() + 120
    while time.time() < deadline and (not (run / "scalars.jsonl").exists() or len(scalars(run)) < 3):
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        time.sleep(0.2)
    os.kill(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    state = torch.load(run / "state.pt", weights_only=True)
    assert 2 <= state["step"] < 500 and f"step {state['step']} (stopped; continue with --resume {run})" in err
    from reko.cli import main

    assert main(["distill", "--resume", str(run), "--set", f"train.steps={state['step'] + 1}"]) == 0
    assert torch.load(run / "state.pt", weights_only=True)["step"] == state["step"] + 1


def test_sampler_resumes_and_shares_out_the_global_batch() -> None:
    one = StepBatchSampler(size=7, batch_size=4, seed=3, start_step=0, end_step=6)
    batches = list(one)
    assert batches[2:] == list(StepBatchSampler(7, 4, 3, start_step=2, end_step=6))
    ranks = [list(StepBatchSampler(7, 2, 3, 0, 6, rank=r, world_size=2)) for r in range(2)]
    assert [r0 + r1 for r0, r1 in zip(*ranks, strict=True)] == batches
    flat = [item for batch in batches for item in batch]  # 24 draws = epochs 0..3 of 7 items
    for epoch in range(3):
        assert sorted(index for e, index in flat if e == epoch) == list(range(7))


def test_learning_rate_is_constant_then_decays_linearly_to_zero() -> None:
    factor = linear_decay(steps=10, decay_steps=4)
    assert [round(factor(s), 2) for s in range(10)] == [1, 1, 1, 1, 1, 1, 1, 0.75, 0.5, 0.25]
    assert linear_decay(10, 0)(9) == 1.0


def test_image_pool_history_survives_a_state_dict_round_trip() -> None:
    pool = ImagePool(3)
    torch.manual_seed(0)
    for _ in range(4):
        pool(torch.rand(2, 3, 4, 4))
    restored = ImagePool(3)
    restored.load_state_dict(pool.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(pool.images, restored.images, strict=True))
    images = torch.rand(2, 3, 4, 4)
    torch.manual_seed(5)
    expected = pool(images)
    torch.manual_seed(5)
    assert torch.equal(restored(images), expected)
    assert torch.equal(ImagePool(0)(images), images)
