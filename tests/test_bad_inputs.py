"""Bad input through the command line: exit status 2, one clear line, never a Python traceback.

One table of (argv, what the message must say) runs through `reko.cli.main`, over every class of
bad input that a new user's battery found (#16): config values, size and count flags, unwritable
or misnamed outputs, tiny or non-paired images, crafted checkpoints. Nothing here needs ../shared.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from safetensors.torch import save_file
from tests.helpers.tiny_runs import FAST, size, tiny_teacher

from reko.cli import main
from reko.models import GeneratorSpec, create_generator


def _noise(path: Path, width: int, height: int, seed: int = 0) -> Path:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny teacher, photo folders, a paired folder of square photos, files to misuse."""
    root = tmp_path_factory.mktemp("bad_inputs")
    teacher = tiny_teacher(root / "teacher.safetensors")
    for i in range(6):
        _noise(root / "photos" / f"{i}.png", 40, 40, seed=i)
        _noise(root / "squares" / "train" / f"{i}.png", 40, 40, seed=i)
    _noise(root / "tiny" / "a.png", 3, 3)
    (root / "a_file.txt").write_text("not a folder\n")
    crafted = root / "huge_spec.safetensors"
    model = create_generator(GeneratorSpec(ngf=4, n_blocks=2))
    save_file(
        {k: v.contiguous() for k, v in model.state_dict().items()},
        str(crafted),
        metadata={"reko.format": "reko.generator/1", "reko.spec": '{"n_blocks": 100000000, "ngf": 200000}'},
    )
    return {"root": root, "teacher": teacher, "photos": root / "photos", "crafted": crafted}


def _distill(
    world: dict[str, Path], out: str | Path, *sets: str, data: Path | None = None, teacher: Path | None = None
) -> list[str]:
    return [
        "distill",
        "--teacher", str(teacher or world["teacher"]),
        "--data", str(data or world["photos"]),
        "--out", str(world["root"] / out),
        "--set", "student.ngf=4", "train.steps=2", *size(32), *FAST, *sets,
    ]  # fmt: skip


