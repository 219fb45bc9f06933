"""Data-parallel training across processes started by ``torchrun`` (gloo on CPU, NCCL on GPU).

Each process holds a full copy of everything trainable; every step, each process computes the
gradients of its own share of the global batch and the gradients are averaged across processes
before the optimisers step (DistributedDataParallel's semantics). Parameters are broadcast from
rank 0 once at the start, so every process steps identical weights.

Why gradients are averaged here rather than by wrapping modules in
`torch.nn.parallel.DistributedDataParallel`: a GAN step uses its modules in ways the wrapper does
not support (the discriminator runs in the generator's step with its parameters frozen, and again
in its own step; projection heads are called outside the student's forward; some parameters
receive no gradient in some modes), and every mode would need its own wrapping. One flat
all-reduce per optimiser and step is the same arithmetic and works for any trainable. Because all
losses are means over per-image terms of equal size, averaging the per-process gradients equals
the gradient of one process with the whole global batch (InstanceNorm is per image).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from reko.errors import RekoError


@dataclass(frozen=True)
class DistContext:
    """This process's place in the run: ``rank`` of ``world_size``, and the device it uses."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` -> ``cuda:<local rank>`` if a GPU is visible, else ``cpu``; otherwise the named device."""
    if name == "auto":
        return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
    if name == "cuda":
        name = f"cuda:{local_rank}"
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RekoError(f"device {name!r} was asked for but no CUDA GPU is available; use train.device=cpu")
    return device


def init_distributed(device_name: str = "auto") -> DistContext:
    """Join the process group that ``torchrun`` describes in the environment (or run alone).

    ``WORLD_SIZE`` > 1 starts (or reuses) the default process group: NCCL for GPUs, gloo for CPUs.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_name, local_rank)
    if world_size > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo", rank=rank, world_size=world_size)
    return DistContext(rank=rank, world_size=world_size, local_rank=local_rank, device=device)


def shutdown_distributed() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def broadcast_module(module: nn.Module, context: DistContext) -> None:
    """Copy rank 0's parameters and buffers to every process."""
    if not context.distributed:
        return
    for tensor in [*module.parameters(), *module.buffers()]:
        dist.broadcast(tensor.data, src=0)


def average_gradients(parameters: Iterable[nn.Parameter], context: DistContext) -> None:
    """Average ``.grad`` across processes with one flat all-reduce (missing gradients count as 0)."""
    if not context.distributed:
        return
    params = [p for p in parameters if p.requires_grad]
    if not params:
        return
    for p in params:
        if p.grad is None:  # every process must contribute the same tensors, in the same order
            p.grad = torch.zeros_like(p)
    flat = torch.cat([p.grad.reshape(-1) for p in params])
    dist.all_reduce(flat)
    flat.div_(context.world_size)
    offset = 0
    for p in params:
        count = p.grad.numel()
        p.grad.copy_(flat[offset : offset + count].view_as(p.grad))
        offset += count


def any_process(flag: bool, context: DistContext) -> bool:
    """True on every process if ``flag`` is True on any (e.g. a stop signal seen by one of them)."""
    if not context.distributed:
        return flag
    tensor = torch.tensor([1.0 if flag else 0.0], device=context.device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return bool(tensor.item() > 0)


def gather_objects(obj: object, context: DistContext) -> list[object]:
    """Every process's ``obj``, in rank order (on every process)."""
    if not context.distributed:
        return [obj]
    gathered: list[object] = [None] * context.world_size
    dist.all_gather_object(gathered, obj)
    return gathered
