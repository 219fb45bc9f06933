"""The loop's optimisers, learning-rate schedules and mixed precision (knows no method).

One Adam per parameter group of the `Trainable` (``generator``, ``discriminator``), both
following pix2pix / CycleGAN's "constant, then linear decay to 0"; an AMP scaler (active for
fp16 only) and the autocast context of ``train.amp``. Their state is part of ``state.pt``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import torch

from reko.config import TrainConfig
from reko.gan.trainable import Trainable

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def linear_decay(steps: int, decay_steps: int) -> Any:
    """LR factor of step ``s``: 1 for the first ``steps - decay_steps`` steps, then linear to 1/decay_steps."""

    def factor(step: int) -> float:
        return min(1.0, (steps - step) / decay_steps) if decay_steps > 0 else 1.0

    return factor


def autocast(amp: str, device: torch.device) -> contextlib.AbstractContextManager[Any]:
    """The mixed-precision context of ``train.amp`` (``none``: a no-op)."""
    if amp == "none":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=AMP_DTYPES[amp])


@dataclass
class Optimisation:
    """Per parameter group (``generator`` / ``discriminator``): its trainable parameters, Adam and schedule."""

    params: dict[str, list[torch.nn.Parameter]]
    optimisers: dict[str, torch.optim.Optimizer]
    schedulers: dict[str, torch.optim.lr_scheduler.LambdaLR]
    scaler: torch.amp.GradScaler

    def state_dict(self) -> dict[str, Any]:
        """The ``optimisers``, ``schedulers`` and ``scaler`` entries of ``state.pt``."""
        return {
            "optimisers": {name: opt.state_dict() for name, opt in self.optimisers.items()},
            "schedulers": {name: sched.state_dict() for name, sched in self.schedulers.items()},
            "scaler": self.scaler.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores what `state_dict` saved (KeyError / ValueError when it does not fit these groups)."""
        for name, opt in self.optimisers.items():
            opt.load_state_dict(state["optimisers"][name])
        for name, sched in self.schedulers.items():
            sched.load_state_dict(state["schedulers"][name])
        self.scaler.load_state_dict(state["scaler"])


def build_optimisation(trainable: Trainable, config: TrainConfig, device: torch.device) -> Optimisation:
    """Adam (``lr``, ``lr_discriminator``, ``beta1``, ``beta2``) on every group with trainable parameters,
    a linear decay over the last ``decay_steps`` (default: half of ``steps``) and the AMP scaler."""
    lrs = {"generator": config.lr, "discriminator": config.lr_discriminator or config.lr}
    groups = trainable.parameter_groups()
    params = {name: [p for p in group if p.requires_grad] for name, group in groups.items()}
    optimisers: dict[str, torch.optim.Optimizer] = {
        name: torch.optim.Adam(group, lr=lrs[name], betas=(config.beta1, config.beta2))
        for name, group in params.items()
        if group
    }
    decay = config.decay_steps if config.decay_steps is not None else config.steps // 2
    schedulers = {
        name: torch.optim.lr_scheduler.LambdaLR(opt, linear_decay(config.steps, decay))
        for name, opt in optimisers.items()
    }
    scaler = torch.amp.GradScaler(device.type, enabled=config.amp == "fp16")
    return Optimisation(params, optimisers, schedulers, scaler)
