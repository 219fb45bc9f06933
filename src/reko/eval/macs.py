"""Parameter and MAC counts of a model, under two conventions.

``true``: multiply-accumulates actually performed by convolutions and linear layers. A transposed
convolution is counted from its *input*: each input value meets a k x k x C_out kernel once, so
the zeros that a strided transposed convolution conceptually inserts cost nothing.

``field``: the convention of the field's papers (GAN Compression, CAT, OMGD, ReKo), which measure
with ``torchprofile``: a transposed convolution costs as much as a regular convolution producing
the same output (output elements x C_in x k x k, zeros included), and affine normalisation layers
add one MAC per output element. Under it the ResNet-9-blocks generator with ngf=64 reads 56.8G
MACs at 256x256; under ``true`` it reads 49.6G.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from reko.models.budget import Cost
from reko.models.factory import create_generator
from reko.models.spec import GeneratorSpec


@dataclass(frozen=True)
class MacCount:
    true: int
    field: int


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, size: int | tuple[int, int] = 256, in_channels: int | None = None) -> MacCount:
    """MACs of one forward pass on a (1, C, H, W) input, in both conventions."""
    height, width = (size, size) if isinstance(size, int) else size
    if in_channels is None:
        spec = getattr(model, "spec", None)
        in_channels = spec.in_channels if spec is not None else 3
    totals = {"true": 0, "field": 0}

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        true, field = _layer_macs(module, inputs[0], output)
        totals["true"] += true
        totals["field"] += field

    # The counts need shapes only: a copy on the meta device computes them without memory or time
    # (a 4096 x 4096 input costs what 256 x 256 does); a module meta cannot run falls back to a real pass.
    try:
        _forward_with_hook(copy.deepcopy(model).to("meta"), hook, (1, in_channels, height, width))
    except (NotImplementedError, RuntimeError):
        totals.update(true=0, field=0)
        _forward_with_hook(model, hook, (1, in_channels, height, width))
    return MacCount(true=totals["true"], field=totals["field"])


def _forward_with_hook(model: nn.Module, hook: Any, shape: tuple[int, int, int, int]) -> None:
    handles = [m.register_forward_hook(hook) for m in model.modules() if _counted(m)]
    was_training = model.training
    try:
        model.eval()
        param = next(model.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        with torch.inference_mode():
            model(torch.zeros(shape, device=device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)


def _counted(module: nn.Module) -> bool:
    return isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.BatchNorm2d, nn.InstanceNorm2d))


def _layer_macs(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[int, int]:
    if isinstance(module, nn.ConvTranspose2d):
        kernel = math.prod(module.kernel_size)
        true = x.numel() * (module.out_channels // module.groups) * kernel
        field = y.numel() * (module.in_channels // module.groups) * kernel
        return true, field
    if isinstance(module, nn.Conv2d):
        macs = y.numel() * (module.in_channels // module.groups) * math.prod(module.kernel_size)
        return macs, macs
    if isinstance(module, nn.Linear):
        macs = y.numel() * module.in_features
        return macs, macs
    # Normalisation: a scale and shift per element when affine (torchprofile's count), else none.
    affine = getattr(module, "affine", False)
    return 0, (y.numel() if affine else 0)


def spec_cost(spec: GeneratorSpec, size: int = 256) -> Cost:
    """MACs (both conventions) and parameters of ``spec`` at ``size`` x ``size`` (rounded up to
    the spec's size multiple), built on the meta device: no weights, no arithmetic. The counter
    `reko.models.budget.fit_budget` searches with."""
    size = max(spec.size_multiple, -(-size // spec.size_multiple) * spec.size_multiple)
    with torch.device("meta"):
        model = create_generator(spec, init=False)
    macs = count_macs(model, size)
    return Cost(macs_field=macs.field, macs_true=macs.true, parameters=count_parameters(model))
