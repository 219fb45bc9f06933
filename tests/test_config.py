"""Configuration: YAML + --set overrides, type conversion, errors that name keys, method sections."""

from __future__ import annotations

from pathlib import Path

import pytest

from reko.config import TeacherConfig, dump_yaml, load_config, parse_override, replace, to_dict
from reko.distill.config import DistillConfig
from reko.distill.reko import ReKoConfig
from reko.errors import RekoError

REPO = Path(__file__).resolve().parents[1]


def test_defaults_are_the_papers_settings() -> None:
    config = DistillConfig()
    assert config.student.ngf == 24 and config.distill.method == "reko"
    assert isinstance(config.distill.options, ReKoConfig) and config.distill.options.nce_temperature == 0.07
    assert (config.train.lr, config.train.beta1, config.train.beta2) == (2e-4, 0.5, 0.999)
    assert (config.loss.l1_weight, config.loss.cycle_weight, config.loss.identity_weight) == (100.0, 10.0, 0.5)
    assert config.loss.pool_size == 50


def test_yaml_then_overrides_with_type_conversion(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  steps: 50\n  lr: 1e-4\ndistill:\n  num_patches: 32\n", encoding="utf-8")
    config = load_config(
        DistillConfig,
        path,
        ["train.steps=70", "student.ngf=16", "distill.taps=[blocks.2, up1]", "train.deterministic=true"],
    )
    assert config.train.steps == 70 and config.train.lr == 1e-4  # "1e-4" is a string to PyYAML
    assert config.student.ngf == 16 and config.train.deterministic is True
    assert config.distill.options.num_patches == 32 and config.distill.options.taps == ("blocks.2", "up1")
    assert load_config(DistillConfig, None, ["distill.taps=blocks.1,up2"]).distill.options.taps == ("blocks.1", "up2")
    assert load_config(DistillConfig, None, ["train.decay_steps=null"]).train.decay_steps is None


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.stepz=3", "unknown config key 'train.stepz' \\(did you mean 'train.steps'\\?\\); valid keys"),
        ("distill.num_patchez=3", "did you mean 'distill.num_patches'"),
        ("trian.steps=3", "unknown config key 'trian'"),
        ("train.steps=many", "train.steps: expected an integer, got 'many'"),
        ("train.deterministic=1", "train.deterministic: expected true or false"),
        ("mode=both", "mode: 'both' is not one of \\['auto', 'paired', 'unpaired', 'cyclegan'\\]"),
        ("distill.method=nope", "unknown distillation method 'nope'"),
        ("distill.scoring=attention", "reko scoring 'attention' is not one of"),
        ("train=3", "train must be a mapping"),
        ("steps", "not of the form key=value"),
    ],
)
def test_bad_values_are_errors_that_name_the_key(override: str, message: str) -> None:
    with pytest.raises(RekoError, match=message):
        load_config(DistillConfig, None, [override])


def test_method_options_follow_the_method() -> None:
    config = load_config(DistillConfig, None, ["distill.method=output", "distill.output_weight=5"])
    assert type(config.distill.options).__name__ == "MethodConfig" and config.distill.options.output_weight == 5.0
    with pytest.raises(RekoError, match="unknown config key 'distill.num_patches'"):
        load_config(DistillConfig, None, ["distill.method=output", "distill.num_patches=3"])


def test_resolved_config_round_trips_through_yaml(tmp_path: Path) -> None:
    config = load_config(DistillConfig, None, ["distill.taps=[blocks.2]", "student.ngf=16", "train.amp=bf16"])
    path = tmp_path / "resolved.yaml"
    path.write_text(dump_yaml(config), encoding="utf-8")
    assert load_config(DistillConfig, path) == config
    assert to_dict(config)["distill"]["method"] == "reko" and to_dict(config)["distill"]["taps"] == ["blocks.2"]


def test_replace_with_dotted_keys() -> None:
    config = replace(DistillConfig(), **{"train.steps": 9, "distill.selection": "random"})
    assert config.train.steps == 9 and config.distill.options.selection == "random"


def test_bad_yaml_files_are_errors(tmp_path: Path) -> None:
    with pytest.raises(RekoError, match="does not exist"):
        load_config(DistillConfig, tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(RekoError, match="mapping of sections"):
        load_config(DistillConfig, tmp_path / "list.yaml")
    (tmp_path / "broken.yaml").write_text("train: [1,\n", encoding="utf-8")
    with pytest.raises(RekoError, match="not valid YAML"):
        load_config(DistillConfig, tmp_path / "broken.yaml")


def test_parse_override_reads_yaml_values() -> None:
    assert parse_override("a.b=16") == ("a.b", 16)
    assert parse_override("a=true") == ("a", True)
    assert parse_override("a=[x, y]") == ("a", ["x", "y"])
    assert parse_override("teacher=/path/with=sign.pth") == ("teacher", "/path/with=sign.pth")


@pytest.mark.parametrize("path", sorted((REPO / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_load(path: Path) -> None:
    cls = TeacherConfig if "model:" in path.read_text(encoding="utf-8") else DistillConfig
    load_config(cls, path)
