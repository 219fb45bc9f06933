"""``reko demo``: the shipped files, and the whole job end to end with a few steps."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from reko.cli import main
from reko.demo import STUDENT_NGF, TEACHER_FILE, demo_files
from reko.models import GeneratorSpec, load_generator, read_metadata

DEMO_DATA = Path(__file__).resolve().parents[1] / "src" / "reko" / "demo_data"
MAX_DEMO_BYTES = 5 * 1024 * 1024  # the limit on repository demo data


def test_demo_data_stays_small() -> None:
    files = [p for p in DEMO_DATA.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    total = sum(p.stat().st_size for p in files)
    assert total <= MAX_DEMO_BYTES, f"demo data holds {total / 1e6:.2f} MB in {len(files)} files"


def test_demo_files_are_found_through_the_package() -> None:
    files = demo_files()
    assert files.teacher.name == TEACHER_FILE
    assert files.teacher.resolve() == (DEMO_DATA / TEACHER_FILE).resolve()
    assert len(list(files.train.glob("*.jpg"))) == 24
    assert len(list(files.test.glob("*.jpg"))) == 8


def test_shipped_teacher_is_what_it_claims() -> None:
    teacher = load_generator(DEMO_DATA / TEACHER_FILE)
    assert teacher.spec == GeneratorSpec(family="resnet", ngf=16, n_blocks=9, norm="instance_affine")
    # Stored as float16 to halve the file, rebuilt as float32 by the loader.
    assert all(p.dtype == torch.float32 for p in teacher.parameters())
    with torch.inference_mode():
        out = teacher(torch.rand(1, 3, 64, 64) * 2 - 1)
    assert out.shape == (1, 3, 64, 64) and torch.isfinite(out).all()
    metadata = read_metadata(DEMO_DATA / TEACHER_FILE)
    assert metadata["demo.stored_dtype"] == "float16"
    assert len(metadata["demo.distilled_from_sha256"]) == 64
    assert float(metadata["demo.testA_128_psnr_vs_source"]) > 20  # it does follow the real generator
    student = teacher.spec.with_width(STUDENT_NGF)
    assert student.ngf * 2 == teacher.spec.ngf  # the 4x compression the docs state


def test_demo_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    args = ["demo", "--out", str(out), "--steps", "6", "--threads", "1", "--no-fid", "--no-progress"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    report = out / "report" / "index.html"
    assert f"report: {report}" in printed
    assert report.is_file() and "<html" in report.read_text(encoding="utf-8").lower()

    evaluation = json.loads((out / "eval.json").read_text(encoding="utf-8"))
    row = next(r for r in evaluation["results"] if r["model"] == "student" and r["against"] == "teacher")
    assert math.isfinite(row["psnr"]) and row["images"] == 8
    assert "skipped" in evaluation["notes"][0]

    export = json.loads((out / "export" / "export.json").read_text(encoding="utf-8"))
    assert export["passed"] and all(check["passed"] for check in export["parity"])
    assert (out / "export" / "student.onnx").is_file()

    costs = {row["model"]: row for row in json.loads((out / "cost.json").read_text(encoding="utf-8"))["rows"]}
    assert costs["teacher"]["parameters"] > 3 * costs["student"]["parameters"]

    # A second run into the same folder is refused with a clear message, before any work.
    assert main(args) == 2
    assert "--resume" in capsys.readouterr().err


def test_demo_refuses_folders_it_cannot_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["demo", "--out", str(empty), "--resume"]) == 2
    assert "holds no demo run" in capsys.readouterr().err
    (empty / "notes.txt").write_text("something else", encoding="utf-8")
    assert main(["demo", "--out", str(empty)]) == 2
    assert "not an empty folder" in capsys.readouterr().err
