"""Data-parallel distillation: 2 processes (torchrun, gloo on CPU) == 1 process with the doubled batch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tests.helpers.tiny_runs import FAST, size, tiny_teacher

from reko.api import distill
from reko.config import load_config
from reko.distill.config import DistillConfig
from reko.models import load_generator

REPO = Path(__file__).resolve().parents[1]


def _flat(state: dict, group: str, key: str) -> torch.Tensor:
    entries = state["optimisers"][group]["state"]
    return torch.cat([entries[i][key].flatten() for i in sorted(entries)])


def test_two_processes_match_one_process_with_the_global_batch(tmp_path: Path, photos_root: Path) -> None:
    teacher = tiny_teacher(tmp_path / "teacher.safetensors")
    # A tiny learning rate: Adam's first steps move every weight by ~lr * sign(gradient), so
    # weights whose true gradient is 0 (biases before InstanceNorm) take float-noise-signed
    # steps that differ between any two summation orders; kept tiny, they cannot feed back.
    settings = [f"teacher={teacher}", f"data.root={photos_root / 'trainA'}", "student.ngf=4", *size(32), *FAST]
    settings += ["train.steps=3", "train.lr=1e-6", "train.device=cpu", "train.save_every=100", "train.eval_every=100"]
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "reko"]
    command += ["distill", "--out", str(tmp_path / "ddp"), "--set", *settings, "train.batch_size=1"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    distill(load_config(DistillConfig, None, [*settings, "train.batch_size=2"]), tmp_path / "single")

    ddp = torch.load(tmp_path / "ddp" / "state.pt", weights_only=True)
    single = torch.load(tmp_path / "single" / "state.pt", weights_only=True)
    assert ddp["step"] == single["step"] == 3 and len(ddp["rng"]) == 2  # each process's RNG streams
    for group in ("generator", "discriminator"):
        for key in ("exp_avg", "exp_avg_sq"):  # running averages of the (all-reduced) gradients
            a, b = _flat(ddp, group, key), _flat(single, group, key)
            assert ((a - b).norm() / b.norm()).item() < 1e-4, (group, key)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        a = load_generator(tmp_path / "ddp" / "student_latest.safetensors")(x)
        b = load_generator(tmp_path / "single" / "student_latest.safetensors")(x)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


@pytest.mark.parametrize("world", [2])
def test_sampler_gives_each_process_its_share(world: int) -> None:
    from reko.train.sampler import StepBatchSampler

    shares = [StepBatchSampler(10, 3, 0, 0, 4, rank=r, world_size=world).batch(2) for r in range(world)]
    assert sum(shares, []) == StepBatchSampler(10, 3 * world, 0, 0, 4).batch(2)
