"""Every registered distillation method, tested for free: parametrised over `method_names()`.

For each method: its taps exist in both networks; its loss is a finite scalar with detached
parts; where the method's loss has a zero at "student = teacher", identical networks give zero;
gradients reach the student and the method's own heads and never the teacher; and a few real
steps run through the shared trainer on real images.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Iterator

import pytest
import torch
from tests.helpers.generators import variants
from torch import nn

from reko.distill.method import DistillMethod
from reko.distill.registry import get_method, method_names
from reko.distill.taps import FeatureTap
from reko.errors import RekoError
from reko.models import GeneratorSpec, create_generator

# Methods whose own term (and the shared output L1) vanish when student and teacher compute the
# same features. `feature` reaches zero once its adapters are the identity (tested separately);
# the contrastive methods (reko, patchnce-random) have a positive minimum (InfoNCE >= 0, = 0 only
# for perfectly separated embeddings), so they are not listed.
ZERO_AT_IDENTITY = {"none", "output", "attention", "similarity", "wavelet", "perceptual"}

BASELINES = {"none", "output", "feature", "attention", "similarity", "wavelet", "patchnce-random", "reko"}
# The eight losses of the ReKo authors' KD framework (docs/methods.md) and the released ReKo objective.
BASELINES |= {"nonlocal", "channel", "perceptual", "reko-released"}

# Every family x block; the teacher is always the conv network, the student that spec at width 4
# (so mobile_* pairs a conv teacher with a mobile student, as reko distill --target-macs does).
SPECS = variants(
    resnet=GeneratorSpec(family="resnet", ngf=8, n_blocks=3), unet=GeneratorSpec(family="unet", ngf=8, num_downs=5)
)
SIZE = 32  # divisible by 2**5 (U-Net) and by 2**3 (wavelet levels)
BATCH = 2  # similarity-preserving KD needs two samples


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny networks gain nothing from a second thread, and on a busy 2-core machine OpenMP's
    barriers then wait on descheduled threads: 10-25x slower steps, measured. Restored after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _method(name: str, teacher: nn.Module, student: nn.Module, **options: object) -> DistillMethod:
    cls = get_method(name)
    config = cls.config_class(**options)  # type: ignore[arg-type]
    if hasattr(config, "num_patches"):
        config = cls.config_class(**{"num_patches": 16, **options})  # type: ignore[arg-type]
    return cls(config, teacher.feature_info, student.feature_info)


def _run(
    method: DistillMethod, teacher: nn.Module, student: nn.Module, images: torch.Tensor
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """What the distiller does: both networks under taps, the teacher without gradients."""
    teacher_features: dict[str, torch.Tensor] = {}
    teacher_output = None
    if method.uses_teacher:
        with FeatureTap(teacher, method.taps) as tap, torch.no_grad():
            teacher_output = teacher(images)
            teacher_features = dict(tap.features)
    with FeatureTap(student, method.taps) as tap:
        student_output = student(images)
        student_features = dict(tap.features)
    return method(student_features, teacher_features, student_output, teacher_output)


def _images(seed: int = 0) -> torch.Tensor:
    return torch.rand(BATCH, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _pair(family: str, student_ngf: int = 4) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(0)
    teacher = create_generator(SPECS[family].replace(block="conv")).eval()
    student = create_generator(SPECS[family].with_width(student_ngf)).train()
    return teacher, student


def test_every_baseline_is_registered() -> None:
    assert BASELINES <= set(method_names())


@pytest.mark.parametrize("family", sorted(SPECS))
@pytest.mark.parametrize("name", method_names())
def test_loss_is_a_finite_scalar_with_detached_parts(name: str, family: str) -> None:
    teacher, student = _pair(family)
    method = _method(name, teacher, student)
    names = {info.name for info in teacher.feature_info}
    assert set(method.taps) <= names
    loss, parts = _run(method, teacher, student, _images())
    assert loss.dim() == 0 and math.isfinite(loss.item())
    for part_name, value in parts.items():
        assert isinstance(part_name, str)
        assert value.dim() == 0 and not value.requires_grad, part_name


@pytest.mark.parametrize("name", sorted(ZERO_AT_IDENTITY))
def test_zero_for_identical_student_and_teacher(name: str) -> None:
    teacher, _ = _pair("resnet")
    student = copy.deepcopy(teacher)
    loss, _ = _run(_method(name, teacher, student), teacher, student, _images())
    assert loss.abs().item() < 1e-6


def test_feature_zero_with_identity_adapters() -> None:
    teacher, _ = _pair("resnet")
    student = copy.deepcopy(teacher)
    method = _method("feature", teacher, student)
    with torch.no_grad():
        for adapter in method.adapters.values():
            channels = adapter.weight.shape[0]
            adapter.weight.copy_(torch.eye(channels).view(channels, channels, 1, 1))
            adapter.bias.zero_()
    loss, _ = _run(method, teacher, student, _images())
    assert loss.abs().item() < 1e-6


@pytest.mark.parametrize("family", ["resnet", "mobile_resnet"])
@pytest.mark.parametrize("name", method_names())
def test_gradients_reach_student_and_heads_never_teacher(name: str, family: str) -> None:
    teacher, student = _pair(family)
    teacher.requires_grad_(True)  # even a teacher left trainable must receive nothing
    method = _method(name, teacher, student)
    # Run the teacher *with* autograd here, so the method itself must keep it out of the graph.
    teacher_features: dict[str, torch.Tensor] = {}
    teacher_output = None
    images = _images()
    if method.uses_teacher:
        with FeatureTap(teacher, method.taps) as tap:
            teacher_output = teacher(images)
            teacher_features = dict(tap.features)
    with FeatureTap(student, method.taps) as tap:
        student_output = student(images)
        student_features = dict(tap.features)
    loss, _ = method(student_features, teacher_features, student_output, teacher_output)
    loss.backward()
    assert all(p.grad is None for p in teacher.parameters()), "gradient leaked into the teacher"
    student_grads = [p.grad for p in student.parameters()]
    assert all(g is not None for g in student_grads)
    if name != "none":
        assert sum(g.abs().sum().item() for g in student_grads) > 0
    for param_name, param in method.named_parameters():
        if param.requires_grad:
            assert param.grad is not None, f"{name}: head parameter {param_name} got no gradient"


def _tapped(name: str) -> bool:
    return "taps" in {field.name for field in dataclasses.fields(get_method(name).config_class)}


@pytest.mark.parametrize("name", [n for n in method_names() if _tapped(n)])
def test_unknown_tap_is_an_error(name: str) -> None:
    teacher, student = _pair("resnet")
    with pytest.raises(RekoError, match="blocks.99"):
        _method(name, teacher, student, taps=("blocks.99",))


def test_similarity_rejects_a_batch_of_one() -> None:
    teacher, student = _pair("resnet")
    with pytest.raises(RekoError, match="batch_size"):
        _run(_method("similarity", teacher, student), teacher, student, _images()[:1])


def test_wavelet_rejects_sizes_not_divisible_by_its_levels() -> None:
    teacher, student = _pair("resnet")
    images = torch.zeros(BATCH, 3, 36, 36)
    with pytest.raises(RekoError, match="divisible by 8"):
        _run(_method("wavelet", teacher, student), teacher, student, images)


@pytest.mark.parametrize("name", sorted(set(method_names()) - {"none", "wavelet"}))
def test_wavelet_weight_adds_the_high_frequency_term_to_any_method(name: str) -> None:
    """``wavelet_weight`` adds exactly ``wavelet_weight * wavelet_loss(outputs)`` and logs it."""
    from reko.distill.losses.kd import wavelet_loss

    teacher, student = _pair("resnet")
    images = _images()

    def loss_and_parts(**options: object) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        torch.manual_seed(1)  # the same head initialisation ...
        method = _method(name, teacher, student, **options)
        torch.manual_seed(2)  # ... and the same random patches (patchnce-random) for both
        return _run(method, teacher, student, images)

    plain_loss, plain_parts = loss_and_parts()
    loss, parts = loss_and_parts(wavelet_weight=5.0, wavelet_levels=2)
    with torch.no_grad():
        expected = wavelet_loss(student(images), teacher(images), 2)
    torch.testing.assert_close(loss, plain_loss + 5.0 * expected)
    torch.testing.assert_close(parts["wavelet_high_l1"], expected)
    assert "wavelet_high_l1" not in plain_parts and expected.item() > 0


def test_wavelet_weight_is_refused_by_the_wavelet_method_and_checks_sizes() -> None:
    teacher, student = _pair("resnet")
    with pytest.raises(RekoError, match="distill.weight"):
        _method("wavelet", teacher, student, wavelet_weight=1.0)
    with pytest.raises(RekoError, match="wavelet_levels"):
        _method("output", teacher, student, wavelet_levels=0)
    with pytest.raises(RekoError, match="divisible by 8.*distill.wavelet_levels"):
        _run(_method("output", teacher, student, wavelet_weight=1.0), teacher, student, torch.zeros(BATCH, 3, 36, 36))


def test_patchnce_random_is_reko_with_random_selection() -> None:
    from reko.distill.reko import ReKo

    cls = get_method("patchnce-random")
    assert issubclass(cls, ReKo)
    assert cls.config_class().selection == "random"  # type: ignore[attr-defined]
    with pytest.raises(RekoError, match="random"):
        cls.config_class(selection="topk")  # type: ignore[call-arg]


@pytest.mark.parametrize("name", method_names())
def test_a_few_real_steps_through_the_shared_trainer(
    name: str, teacher_path: object, horse2zebra_dir: object, tmp_path: object
) -> None:
    """The real teacher, real photos, the real distill entry point and trainer: two steps at 32px."""
    import json
    from pathlib import Path

    from reko.api import distill
    from reko.config import load_config
    from reko.distill.config import DistillConfig
    from reko.models import load_generator

    overrides = [
        f"teacher={teacher_path}",
        f"data.root={Path(str(horse2zebra_dir)) / 'trainA'}",
        f"distill.method={name}",
        "student.ngf=8",
        "discriminator.ndf=16",
        "train.steps=2",
        "train.batch_size=2",  # similarity-preserving KD needs two samples
        "data.crop_size=32",
        "data.load_size=36",
        "data.val_size=2",
        "data.num_workers=0",
        "train.eval_every=0",
        "log.image_every=0",
        "log.log_every=1",
        "log.progress=false",
    ]
    if hasattr(get_method(name).config_class(), "num_patches"):
        overrides.append("distill.num_patches=16")
    out = Path(str(tmp_path)) / "run"
    result = distill(load_config(DistillConfig, None, overrides), out)
    assert result.finished and result.step == 2
    logged = [json.loads(line) for line in (out / "scalars.jsonl").read_text().splitlines()]
    steps = [entry for entry in logged if "G/total" in entry]
    assert [entry["step"] for entry in steps] == [1, 2]
    assert all(math.isfinite(entry["G/total"]) and math.isfinite(entry["D/total"]) for entry in steps)
    if name != "none":
        assert all(entry["G/method"] > 0 for entry in steps)
    student = load_generator(result.latest["student"])
    assert student.spec.ngf == 8
