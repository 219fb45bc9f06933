"""Friction a new user met (issue 15, step 7): each is checked before any slow work starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from reko.cli import main


def test_bench_int8_asks_for_calibration_before_timing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import reko.eval.cost

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("timed a model before checking the arguments")

    monkeypatch.setattr(reko.eval.cost, "profile_model", never)
    argv = ["bench", "--checkpoint", "s.safetensors", "--teacher", "t.safetensors", "--export-formats", "onnx,int8"]
    assert main(argv) == 2
    assert "--export-formats int8 needs calibration images: pass --calibration DIR" in capsys.readouterr().err
    assert main([*argv, "--calibration", str(tmp_path / "missing")]) == 2
    assert "is not a folder of images" in capsys.readouterr().err
    assert main([*argv[:-1], "onnx,fp4"]) == 2
    assert "not understood" in capsys.readouterr().err


DEMO = Path(__file__).resolve().parents[1] / "src" / "reko" / "demo_data"


def test_compare_checks_every_method_before_training_any(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import reko.compare.runner
    from reko.compare import CompareSettings, compare
    from reko.errors import RekoError

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("trained a method before checking the others")

    monkeypatch.setattr(reko.compare.runner, "distill", never)
    settings = CompareSettings(
        teacher=str(DEMO / "teacher_resnet9_ngf16.safetensors"),
        data=str(DEMO / "train"),
        out=str(tmp_path / "compare"),
        methods=("output", "similarity"),  # train.batch_size stays 1
        eval_data=str(DEMO / "test"),
    )
    with pytest.raises(RekoError, match="similarity method .* set train.batch_size to 2 or more"):
        compare(settings, log=lambda message: None)
    assert not (tmp_path / "compare").exists()  # nothing written either


def test_distill_checks_the_method_before_loading_the_teacher(tmp_path: Path) -> None:
    from reko.api import distill
    from reko.config import load_config
    from reko.distill.config import DistillConfig
    from reko.errors import RekoError

    config = load_config(
        DistillConfig, None, [("teacher", str(tmp_path / "missing.pth")), "distill.method=wavelet", "data.crop_size=36"]
    )
    with pytest.raises(RekoError, match="divisible by 8, got 36x36: change data.crop_size or distill.levels"):
        distill(config, tmp_path / "run")


def test_the_demo_notes_a_missing_inception_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reko.demo import DemoOptions, _extractor

    for name in ("REKO_SHARED", "REKO_INCEPTION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REKO_CACHE", str(tmp_path / "cache"))
    extractor, notes = _extractor(DemoOptions(out=tmp_path / "demo"), 8)
    assert extractor is None and len(notes) == 1
    assert notes[0].startswith("FID/KID skipped") and notes[0].count("Inception network") == 1


def test_the_library_never_looks_in_dot_dot_shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reko.errors import RekoError
    from reko.eval.inception import SOURCES, find_inception
    from reko.export.images import DEMO_TEST_FOLDER, default_test_folder

    shared = tmp_path / "shared"
    (shared / "weights" / "inception").mkdir(parents=True)
    (shared / "weights" / "inception" / SOURCES["features"].filename).write_bytes(b"")
    (shared / "data" / "horse2zebra" / "testA").mkdir(parents=True)
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")  # ../shared now holds both
    for name in ("REKO_SHARED", "REKO_INCEPTION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REKO_CACHE", str(tmp_path / "cache"))
    with pytest.raises(RekoError, match="no FID Inception network found"):
        find_inception(download=False)
    assert default_test_folder() == DEMO_TEST_FOLDER  # the shipped photos, not ../shared's
    monkeypatch.setenv("REKO_SHARED", str(shared))  # named explicitly, it is used
    assert find_inception(download=False).parent == shared / "weights" / "inception"
    assert default_test_folder() == shared / "data" / "horse2zebra" / "testA"
