"""pix2pix / CycleGAN teacher models and discriminator specs, from their config sections."""

from __future__ import annotations

from typing import Any

from reko.config import TeacherConfig
from reko.gan.cyclegan import CycleGAN
from reko.gan.pix2pix import Pix2Pix
from reko.gan.trainable import Trainable
from reko.models import DiscriminatorSpec, GeneratorSpec, create_discriminator, create_generator


def generator_spec(config: TeacherConfig) -> GeneratorSpec:
    g = config.generator
    return GeneratorSpec(
        family=g.family, ngf=g.ngf, n_blocks=g.n_blocks, num_downs=g.num_downs, norm=g.norm, dropout=g.dropout
    )


def discriminator_spec(config: Any, in_channels: int) -> DiscriminatorSpec:
    """The ``discriminator`` section of a teacher or distillation config, for ``in_channels`` inputs."""
    d = config.discriminator
    return DiscriminatorSpec(kind=d.kind, in_channels=in_channels, ndf=d.ndf, n_layers=d.n_layers, norm=d.norm)


def data_layout(config: TeacherConfig) -> str:
    """The image-folder layout of ``config.model``: paired (pix2pix) or unpaired (CycleGAN)."""
    return "paired" if config.model == "pix2pix" else "unpaired"


def build_teacher(config: TeacherConfig) -> Trainable:
    """A freshly initialised pix2pix (paired data) or CycleGAN (unpaired data) model."""
    spec = generator_spec(config)
    if config.model == "pix2pix":
        d_spec = discriminator_spec(config, spec.in_channels + spec.out_channels)
        return Pix2Pix(create_generator(spec), create_discriminator(d_spec), config.loss)
    d_spec = discriminator_spec(config, spec.out_channels)
    return CycleGAN(
        create_generator(spec),
        create_generator(spec),
        create_discriminator(d_spec),
        create_discriminator(d_spec),
        config.loss,
    )
