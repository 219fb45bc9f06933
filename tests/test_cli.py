"""The command line: every subcommand has --help with defaults; `reko info` on real checkpoints."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tests.helpers.pix2pix_reference import RefUnetGenerator

from reko.cli import COMMANDS, main
from reko.models import GeneratorSpec, create_generator, save_generator


def test_top_level_help_lists_every_subcommand() -> None:
    result = subprocess.run([sys.executable, "-m", "reko", "--help"], capture_output=True, text=True, check=True)
    for name in COMMANDS:
        assert name in result.stdout


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_subcommand_has_help_with_defaults(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert f"usage: reko {command}" in out
    if "--" in out.split("options:")[-1].replace("--help", ""):
        assert "default" in out  # options show their defaults


def test_distill_help_lists_every_registered_method(capsys: pytest.CaptureFixture[str]) -> None:
    from reko.distill.registry import method_names

    with pytest.raises(SystemExit):
        main(["distill", "--help"])
    listed = capsys.readouterr().out.split("methods (--set distill.method=NAME, default reko):")[1]
    assert all(f" {name}," in listed or f" {name};" in listed for name in method_names())


def test_info_on_the_real_teacher(teacher_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(teacher_path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["architecture"] == "resnet_9blocks" and info["ngf"] == 64 and info["norm"] == "instance_affine"
    assert info["parameters"] == 11_388_675
    assert round(info["macs_field"] / 1e9, 1) == 56.8


def test_info_on_reko_and_official_unet_checkpoints(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    save_generator(create_generator(GeneratorSpec(ngf=24)), tmp_path / "student.safetensors", {"method": "reko"})
    torch.save(RefUnetGenerator(8, 8, "batch").state_dict(), tmp_path / "latest_net_G.pth")
    assert main(["info", str(tmp_path / "student.safetensors")]) == 0
    out = capsys.readouterr().out
    assert "1,605,699" in out and "8.28G" in out and "metadata method" in out
    assert main(["info", str(tmp_path / "latest_net_G.pth"), "--size", "256"]) == 0
    assert "unet_256" in capsys.readouterr().out


def test_bad_checkpoint_gives_a_clean_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.pth").write_text("hello")
    assert main(["info", str(tmp_path / "notes.pth")]) == 2
    err = capsys.readouterr().err
    assert "notes.pth" in err and "Traceback" not in err


@pytest.mark.parametrize(("command", "flag"), [("distill", "--teacher"), ("distill", "--data"), ("train", "--out")])
def test_resume_refuses_flags_that_start_a_new_run(
    command: str, flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`reko distill/train --resume RUN` keeps the run's own config: a path flag beside it is an error, not ignored."""
    assert main([command, "--resume", str(tmp_path), flag, "elsewhere"]) == 2
    err = capsys.readouterr().err
    assert flag in err and "--set key=value" in err and "Traceback" not in err