Case = Callable[[dict[str, Path]], list[str]]
CASES: list[tuple[str, Case, str]] = [
    # class 5: config values
    ("lr<0", lambda w: _distill(w, "r", "train.lr=-1"), r"train\.lr must be > 0, got -1"),
    ("batch_size 0", lambda w: _distill(w, "r", "train.batch_size=0"), r"train\.batch_size must be >= 1"),
    ("save_every 0", lambda w: _distill(w, "r", "train.save_every=0"), r"train\.save_every must be >= 1"),
    ("device banana", lambda w: _distill(w, "r", "train.device=banana"), r"train\.device must be auto, cpu"),
    ("20-digit seed", lambda w: _distill(w, "r", "train.seed=12345678901234567890"), r"train\.seed must be in"),
    ("num_workers<0", lambda w: _distill(w, "r", "data.num_workers=-1"), r"data\.num_workers must be >= 0"),
    ("threads<0", lambda w: _distill(w, "r", "train.threads=-1"), r"train\.threads must be >= 0"),
    ("eval_every<0", lambda w: _distill(w, "r", "train.eval_every=-1"), r"train\.eval_every must be >= 0"),
    ("val_size<0", lambda w: _distill(w, "r", "data.val_size=-1"), r"data\.val_size must be >= 1"),
    ("steps 0", lambda w: _distill(w, "r", "train.steps=0"), r"train\.steps must be >= 1, got 0"),
    ("steps<0", lambda w: _distill(w, "r", "train.steps=-5"), r"train\.steps must be >= 1, got -5"),
    # class 5: size, batch-size and count flags
    ("info --size 0", lambda w: ["info", str(w["teacher"]), "--size", "0"], r"--size: must be an integer in \[1,"),
    ("info --size 1e6", lambda w: ["info", str(w["teacher"]), "--size", "1000000"], r"--size: .*got 1000000"),
    ("bench --batch-size 0", lambda w: ["bench", "--checkpoint", str(w["teacher"]), "--batch-size", "0"],
     r"--batch-size: must be an integer >= 1"),
    ("eval --batch-size 0", lambda w: ["eval", "--checkpoint", str(w["teacher"]), "--data", str(w["photos"]),
                                       "--batch-size", "0"], r"--batch-size: must be an integer >= 1"),
    ("--kid-subset-size 1", lambda w: ["fid", str(w["photos"]), str(w["photos"]), "--kid-subset-size", "1"],
     r"--kid-subset-size: must be an integer >= 2"),
    ("translate --tile 0", lambda w: ["translate", "--checkpoint", str(w["teacher"]), "--input", str(w["photos"]),
                                      "--output", str(w["root"] / "t"), "--tile", "0"], r"--tile: must be"),
    # class 5: outputs
    ("translate --output is a file", lambda w: ["translate", "--checkpoint", str(w["teacher"]), "--input",
                                                str(w["photos"]), "--output", str(w["root"] / "a_file.txt")],
     r"--output .*a_file\.txt is an existing file"),
    ("translate into /sys", lambda w: ["translate", "--checkpoint", str(w["teacher"]), "--input", str(w["photos"]),
                                       "--output", "/sys/reko-out"], r"cannot write into --output folder /sys/"),
    ("eval --out under a file", lambda w: ["eval", "--checkpoint", str(w["teacher"]), "--data", str(w["photos"]),
                                           "--teacher", str(w["teacher"]), "--metrics", "psnr",
                                           "--out", str(w["root"] / "a_file.txt" / "eval.json")],
     r"--out folder .*a_file\.txt is a file, not a folder"),
    ("export --out under a file", lambda w: ["export", "--checkpoint", str(w["teacher"]), "--out",
                                             str(w["root"] / "a_file.txt" / "s.onnx")], r"a_file\.txt is a file"),
    ("distill --out in /sys", lambda w: _distill(w, Path("/sys/reko-run")),
     r"cannot write into run folder /sys/reko-run"),
    # class 5: images
    ("3x3 input", lambda w: ["translate", "--checkpoint", str(w["teacher"]), "--input", str(w["root"] / "tiny"),
                             "--output", str(w["root"] / "t3")], r"a\.png: 3x3 is too small for this generator"),
    # class 3: a folder of square photos is not paired data
    ("square photos as pairs", lambda w: _distill(w, "p", data=w["root"] / "squares"), r"twice as wide as high"),
    # class 4: a crafted spec asks for a huge network
    ("huge spec", lambda w: ["info", str(w["crafted"])], r"unusable reko\.spec metadata: generator"),
    ("huge spec as teacher", lambda w: _distill(w, "h", teacher=w["crafted"]),
     r"huge_spec\.safetensors: unusable reko\.spec"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "message"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_exits_2_with_one_clear_line(
    world: dict[str, Path], case: Case, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main(case(world))
    except SystemExit as exited:  # argparse's own errors (a flag's type) exit with status 2
        code = exited.code
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert code == 2, output
    assert "Traceback" not in output
    assert re.search(message, output), output


def test_a_dataloader_worker_error_reaches_the_terminal_as_one_line(tmp_path: Path) -> None:
    """A truncated image met by a DataLoader worker process: the command says which file and how
    to go on (the state is saved, data.skip_bad), not the worker's traceback."""
    teacher = tiny_teacher(tmp_path / "teacher.safetensors")
    photos = tmp_path / "photos"
    for i in range(6):
        _noise(photos / f"{i}.png", 40, 40, seed=i)
    whole = _noise(photos / "9_bad.jpg", 40, 40).read_bytes()
    (photos / "9_bad.jpg").write_bytes(whole[: len(whole) // 2])  # the header still reads
    argv = [
        sys.executable, "-m", "reko", "distill", "--teacher", str(teacher), "--data", str(photos),
        "--out", str(tmp_path / "run"), "--set", "student.ngf=4", "train.steps=6", "train.batch_size=2",
        *size(32), *[s for s in FAST if not s.startswith("data.num_workers")], "data.num_workers=1",
        "train.save_every=100", "data.val_size=1",
    ]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "worker process" not in result.stderr, result.stderr
    assert "9_bad.jpg" in result.stderr and "data.skip_bad=true" in result.stderr
    assert "--resume" in result.stderr and (tmp_path / "run" / "state.pt").is_file()

    argv[argv.index(str(tmp_path / "run"))] = str(tmp_path / "run2")
    result = subprocess.run([*argv, "data.skip_bad=true"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "skipped 1 bad images" in result.stderr and "step 6 (finished)" in result.stderr


def test_translate_help_says_torchscript_files_run_code(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["translate", "--help"])
    assert "runs the code it carries when loaded" in " ".join(capsys.readouterr().out.split())
