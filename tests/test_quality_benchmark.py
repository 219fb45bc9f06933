"""benchmarks/quality.py: its suites cover the issue's grid, and its verdicts read the seed spread."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from reko.distill.registry import method_names

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "quality.py"


def _load():
    spec = importlib.util.spec_from_file_location("quality_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _row(method: str, psnr: float, std: float, fid: float) -> dict:
    return {
        "method": method,
        "psnr_vs_teacher": {"mean": psnr, "std": std, "n": 3},
        "fid_vs_teacher": {"mean": fid, "std": 1.0, "n": 3},
    }


def test_suites_cover_every_method_width_and_ablation() -> None:
    quality = _load()
    suites = {suite.name: suite for suite in quality.suites()}
    assert set(quality.METHODS) <= set(method_names())
    assert {suites["ngf24"].student_ngf, suites["ngf16"].student_ngf} == {24, 16}
    assert suites["ngf24"].methods == suites["ngf16"].methods == quality.METHODS
    overrides = {override for suite in suites.values() for override in suite.overrides}
    assert overrides == {
        "distill.scoring=student+teacher",
        "distill.scoring=learned",
        "distill.num_patches=16",
        "distill.num_patches=256",
        "distill.train_teacher_head=false",
    }


def test_settings_load_as_valid_distillation_configs(tmp_path: Path) -> None:
    quality = _load()
    # CompareSettings checks the teacher file exists; any file will do for building configs.
    fake_shared = tmp_path / "shared"
    (fake_shared / quality.TEACHER).parent.mkdir(parents=True)
    (fake_shared / quality.TEACHER).write_bytes(b"")
    (tmp_path / "data" / "train").mkdir(parents=True)
    args = type("Args", (), {"shared": str(fake_shared), "out": str(tmp_path / "out"), "seeds": 3, "steps": 7})
    args.inception = None
    for suite in [*quality.suites(), *quality.investigation_suites()]:
        settings = quality.compare_settings(suite, args, tmp_path / "data")
        config = settings.run_config(suite.methods[-1], 2, tmp_path / "run")
        assert (config.train.steps, config.train.seed, config.train.threads) == (7, 2, 1)
        assert (config.data.crop_size, config.data.val_size, config.student.ngf) == (128, 16, suite.student_ngf)
        if suite.name == "ablation_patches_16":
            assert config.distill.options.num_patches == 16
        if suite.name == "ablation_frozen_teacher_head":
            assert config.distill.options.train_teacher_head is False
        if suite.name == "why_reko_on_wavelet":  # wavelet's objective plus ReKo's term
            options = config.distill.options
            assert (config.distill.method, options.output_weight, options.wavelet_weight) == ("reko", 0.0, 10.0)


def test_investigation_suites_are_not_part_of_the_default_run() -> None:
    quality = _load()
    default = {suite.name for suite in quality.suites()}
    investigation = {suite.name for suite in quality.investigation_suites()}
    assert investigation and not default & investigation
    assert all(suite.student_ngf == 24 for suite in quality.investigation_suites())


def test_verdict_is_a_tie_within_the_seed_spread_and_a_win_or_loss_beyond() -> None:
    quality = _load()
    document = {
        "rows": [_row("output", 20.0, 0.3, 50.0), _row("feature", 20.5, 0.2, 48.0), _row("reko", 20.6, 0.2, 40.0)]
    }
    by_metric = {item["metric"]: item for item in quality.verdicts(document)}
    assert by_metric["psnr_vs_teacher"]["best_other"] == "feature"
    assert by_metric["psnr_vs_teacher"]["verdict"] == "tie"  # +0.1 dB < 0.2 dB spread
    assert abs(by_metric["psnr_vs_teacher"]["reko_better_by"] - 0.1) < 1e-9
    assert by_metric["fid_vs_teacher"]["verdict"] == "win"  # 8 lower, spread 1
    document["rows"][2] = _row("reko", 19.0, 0.2, 60.0)
    by_metric = {item["metric"]: item for item in quality.verdicts(document)}
    assert by_metric["psnr_vs_teacher"]["verdict"] == "loss"
    assert by_metric["fid_vs_teacher"]["verdict"] == "loss"


def test_verdict_waits_for_a_second_seed() -> None:
    quality = _load()
    rows = [_row("output", 20.0, 0.3, 50.0), _row("reko", 25.0, 0.2, 40.0)]
    rows[1]["psnr_vs_teacher"]["std"] = None  # one seed
    by_metric = {item["metric"]: item for item in quality.verdicts({"rows": rows})}
    assert by_metric["psnr_vs_teacher"]["verdict"] == "undecided (one seed)"
    assert by_metric["fid_vs_teacher"]["verdict"] == "win"


def _settings(quality, tmp_path: Path, suite):
    fake_shared = tmp_path / "shared"
    (fake_shared / quality.TEACHER).parent.mkdir(parents=True, exist_ok=True)
    (fake_shared / quality.TEACHER).write_bytes(b"")
    (tmp_path / "data" / "train").mkdir(parents=True, exist_ok=True)
    args = type("Args", (), {"shared": str(fake_shared), "out": str(tmp_path / "out"), "seeds": 3, "steps": 7})
    args.inception = None
    return quality.compare_settings(suite, args, tmp_path / "data")


def test_a_current_result_file_is_skipped_and_the_table_reads_the_files(tmp_path: Path) -> None:
    quality = _load()
    store = sys.modules["quality_store"]
    suite = next(s for s in quality.mobile_suites() if s.name == "mobile_1.4G_bn")
    settings = _settings(quality, tmp_path, suite)
    assert settings.run_config("reko", 0, tmp_path / "run").student.norm == "batch"
    key = store.run_key(settings, "reko", 0)
    assert key == store.run_key(settings, "reko", 0)  # no machine paths, no time in it
    assert key != store.run_key(settings, "reko", 1) != store.run_key(settings, "wavelet", 0)
    results = tmp_path / "results"
    for seed, fid in ((0, 150.0), (1, 160.0)):
        path = store.result_path(results, "q", suite.name, "reko", seed)
        metrics = {"fid_vs_teacher": fid, "psnr_vs_teacher": 20.0 + seed}
        data = {"seed": seed, "key": store.run_key(settings, "reko", seed), "metrics": metrics, "images": 5}
        data.update(training_seconds=100.0 + seed, parameters=1000, macs_field=1.4e9, architecture="mobile")
        store.save_result(path, data, commit=False)
    # A current file: the job neither trains nor evaluates (the teacher file is empty: it would fail).
    job = quality.Job(settings, suite.name, "reko", 0, store.result_path(results, "q", suite.name, "reko", 0), False)
    assert quality.run_job(job)["status"] == "current"
    assert store.is_current(job.result, key) and not store.is_current(job.result, "another")
    document = store.suite_document(results, "q", suite.name, suite.methods, 3)
    (row,) = document["rows"]
    assert (row["method"], row["seeds"], row["macs_field"]) == ("reko", [0, 1], 1.4e9)
    assert row["fid_vs_teacher"]["mean"] == 155.0 and row["fid_vs_teacher"]["std"] > 0
    assert store.training_seconds(results, "q") == [100.0, 101.0]
