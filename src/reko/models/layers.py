"""Small building blocks shared by the generators and discriminators."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn


@dataclass(frozen=True)
class FeatureInfo:
    """A named stage whose output distillation can tap.

    ``name`` is the module path (``model.get_submodule(name)``), ``channels`` its output
    channels and ``stride`` its output's down-sampling factor relative to the input image.
    """

    name: str
    channels: int
    stride: int


def make_norm(norm: str, channels: int) -> nn.Module:
    """The normalisation layer of a spec's ``norm`` setting."""
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if norm == "instance_affine":
        return nn.InstanceNorm2d(channels, affine=True, track_running_stats=False)
    if norm == "batch":
        return nn.BatchNorm2d(channels, affine=True, track_running_stats=True)
    if norm == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {norm!r}")


def conv_bias(norm: str) -> bool:
    """pix2pix convention: BatchNorm's shift replaces the convolution bias; other norms keep it."""
    return norm != "batch"
