"""The shift-tolerant LPIPS weights, read from the files of the ``stlpips-pytorch`` wheel.

The PyPI package ``stlpips-pytorch==0.0.2`` (Ghildyal & Liu, BSD-2-Clause; the ECCV 2022 paper's code,
github.com/abhijay9/ShiftTolerant-LPIPS) ships ``stlpips_pytorch/weights/vST0.0/{vgg,alex}_shift_tolerant.pth``:
a plain state dict per network with the LPIPS scaling layer (``scaling_layer.shift/scale``), the whole
trunk (``net.slice1..5``: convolutions and blur filters) and the five calibrated linear heads
(``lin0..4.model.1.weight``, 1x1 convolutions without bias). The trunks were trained *from scratch*
together with the heads on the BAPPS two-alternative judgements (the repository's README trains them
with ``train.py --from_scratch --train_trunk``), not on ImageNet.

Only the weight files are read (located through ``importlib.metadata``, never by importing the package,
whose code needs torchvision), with ``torch.load(..., weights_only=True)``: no code in the file runs.
"""

from __future__ import annotations

import importlib.metadata
from functools import lru_cache
from pathlib import Path

import torch

from reko.errors import RekoError
from reko.perceptual.network import LPIPS_LAYERS, PerceptualNet, check_net

DISTRIBUTION = "stlpips-pytorch"
VERSION = "0.0.2"
INSTALL = f'pip install "reko[perceptual]"  (or: pip install {DISTRIBUTION}=={VERSION})'


def available() -> bool:
    """Whether the ``stlpips-pytorch`` wheel (the right version) is installed."""
    try:
        return importlib.metadata.distribution(DISTRIBUTION).version == VERSION
    except importlib.metadata.PackageNotFoundError:
        return False


def weight_file(net: str) -> Path:
    """Path of the wheel's weight file of ``net`` (``vgg`` | ``alex``); a clear error when it is missing."""
    check_net(net)
    try:
        distribution = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise RekoError(
            f"the perceptual network needs the package {DISTRIBUTION}=={VERSION} (it ships the weights): {INSTALL}"
        ) from None
    if distribution.version != VERSION:
        raise RekoError(
            f"{DISTRIBUTION} {distribution.version} is installed; reko reads the files of {VERSION}: {INSTALL}"
        )
    path = Path(str(distribution.locate_file(f"stlpips_pytorch/weights/vST0.0/{net}_shift_tolerant.pth")))
    if not path.is_file():
        raise RekoError(f"{DISTRIBUTION} is installed but its weight file {path} is missing: reinstall it ({INSTALL})")
    return path


@lru_cache(maxsize=2)
def _state(net: str) -> dict[str, torch.Tensor]:
    path = weight_file(net)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a truncated or foreign file
        raise RekoError(f"cannot read the perceptual weights {path}: {error}") from error
    if not isinstance(state, dict):
        raise RekoError(f"{path} is not a state dict (got {type(state).__name__})")
    return state


def trunk_state(net: str) -> dict[str, torch.Tensor]:
    """The wheel's scaling layer and trunk, renamed to `PerceptualNet`'s keys (``net.slice2.5.filt`` ->
    ``slices.1.5.filt``, ``scaling_layer.shift`` -> ``shift``)."""
    renamed: dict[str, torch.Tensor] = {}
    for key, value in _state(net).items():
        if key.startswith("scaling_layer."):
            renamed[key.removeprefix("scaling_layer.")] = value
        elif key.startswith("net.slice"):
            number, rest = key.removeprefix("net.slice").split(".", 1)
            renamed[f"slices.{int(number) - 1}.{rest}"] = value
    return renamed


def load_perceptual_net(net: str = "vgg") -> PerceptualNet:
    """The released trunk of ``net``, frozen (no gradients to its weights) and in eval mode.

    The state dict loads with ``strict=True``: reko's architecture must match the file exactly.
    """
    model = PerceptualNet(net)
    try:
        model.load_state_dict(trunk_state(net), strict=True)
    except RuntimeError as error:
        raise RekoError(f"the {net} weights of {DISTRIBUTION} do not fit reko's network: {error}") from error
    return model.requires_grad_(False).eval()


def linear_heads(net: str = "vgg") -> dict[str, torch.Tensor]:
    """The five calibrated LPIPS heads ``{layer: (C,) non-negative weights}`` of ``net``."""
    state = _state(net)
    heads = {}
    for index, layer in enumerate(LPIPS_LAYERS[check_net(net)]):
        key = f"lin{index}.model.1.weight"
        if key not in state:
            raise RekoError(f"{weight_file(net)} has no linear head {key}")
        heads[layer] = state[key].reshape(-1).clone()  # (1, C, 1, 1) -> (C,)
    return heads
