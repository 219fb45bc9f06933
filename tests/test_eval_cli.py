"""`reko eval`, `reko fid` and `reko bench` on the real teacher and data (small subsets, small sizes)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from reko.cli import main
from reko.data import list_images
from reko.eval.evaluate import EvalConfig, evaluate
from reko.eval.macs import count_parameters
from reko.models import create_generator, load_generator, save_generator


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("eval_cli")


@pytest.fixture(autouse=True)
def private_cache(workdir: Path, monkeypatch) -> None:
    monkeypatch.setenv("REKO_CACHE", str(workdir / "cache"))


@pytest.fixture(scope="module")
def student_path(workdir: Path, teacher_path: Path) -> Path:
    """A freshly initialised student of the real teacher (its spec with ngf 16)."""
    torch.manual_seed(0)
    teacher = load_generator(teacher_path)
    return save_generator(create_generator(teacher.spec.with_width(16)), workdir / "student.safetensors")


@pytest.fixture(scope="module")
def zebras(workdir: Path, horse2zebra_dir: Path) -> Path:
    folder = workdir / "zebras"
    folder.mkdir()
    for path in list_images(horse2zebra_dir / "testB")[:3]:
        (folder / path.name).symlink_to(path)
    return folder


def test_eval_unpaired_with_teacher(student_path, teacher_path, horse2zebra_dir, zebras, workdir, capsys) -> None:
    out = workdir / "unpaired"
    argv = ["eval", "--checkpoint", str(student_path), "--teacher", str(teacher_path)]
    argv += ["--data", str(horse2zebra_dir / "testA"), "--real", str(zebras), "--limit", "3", "--size", "64"]
    argv += ["--out", str(out), "--no-progress", "--kid-subsets", "5", "--workers", "0"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "student" in printed and "teacher" in printed and "FID protocol clean" in printed
    report = json.loads((out / "eval.json").read_text())
    assert report["protocol"] == "clean"
    assert report["inception"]["checksum_verified"] and len(report["inception"]["sha256"]) == 64
    assert report["data"]["images"] == 3 and report["data"]["size"] == 64 and report["data"]["real_images"] == 3
    rows = {(r["model"], r["against"]): r for r in report["results"]}
    assert set(rows) == {("student", "real images"), ("student", "teacher"), ("teacher", "real images")}
    fidelity = rows[("student", "teacher")]
    for key in ("fid", "kid_mean", "psnr", "ssim", "l1", "stlpips"):
        assert np.isfinite(fidelity[key]), key
    assert 0 < fidelity["stlpips"] < 2  # an untrained student is far from the teacher, but finite
    assert rows[("teacher", "real images")]["reference_images"] == 3
    assert "psnr" not in rows[("teacher", "real images")]  # no ground truth for unpaired data
    assert report["models"]["teacher"]["parameters"] == count_parameters(load_generator(teacher_path))
    assert report["models"]["student"]["checkpoint"] == str(student_path)


def test_eval_paired_caches_the_targets(student_path, facades_dir, workdir) -> None:
    out = workdir / "paired.json"
    argv = ["eval", "--checkpoint", str(student_path), "--data", str(facades_dir), "--split", "val", "--paired"]
    argv += ["--direction", "BtoA", "--limit", "2", "--size", "64", "--out", str(out), "--no-progress"]
    argv += ["--metrics", "fid,kid,psnr,ssim,l1", "--kid-subsets", "3", "--workers", "0"]
    assert main(argv) == 0
    report = json.loads(out.read_text())
    (row,) = report["results"]
    assert (row["model"], row["against"], row["images"]) == ("generator", "ground truth", 2)
    assert row["fid"] > 0 and 0 < row["l1"] < 1 and -1 <= row["ssim"] <= 1 and row["psnr"] > 0
    cached = list((workdir / "cache" / "fid_reference").glob("facades-val-BtoA-targets-clean-*.npz"))
    assert len(cached) == 1
    assert main(argv) == 0  # now read from the cache: the same numbers
    again = json.loads(out.read_text())["results"][0]
    assert again["fid"] == pytest.approx(row["fid"], rel=1e-9)


def test_eval_refuses_what_the_data_cannot_give(student_path, horse2zebra_dir, capsys) -> None:
    argv = ["eval", "--checkpoint", str(student_path), "--data", str(horse2zebra_dir / "testA")]
    assert main(argv) == 2
    assert "nothing to compare with" in capsys.readouterr().err
    assert main([*argv, "--metrics", "psnr"]) == 2
    assert "ground truth" in capsys.readouterr().err
    assert main([*argv, "--metrics", "fid,bogus"]) == 2
    assert "bogus" in capsys.readouterr().err


def test_fid_command(horse2zebra_dir, zebras, workdir, capsys, monkeypatch) -> None:
    monkeypatch.setenv("REKO_CACHE", str(workdir / "fid_cache"))
    horses = workdir / "horses"
    horses.mkdir()
    for path in list_images(horse2zebra_dir / "testA")[:3]:
        (horses / path.name).symlink_to(path)
    assert main(["fid", str(horses), str(zebras), "--json", "--no-progress", "--workers", "0"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["count"] == result["reference_count"] == 3
    assert result["fid"] > 0 and result["kid_mean"] is not None and result["protocol"] == "clean"
    # The cached reference is a statistics file `reko fid` also accepts (FID only, no KID features needed).
    (stats,) = (workdir / "fid_cache" / "fid_reference").glob("zebras-clean-*.npz")
    assert main(["fid", str(horses), str(stats), "--json", "--no-progress", "--workers", "0"]) == 0
    from_stats = json.loads(capsys.readouterr().out)
    assert from_stats["fid"] == pytest.approx(result["fid"], rel=1e-9)
    assert main(["fid", str(horses), str(workdir / "missing")]) == 2


def test_bench_command(student_path, teacher_path, workdir, capsys) -> None:
    out = workdir / "bench.json"
    argv = ["bench", "--checkpoint", str(student_path), "--teacher", str(teacher_path), "--size", "64"]
    argv += ["--warmup", "1", "--repeats", "2", "--no-memory", "--threads", "1", "--json", str(out)]
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert "teacher" in table and "student" in table and "1 threads" in table
    rows = json.loads(out.read_text())["rows"]
    teacher, student = rows
    assert (
        teacher["parameters"] == count_parameters(load_generator(teacher_path))
        and student["parameters"] < teacher["parameters"] / 10
    )
    assert teacher["macs_field"] > teacher["macs_true"] > student["macs_true"]
    assert student["latency"]["threads"] == 1 and student["latency"]["repeats"] == 2


class _ChannelArgmax(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x  # three "classes": the strongest colour channel


def test_eval_segmentation_score_with_label_folder(student_path, horse2zebra_dir, workdir) -> None:
    labels = workdir / "labels"
    labels.mkdir()
    inputs = list_images(horse2zebra_dir / "testA")[:2]
    for i, path in enumerate(inputs):
        classes = np.full((40, 40), i % 3, dtype=np.uint8)
        classes[:10] = 255  # ignored rows
        Image.fromarray(classes).save(labels / f"{path.stem}.png")
    config = EvalConfig(
        data=horse2zebra_dir / "testA", metrics=("miou",), labels=labels, label_format="trainids", size=64, limit=2,
        progress=False, num_workers=0,
    )  # fmt: skip
    report = evaluate(load_generator(student_path), config, segmenter=_ChannelArgmax())
    (row,) = report["results"]
    assert row["against"] == "label maps" and 0 <= row["miou"] <= 1 and 0 <= row["pixel_accuracy"] <= 1
    assert len(row["class_iou"]) == 19
