"""benchmarks/realtask.py: the fixed setting, the carved split, the budget rule, resuming, the table."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from reko.distill.registry import method_names
from reko.models import GeneratorSpec, create_generator, save_generator

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load() -> Any:
    if "realtask" not in sys.modules:
        spec = importlib.util.spec_from_file_location("realtask", BENCHMARKS / "realtask.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["realtask"] = module  # its sibling modules import it by this name
        spec.loader.exec_module(module)
    return sys.modules["realtask"]


@pytest.fixture(scope="module")
def tiny_unet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in teacher with the real one's kind of architecture (U-Net, BatchNorm, dropout)."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("teacher") / "teacher.safetensors"
    save_generator(create_generator(GeneratorSpec(family="unet", num_downs=5, ngf=8, norm="batch", dropout=True)), path)
    return path


def _plan(realtask: Any, tmp_path: Path, **changes: Any) -> Any:
    folders = {name: tmp_path / "data" / name for name in ("select", "carved", "final", "heldout")}
    tmp_path.mkdir(parents=True, exist_ok=True)
    teacher = tmp_path / "teacher.safetensors"
    teacher.touch()
    base = {"teacher": str(teacher), "inception": "", "out": tmp_path / "out", "results": tmp_path / "res" / "realtask"}
    return realtask.Plan(folders=folders, **{**base, **changes})


def test_rows_are_every_registered_method_then_the_chosen_recipe() -> None:
    realtask = _load()
    names = method_names()
    table = [row.name for row in realtask.rows(names, None)]
    assert set(names) - set(realtask.NOT_APPLICABLE) == set(table) and len(table) == len(set(table))
    stable = [name for name in realtask.STABLE if name in names]
    assert table[: len(stable)] == stable  # the methods that will not change run first
    best = realtask.Row(realtask.BEST, "reko", ("distill.selection=peaks",))
    assert realtask.rows(names, best)[-1] == best
    assert set(realtask.CURVE_METHODS) <= set(names)
    assert all(recipe.method in names for recipe in realtask.RECIPES)


def test_carve_is_fixed_and_the_folders_never_mix(facades_dir: Path, tmp_path: Path) -> None:
    realtask = _load()
    names = [f"{i}.jpg" for i in range(1, 401)]
    carved = realtask.carve(names, 50)
    assert carved == realtask.carve(list(reversed(names)), 50) and len(set(carved)) == 50
    folders, split = realtask.prepare_data(facades_dir, tmp_path, 50)
    train = {p.name for p in (folders["select"] / "train").iterdir()}
    held = {p.name for p in folders["carved"].iterdir()}
    assert len(train) == 350 and held == set(split["carved"]) and not train & held
    assert len(list((folders["final"] / "train").iterdir())) == 400
    heldout = sorted(p.name for p in folders["heldout"].iterdir())
    assert len(heldout) == 206 and heldout[0].startswith("test_") and heldout[-1].startswith("val_")
    assert realtask.prepare_data(facades_dir, tmp_path, 50)[1] == split  # idempotent


def test_every_run_is_the_fixed_setting_and_differs_only_in_method_seed_and_steps(tmp_path: Path) -> None:
    realtask = _load()
    plan = _plan(realtask, tmp_path)
    keys = set()
    for row in [*realtask.rows(method_names(), None), *realtask.RECIPES]:
        config = plan.config(row, 2, 8000, "final")
        assert (config.mode, config.data.direction, config.student.ngf) == ("paired", "BtoA", 12)
        assert (config.data.crop_size, config.data.load_size) == (128, 143)
        assert (config.train.steps, config.train.seed) == (8000, 2)
        assert (config.loss.gan_mode, config.loss.l1_weight, config.discriminator.norm) == ("vanilla", 100.0, "batch")
        assert (config.train.threads, config.data.val_root) == (1, str(plan.folders["carved"]))
        keys.add(realtask.config_key(config))
    table = realtask.rows(method_names(), None)
    assert len(keys) == len(table) + len(realtask.RECIPES) - 1  # the reko recipe is reko's defaults
    row = realtask.Row("output", "output")
    key = realtask.config_key(plan.config(row, 0, 8000, "final"))
    assert key != realtask.config_key(plan.config(row, 1, 8000, "final"))
    assert key != realtask.config_key(plan.config(row, 0, 4000, "final"))
    moved = _plan(realtask, tmp_path / "elsewhere")
    assert key == realtask.config_key(moved.config(row, 0, 8000, "final"))  # paths are not part of it


def _point(step: int, kid: float, psnr: float, kid_std: float = 0.01) -> dict[str, float]:
    return {"step": step, "kid_vs_real": kid, "kid_std": kid_std, "psnr_vs_real": psnr}


def test_budget_is_the_first_candidate_as_good_as_the_end() -> None:
    _load()
    import realtask_jobs as realtask

    flat = [_point(4000, 0.105, 20.0), _point(6000, 0.1, 20.1), _point(8000, 0.1, 20.1)]
    late = [_point(4000, 0.2, 19.0), _point(6000, 0.105, 20.0), _point(8000, 0.1, 20.1)]
    assert realtask.decide_budget({"output": flat, "reko": flat}, [4000, 6000, 8000])["steps"] == 4000
    decision = realtask.decide_budget({"output": flat, "reko": late}, [4000, 6000, 8000])
    assert decision["steps"] == 6000 and decision["checks"]["4000"]["reko"] == {"kid_ok": False, "psnr_ok": False}
    psnr_drop = [_point(4000, 0.1, 19.5), _point(6000, 0.1, 20.1), _point(8000, 0.1, 20.1)]
    assert realtask.decide_budget({"output": psnr_drop}, [4000, 6000, 8000])["steps"] == 6000


def _result(realtask: Any, plan: Any, row: Any, seed: int, kid: float, std_shift: float = 0.0) -> dict[str, Any]:
    from realtask_eval import EVAL_VERSION

    metrics = {key: kid + std_shift * seed for key, *_ in __import__("realtask_table").COLUMNS}
    difference = {"value": kid - 0.2, "low": kid - 0.25, "high": kid - 0.15, "std": 0.02, "bias": 0.0}
    return {
        "row": row.name,
        "method": row.method,
        "key": realtask.config_key(plan.config(row, seed, plan.steps, "final")),
        "eval_version": EVAL_VERSION,
        "parameters": 1_470_000,
        "macs_field": 1,
        "training_seconds": 1600.0,
        "scores": {
            "metrics": metrics,
            "intervals": {"kid_minus_baseline": difference, "fid_minus_baseline": difference},
        },
    }


def test_collect_shows_missing_and_stale_cells_and_judges_complete_rows(tmp_path: Path) -> None:
    realtask = _load()
    import realtask_table

    plan = _plan(realtask, tmp_path, seeds=2, steps=8000)
    final = plan.results / "final"
    for name, kid in (("output", 0.3), ("reko", 0.1)):
        row = realtask.Row(name, name)
        for seed in (0, 1):
            (final / name).mkdir(parents=True, exist_ok=True)
            (final / name / f"seed{seed}.json").write_text(json.dumps(_result(realtask, plan, row, seed, kid, 0.01)))
    stale = _result(realtask, plan, realtask.Row("wavelet", "wavelet"), 0, 0.2)
    stale["key"] = "trained-differently"
    (final / "wavelet").mkdir()
    (final / "wavelet" / "seed0.json").write_text(json.dumps(stale))
    document = realtask_table.collect(plan)
    assert "wavelet seed 0 (stale)" in document["pending"] and "none seed 1 (missing)" in document["pending"]
    assert any(item.startswith("reko-best") for item in document["pending"])
    by = {(v["row"], v["against"], v["metric"]): v for v in document["verdicts"]}
    assert by[("reko", "output", "kid_vs_real")]["verdict"] == "win"  # 0.1 vs 0.3, seed std 0.007
    assert by[("reko", "output", "psnr_vs_real")]["verdict"] == "loss"  # higher is better there
    assert document["teacher_verdicts"]["reko"] == {"kid": "better", "fid": "better"}  # intervals below 0
    assert document["teacher_verdicts"]["output"]["kid"] == "worse"
    text = realtask_table.markdown(document)
    assert "Still to run" in text and "| reko | 2/2 |" in text and "| wavelet | 0/2 |" in text
    assert "| reko-best | 0 | pending" in text and "in progress: 4 of" in text
    assert "| similarity | n/a |" in text  # registered, but it cannot run at batch 1


def test_docs_block_is_replaced_in_place(tmp_path: Path) -> None:
    realtask = _load()
    import realtask_table

    plan = _plan(realtask, tmp_path, seeds=1, steps=100)
    page = tmp_path / "page.md"
    page.write_text(f"before\n{realtask_table.BEGIN}\nold\n{realtask_table.END}\nafter\n")
    realtask_table.write_tables(plan, realtask_table.collect(plan), page)
    text = page.read_text()
    assert text.startswith("before\n") and text.endswith("after\n") and "old" not in text and "Still to run" in text
    assert (plan.results.parent / "realtask.json").is_file() and (plan.results.parent / "realtask.md").is_file()


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def test_commit_commits_that_file_only(tmp_path: Path) -> None:
    realtask = _load()
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.com")
    _git(repo, "config", "user.name", "t")
    (repo / "other.txt").write_text("someone else's work in progress")
    _git(repo, "add", "other.txt")  # staged by someone else: must not go into the result's commit
    result = repo / "res" / "run.json"
    result.parent.mkdir()
    result.write_text("{}")
    assert realtask.commit(result, "result", repo=repo)
    assert _git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["res/run.json"]
    assert "other.txt" in _git(repo, "diff", "--cached", "--name-only")  # still staged, not committed
    assert realtask.commit(result, "again", repo=repo)  # unchanged: nothing to do, not an error
    assert len(_git(repo, "log", "--format=%h").split()) == 1


def test_final_run_end_to_end_then_nothing_is_repeated(
    tiny_unet: Path, shared_dir: Path, inception_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One tiny final run (a stand-in teacher, 2 steps, 4 held-out pairs) through the real pipeline."""
    realtask = _load()
    args = ["--shared", str(shared_dir), "--teacher", str(tiny_unet), "--out", str(tmp_path / "out")]
    args += ["--results", str(tmp_path / "res" / "realtask"), "--size", "32", "--student-ngf", "4", "--seeds", "1"]
    args += ["--phase", "final", "--steps", "2", "--rows", "output", "--eval-limit", "4"]
    torch.set_num_threads(1)
    assert realtask.main(args) == 0
    saved = json.loads((tmp_path / "res" / "realtask" / "final" / "output" / "seed0.json").read_text())
    metrics = saved["scores"]["metrics"]
    assert saved["steps"] == 2 and saved["scores"]["images"] == 4
    assert metrics["stlpips_vs_real"] is None or metrics["stlpips_vs_real"] > 0  # None without the perceptual extra
    for key in ("kid_vs_real", "fid_vs_real", "psnr_vs_real", "kid_vs_teacher", "kid_vs_real_trainmode"):
        assert isinstance(metrics[key], float), key
    assert set(saved["scores"]["intervals"]) == {"fid", "kid", "fid_minus_baseline", "kid_minus_baseline"}
    teacher = json.loads((tmp_path / "res" / "realtask" / "final" / "teacher.json").read_text())
    assert "kid_vs_teacher" not in teacher["scores"]["metrics"]
    document = json.loads((tmp_path / "res" / "realtask.json").read_text())
    assert document["runs_done"] == 1 and any(item.startswith("none seed 0") for item in document["pending"])

    # reko report renders the benchmark's final folder: label map | teacher | students | real photo
    from reko.report import write_report

    page = write_report(tmp_path / "out" / "final", tmp_path / "report", num_images=2)
    html = page.read_text(encoding="utf-8")
    assert (
        "| output | the real photo on the first 2 images of" in html
        and (tmp_path / "report" / "grid_student.png").is_file()
    )

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(realtask, "train", forbidden)
    import realtask_jobs

    monkeypatch.setattr(realtask_jobs, "train", forbidden)
    assert realtask.main(args) == 0
