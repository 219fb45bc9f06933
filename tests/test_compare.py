"""``reko compare``: identical settings per seed, the aggregate table, resuming, failures.

The end-to-end test trains a tiny teacher's students on real horse2zebra photos for two steps
(2 methods x 2 seeds) and evaluates them on four held-out photos, FID/KID included, so that
every column of the real table appears; the real teacher's table is in docs/methods.md.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from tests.conftest import INCEPTION_PATH

from reko.cli import main
from reko.compare import CompareSettings, compare, default_eval_data, run_dir
from reko.compare.table import markdown_table, method_row, stat
from reko.config import to_dict
from reko.errors import RekoError
from reko.models import GeneratorSpec, create_generator, save_generator

# Keep runs tiny: no validation passes or image grids, two held-out training images, small D.
FAST = (
    "train.eval_every=0",
    "log.image_every=0",
    "log.progress=false",
    "data.val_size=2",
    "data.num_workers=0",
    "discriminator.ndf=8",
)


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny networks gain nothing from a second thread, and on a busy 2-core machine OpenMP's
    barriers then wait on descheduled threads: 10-25x slower steps, measured. Restored after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def tiny_teacher(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(123)
    path = tmp_path_factory.mktemp("teacher") / "teacher.safetensors"
    save_generator(create_generator(GeneratorSpec(ngf=8, n_blocks=2)), path)
    return path


def _settings(teacher: Path, h2z: Path, out: Path, **changes: Any) -> CompareSettings:
    base = CompareSettings(
        teacher=str(teacher),
        data=str(h2z / "trainA"),
        out=str(out),
        methods=("none", "output"),
        seeds=2,
        steps=2,
        size=32,
        student_ngf=4,
        eval_data=str(h2z / "testA"),
        eval_limit=4,
        overrides=FAST,
        latency_repeats=2,
    )
    return dataclasses.replace(base, **changes)


def _without(config: Any, *keys: str) -> dict[str, Any]:
    data = to_dict(config)
    for key in keys:
        section, _, name = key.partition(".")
        if name:
            data[section].pop(name)
        else:
            data.pop(section)
    return data


def test_runs_differ_only_in_method_and_seed(tiny_teacher: Path, photos_root: Path, tmp_path: Path) -> None:
    settings = _settings(tiny_teacher, photos_root, tmp_path, methods=("none", "output", "reko"))
    configs = {(m, s): settings.run_config(m, s, tmp_path / m / str(s)) for m in settings.methods for s in (0, 1)}
    assert configs[("reko", 1)].train.seed == 1 and configs[("reko", 1)].distill.method == "reko"
    same = _without(configs[("none", 0)], "distill", "out")
    for config in configs.values():
        assert _without(config, "distill", "out", "train.seed") == _without(
            configs[("none", 0)], "distill", "out", "train.seed"
        )
    assert _without(configs[("output", 0)], "distill", "out") == same
    assert configs[("none", 0)].data.crop_size == 32 and configs[("none", 0)].student.ngf == 4


def test_compare_refuses_overrides_of_what_it_varies(tiny_teacher: Path, photos_root: Path, tmp_path: Path) -> None:
    for override, flag in (
        ("train.seed=5", "--seeds"),
        ("distill.method=reko", "--methods"),
        ("train.steps=9", "--steps"),
    ):
        with pytest.raises(RekoError, match=flag):
            _settings(tiny_teacher, photos_root, tmp_path, overrides=(override,))
    with pytest.raises(RekoError, match="unknown distillation method"):
        _settings(tiny_teacher, photos_root, tmp_path, methods=("none", "nope"))


def test_same_seed_same_initial_networks_and_data_whatever_the_method(
    tiny_teacher: Path, photos_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the real distill entry point, stopping where the trainer would start."""
    import reko.train.runner as train_run
    from reko.api import distill

    seen: dict[tuple[str, int], dict[str, Any]] = {}

    class Capture:
        def __init__(self, trainable: Any, train_set: Any, val_set: Any, train: Any, *args: Any) -> None:
            student = trainable.direction.student
            seen[(trainable.checkpoint_metadata()["method"], train.seed)] = {
                "student": {k: v.clone() for k, v in student.state_dict().items()},
                "discriminator": {k: v.clone() for k, v in trainable.discriminator.state_dict().items()},
                "paths": list(train_set.paths),
                "seed": train.seed,
            }

        def fit(self, resume: bool = False, stop_at: int | None = None, on_start: Any = None) -> Any:
            raise _Stop

    monkeypatch.setattr(train_run, "Trainer", Capture)
    settings = _settings(tiny_teacher, photos_root, tmp_path, methods=("none", "feature", "reko"))
    for method in settings.methods:
        for seed in (0, 1):
            with pytest.raises(_Stop):
                distill(settings.run_config(method, seed, run_dir(tmp_path, method, seed)))

    def same_student(a: tuple[str, int], b: tuple[str, int]) -> bool:
        return all(torch.equal(seen[a]["student"][k], seen[b]["student"][k]) for k in seen[a]["student"])

    def same_discriminator(a: tuple[str, int], b: tuple[str, int]) -> bool:
        return all(
            torch.equal(seen[a]["discriminator"][k], seen[b]["discriminator"][k]) for k in seen[a]["discriminator"]
        )

    for seed in (0, 1):
        assert same_student(("none", seed), ("feature", seed)) and same_student(("none", seed), ("reko", seed))
        # Methods with heads (feature adapters, ReKo projectors) must not shift the discriminator's init.
        assert same_discriminator(("none", seed), ("feature", seed))
        assert same_discriminator(("none", seed), ("reko", seed))
        assert seen[("none", seed)]["paths"] == seen[("reko", seed)]["paths"]
    assert not same_student(("none", 0), ("none", 1))


