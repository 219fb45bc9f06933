"""Path flags and compare settings reach the config as typed values, never through YAML.

``yaml.safe_load("photos #1") == "photos"``, ``"a: b"`` is a mapping and ``on`` is True: a path
given as a flag must arrive in the config as the exact string typed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reko.config import TeacherConfig, load_config
from reko.distill.config import DistillConfig

NAMES = ["photos #1", "day: night", "on"]


@pytest.mark.parametrize("name", NAMES)
def test_typed_overrides_skip_yaml_and_strings_still_parse(name: str) -> None:
    config = load_config(DistillConfig, None, ["train.steps=7", ("data.root", name), ("teacher", name)])
    assert (config.data.root, config.teacher, config.train.steps) == (name, name, 7)
    assert load_config(DistillConfig, None, ["data.root=photos #1"]).data.root == "photos"  # --set is YAML


def _capture(monkeypatch: pytest.MonkeyPatch, function: str) -> dict[str, Any]:
    import reko.api

    seen: dict[str, Any] = {}

    def fake(config: Any, *args: Any, **kwargs: Any) -> Any:
        seen["config"] = config
        raise SystemExit(0)  # stop before training

    monkeypatch.setattr(reko.api, function, fake)
    return seen


@pytest.mark.parametrize("name", NAMES)
def test_reko_distill_path_flags_arrive_as_typed(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from reko.cli import main

    seen = _capture(monkeypatch, "distill")
    with pytest.raises(SystemExit):
        main(["distill", "--teacher", f"{name}.pth", "--data", name, "--out", f"runs/{name}", "--set", "train.steps=3"])
    config: DistillConfig = seen["config"]
    assert (config.teacher, config.data.root, config.out) == (f"{name}.pth", name, f"runs/{name}")
    assert config.train.steps == 3


@pytest.mark.parametrize("name", NAMES)
def test_reko_train_path_flags_arrive_as_typed(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from reko.cli import main

    seen = _capture(monkeypatch, "train_teacher")
    with pytest.raises(SystemExit):
        main(["train", "--data", name, "--out", name])
    config: TeacherConfig = seen["config"]
    assert (config.data.root, config.out) == (name, name)


def test_compare_settings_reach_each_run_config_as_typed(tmp_path: Path) -> None:
    from reko.compare import CompareSettings

    folders = {name: tmp_path / name for name in NAMES}
    for folder in folders.values():
        folder.mkdir()
    teacher = folders["on"] / "teacher #1.pth"
    teacher.write_bytes(b"")  # CompareSettings checks that the file exists
    settings = CompareSettings(
        teacher=str(teacher),
        data=str(folders["photos #1"]),
        out=str(folders["day: night"]),
        methods=("output",),
        steps=5,
        overrides=("data.load_size=40",),  # the user's --set still wins over compare's own load_size
    )
    config = settings.run_config("output", 1, folders["day: night"] / "runs")
    assert config.teacher == str(teacher) and config.data.root == str(folders["photos #1"])
    assert config.out == str(folders["day: night"] / "runs")
    assert (config.distill.method, config.train.seed, config.train.steps, config.data.load_size) == ("output", 1, 5, 40)
