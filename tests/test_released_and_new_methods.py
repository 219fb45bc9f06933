"""The methods added for the authors' comparison set, the paper-faithful preset and ReKo's two options.

`reko-released` is pinned down here option by option (loss, taps, heads): any drift from the released
objective fails one of these tests. The loss is recomputed independently of the method's code path.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from reko.distill.losses.regions import activation_score, distinctiveness_score, gather_positions, select_topk
from reko.distill.registry import get_method
from reko.distill.reko_released import ReKoReleasedConfig
from reko.distill.taps import FeatureTap
from reko.errors import RekoError
from reko.models import GeneratorSpec, create_generator
from reko.perceptual import extractor as perceptual_extractor
from reko.perceptual import weights as perceptual_weights
from reko.perceptual.weights import load_perceptual_net

RESNET = GeneratorSpec(family="resnet", ngf=8, n_blocks=3)
UNET = GeneratorSpec(family="unet", ngf=8, num_downs=5)


@pytest.fixture(autouse=True)
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _pair(spec: GeneratorSpec = RESNET, student_ngf: int = 4) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(0)
    return create_generator(spec).eval(), create_generator(spec.with_width(student_ngf)).train()


def _run(method, teacher, student, images):
    with FeatureTap(teacher, method.taps) as tap, torch.no_grad():
        teacher_output = teacher(images)
        teacher_features = dict(tap.features)
    with FeatureTap(student, method.taps) as tap:
        student_output = student(images)
        student_features = dict(tap.features)
    loss, parts = method(student_features, teacher_features, student_output, teacher_output)
    return loss, parts, (student_features, teacher_features, student_output, teacher_output)


def _images(size: int = 64, seed: int = 0) -> torch.Tensor:
    return torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _build(name: str, teacher, student, **options):
    cls = get_method(name)
    return cls(cls.config_class(**options), teacher.feature_info, student.feature_info)


# --- reko-released ---------------------------------------------------------------------------------


def test_released_preset_options_are_the_released_codes() -> None:
    config = ReKoReleasedConfig()
    chosen = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    assert chosen == {
        "weight": 1.0,  # kd_contrastive * kd_ratio: not released; mean over layers as released
        "output_weight": 0.0,  # no L1 between student and teacher outputs
        "wavelet_weight": 0.0,
        "wavelet_levels": 3,
        "perceptual_weight": 0.7,  # the perceptual term is always on (its weight is ours)
        "perceptual_net": "vgg",
        "perceptual_layers": (),  # -> relu5_3, the last convolution of the VGG stack
        "taps": (),  # -> the stage at 1/4 resolution
        "scoring": "teacher",  # channel mean of |teacher activation|
        "selection": "topk",
        "num_patches": 64,
        "softmax_temperature": 1.0,
        "projection": "released",  # student: none; teacher: MLP C_t -> C_s -> C_s
        "embed_dim": 256,  # unused with projection=released
        "train_teacher_head": False,  # never trains
        "nce_temperature": 0.07,
        "negative_threshold": 1.0,  # no masking: the released code keeps every negative
        "distinct_temperature": 0.1,
        "attention_weight": 1.0,
        "attention_hidden": 64,
    }
    assert config.resolved_perceptual_layers == ("relu5_3",)


@pytest.mark.parametrize(("spec", "tap"), [(RESNET, "down2"), (UNET, "encoder.1")])
def test_released_preset_taps_the_quarter_resolution_stage(spec: GeneratorSpec, tap: str) -> None:
    teacher, student = _pair(spec)
    method = _build("reko-released", teacher, student)
    assert method.taps == [tap]
    assert {info.name: info.stride for info in teacher.feature_info}[tap] == 4


def test_released_preset_heads_are_none_for_the_student_and_a_frozen_random_mlp_for_the_teacher() -> None:
    teacher, student = _pair()
    method = _build("reko-released", teacher, student)
    c_t, c_s = 32, 16  # down2 of ngf 8 and ngf 4
    assert isinstance(method.student_heads["down2"], nn.Identity)
    head = method.teacher_heads["down2"]
    assert [type(m) for m in head] == [nn.Linear, nn.ReLU, nn.Linear]
    shapes = (head[0].in_features, head[0].out_features, head[2].in_features, head[2].out_features)
    assert shapes == (c_t, c_s, c_s, c_s)
    assert not any(p.requires_grad for p in method.parameters())  # nothing of the method trains
    weights = torch.cat([head[0].weight.flatten(), head[2].weight.flatten()])
    assert 0.015 < weights.std().item() < 0.025 and abs(weights.mean().item()) < 0.005  # N(0, 0.02)
    assert head[0].bias.abs().max() == 0 and head[2].bias.abs().max() == 0


def test_released_preset_loss_is_patchnce_on_raw_student_vectors_plus_the_perceptual_l1() -> None:
    teacher, student = _pair()
    method = _build("reko-released", teacher, student)
    images = _images(64)
    loss, parts, (s_feat, t_feat, s_out, t_out) = _run(method, teacher, student, images)
    # PatchNCE, written out: top-64 of mean |teacher| at down2, student vectors L2-normalised as they are,
    # teacher vectors through the frozen MLP, cosine / 0.07, cross-entropy against the same position.
    student_map, teacher_map = s_feat["down2"], t_feat["down2"]
    index = activation_score(teacher_map).topk(64, dim=1).indices
    s_vec = F.normalize(gather_positions(student_map, index), dim=-1)
    t_vec = F.normalize(method.teacher_heads["down2"](gather_positions(teacher_map, index)), dim=-1)
    logits = s_vec @ t_vec.transpose(1, 2) / 0.07  # (B, 64, 64)
    nce = F.cross_entropy(logits.flatten(0, 1), torch.arange(64).repeat(2))
    vgg = load_perceptual_net("vgg")
    with torch.no_grad():
        target = vgg(t_out, ["relu5_3"])["relu5_3"]
    perceptual = (vgg(s_out.float(), ["relu5_3"])["relu5_3"] - target).abs().mean()
    assert loss.item() == pytest.approx(nce.item() + 0.7 * perceptual.item(), rel=1e-4)
    assert parts["reko_nce"].item() == pytest.approx(nce.item(), rel=1e-4)
    assert parts["perceptual_l1"].item() == pytest.approx(perceptual.item(), rel=1e-4)
    assert parts["output_l1"].item() > 0  # logged, but weighted by 0: not in the loss


# --- ReKo's two options ---------------------------------------------------------------------------


def test_negative_threshold_one_changes_nothing_and_minus_one_removes_every_negative() -> None:
    teacher, student = _pair()
    images = _images(32)
    plain, _, _ = _run(_build("reko", teacher, student, num_patches=16), teacher, student, images)
    torch.manual_seed(0)
    same = _build("reko", teacher, student, num_patches=16, negative_threshold=1.0)
    torch.manual_seed(0)
    everything = _build("reko", teacher, student, num_patches=16, negative_threshold=-1.0)
    torch.manual_seed(0)
    reference = _build("reko", teacher, student, num_patches=16)
    loss_same, parts_same, _ = _run(same, teacher, student, images)
    loss_ref, _, _ = _run(reference, teacher, student, images)
    assert loss_same.item() == loss_ref.item() and not any(k.startswith("reko_masked") for k in parts_same)
    loss_all, parts_all, _ = _run(everything, teacher, student, images)
    assert parts_all["reko_nce"].item() == pytest.approx(0.0, abs=1e-6)  # no negative left: InfoNCE is 0
    assert all(parts_all[f"reko_masked/{tap}"].item() == pytest.approx(1.0) for tap in everything.taps)
    assert loss_all.item() == pytest.approx(10 * parts_all["output_l1"].item(), rel=1e-5)
    assert plain.item() > loss_all.item()


def test_distinct_scoring_selects_the_lowest_entropy_positions() -> None:
    teacher, student = _pair()
    method = _build("reko", teacher, student, num_patches=8, scoring="distinct", taps=("blocks.1",))
    _, _, (_, t_feat, _, _) = _run(method, teacher, student, _images(32))
    expected = select_topk(distinctiveness_score(t_feat["blocks.1"], 0.1), 8)
    assert torch.equal(method.visuals()["selected"]["blocks.1"], expected)


def test_bad_reko_option_values_are_errors() -> None:
    cls = get_method("reko").config_class
    with pytest.raises(RekoError, match="negative_threshold"):
        cls(negative_threshold=1.5)
    with pytest.raises(RekoError, match="distinct_temperature"):
        cls(distinct_temperature=0)
    with pytest.raises(RekoError, match="not one of"):
        cls(scoring="entropy")


# --- the perceptual term and the perceptual method -------------------------------------------------


@pytest.mark.parametrize("name", ["output", "feature", "reko"])
def test_perceptual_weight_adds_the_perceptual_term_to_any_method(name: str) -> None:
    teacher, student = _pair()
    images = _images(40)
    torch.manual_seed(1)
    plain = _build(name, teacher, student)
    torch.manual_seed(1)
    with_term = _build(name, teacher, student, perceptual_weight=0.5, perceptual_layers=("relu2_2", "relu3_3"))
    torch.manual_seed(2)
    loss_plain, _, _ = _run(plain, teacher, student, images)
    torch.manual_seed(2)
    loss, parts, _ = _run(with_term, teacher, student, images)
    assert parts["perceptual_l1"].item() > 0
    assert loss.item() == pytest.approx(loss_plain.item() + 0.5 * parts["perceptual_l1"].item(), rel=1e-5)


def test_perceptual_method_is_the_perceptual_l1_and_refuses_the_shared_weight() -> None:
    teacher, student = _pair()
    method = _build("perceptual", teacher, student, perceptual_net="alex")
    loss, parts, _ = _run(method, teacher, student, _images(40))
    assert loss.item() == pytest.approx(10 * parts["output_l1"].item() + 0.7 * parts["perceptual_l1"].item(), rel=1e-5)
    with pytest.raises(RekoError, match="not distill.perceptual_weight"):
        get_method("perceptual").config_class(perceptual_weight=1.0)
    with pytest.raises(RekoError, match="valid layers"):
        get_method("output").config_class(perceptual_layers=("relu5_3",), perceptual_net="alex")


def test_a_missing_perceptual_package_fails_when_the_method_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    def absent(name: str) -> None:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", absent)
    perceptual_weights._state.cache_clear()
    perceptual_extractor._shared.cache_clear()
    teacher, student = _pair()
    with pytest.raises(RekoError, match="stlpips-pytorch==0.0.2"):
        _build("output", teacher, student, perceptual_weight=1.0)
    monkeypatch.undo()
    perceptual_weights._state.cache_clear()
    perceptual_extractor._shared.cache_clear()


# --- non-local and channel attention ----------------------------------------------------------------


def test_nonlocal_and_channel_adapt_the_students_channels_to_the_teachers() -> None:
    teacher, student = _pair()
    nonlocal_method = _build("nonlocal", teacher, student)
    channel_method = _build("channel", teacher, student)
    for tap in nonlocal_method.taps:
        key = tap.replace(".", "_")
        conv = nonlocal_method.adapters[key]
        linear = channel_method.adapters[key]
        info_s = {i.name: i.channels for i in student.feature_info}[tap]
        info_t = {i.name: i.channels for i in teacher.feature_info}[tap]
        assert (conv.in_channels, conv.out_channels, conv.kernel_size) == (info_s, info_t, (1, 1))
        assert (linear.in_features, linear.out_features) == (info_s, info_t)
    loss, parts, _ = _run(nonlocal_method, teacher, student, _images(32))
    assert parts["nonlocal_mse"].item() > 0 and set(parts) >= {f"nonlocal_mse/{t}" for t in nonlocal_method.taps}
    with pytest.raises(RekoError, match="pool"):
        get_method("nonlocal").config_class(pool=0)
