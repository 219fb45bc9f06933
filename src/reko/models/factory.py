"""`create_generator(spec)`: the one place a generator is built from its spec."""

from __future__ import annotations

from torch import nn

from reko.models.discriminator import init_weights
from reko.models.resnet import ResnetGenerator
from reko.models.spec import GeneratorSpec
from reko.models.unet import UnetGenerator

GENERATORS: dict[str, type[nn.Module]] = {"resnet": ResnetGenerator, "unet": UnetGenerator}


def create_generator(spec: GeneratorSpec, init: bool = True) -> nn.Module:
    """A freshly initialised generator (pix2pix 'normal' init, N(0, 0.02)) with ``.spec``."""
    model = GENERATORS[spec.family](spec)
    if init:
        init_weights(model)
    return model
