"""Runs that must survive what goes wrong around them (#16 class 1): interrupted writes, a full
disk, a damaged log, a folder that is not a run, a comparison whose start failed.

Everything goes through `reko.cli.main` (or the one library function concerned), with a tiny
teacher and a folder of noise photos: nothing here needs ../shared.
"""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from tests.helpers.tiny_runs import FAST, size, tiny_teacher

from reko.cli import main
from reko.errors import RekoError


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("run_safety")
    photos = root / "photos"
    photos.mkdir()
    for i in range(6):
        pixels = np.random.default_rng(i).integers(0, 256, (40, 40, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(photos / f"{i}.png")
    return {"root": root, "teacher": tiny_teacher(root / "teacher.safetensors"), "photos": photos}


def _distill(world: dict[str, Path], out: Path, *sets: str) -> list[str]:
    return [
        "distill", "--teacher", str(world["teacher"]), "--data", str(world["photos"]), "--out", str(out),
        "--set", "student.ngf=4", *size(32), *FAST, "train.steps=4", *sets,
    ]  # fmt: skip


def _records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "scalars.jsonl").read_text(encoding="utf-8").splitlines()]


def test_a_truncated_last_scalars_line_does_not_stop_a_resume_and_stale_temporaries_go(
    world: dict[str, Path], tmp_path: Path
) -> None:
    """Power lost mid-append leaves half a JSON line; a killed save leaves a ``.state.pt.*.tmp``."""
    run = tmp_path / "run"
    assert main([*_distill(world, run), "--stop-at", "2"]) == 0
    with (run / "scalars.jsonl").open("a", encoding="utf-8") as f:
        f.write('{"step": 3, "G/tot')  # the append a power loss cut short
    stale = [run / ".state.pt.k1ll3d.tmp", run / ".student_latest.safetensors.x.tmp", run / "images" / ".a.png.y.tmp"]
    for path in stale:
        path.write_bytes(b"\0" * 1000)
    assert main(["distill", "--resume", str(run)]) == 0
    steps = [r["step"] for r in _records(run) if "G/total" in r]  # every line is JSON again
    assert steps == [1, 2, 3, 4]
    assert not any(path.exists() for path in stale)


