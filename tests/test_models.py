"""Generators, discriminators and specs: shapes, named stages, sizes the field reports."""

from __future__ import annotations

import pytest
import torch

from reko.errors import RekoError
from reko.eval.macs import count_macs, count_parameters
from reko.models import DiscriminatorSpec, GeneratorSpec, create_discriminator, create_generator
from reko.models.resnet import ResnetBlock

SPECS = [
    GeneratorSpec("resnet", ngf=8, n_blocks=6),
    GeneratorSpec("resnet", ngf=8, n_blocks=9, norm="batch", dropout=True),
    GeneratorSpec("resnet", ngf=6, n_blocks=2, norm="instance_affine"),
    GeneratorSpec("unet", ngf=8, num_downs=7),
    GeneratorSpec("unet", ngf=4, num_downs=8, norm="batch", dropout=True),
    GeneratorSpec("resnet", ngf=8, n_blocks=3, block="mobile", norm="instance_affine"),
    GeneratorSpec("resnet", ngf=8, n_blocks=2, block="mobile", norm="batch", dropout=True),
    GeneratorSpec("resnet", n_blocks=2, widths=(5, 7, 12, 3, 20, 9, 6)),  # per-stage widths
    GeneratorSpec("resnet", n_blocks=2, block="mobile", widths=(4, 6, 10, 16, 2, 8, 5)),
    GeneratorSpec("unet", ngf=4, num_downs=8, block="mobile"),  # 1x1 bottleneck at 256x256
    GeneratorSpec("unet", num_downs=5, block="mobile", norm="batch", dropout=True, widths=(3, 5, 7, 9, 11)),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.describe())
def test_generator_maps_images_to_images_and_declares_its_stages(spec: GeneratorSpec) -> None:
    model = create_generator(spec).eval()
    size = spec.size_multiple * (2 if spec.family == "resnet" else 1)
    if spec.family == "resnet":
        assert model.feature_info[2].channels == spec.stage_widths()[2]  # down2 = the trunk
    else:
        assert [i.channels for i in model.feature_info[: spec.num_downs]] == list(spec.stage_widths())
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


@pytest.mark.parametrize("family", ["resnet", "unet"])
@pytest.mark.parametrize("student_change", [{}, {"block": "mobile"}, {"block": "mobile", "ngf": 3}])
def test_student_spec_keeps_stage_names(family: str, student_change: dict[str, object]) -> None:
    teacher = GeneratorSpec(family, ngf=16, num_downs=6)
    student = create_generator(teacher.with_width(6).replace(**student_change))
    assert [i.name for i in student.feature_info] == [i.name for i in create_generator(teacher).feature_info]
    assert [i.stride for i in student.feature_info] == [i.stride for i in create_generator(teacher).feature_info]


def test_mobile_resnet_matches_the_fields_student_sizes() -> None:
    """OMGD's horse2zebra student (mobile_resnet_9blocks, ngf 16): 1.41G MACs, as the field reports it."""
    student = create_generator(GeneratorSpec(ngf=16, n_blocks=9, block="mobile"))
    assert round(count_macs(student, 256).field / 1e9, 2) == 1.41
    assert count_parameters(student) < count_parameters(create_generator(GeneratorSpec(ngf=16))) / 5


def test_mobile_block_macs_match_a_hand_count() -> None:
    """One mobile residual block, C = 8 trunk channels, hidden H = 12, on 16x16, affine norms:
    depthwise 3x3 on C, pointwise C->H, depthwise 3x3 on H, pointwise H->C; each separable
    convolution has a norm after its depthwise part and the block one after each separable one."""
    block = ResnetBlock(8, "instance_affine", dropout=False, hidden=12, mobile=True)
    hw, c, h = 16 * 16, 8, 12
    true = hw * c * 9 + hw * c * h + hw * h * 9 + hw * h * c  # 18432 + 24576 + 27648 + 24576
    assert true == 95_232
    norms = hw * c + hw * h + hw * h + hw * c  # field convention: one MAC per element of an affine norm
    macs = count_macs(block, 16, in_channels=8)
    assert (macs.true, macs.field) == (true, true + norms) == (95_232, 105_472)
    conv = ResnetBlock(8, "instance_affine", dropout=False, hidden=12)
    assert count_macs(conv, 16, in_channels=8).true == 2 * hw * c * h * 9  # the full block: 221,184


def test_widths_scale_with_the_width_and_round_trip() -> None:
    spec = GeneratorSpec(ngf=16, n_blocks=2, block="mobile", widths=(16, 32, 64, 32, 64, 32, 16))
    assert spec.with_width(8).widths == (8, 16, 32, 16, 32, 16, 8)
    assert GeneratorSpec.from_json(spec.to_json()) == spec
    assert GeneratorSpec(ngf=4, n_blocks=1).stage_widths() == (4, 8, 16, 16, 8, 4)
    assert "mobile_resnet_2blocks" in spec.describe() and "widths=" in spec.describe()


def test_spec_round_trips_and_rejects_bad_values() -> None:
    spec = GeneratorSpec("unet", ngf=32, num_downs=7, norm="batch", dropout=True)
    assert GeneratorSpec.from_json(spec.to_json()) == spec
    with pytest.raises(RekoError, match="family"):
        GeneratorSpec("transformer")
    with pytest.raises(RekoError, match="norm"):
        GeneratorSpec(norm="layer")
    with pytest.raises(RekoError, match="unknown generator spec keys"):
        GeneratorSpec.from_dict({"ngf": 8, "width": 3})
    with pytest.raises(RekoError, match="block 'tiny' is not one of"):
        GeneratorSpec(block="tiny")  # type: ignore[arg-type]
    with pytest.raises(RekoError, match=r"resnet widths need 8 values .* got 3"):
        GeneratorSpec(n_blocks=3, widths=(8, 16, 32))
    with pytest.raises(RekoError, match=r"unet widths need 5 values"):
        GeneratorSpec("unet", num_downs=5, widths=(8, 16))
    with pytest.raises(RekoError, match=r"widths must be in \[1, 4096\], got 0"):
        GeneratorSpec("unet", num_downs=5, widths=(8, 16, 0, 4, 4))
    with pytest.raises(RekoError, match=r"widths\[2\] must be an integer, got 2.5"):
        GeneratorSpec.from_dict({"family": "unet", "num_downs": 5, "widths": [8, 16, 2.5, 4, 4]})
    with pytest.raises(RekoError, match="widths must be a list of integers"):
        GeneratorSpec(widths=8)  # type: ignore[arg-type]
    assert GeneratorSpec.from_dict({"n_blocks": 1, "widths": [1, 2, 3, 4, 5, 6]}).widths == (1, 2, 3, 4, 5, 6)


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
