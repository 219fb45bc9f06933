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


class SeparableConv2d(nn.Sequential):
    """A depthwise-separable convolution: ``dw`` (k x k, one filter per input channel), ``norm``,
    then ``pw`` (1x1, ``c_in -> c_out``). (B, c_in, H, W) -> (B, c_out, H', W').

    The layout (depthwise, normalisation, pointwise, no activation between) is GAN Compression's
    ``SeparableConv2d`` (mit-han-lab/gan-compression, models/modules/mobile_modules.py).
    ``transposed=True`` makes the depthwise part a transposed convolution (our U-Net decoder).
    """

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: int,
        norm: str,
        stride: int = 1,
        padding: int = 0,
        transposed: bool = False,
    ) -> None:
        bias = conv_bias(norm)
        if transposed:
            depthwise: nn.Module = nn.ConvTranspose2d(
                c_in, c_in, kernel, stride=stride, padding=padding, groups=c_in, bias=bias
            )
        else:
            depthwise = nn.Conv2d(c_in, c_in, kernel, stride=stride, padding=padding, groups=c_in, bias=bias)
        super().__init__()
        self.dw = depthwise
        self.norm = make_norm(norm, c_in)
        self.pw = nn.Conv2d(c_in, c_out, 1, bias=bias)
