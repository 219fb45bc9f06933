"""Tiny, fast training runs on real data for the trainer / distillation / DDP tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from reko.models import GeneratorSpec, create_generator, save_generator

# Small everything: a few steps of a width-4/8 student at 32-64 px take about a second each on 2 cores.
FAST = [
    "data.val_size=2",
    "data.num_workers=0",
    "train.threads=1",  # tiny networks: a second thread only waits, and spins on a busy machine
    "discriminator.ndf=8",
    "distill.num_patches=16",
    "distill.embed_dim=32",
    "train.save_every=2",
    "train.eval_every=2",
    "train.eval_batches=2",
    "log.image_every=2",
    "log.image_count=2",
    "log.log_every=1",
    "log.progress=false",
]


def size(pixels: int) -> list[str]:
    return [f"data.load_size={pixels + pixels // 8}", f"data.crop_size={pixels}"]


def tiny_teacher(path: Path, seed: int = 0, **spec: Any) -> Path:
    """A randomly initialised generator saved as a reko checkpoint (a stand-in teacher)."""
    torch.manual_seed(seed)
    save_generator(create_generator(GeneratorSpec(**{"ngf": 8, "n_blocks": 3, **spec})), path)
    return path


def scalars(run_dir: Path) -> list[dict[str, float]]:
    lines = (run_dir / "scalars.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line]


def trainable_state(run_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "state.pt", weights_only=True)["trainable"]


def max_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    """Largest absolute difference between the floating-point tensors of two state dicts (recursing into dicts)."""
    assert a.keys() == b.keys()
    worst = 0.0
    for key, value in a.items():
        if isinstance(value, dict):
            worst = max(worst, max_difference(value, b[key]))
        elif isinstance(value, torch.Tensor) and value.is_floating_point() and value.numel():
            worst = max(worst, (value.double() - b[key].double()).abs().max().item())
    return worst