class _Stop(Exception):
    pass


def test_compare_end_to_end_then_resume(
    tiny_teacher: Path, photos_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "cmp"
    settings = _settings(tiny_teacher, photos_root, out)
    fid = INCEPTION_PATH.is_file()  # FID/KID need the Inception weights of ../shared; PSNR/SSIM run anywhere
    if not fid:
        settings = dataclasses.replace(settings, metrics=("paired",))
    # One run already started and stopped midway: compare must continue it, not restart it.
    from reko.api import distill

    partial = distill(settings.run_config("output", 1, run_dir(out, "output", 1)), stop_at=1)
    assert not partial.finished
    logs: list[str] = []
    result = compare(settings, log=logs.append)
    assert result.complete
    assert any("output seed 1: resuming" in line for line in logs)

    document = json.loads((out / "comparison.json").read_text())
    assert [row["method"] for row in document["rows"]] == ["none", "output"]
    for row in document["rows"]:
        assert row["seeds"] == [0, 1]
        for metric in ("fid_vs_teacher", "kid_vs_teacher")[: 2 * fid] + ("psnr_vs_teacher", "ssim_vs_teacher"):
            assert row[metric]["n"] == 2 and row[metric]["std"] is not None, metric
        assert row["parameters"] < document["teacher"]["parameters"]
        assert row["macs_field"] >= row["macs_true"] > 0 and row["latency_ms"] > 0
    assert document["teacher"]["method"] == "teacher"
    per_seed = document["per_seed"]["none"]
    psnr = [per_seed[s]["psnr_vs_teacher"] for s in ("0", "1")]
    assert document["rows"][0]["psnr_vs_teacher"]["mean"] == pytest.approx(sum(psnr) / 2)
    markdown = (out / "comparison.md").read_text()
    assert "| teacher |" in markdown and "| none | 2 |" in markdown and ("FID vs teacher" in markdown) == fid
    for method in settings.methods:
        for seed in (0, 1):
            assert (run_dir(out, method, seed) / "finished.json").is_file()
            assert (run_dir(out, method, seed) / "eval.json").is_file()

    # Resume: nothing is trained or evaluated again, and the table is the same.
    import reko.compare.evaluation as evaluation
    import reko.compare.runner as runner

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a finished run was repeated")

    monkeypatch.setattr(runner, "distill", forbidden)
    monkeypatch.setattr(evaluation.Evaluator, "evaluate_student", forbidden)
    logs.clear()
    again = compare(settings, log=logs.append)

    def quality(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:  # latency is measured anew
        return [{k: v for k, v in row.items() if not k.startswith("latency")} for row in rows]

    assert quality(json.loads(json.dumps(again.document["rows"]))) == quality(document["rows"])
    assert sum("already trained" in line for line in logs) == 4

    # Other training settings in the same folder are refused.
    with pytest.raises(RekoError, match="steps"):
        compare(dataclasses.replace(settings, steps=3), log=logs.append)


def test_failed_run_is_reported_and_the_rest_continue(
    tiny_teacher: Path, photos_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that fails while training is reported and the other methods still run.

    (A constraint known up front, such as similarity's batch of two, stops the comparison before
    anything trains: tests/test_friction.py.)"""
    import reko.compare.runner as runner

    real_distill = runner.distill

    def failing(config: Any, *args: Any, **kwargs: Any) -> Any:
        if config.distill.method == "output":
            raise RekoError("the output run failed while training (train.batch_size was the problem)")
        return real_distill(config, *args, **kwargs)

    monkeypatch.setattr(runner, "distill", failing)
    out = tmp_path / "cmp"
    code = main(
        [
            "compare",
            "--teacher", str(tiny_teacher),
            "--data", str(photos_root / "trainA"),
            "--methods", "output,none",
            "--seeds", "1",
            "--steps", "1",
            "--size", "32",
            "--student-ngf", "4",
            "--eval-limit", "3",
            "--metrics", "paired",
            "--latency-repeats", "1",
            "--out", str(out),
            "--set", *FAST,
        ]
    )  # fmt: skip
    assert code == 1
    document = json.loads((out / "comparison.json").read_text())
    assert [f["method"] for f in document["failed"]] == ["output"]
    assert "batch_size" in document["failed"][0]["error"]
    assert [row["method"] for row in document["rows"]] == ["none"]
    assert "fid_vs_teacher" not in document["rows"][0] and "psnr_vs_teacher" in document["rows"][0]
    assert document["eval"]["data"].endswith("testA")  # the default: the split beside trainA
    assert "Failed runs" in (out / "comparison.md").read_text()


def test_default_eval_data(tmp_path: Path, photos_root: Path, facades_dir: Path) -> None:
    assert default_eval_data(photos_root / "trainA") == photos_root / "testA"
    assert default_eval_data(facades_dir) == facades_dir
    with pytest.raises(RekoError, match="--eval-data"):
        default_eval_data(tmp_path)


def test_statistics_and_table() -> None:
    assert stat([1.0, 2.0, 3.0]) == {"mean": 2.0, "std": 1.0, "n": 3}
    assert stat([4.0]) == {"mean": 4.0, "std": None, "n": 1}
    assert stat([float("inf"), 2.0])["n"] == 1
    row = method_row("output", {0: {"psnr_vs_teacher": 20.0}, 1: {"psnr_vs_teacher": 22.0}}, {"parameters": 2e6})
    table = markdown_table(None, [row])
    assert "| output | 2 | 2.00M |" in table and "21.00 ± 1.41" in table and "PSNR vs teacher ↑" in table


def test_numbers_equal_those_of_reko_eval(
    tiny_teacher: Path, photos_root: Path, inception_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """compare's evaluator reuses the teacher's outputs across students; the numbers must be reko eval's."""
    from reko.compare.evaluation import Evaluator, load_eval_images
    from reko.eval.evaluate import EvalConfig, evaluate
    from reko.eval.features import FeatureExtractor
    from reko.eval.inception import load_inception
    from reko.models import load_generator

    teacher = load_generator(tiny_teacher)
    torch.manual_seed(7)
    student = create_generator(teacher.spec.with_width(4)).eval()
    settings = _settings(tiny_teacher, photos_root, Path("unused"), inception=str(inception_path))
    images = load_eval_images(photos_root / "testA", 32, False, "AtoB", 4, limit=4)
    ours = Evaluator(settings, images, teacher).evaluate_student(student)

    extractor = FeatureExtractor(load_inception(inception_path), "clean", num_workers=0, progress=False)
    config = EvalConfig(data=photos_root / "testA", size=32, limit=4, num_workers=0, progress=False, cache=False)
    report = evaluate(student, config, teacher=teacher, extractor=extractor)
    theirs = next(row for row in report["results"] if row["model"] == "student" and row["against"] == "teacher")
    for metric in ("psnr", "ssim", "l1", "stlpips", "fid"):
        assert ours[f"{metric}_vs_teacher"] == pytest.approx(theirs[metric], rel=1e-5), metric
    assert ours["kid_vs_teacher"] == pytest.approx(theirs["kid_mean"], rel=1e-5, abs=1e-9)

    # Against real target-domain images (--eval-target / reko eval --real): the teacher's row too.
    real = tmp_path / "real"
    real.mkdir()
    for path in sorted((photos_root / "testB").iterdir())[:3]:
        shutil.copy(path, real / path.name)
    monkeypatch.setenv("REKO_CACHE", str(tmp_path / "cache"))
    evaluator = Evaluator(dataclasses.replace(settings, metrics=("fid",)), images, teacher, str(real))
    ours = evaluator.evaluate_student(student)
    assert set(ours) == {"fid_vs_teacher", "kid_vs_teacher", "fid_vs_real", "kid_vs_real"}
    assert set(evaluator.evaluate_teacher()) == {"fid_vs_real", "kid_vs_real"}
    config = dataclasses.replace(config, real=real, metrics=("fid", "kid"))
    report = evaluate(student, config, extractor=extractor)
    theirs = next(row for row in report["results"] if row["against"] == "real images")
    assert ours["fid_vs_real"] == pytest.approx(theirs["fid"], rel=1e-5)


def test_a_stopped_run_leaves_the_rest_pending(
    tiny_teacher: Path, photos_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C makes the trainer save and return unfinished: compare stops there and says what is left."""
    import reko.compare.runner as runner
    from reko.train.runner import RunResult

    monkeypatch.setattr(runner, "distill", lambda config, out, resume=False: RunResult(Path(out), 1, False))
    result = compare(_settings(tiny_teacher, photos_root, tmp_path, metrics=("paired",)), log=lambda _: None)
    assert not result.complete
    assert result.pending == [
        {"method": "none", "seed": 0},
        {"method": "output", "seed": 0},
        {"method": "none", "seed": 1},
        {"method": "output", "seed": 1},
    ]
    assert "Not finished yet" in (tmp_path / "comparison.md").read_text()
