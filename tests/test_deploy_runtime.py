"""Running exported generators: one runner per backend, and ``reko translate --backend`` end to end
(with tiling) for PyTorch, TorchScript, ONNX float and ONNX INT8."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from reko.cli import main
from reko.errors import RekoError
from reko.export import export_onnx, export_torchscript, load_runner, quantize_int8
from reko.export.images import synthetic_images
from reko.export.runtime import detect_backend
from reko.models import GeneratorSpec, create_generator, save_generator

SPEC = GeneratorSpec(family="resnet", ngf=8, n_blocks=2, norm="instance_affine")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One small ResNet as a checkpoint, TorchScript, ONNX float and ONNX INT8 (all dynamic)."""
    folder = tmp_path_factory.mktemp("exported")
    torch.manual_seed(0)
    model = create_generator(SPEC).eval()
    files = {"torch": save_generator(model, folder / "g.safetensors")}
    export_torchscript(model, folder / "g.pt", dynamic=True)
    export_onnx(model, folder / "g.onnx", dynamic=True, opset=17)  # the fast exporter; the default is tested elsewhere
    calibration = synthetic_images(3, 32, 32, seed=1)
    quantize_int8(model, folder / "g_int8.onnx", [calibration[i : i + 1] for i in range(3)], dynamic=True, opset=17)
    files.update({"torchscript": folder / "g.pt", "onnx": folder / "g.onnx", "int8": folder / "g_int8.onnx"})
    return files


def test_every_backend_computes_the_same_generator(exported: dict[str, Path]) -> None:
    x = synthetic_images(2, 36, 44, seed=5)
    reference = load_runner(exported["torch"])(x)
    for kind in ("torchscript", "onnx"):
        runner = load_runner(exported[kind])
        assert runner.spec == SPEC and runner.size_multiple == 4
        assert (runner(x) - reference).abs().max() < 1e-4, kind
    int8 = load_runner(exported["int8"])
    assert int8.name == "onnx-int8" and (int8(x) - reference).abs().max() < 0.5


def test_backend_detection(exported: dict[str, Path], tmp_path: Path) -> None:
    assert detect_backend(exported["torch"]) == "torch"
    assert detect_backend(exported["torchscript"]) == "torchscript"
    assert detect_backend(exported["onnx"]) == "onnx"
    assert load_runner(exported["torchscript"], "auto").name == "torchscript"
    with pytest.raises(RekoError, match="does not exist"):
        load_runner(tmp_path / "missing.onnx")
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    with pytest.raises(RekoError, match="bad.onnx"):
        load_runner(tmp_path / "bad.onnx", "onnx")
    with pytest.raises(RekoError, match="not one of"):
        load_runner(exported["onnx"], "coreml")


def test_a_foreign_onnx_file_is_refused_with_the_reason(tmp_path: Path) -> None:
    torch.onnx.export(torch.nn.Conv2d(3, 3, 1), (torch.zeros(1, 3, 8, 8),), str(tmp_path / "f.onnx"), dynamo=False)
    with pytest.raises(RekoError, match="no reko export metadata"):
        load_runner(tmp_path / "f.onnx")


@pytest.mark.parametrize("backend", ["torch", "torchscript", "onnx", "int8"])
def test_translate_runs_every_backend_with_tiles(
    exported: dict[str, Path], tmp_path: Path, backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    pixels = ((synthetic_images(2, 50, 70, seed=2) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    for i, array in enumerate(pixels):
        Image.fromarray(array).save(inputs / f"photo_{i}.png")
    flag = "onnx" if backend == "int8" else backend
    argv = ["translate", "--checkpoint", str(exported[backend]), "--backend", flag, "--input", str(inputs)]
    assert main([*argv, "--output", str(tmp_path / "whole")]) == 0
    assert main([*argv, "--output", str(tmp_path / "tiled"), "--tile", "32", "--overlap", "8"]) == 0
    assert "wrote 2 images" in capsys.readouterr().out
    for i in range(2):
        whole = np.asarray(Image.open(tmp_path / "whole" / f"photo_{i}.png"), dtype=np.float32)
        tiled = np.asarray(Image.open(tmp_path / "tiled" / f"photo_{i}.png"), dtype=np.float32)
        assert whole.shape == tiled.shape == (50, 70, 3)
        assert np.abs(whole - tiled).mean() < 40  # tiles see their own InstanceNorm statistics


def test_translate_backend_errors(
    exported: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "in").mkdir()
    Image.new("RGB", (32, 32)).save(tmp_path / "in" / "a.png")
    argv = ["translate", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out")]
    assert main([*argv, "--checkpoint", str(exported["onnx"]), "--backend", "onnx", "--device", "cuda"]) == 2
    assert "runs on the CPU" in capsys.readouterr().err
    assert main([*argv, "--checkpoint", str(exported["torch"]), "--backend", "onnx"]) == 2
    assert "ONNX" in capsys.readouterr().err


def test_bench_adds_exported_rows(
    exported: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    calibration = tmp_path / "calibration"
    calibration.mkdir()
    for i, array in enumerate(((synthetic_images(2, 40, 40) + 1) * 127.5).byte().permute(0, 2, 3, 1).numpy()):
        Image.fromarray(array).save(calibration / f"{i}.png")
    checkpoint = str(exported["torch"])
    argv = ["bench", "--checkpoint", checkpoint, "--teacher", checkpoint, "--size", "32", "--warmup", "1"]
    argv += ["--repeats", "2", "--no-memory", "--export-formats", "torchscript,onnx,int8"]
    argv += ["--calibration", str(calibration), "--json", str(tmp_path / "bench.json")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    for row in ("student torchscript", "student onnx", "student int8", "onnxruntime-cpu-int8"):
        assert row in out
    assert main([*argv[:-4], "--export-formats", "tflite"]) == 2
    assert "choose from torchscript,onnx,int8" in capsys.readouterr().err


def test_bench_times_every_onnx_file_given(exported: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    checkpoint = str(exported["torch"])
    argv = ["bench", "--checkpoint", checkpoint, "--teacher", checkpoint, "--size", "32", "--warmup", "1"]
    argv += ["--repeats", "2", "--no-memory", "--onnx", str(exported["onnx"]), "--onnx", str(exported["int8"])]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "g.onnx " in out and "g_int8.onnx" in out  # a repeated --onnx adds files, it does not replace them