def test_tensorboard_keeps_the_saved_steps_own_scalars_after_a_resume(world: dict[str, Path], tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    assert main([*_distill(world, run), "--stop-at", "2"]) == 0
    assert main(["distill", "--resume", str(run)]) == 0
    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    steps = [event.step for event in events.Scalars("G/total")]
    assert steps == [1, 2, 3, 4]  # step 2 was logged before the save: purging from 2 lost it


def test_a_non_empty_folder_that_is_not_a_run_is_refused_untouched(
    world: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "photos_of_mine"
    folder.mkdir()
    (folder / "student_latest.safetensors").write_bytes(b"my own file")
    (folder / "config.yaml").write_text("mine: true\n")
    assert main(_distill(world, folder)) == 2
    assert "is not empty" in capsys.readouterr().err
    assert sorted(p.name for p in folder.iterdir()) == ["config.yaml", "student_latest.safetensors"]
    assert (folder / "student_latest.safetensors").read_bytes() == b"my own file"
    assert main(_distill(world, tmp_path / "empty_is_fine")) == 0


def test_a_full_disk_during_a_state_save_is_one_clear_error_and_the_previous_state_survives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reko.train import state as state_module

    path = tmp_path / "state.pt"
    state_module.save_state({"step": 1, "w": torch.ones(3)}, path)
    before = path.read_bytes()

    def full_disk(obj: object, file: Path) -> None:
        Path(file).write_bytes(b"PK\3\4 partial")
        raise RuntimeError("[enforce fail at inline_container.cc:664] . PytorchStreamWriter failed writing file")

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(state_module.torch, "save", full_disk)
    monkeypatch.setattr("reko.atomic.shutil.disk_usage", lambda p: usage._replace(free=4096))
    with pytest.raises(RekoError, match=r"disk full: could not write .*state\.pt .*previous version is kept"):
        state_module.save_state({"step": 2, "w": torch.zeros(3)}, path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["state.pt"]


def test_a_full_disk_in_any_atomic_write_says_so(tmp_path: Path) -> None:
    from reko.atomic import atomic_path

    with pytest.raises(RekoError, match=r"disk full: could not write .*eval\.json.*nothing was written"):
        with atomic_path(tmp_path / "eval.json"):
            raise OSError(errno.ENOSPC, "No space left on device")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_compare_start_does_not_lock_its_folder(world: dict[str, Path], tmp_path: Path) -> None:
    from reko.compare import CompareSettings, compare
    from reko.compare.runner import SETTINGS_FILE, check_settings

    out = tmp_path / "cmp"
    bad = CompareSettings(
        teacher=str(world["root"] / "photos" / "0.png"), data=str(world["photos"]), out=str(out), steps=3, size=32
    )
    with pytest.raises(RekoError):
        compare(bad)  # the "teacher" is a photo: nothing was trained
    assert not (out / SETTINGS_FILE).exists()
    (out / SETTINGS_FILE).write_text(json.dumps({"steps": 99}))  # as an older reko left it
    good = CompareSettings(teacher=str(world["teacher"]), data=str(world["photos"]), out=str(out), steps=5, size=32)
    check_settings(good)  # nothing trained: no lock
    state = out / "runs" / "none" / "seed0" / "state.pt"
    state.parent.mkdir(parents=True)
    state.write_bytes(b"")
    with pytest.raises(RekoError, match="trained with other settings"):
        check_settings(good)


@pytest.mark.parametrize("sig", ["SIGKILL", "SIGTERM"])
def test_a_killed_run_resumes_bit_identical_to_an_uninterrupted_one(
    world: dict[str, Path], tmp_path: Path, sig: str
) -> None:
    """kill -9 (no chance to save: the last periodic state is used) or SIGTERM (finish the step,
    save), then --resume: the weights and the logged losses equal those of a run never stopped."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.helpers.tiny_runs import max_difference, trainable_state

    killed = tmp_path / "killed"
    constant = ["train.decay_steps=0", "train.save_every=3", "train.eval_every=0", "log.image_every=0"]
    argv = _distill(world, killed, *constant, "train.steps=100000")
    process = subprocess.Popen([sys.executable, "-m", "reko", *argv], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while time.time() < deadline and not (killed / "state.pt").exists():
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        time.sleep(0.1)
    os.kill(process.pid, getattr(signal, sig))
    process.communicate(timeout=120)
    saved = torch.load(killed / "state.pt", weights_only=True)["step"]
    assert saved >= 3
    end = saved + 3
    assert main(["distill", "--resume", str(killed), "--set", f"train.steps={end}"]) == 0
    straight = tmp_path / "straight"
    assert main(_distill(world, straight, *constant, f"train.steps={end}")) == 0
    assert max_difference(trainable_state(straight), trainable_state(killed)) == 0.0
    losses = [[r["G/total"] for r in _records(run) if "G/total" in r] for run in (straight, killed)]
    assert losses[0] == losses[1] and len(losses[0]) == end


def _snapshot(run: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    "change",
    [
        "student.ngf=16",
        "train.seed=5",
        "data.crop_size=16",
        "train.batch_size=2",
        "train.lr=0.1",
        "distill.num_patches=8",
    ],
)
def test_a_resume_that_would_change_what_was_trained_is_refused_and_writes_nothing(
    world: dict[str, Path], tmp_path: Path, change: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert main([*_distill(world, run), "--stop-at", "2"]) == 0
    before = _snapshot(run)
    assert main(["distill", "--resume", str(run), "--set", change]) == 2
    error = capsys.readouterr().err
    assert "--resume cannot change what the run's saved steps trained" in error and change.split("=")[0] in error
    assert _snapshot(run) == before  # config.yaml included: the run still resumes
    assert main(["distill", "--resume", str(run)]) == 0


def test_a_resume_whose_state_does_not_load_writes_nothing(
    world: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert main([*_distill(world, run), "--stop-at", "2"]) == 0
    state = torch.load(run / "state.pt", weights_only=True)
    del state["trainable"][next(iter(state["trainable"]))]  # a state that does not fit the networks
    torch.save(state, run / "state.pt")
    before = _snapshot(run)
    assert main(["distill", "--resume", str(run), "--set", "train.steps=6"]) == 2
    assert "does not fit this run's networks" in capsys.readouterr().err
    assert _snapshot(run) == before


def test_what_a_resume_may_change_is_recorded_per_segment(world: dict[str, Path], tmp_path: Path) -> None:
    from reko.config import read_yaml

    run = tmp_path / "run"
    assert main([*_distill(world, run), "--stop-at", "2"]) == 0
    assert main(["distill", "--resume", str(run), "--set", "train.steps=5", "log.log_every=2"]) == 0
    history = [json.loads(line) for line in (run / "resumes.jsonl").read_text().splitlines()]
    assert history == [{"step": 2, "changed": {"log.log_every": [1, 2], "train.steps": [4, 5]}}]
    assert read_yaml(run / "config.yaml")["train"]["steps"] == 5


def test_a_run_resumes_from_any_working_directory(
    world: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reko.config import read_yaml

    shutil.copy(world["teacher"], tmp_path / "teacher.safetensors")
    shutil.copytree(world["photos"], tmp_path / "photos")
    monkeypatch.chdir(tmp_path)
    argv = [*_distill(world, tmp_path / "run"), "--stop-at", "2"]
    argv[argv.index("--teacher") + 1], argv[argv.index("--data") + 1] = "teacher.safetensors", "photos"
    assert main(argv) == 0
    saved = read_yaml(tmp_path / "run" / "config.yaml")
    assert saved["teacher"] == str(tmp_path / "teacher.safetensors") and saved["data"]["root"] == str(
        tmp_path / "photos"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["distill", "--resume", str(tmp_path / "run")]) == 0
