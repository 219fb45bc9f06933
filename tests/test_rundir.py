"""`RunDir` names every file of a real run folder (a short `reko distill` on the shipped demo data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.tiny_runs import FAST, size
from reko.cli import main
from reko.results.rundir import RunDir

DEMO_DATA = Path(__file__).resolve().parents[1] / "src" / "reko" / "demo_data"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> RunDir:
    """Two steps of ReKo from the shipped teacher on the shipped photos, then a resume to step 4."""
    out = tmp_path_factory.mktemp("rundir") / "run"
    teacher = DEMO_DATA / "teacher_resnet9_ngf16.safetensors"
    argv = ["distill", "--teacher", str(teacher), "--data", str(DEMO_DATA / "train"), "--out", str(out)]
    assert main([*argv, "--set", *size(32), *FAST, "train.steps=2"]) == 0
    assert main(["distill", "--resume", str(out), "--set", "train.steps=4", "log.progress=false"]) == 0
    return RunDir(out)


def test_rundir_names_every_file_a_run_wrote(run: RunDir) -> None:
    assert run.is_run() and run.has_state()
    for path in (run.config, run.state, run.scalars, run.resumes, run.tensorboard, run.images):
        assert path.exists(), path
    assert set(run.checkpoints()) == {"student"}  # heads files are not checkpoints
    assert set(run.checkpoints()["student"]) == {"best", "latest"}
    assert run.preferred("student") == (run.checkpoint("student", "best"), "best")
    assert run.grids() and run.grids()[-1] == run.grid(4)
    assert json.loads(run.resumes.read_text().splitlines()[0])["changed"]["train.steps"] == [2, 4]
    steps = [json.loads(line)["step"] for line in run.scalars.read_text().splitlines()]
    assert steps[-1] == 4


def test_rundir_of_a_folder_that_is_no_run(tmp_path: Path) -> None:
    assert not RunDir(tmp_path).is_run() and not RunDir(tmp_path / "absent").is_run()
    assert RunDir(tmp_path).checkpoints() == {} and RunDir(tmp_path).preferred("student") is None


def test_heads_are_saved_beside_each_student_checkpoint_and_read_back(run: RunDir) -> None:
    from reko.distill.config import DistillConfig
    from reko.distill.registry import get_method
    from reko.models import load_generator
    from reko.results.heads import Heads
    from reko.train.runner import load_run_config
    from reko.train.state import load_state

    heads = Heads.load(run.heads_file("student", "latest"))
    assert run.heads_file("student", "best").is_file()
    config = load_run_config(DistillConfig, run.path)
    assert (heads.spec.method, heads.spec.step) == ("reko", 4)
    assert heads.spec.taps and heads.tensors  # ReKo's projection heads and scorer
    # the very weights the training state holds for the method (state.pt is not read by the report)
    trained = load_state(run.state)["trainable"]
    for key, tensor in heads.tensors.items():
        assert heads.spec.shapes[key] == list(tensor.shape)
        assert trained[f"direction.method.{key}"].equal(tensor)
    # a method rebuilt from the spec alone loads them strictly
    from reko.config import from_dict

    method_class = get_method(heads.spec.method)
    options = from_dict(method_class.config_class, heads.spec.options)
    assert options == config.distill.options
    teacher, student = load_generator(config.teacher), load_generator(run.checkpoint("student"))
    method_class(options, teacher.feature_info, student.feature_info).load_state_dict(heads.tensors)


def test_a_heads_file_that_is_not_one_is_named(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    from reko.results import ResultError
    from reko.results.heads import Heads

    with pytest.raises(ResultError, match="absent.heads.safetensors: no such heads file"):
        Heads.load(tmp_path / "absent.heads.safetensors")
    bare = tmp_path / "bare.safetensors"
    save_file({}, str(bare))
    with pytest.raises(ResultError, match="bare.safetensors: a safetensors file without a heads spec"):
        Heads.load(bare)
