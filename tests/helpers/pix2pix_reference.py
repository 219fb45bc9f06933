"""The official pytorch-CycleGAN-and-pix2pix generator layouts, rebuilt for tests.

These reproduce the *structure* of that repository's ``ResnetGenerator`` and ``UnetGenerator``
(flat / recursively nested ``nn.Sequential`` with index-addressed keys, in-place activations)
so tests can write checkpoints in the official key layout and compare outputs with reko's
named-stage networks after conversion.
"""

from __future__ import annotations

import functools

import torch
from torch import nn


def norm_layer(kind: str):  # type: ignore[no-untyped-def]
    if kind == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    if kind == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    if kind == "instance_affine":
        return functools.partial(nn.InstanceNorm2d, affine=True, track_running_stats=False)
    raise ValueError(kind)


class RefResnetBlock(nn.Module):
    def __init__(self, dim: int, norm, use_dropout: bool, use_bias: bool, name: str) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        layers = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=use_bias), norm(dim), nn.ReLU(True)]
        if use_dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=use_bias), norm(dim)]
        setattr(self, name, nn.Sequential(*layers))
        self._name = name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + getattr(self, self._name)(x)


class RefResnetGenerator(nn.Module):
    def __init__(self, ngf: int, n_blocks: int, norm: str, dropout: bool = False, block_name: str = "conv_block"):
        super().__init__()
        nl = norm_layer(norm)
        use_bias = norm != "batch"
        model = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7, bias=use_bias), nl(ngf), nn.ReLU(True)]
        for i in range(2):
            mult = 2**i
            model += [
                nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1, bias=use_bias),
                nl(ngf * mult * 2),
                nn.ReLU(True),
            ]
        for _ in range(n_blocks):
            model.append(RefResnetBlock(ngf * 4, nl, dropout, use_bias, block_name))
        for i in range(2):
            mult = 2 ** (2 - i)
            model += [
                nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, 2, 1, output_padding=1, bias=use_bias),
                nl(ngf * mult // 2),
                nn.ReLU(True),
            ]
        model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class RefUnetBlock(nn.Module):
    def __init__(  # type: ignore[no-untyped-def]
        self,
        outer_nc,
        inner_nc,
        input_nc=None,
        submodule=None,
        outermost=False,
        innermost=False,
        norm=None,
        use_dropout=False,
        use_bias=True,
    ):
        super().__init__()
        self.outermost = outermost
        input_nc = outer_nc if input_nc is None else input_nc
        downconv = nn.Conv2d(input_nc, inner_nc, 4, 2, 1, bias=use_bias)
        downrelu = nn.LeakyReLU(0.2, True)
        downnorm = norm(inner_nc)
        uprelu = nn.ReLU(True)
        upnorm = norm(outer_nc)
        if outermost:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, 2, 1)
            model = [downconv, submodule, uprelu, upconv, nn.Tanh()]
        elif innermost:
            upconv = nn.ConvTranspose2d(inner_nc, outer_nc, 4, 2, 1, bias=use_bias)
            model = [downrelu, downconv, uprelu, upconv, upnorm]
        else:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, 2, 1, bias=use_bias)
            model = [downrelu, downconv, downnorm, submodule, uprelu, upconv, upnorm]
            if use_dropout:
                model.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)  # x was modified in place by downrelu, as upstream


class RefUnetGenerator(nn.Module):
    def __init__(self, num_downs: int, ngf: int, norm: str, dropout: bool = True) -> None:
        super().__init__()
        nl = norm_layer(norm)
        b = norm != "batch"
        block = RefUnetBlock(ngf * 8, ngf * 8, innermost=True, norm=nl, use_bias=b)
        for _ in range(num_downs - 5):
            block = RefUnetBlock(ngf * 8, ngf * 8, submodule=block, norm=nl, use_dropout=dropout, use_bias=b)
        block = RefUnetBlock(ngf * 4, ngf * 8, submodule=block, norm=nl, use_bias=b)
        block = RefUnetBlock(ngf * 2, ngf * 4, submodule=block, norm=nl, use_bias=b)
        block = RefUnetBlock(ngf, ngf * 2, submodule=block, norm=nl, use_bias=b)
        self.model = RefUnetBlock(3, ngf, input_nc=3, submodule=block, outermost=True, norm=nl, use_bias=b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def randomise(model: nn.Module, seed: int = 0) -> nn.Module:
    """Non-trivial weights and norm statistics so that any wrongly mapped key changes the output."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.dtype.is_floating_point:
                if name.endswith("running_var") or name.endswith(".weight") and tensor.dim() == 1:
                    tensor.copy_(1 + 0.2 * torch.rand(tensor.shape, generator=gen))
                else:
                    tensor.copy_(0.1 * torch.randn(tensor.shape, generator=gen))
    return model
