"""The ReKo method (reko.distill.reko): taps, scoring, selection, heads, batch-size independence."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from reko.distill.registry import get_method
from reko.distill.reko import PROJECTIONS, SCORINGS, SELECTIONS, ReKo, ReKoConfig, default_taps
from reko.distill.taps import FeatureTap
from reko.errors import RekoError
from reko.models import GeneratorSpec, create_generator


def _pair(spec: GeneratorSpec, student_ngf: int = 4) -> tuple[torch.nn.Module, torch.nn.Module]:
    torch.manual_seed(0)
    return create_generator(spec).eval(), create_generator(spec.with_width(student_ngf))


def _run(method: ReKo, teacher: torch.nn.Module, student: torch.nn.Module, x: torch.Tensor):
    with torch.no_grad(), FeatureTap(teacher, method.taps) as tap:
        teacher_out = teacher(x)
        teacher_features = dict(tap.features)
    with FeatureTap(student, method.taps) as tap:
        student_out = student(x)
        student_features = dict(tap.features)
    return method(student_features, teacher_features, student_out, teacher_out)


def test_reko_is_registered_with_its_config() -> None:
    assert get_method("reko") is ReKo and ReKo.config_class is ReKoConfig


def test_default_taps_span_blocks_and_decoder() -> None:
    assert default_taps(create_generator(GeneratorSpec(ngf=4)).feature_info) == [
        "blocks.2",
        "blocks.5",
        "blocks.8",
        "up1",
    ]
    assert default_taps(create_generator(GeneratorSpec(ngf=4, n_blocks=6)).feature_info) == [
        "blocks.1",
        "blocks.3",
        "blocks.5",
        "up1",
    ]
    unet = create_generator(GeneratorSpec(family="unet", ngf=4, num_downs=7))
    taps = default_taps(unet.feature_info)
    assert taps == ["encoder.2", "decoder.3", "decoder.4"]
    strides = {info.name: info.stride for info in unet.feature_info}
    assert [strides[t] for t in taps] == [8, 8, 4]


@pytest.mark.parametrize("scoring", SCORINGS)
@pytest.mark.parametrize("selection", SELECTIONS)
def test_every_scoring_and_selection_trains_the_student(scoring: str, selection: str) -> None:
    teacher, student = _pair(GeneratorSpec(ngf=8, n_blocks=3))
    config = ReKoConfig(scoring=scoring, selection=selection, num_patches=16, embed_dim=32)
    method = ReKo(config, teacher.feature_info, student.feature_info)
    loss, parts = _run(method, teacher, student, torch.rand(2, 3, 32, 32) * 2 - 1)
    assert loss.dim() == 0 and torch.isfinite(loss)
    assert {"reko_nce", "output_l1"} <= set(parts) and ("reko_attention" in parts) == (scoring == "learned")
    loss.backward()
    assert student.stem[1].weight.grad is not None and student.stem[1].weight.grad.abs().sum() > 0
    for head in method.teacher_heads.values():
        assert all(p.grad is not None for p in head.parameters())
    if scoring == "learned":
        assert all(p.grad is not None for p in method.attention_heads.parameters())
    visuals = method.visuals()
    assert set(visuals["attention"]) == set(method.taps)
    assert visuals["attention"]["blocks.0"].shape == (2, 8, 8) and visuals["selected"]["blocks.0"].shape == (2, 16)


@pytest.mark.parametrize("projection", PROJECTIONS)
def test_frozen_teacher_head_is_the_authors_behaviour(projection: str) -> None:
    teacher, student = _pair(GeneratorSpec(ngf=8, n_blocks=3))
    config = ReKoConfig(train_teacher_head=False, projection=projection, num_patches=8, embed_dim=16)
    method = ReKo(config, teacher.feature_info, student.feature_info)
    assert not any(p.requires_grad for p in method.teacher_heads.parameters())
    loss, _ = _run(method, teacher, student, torch.rand(1, 3, 32, 32) * 2 - 1)
    loss.backward()
    assert all(p.grad is None for p in method.teacher_heads.parameters())
    assert all(p.grad is not None for p in method.student_heads.parameters())


def test_loss_is_the_same_for_any_batch_size() -> None:
    """Per-image negatives: the loss of a batch is the mean of its images' losses."""
    teacher, student = _pair(GeneratorSpec(ngf=8, n_blocks=3))
    method = ReKo(ReKoConfig(num_patches=16, embed_dim=16), teacher.feature_info, student.feature_info)
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        together, _ = _run(method, teacher, student, x)
        alone = [_run(method, teacher, student, x[i : i + 1])[0] for i in range(3)]
    assert together.item() == pytest.approx(torch.stack(alone).mean().item(), rel=1e-5)


def test_topk_selection_uses_the_teachers_most_active_positions() -> None:
    teacher, student = _pair(GeneratorSpec(ngf=8, n_blocks=3))
    method = ReKo(ReKoConfig(taps=("blocks.1",), num_patches=5), teacher.feature_info, student.feature_info)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    _run(method, teacher, student, x)
    with torch.no_grad(), FeatureTap(teacher, ["blocks.1"]) as tap:
        teacher(x)
        expected = tap.features["blocks.1"].abs().mean(dim=1).flatten(1).topk(5).indices
    assert torch.equal(method.visuals()["selected"]["blocks.1"], expected)


def test_layers_with_fewer_positions_than_k_use_all_of_them() -> None:
    teacher, student = _pair(GeneratorSpec(ngf=8, n_blocks=3))
    method = ReKo(ReKoConfig(taps=("blocks.0",), num_patches=64), teacher.feature_info, student.feature_info)
    _run(method, teacher, student, torch.rand(1, 3, 16, 16) * 2 - 1)  # blocks at stride 4: 4x4 = 16 positions
    assert method.visuals()["selected"]["blocks.0"].shape == (1, 16)


def test_unet_default_taps_work_at_64px() -> None:
    teacher, student = _pair(GeneratorSpec(family="unet", ngf=8, num_downs=6))
    method = ReKo(ReKoConfig(embed_dim=16), teacher.feature_info, student.feature_info)
    loss, parts = _run(method, teacher, student, torch.rand(2, 3, 64, 64) * 2 - 1)
    assert torch.isfinite(loss) and set(method.taps) == {"encoder.2", "decoder.2", "decoder.3"}


def test_bad_options_are_errors_naming_the_choices() -> None:
    with pytest.raises(RekoError, match="'teacher', 'student\\+teacher', 'learned'"):
        ReKoConfig(scoring="attention")
    with pytest.raises(RekoError, match="topk"):
        ReKoConfig(selection="best")
    with pytest.raises(RekoError, match="num_patches"):
        ReKoConfig(num_patches=0)
    teacher, student = _pair(GeneratorSpec(ngf=8, n_blocks=3))
    with pytest.raises(RekoError, match="blocks.7.*valid stages"):
        ReKo(ReKoConfig(taps=("blocks.7",)), teacher.feature_info, student.feature_info)


def test_config_is_frozen_and_replaceable() -> None:
    config = dataclasses.replace(ReKoConfig(), selection="softmax", softmax_temperature=0.5)
    assert config.selection == "softmax" and config.nce_temperature == 0.07 and config.num_patches == 64
