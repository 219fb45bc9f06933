"""Generators, discriminators, their specs, and checkpoint reading/writing."""

from reko.models.checkpoint import load_generator, read_metadata, save_generator
from reko.models.discriminator import DiscriminatorSpec, create_discriminator, init_weights
from reko.models.factory import GENERATORS, create_generator
from reko.models.layers import FeatureInfo
from reko.models.spec import GeneratorSpec

__all__ = [
    "GENERATORS",
    "DiscriminatorSpec",
    "FeatureInfo",
    "GeneratorSpec",
    "create_discriminator",
    "create_generator",
    "init_weights",
    "load_generator",
    "read_metadata",
    "save_generator",
]
