"""Export to ONNX (float, INT8) and TorchScript: parity with PyTorch, sizes, metadata, failures.

Small random generators (ResNet ngf 8 / 2 blocks, U-Net ngf 8 / 5 downs) keep each export to a
second or two; one test exports the real teacher at 128x128.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from PIL import Image
from tests.helpers.generators import variants
from torch import nn

from reko.cli import main
from reko.errors import RekoError
from reko.export import (
    ExportOptions,
    Int8Settings,
    ParityError,
    Tolerance,
    check_parity,
    export_checkpoint,
    export_onnx,
    export_torchscript,
    load_runner,
    psnr,
)
from reko.export.equalize import equalize_instance_norm
from reko.export.images import synthetic_images
from reko.export.metadata import ExportInfo
from reko.export.onnx import resolve_exporter
from reko.export.pipeline import parity_sizes
from reko.export.quality import int8_quality
from reko.export.rewrites import PhaseSplitConv2d, rewrite_for_export
from reko.export.runtime import TorchRunner
from reko.models import GeneratorSpec, create_generator, load_generator, save_generator

RESNET = GeneratorSpec(family="resnet", ngf=8, n_blocks=2)
UNET = GeneratorSpec(family="unet", ngf=8, num_downs=5)
SPECS = variants(resnet=RESNET, unet=UNET)  # every family, conv and mobile blocks


def _checkpoint(folder: Path, spec: GeneratorSpec, name: str, norm: str = "instance") -> Path:
    torch.manual_seed(0)
    model = create_generator(spec.replace(norm=norm))
    return save_generator(model, folder / f"{name}.safetensors")


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("checkpoints")
    norms = {"resnet": "instance_affine", "unet": "batch"}
    return {name: _checkpoint(folder, spec, name, norm=norms[spec.family]) for name, spec in SPECS.items()}


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six small photographs-like images (smooth colour fields), as JPEG files."""
    folder = tmp_path_factory.mktemp("images")
    pixels = ((synthetic_images(6, 80, 96, seed=3) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    for i, array in enumerate(pixels):
        Image.fromarray(array).save(folder / f"img_{i}.jpg", quality=95)
    return folder


# -- float exports: parity at one size (fixed) or two sizes (dynamic) ------------------------------------


@pytest.mark.parametrize("family", sorted(SPECS))
@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
@pytest.mark.parametrize("dynamic", [False, True], ids=["fixed", "dynamic"])
def test_export_passes_parity(
    checkpoints: dict[str, Path], image_folder: Path, tmp_path: Path, family: str, fmt: str, dynamic: bool
) -> None:
    out = tmp_path / f"model.{'onnx' if fmt == 'onnx' else 'pt'}"
    options = ExportOptions(format=fmt, size=64, dynamic=dynamic, test_images=image_folder, parity_count=2)
    report = export_checkpoint(checkpoints[family], out, options)
    assert report.passed and out.is_file()
    assert len(report.parity) == (2 if dynamic else 1)
    if dynamic:  # a second, non-square size
        assert {(r.height, r.width) for r in report.parity} == set(parity_sizes(64, SPECS[family], True))
    for result in report.parity:
        assert result.max_abs_diff < 1e-4 and result.psnr_db > 60
    assert "real images" in report.parity_images
    runner = load_runner(out)
    assert runner.spec == load_generator(checkpoints[family]).spec
    assert runner.info is not None and runner.info.dynamic == dynamic and runner.info.format == fmt
    assert "PASSED" in report.format()


def test_dynamic_onnx_runs_at_sizes_it_was_not_checked_at(checkpoints: dict[str, Path], tmp_path: Path) -> None:
    model = load_generator(checkpoints["resnet"])
    export_onnx(model, tmp_path / "m.onnx", dynamic=True)
    runner = load_runner(tmp_path / "m.onnx")
    for shape in [(1, 3, 36, 20), (3, 3, 8, 100)]:
        x = torch.rand(shape) * 2 - 1
        assert (runner(x) - model(x)).abs().max() < 1e-4
    shape = onnx.load(str(tmp_path / "m.onnx")).graph.input[0].type.tensor_type.shape
    assert [d.dim_param for d in shape.dim] == ["batch", "", "4*h_blocks", "4*w_blocks"]


def test_legacy_exporter_below_opset_18(checkpoints: dict[str, Path], tmp_path: Path) -> None:
    model = load_generator(checkpoints["unet"])
    info = export_onnx(model, tmp_path / "m.onnx", size=64, opset=13)
    assert info.exporter == "torchscript" and info.opset == 13
    proto = onnx.load(str(tmp_path / "m.onnx"))
    assert next(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) == 13
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    assert (load_runner(tmp_path / "m.onnx")(x) - model(x)).abs().max() < 1e-4


def test_metadata_travels_with_the_file(checkpoints: dict[str, Path], tmp_path: Path) -> None:
    model = load_generator(checkpoints["resnet"])
    export_onnx(model, tmp_path / "m.onnx", size=32, source="resnet.safetensors", exporter="torchscript", opset=17)
    props = {p.key: p.value for p in onnx.load(str(tmp_path / "m.onnx")).metadata_props}
    assert GeneratorSpec.from_json(props["reko.spec"]) == model.spec
    info = ExportInfo.from_json(props["reko.export"])
    assert (info.size, info.dynamic, info.opset, info.source) == (32, False, 17, "resnet.safetensors")
    assert info.versions["torch"] == torch.__version__
    export_torchscript(model, tmp_path / "m.pt", size=32)
    runner = load_runner(tmp_path / "m.pt")
    assert runner.spec == model.spec and runner.info is not None and runner.info.exporter == "trace"


# -- sizes and settings that must be refused ------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_wrong_input_size_is_a_clear_error_before_running(
    checkpoints: dict[str, Path], tmp_path: Path, fmt: str
) -> None:
    model = load_generator(checkpoints["resnet"])
    dynamic, fixed = tmp_path / f"d.{fmt}", tmp_path / f"f.{fmt}"
    if fmt == "onnx":  # the legacy exporter's graph runs on wrong sizes: the runner must refuse first
        export_onnx(model, dynamic, dynamic=True, opset=17)
        export_onnx(model, fixed, size=32, opset=17)
    else:
        export_torchscript(model, dynamic, dynamic=True)
        export_torchscript(model, fixed, size=32)
    with pytest.raises(RekoError, match=r"multiples of 4; pad or resize to e.g. 12x12"):
        load_runner(dynamic, fmt)(torch.zeros(1, 3, 10, 12))  # ORT would return a 12x12 image
    with pytest.raises(RekoError, match=r"exported for 32x32 inputs only, got 36x32"):
        load_runner(fixed, fmt)(torch.zeros(1, 3, 36, 32))
    with pytest.raises(RekoError, match=r"expects \(B, 3, H, W\)"):
        load_runner(fixed, fmt)(torch.zeros(1, 1, 32, 32))


def test_unet_size_multiple_is_enforced(checkpoints: dict[str, Path], tmp_path: Path) -> None:
    model = load_generator(checkpoints["unet"])
    with pytest.raises(RekoError, match=r"multiple of 32"):
        export_onnx(model, tmp_path / "m.onnx", size=48)
    assert not (tmp_path / "m.onnx").exists()


def test_opset_range_is_validated() -> None:
    assert resolve_exporter(18) == "dynamo" and resolve_exporter(17) == "torchscript"
    for opset in (5, 10, 99):
        with pytest.raises(RekoError, match=r"choose 11 to \d+"):
            resolve_exporter(opset)
    with pytest.raises(RekoError, match=r"dynamo exporter produces opset 18 or newer"):
        resolve_exporter(17, "dynamo")
    with pytest.raises(RekoError, match=r"TorchScript exporter produces opsets 11 to 20"):
        resolve_exporter(21, "torchscript")


def test_invalid_export_options() -> None:
    with pytest.raises(RekoError, match="ONNX exports only"):
        ExportOptions(format="torchscript", int8=True, calibration=Path("x"))
    with pytest.raises(RekoError, match="needs calibration images"):
        ExportOptions(int8=True)
    with pytest.raises(RekoError, match="not one of"):
        ExportOptions(format="coreml")
    with pytest.raises(RekoError, match="not one of"):
        Int8Settings(calibration_method="kl")


# -- parity failures ------------------------------------------------------------------------------------


def test_a_perturbed_export_fails_its_parity_check(checkpoints: dict[str, Path], tmp_path: Path) -> None:
    model = load_generator(checkpoints["resnet"])
    export_onnx(model, tmp_path / "m.onnx", size=32, exporter="torchscript", opset=17)
    proto = onnx.load(str(tmp_path / "m.onnx"))
    weight = next(i for i in proto.graph.initializer if len(i.dims) == 4)
    values = onnx.numpy_helper.to_array(weight).copy()
    values.flat[0] += 0.5  # one weight of one convolution: a "silently different" export
    weight.CopyFrom(onnx.numpy_helper.from_array(values, weight.name))
    onnx.save(proto, str(tmp_path / "m.onnx"))
    images = synthetic_images(2, 32, 32)
    result = check_parity(TorchRunner(tmp_path, model), load_runner(tmp_path / "m.onnx"), images, Tolerance(1e-3))
    assert not result.passed and result.max_abs_diff > 1e-3
    assert "FAILED" in result.describe()


def test_cli_fails_with_exit_1_and_writes_nothing_above_tolerance(
    checkpoints: dict[str, Path], image_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.pt"
    argv = ["export", "--checkpoint", str(checkpoints["resnet"]), "--format", "torchscript", "--out", str(out)]
    argv += ["--size", "32", "--test-images", str(image_folder), "--parity-count", "1"]
    assert main([*argv, "--max-abs-diff", "0"]) == 1  # float rounding alone exceeds a zero tolerance
    err = capsys.readouterr().err
    assert "parity check FAILED" in err and "max |diff|" in err and "was not written" in err
    assert not out.exists()
    assert main([*argv, "--report", str(tmp_path / "report.json")]) == 0
    assert out.is_file() and "PASSED" in capsys.readouterr().out
    assert (tmp_path / "report.json").is_file()


def test_psnr_and_tolerance() -> None:
    a = torch.zeros(1, 3, 4, 4)
    assert math.isinf(psnr(a, a))
    assert psnr(a, a + 0.02) == pytest.approx(10 * math.log10(4 / 0.02**2))
    assert Tolerance(min_psnr=30).accepts(1.0, 31.0) and not Tolerance(min_psnr=30).accepts(0.0, 29.0)
    assert not Tolerance(max_abs=1e-3).accepts(math.nan, math.inf)
    with pytest.raises(ParityError, match="shape"):
        check_parity(lambda x: x, lambda x: x[..., :2], a, Tolerance(1e-3))


# -- INT8 -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", ["resnet", "mobile_resnet"])
def test_int8_export_on_a_tiny_calibration_folder(
    checkpoints: dict[str, Path], image_folder: Path, tmp_path: Path, family: str
) -> None:
    test_folder = tmp_path / "test"
    test_folder.mkdir()
    for i in range(3):  # test images the calibration never sees
        Image.open(image_folder / f"img_{i}.jpg").transpose(Image.Transpose.FLIP_TOP_BOTTOM).save(
            test_folder / f"{i}.png"
        )
    options = ExportOptions(
        size=32,
        int8=True,
        calibration=image_folder,
        calibration_count=4,
        test_images=test_folder,
        parity_count=2,
        min_psnr=15.0,  # a random network is a hard case for INT8; the teacher reaches ~43 dB
        quality_count=3,
        fid=False,
    )
    report = export_checkpoint(checkpoints[family], tmp_path / "m.onnx", options)
    assert report.passed and report.info.kind == "onnx-int8"
    assert report.info.int8 is not None and report.info.int8["calibration_images"] == 4
    assert report.int8_quality is not None and report.int8_quality.psnr_db > 15
    graph = onnx.load(str(tmp_path / "m.onnx")).graph
    assert {"QuantizeLinear", "DequantizeLinear"} <= {n.op_type for n in graph.node}
    # Every convolution but the first (3 image channels in) is INT8: its weight comes
    # through a DequantizeLinear. Depthwise ones too (their (C, 1, k, k) weights once read as "3 inputs").
    dequantized = {out for n in graph.node if n.op_type == "DequantizeLinear" for out in n.output}
    convs = [n for n in graph.node if n.op_type == "Conv"]
    depthwise = [n for n in convs if any(a.name == "group" and a.i > 1 for a in n.attribute)]
    assert len(depthwise) == (2 * SPECS[family].n_blocks if family == "mobile_resnet" else 0)
    assert all(n.input[1] in dequantized for n in depthwise)
    assert sum(n.input[1] not in dequantized for n in convs) == 1  # the stem
    with pytest.raises(RekoError, match="overlap"):
        export_checkpoint(
            checkpoints["resnet"],
            tmp_path / "x.onnx",
            ExportOptions(int8=True, calibration=image_folder, test_images=image_folder),
        )


def test_instance_norm_equalization_keeps_the_function() -> None:
    torch.manual_seed(0)
    model = create_generator(RESNET.replace(norm="instance_affine")).eval()
    with torch.no_grad():  # make channels as unequal as a trained network's
        model.down1[0].weight.mul_(torch.logspace(0, 2.5, 16).view(-1, 1, 1, 1))
        model.down1[0].bias.add_(5.0)
    images = synthetic_images(4, 32, 32)
    equalized, count = equalize_instance_norm(model, [images])
    assert count == 2 * RESNET.n_blocks + 5  # stem, down1, down2, up1, up2 + two per block
    with torch.no_grad():
        assert (equalized(images) - model(images)).abs().max() < 1e-3  # FLOAT_MAX_ABS
        before = model.down1[0](model.stem(images)).std(dim=(2, 3)).mean(0)
        after = equalized.down1[0](equalized.stem(images)).std(dim=(2, 3)).mean(0)
    # Loud channels come down to unit spread; quiet ones (var ~ eps) may only rise a little.
    assert before.max() / before.min() > 100 and after.max() / after.min() < before.max() / before.min() / 20
    assert after.max() < 1.01


def test_phase_split_head_is_exact_and_applies_to_resnets_only() -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(8, 3, 7)
    x = torch.randn(2, 8, 38, 46)
    with torch.no_grad():
        assert (PhaseSplitConv2d(conv)(x) - conv(x)).abs().max() < 1e-5
    resnet, applied = rewrite_for_export(create_generator(RESNET))
    assert applied == ("phase_split_head",) and isinstance(resnet.head[1], PhaseSplitConv2d)
    assert rewrite_for_export(create_generator(UNET))[1] == ()


# -- the real teacher -----------------------------------------------------------------------------------


def test_real_teacher_exports_to_onnx_with_parity(teacher_path: Path, horse2zebra_dir: Path, tmp_path: Path) -> None:
    options = ExportOptions(size=128, test_images=horse2zebra_dir / "testA", parity_count=1)
    report = export_checkpoint(teacher_path, tmp_path / "teacher.onnx", options)
    (result,) = report.parity
    assert report.passed and result.max_abs_diff < 1e-3 and result.psnr_db > 60
    assert report.info.rewrites == ("phase_split_head",)
    assert np.isfinite(result.worst_psnr_db)


def test_int8_quality_reports_psnr_fid_and_kid(inception_path: Path) -> None:
    images = synthetic_images(4, 32, 32)
    quality = int8_quality(lambda x: x, lambda x: (x + 0.01).clamp(-1, 1), images, "synthetic", inception_path)
    assert quality.psnr_db > 35 and quality.fid is not None and quality.fid >= 0
    assert quality.kid_mean is not None and quality.kid_std is not None
    assert "read KID" in quality.note and "FID" in quality.describe()
