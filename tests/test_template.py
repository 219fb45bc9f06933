"""`reko.distill.template`, the example of a new method, runs: as a module and through `reko.api.distill`.

Uses the demo teacher and photos shipped in the package (no ../shared needed).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from reko.distill import registry
from reko.distill.taps import FeatureTap
from reko.distill.template import TemplateConfig, TemplateMethod, cosine_distance
from reko.errors import RekoError
from reko.models import GeneratorSpec, create_generator

DEMO = Path(__file__).resolve().parents[1] / "src" / "reko" / "demo_data"


@pytest.fixture
def template_registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``distill.method=template`` for one test; the registry is restored after."""
    registry.method_names()  # load the listed methods first
    monkeypatch.setitem(registry._METHODS, "template", TemplateMethod)
    yield


def test_template_is_not_a_listed_method() -> None:
    assert "template" not in registry.method_names()


def test_cosine_distance_is_zero_for_equal_directions_and_two_for_opposite() -> None:
    x = torch.randn(2, 4, 3, 3)
    assert cosine_distance(3.0 * x, x).item() == pytest.approx(0.0, abs=1e-6)
    assert cosine_distance(-x, x).item() == pytest.approx(2.0, abs=1e-6)


def test_the_template_loss_adds_its_term_to_the_output_l1() -> None:
    spec = GeneratorSpec(family="resnet", ngf=8, n_blocks=3)
    teacher, student = create_generator(spec.replace(ngf=16)), create_generator(spec)
    method = TemplateMethod(TemplateConfig(weight=2.0), teacher.feature_info, student.feature_info)
    assert method.taps == ["blocks.0", "blocks.1", "blocks.2", "up1"]
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad(), FeatureTap(teacher, method.taps) as tap:
        t_out, t_feat = teacher(x), dict(tap.features)
    with FeatureTap(student, method.taps) as tap:
        s_out, s_feat = student(x), dict(tap.features)
    loss, parts = method(s_feat, t_feat, s_out, t_out)
    per_tap = [parts[f"template/{t}"] for t in method.taps]
    assert torch.allclose(parts["template"], torch.stack(per_tap).sum())
    assert torch.allclose(loss, 10.0 * parts["output_l1"] + 2.0 * parts["template"])
    loss.backward()
    assert all(p.grad is not None for p in method.adapters.parameters())
    with pytest.raises(RekoError, match="needs the teacher's output and features"):
        method(s_feat, t_feat, s_out, None)
    with pytest.raises(RekoError, match="template weight must be >= 0"):
        TemplateConfig(weight=-1.0)


def test_the_template_distils_through_the_api(template_registered: None, tmp_path: Path) -> None:
    """Three steps of `reko.api.distill` with distill.method=template on the demo teacher and photos."""
    from reko.api import distill
    from reko.config import load_config
    from reko.distill.config import DistillConfig

    overrides = [
        f"teacher={DEMO / 'teacher_resnet9_ngf16.safetensors'}",
        f"data.root={DEMO / 'train'}",
        "distill.method=template",
        "distill.bias=false",
        "student.ngf=8",
        "discriminator.ndf=16",
        "train.steps=3",
        "train.batch_size=2",
        "train.threads=1",
        "data.crop_size=32",
        "data.load_size=36",
        "data.val_size=2",
        "data.num_workers=0",
        "train.eval_every=0",
        "log.image_every=0",
        "log.log_every=1",
        "log.progress=false",
    ]
    config = load_config(DistillConfig, None, overrides)
    assert isinstance(config.distill.options, TemplateConfig) and config.distill.options.bias is False
    out = tmp_path / "run"
    result = distill(config, out)
    assert result.finished and result.step == 3
    logged = [json.loads(line) for line in (out / "scalars.jsonl").read_text().splitlines()]
    steps = [entry for entry in logged if "G/total" in entry]
    assert [entry["step"] for entry in steps] == [1, 2, 3]
    for entry in steps:
        assert math.isfinite(entry["G/template"]) and 0 < entry["G/template"] <= 2 * 4  # 4 taps, each in [0, 2]
        assert entry["G/template/blocks.2"] > 0 and entry["G/method"] > 0
    state = torch.load(out / "state.pt", weights_only=True)
    assert any(".method.adapters.blocks_2.weight" in key for key in _keys(state))  # the head is trained state


def _keys(tree: object, prefix: str = "") -> Iterator[str]:
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield f"{prefix}{key}"
            yield from _keys(value, f"{prefix}{key}.")


def test_every_registered_method_file_is_listed_in_methods_py() -> None:
    """A method file whose line was forgotten in `reko.distill.methods` would register only by accident."""
    import importlib
    import pkgutil

    import reko.distill as package

    listed = set(registry.method_names())
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"reko.distill.{module.name}")
    unlisted = set(registry.method_names()) - listed
    assert not unlisted, f"add the files of {sorted(unlisted)} to src/reko/distill/methods.py"
