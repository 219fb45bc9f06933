"""Generators, discriminators and specs: shapes, named stages, sizes the field reports."""

from __future__ import annotations

import pytest
import torch

from reko.errors import RekoError
from reko.eval.macs import count_macs, count_parameters
from reko.models import DiscriminatorSpec, GeneratorSpec, create_discriminator, create_generator

SPECS = [
    GeneratorSpec("resnet", ngf=8, n_blocks=6),
    GeneratorSpec("resnet", ngf=8, n_blocks=9, norm="batch", dropout=True),
    GeneratorSpec("resnet", ngf=6, n_blocks=2, norm="instance_affine"),
    GeneratorSpec("unet", ngf=8, num_downs=7),
    GeneratorSpec("unet", ngf=4, num_downs=8, norm="batch", dropout=True),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.describe())
def test_generator_maps_images_to_images_and_declares_its_stages(spec: GeneratorSpec) -> None:
    model = create_generator(spec).eval()
    size = spec.size_multiple * (2 if spec.family == "resnet" else 1)
    x = torch.rand(2, 3, size, size) * 2 - 1
    features: dict[str, torch.Tensor] = {}
    modules = dict(model.named_modules())
    hooks = [
        modules[info.name].register_forward_hook(lambda m, i, o, n=info.name: features.__setitem__(n, o))
        for info in model.feature_info
    ]
    y = model(x)
    for hook in hooks:
        hook.remove()
    assert y.shape == x.shape
    assert y.abs().max() <= 1.0
    for info in model.feature_info:
        assert features[info.name].shape == (2, info.channels, size // info.stride, size // info.stride), info


def test_resnet9_ngf64_matches_the_fields_reported_size() -> None:
    teacher = create_generator(GeneratorSpec(ngf=64, n_blocks=9))
    student = create_generator(GeneratorSpec(ngf=24, n_blocks=9))
    assert count_parameters(teacher) == 11_378_179  # the field's "11.378M"
    teacher_macs, student_macs = count_macs(teacher, 256), count_macs(student, 256)
    assert round(teacher_macs.field / 1e9, 1) == 56.8  # GAN Compression / ReKo's "56.8G"
    assert teacher_macs.true < teacher_macs.field  # transposed convolutions skip inserted zeros
    assert 6.7 < teacher_macs.field / student_macs.field < 6.9  # the paper's ~6.8x
    assert 7.0 < count_parameters(teacher) / count_parameters(student) < 7.2  # the paper's ~7.1x


def test_student_spec_keeps_stage_names() -> None:
    teacher = GeneratorSpec(ngf=64)
    student = create_generator(teacher.with_width(24))
    assert [i.name for i in student.feature_info] == [i.name for i in create_generator(teacher).feature_info]


def test_spec_round_trips_and_rejects_bad_values() -> None:
    spec = GeneratorSpec("unet", ngf=32, num_downs=7, norm="batch", dropout=True)
    assert GeneratorSpec.from_json(spec.to_json()) == spec
    with pytest.raises(RekoError, match="family"):
        GeneratorSpec("transformer")
    with pytest.raises(RekoError, match="norm"):
        GeneratorSpec(norm="layer")
    with pytest.raises(RekoError, match="unknown generator spec keys"):
        GeneratorSpec.from_dict({"ngf": 8, "width": 3})


@pytest.mark.parametrize(
    "spec, out_hw",
    [
        (DiscriminatorSpec("patch", in_channels=6, n_layers=3), 30),  # 70x70 PatchGAN on 256 -> 30x30
        (DiscriminatorSpec("patch", n_layers=2, norm="batch"), 62),
        (DiscriminatorSpec("pixel"), 256),
    ],
)
def test_discriminators_output_patch_logits(spec: DiscriminatorSpec, out_hw: int) -> None:
    disc = create_discriminator(spec)
    out = disc(torch.randn(1, spec.in_channels, 256, 256))
    assert out.shape == (1, 1, out_hw, out_hw)
