"""`reko.translate` (any size, tiles, batches, files) and `reko translate` end to end with the real teacher."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from reko.cli import main
from reko.data import load_image, read_size, to_tensor
from reko.errors import RekoError
from reko.models import GeneratorSpec, create_generator, load_generator, save_generator
from reko.translate import (
    TranslateOptions,
    collect_inputs,
    pad_to_multiple,
    translate_files,
    translate_image,
    translate_images,
    translate_tensor,
)


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x.clone()


def _smooth_image(height: int, width: int, seed: int = 0, texture: float = 0.1) -> torch.Tensor:
    """(1, 3, H, W) in [-1, 1]: low-frequency colour fields plus some ``texture`` noise."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, 8, 10, generator=generator) * 2 - 1
    x = F.interpolate(coarse, size=(height, width), mode="bicubic", align_corners=False)
    return (x + texture * torch.randn(x.shape, generator=generator)).clamp(-1, 1)


def _small_net(norm: str = "instance", family: str = "resnet") -> torch.nn.Module:
    torch.manual_seed(0)
    spec = GeneratorSpec(family=family, ngf=8, n_blocks=2, num_downs=5, norm=norm)
    # PyTorch's default init (init=False): pix2pix's N(0, 0.02) without norm layers gives ~1e-6 outputs
    return create_generator(spec, init=norm != "none").eval()


# ----------------------------------------------------------------------------- tensors


def test_pad_to_multiple() -> None:
    x = _smooth_image(13, 18)
    padded = pad_to_multiple(x, 4)
    assert padded.shape[-2:] == (16, 20)
    assert torch.equal(padded[..., :13, :18], x)
    assert torch.equal(padded[..., 13, :18], x[..., 11, :])  # reflected, not zero
    assert pad_to_multiple(_smooth_image(3, 3), 256).shape[-2:] == (256, 256)  # tiny: replicate


@pytest.mark.parametrize("family", ["resnet", "unet"])
def test_odd_sizes_come_back_the_same_size(family: str) -> None:
    model = _small_net(family=family)
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (199, 301, 3), dtype=np.uint8))
    assert translate_image(model, image, model.spec.size_multiple).size == (301, 199)
    resized = translate_image(model, image, model.spec.size_multiple, TranslateOptions(size=64))
    assert resized.size == (301, 199)


def test_tiles_blend_to_a_partition_of_unity() -> None:
    x = _smooth_image(301, 419)
    tiled = translate_tensor(_identity, x, 4, tile=96, overlap=24, tiles_per_call=3)
    assert torch.allclose(tiled, x, atol=1e-6)


def test_large_images_are_tiled_automatically() -> None:
    calls: list[tuple[int, int]] = []

    def spy(x: torch.Tensor) -> torch.Tensor:
        calls.append((x.shape[-2], x.shape[-1]))
        return x.clone()

    x = _smooth_image(100, 150)
    assert torch.allclose(translate_tensor(spy, x, 4, max_pixels=64 * 64), x, atol=1e-6)
    assert len(calls) > 1 and all(h * w <= 64 * 64 for h, w in calls)
    calls.clear()
    translate_tensor(spy, x, 4)  # below the default threshold: one call on the padded image
    assert calls == [(100, 152)]


def test_tiled_equals_untiled_for_a_local_network() -> None:
    """Without normalisation a generator is local: tiles overlapping past its receptive field agree."""
    model = _small_net(norm="none")
    x = _smooth_image(301, 419)
    whole = translate_tensor(model, x, 4)
    tiled = translate_tensor(model, x, 4, tile=128, overlap=48, tiles_per_call=4)
    assert tiled.shape == whole.shape == x.shape
    assert whole.std() > 0.01  # a real signal, not a vanishing random net
    assert (tiled - whole).abs().max() < 0.02 * whole.abs().max()


def test_tiles_are_seam_free_with_per_tile_statistics() -> None:
    """Instance norm normalises each tile separately; the window must hide the resulting steps."""

    def per_tile_shift(x: torch.Tensor) -> torch.Tensor:
        return x - x.mean(dim=(2, 3), keepdim=True)  # every tile gets a different offset

    x = _smooth_image(256, 384, texture=0.0)  # smooth, so any step would stand out
    tiled = translate_tensor(per_tile_shift, x, 4, tile=128, overlap=48)
    hard = x.clone()  # the same per-tile shift pasted without blending: visible steps
    for y0 in (0, 128):
        for x0 in (0, 128, 256):
            hard[..., y0 : y0 + 128, x0 : x0 + 128] = per_tile_shift(x[..., y0 : y0 + 128, x0 : x0 + 128])

    def largest_step(image: torch.Tensor) -> float:
        return max(image.diff(dim=-1).abs().max().item(), image.diff(dim=-2).abs().max().item())

    natural = largest_step(x)
    assert largest_step(hard) > natural + 0.2  # the per-tile offsets really do differ
    assert largest_step(tiled) < natural + 0.02


def test_batched_images_match_one_by_one() -> None:
    model = _small_net()
    images = [Image.fromarray(np.random.default_rng(i).integers(0, 256, (60, 70, 3), dtype=np.uint8)) for i in range(3)]
    together = translate_images(model, images, 4, TranslateOptions(batch_size=3))
    for image, out in zip(images, together, strict=True):
        alone = np.asarray(translate_image(model, image, 4), dtype=int)
        assert np.abs(np.asarray(out, dtype=int) - alone).max() <= 1


# ----------------------------------------------------------------------------- files


def test_files_mirror_folders_and_keep_stems(tmp_path: Path) -> None:
    source = tmp_path / "in"
    (source / "sub dir").mkdir(parents=True)
    Image.new("RGB", (30, 22), (200, 10, 10)).save(source / "a.jpg")
    Image.new("RGB", (30, 22), (10, 200, 10)).save(source / "b.png")
    Image.new("RGB", (17, 41), (10, 10, 200)).save(source / "sub dir" / "c d.JPEG")
    options = TranslateOptions(recursive=True, batch_size=2)
    written = translate_files(_identity, source, tmp_path / "out", 4, options, {"reko.checkpoint": "x"})
    relative = sorted(p.relative_to(tmp_path / "out").as_posix() for p in written)
    assert relative == ["a.png", "b.png", "sub dir/c d.png"]
    with Image.open(tmp_path / "out" / "sub dir" / "c d.png") as out:
        assert out.size == (17, 41) and out.text["reko.checkpoint"] == "x" and out.text["reko.direction"] == "AtoB"
    assert (
        np.asarray(load_image(tmp_path / "out" / "b.png")).tolist() == np.asarray(load_image(source / "b.png")).tolist()
    )


@pytest.mark.parametrize(("direction", "colour"), [("AtoB", (255, 0, 0)), ("BtoA", (0, 0, 255))])
def test_aligned_inputs_use_the_direction_half(tmp_path: Path, direction: str, colour: tuple[int, int, int]) -> None:
    pair = Image.new("RGB", (64, 32), (255, 0, 0))
    pair.paste((0, 0, 255), (32, 0, 64, 32))
    pair.save(tmp_path / "pair.png")
    options = TranslateOptions(aligned=True, direction=direction)
    [written] = translate_files(_identity, tmp_path / "pair.png", tmp_path / "out", 4, options)
    out = load_image(written)
    assert out.size == (32, 32) and out.getpixel((5, 5)) == colour


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(RekoError, match="does not exist"):
        collect_inputs(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RekoError, match="holds no images"):
        collect_inputs(tmp_path / "empty")
    (tmp_path / "twins").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "twins" / "x.jpg")
    Image.new("RGB", (8, 8)).save(tmp_path / "twins" / "x.png")
    with pytest.raises(RekoError, match="would both be written"):
        collect_inputs(tmp_path / "twins")
    (tmp_path / "x.png").write_bytes(b"")
    Image.new("RGB", (8, 8)).save(tmp_path / "y.png")
    with pytest.raises(RekoError, match="overwrite its input"):
        translate_files(_identity, tmp_path / "y.png", tmp_path, 4)


# ----------------------------------------------------------------------------- CLI and the real teacher


def _horses(horse2zebra_dir: Path, count: int) -> list[Path]:
    return sorted((horse2zebra_dir / "testA").glob("*.jpg"))[:count]


def test_cli_end_to_end_with_the_teacher(tmp_path: Path, horse2zebra_dir: Path, teacher_path: Path) -> None:
    source = tmp_path / "photos"
    source.mkdir()
    for path in _horses(horse2zebra_dir, 2):
        (source / path.name).write_bytes(path.read_bytes())
    out = tmp_path / "vintage"
    argv = ["translate", "--checkpoint", str(teacher_path), "--input", str(source), "--output", str(out)]
    assert main([*argv, "--size", "128", "--batch-size", "2"]) == 0
    for path in sorted(source.iterdir()):
        result = out / f"{path.stem}.png"
        assert result.exists()
        original, translated = to_tensor(load_image(path)), to_tensor(load_image(result))
        assert translated.shape == original.shape == (3, 256, 256)
        difference = (translated - original).abs().mean().item()
        correlation = np.corrcoef(original.flatten().numpy(), translated.flatten().numpy())[0, 1]
        assert difference > 0.03, "the teacher should change the photo"
        assert correlation > 0.8, "the output should still be the same scene"


def test_vintage_teacher_warms_photos(horse2zebra_dir: Path, teacher_path: Path) -> None:
    """The vintage look shifts colour towards red/yellow: red minus blue rises on average.

    Measured at 128 px on the first 20 horse2zebra test images: it rises on 16 of them, by
    +0.07 on average (in [-1, 1] units); the first 6 used here average about +0.06.
    """
    teacher = load_generator(teacher_path)
    images = [load_image(p).resize((128, 128), Image.Resampling.BICUBIC) for p in _horses(horse2zebra_dir, 6)]
    outputs = translate_images(teacher, images, teacher.spec.size_multiple, TranslateOptions(batch_size=6))
    shifts = []
    for image, output in zip(images, outputs, strict=True):
        before, after = to_tensor(image), to_tensor(output)
        shifts.append(((after[0] - after[2]).mean() - (before[0] - before[2]).mean()).item())
    assert np.mean(shifts) > 0.03, shifts
    assert sum(s > 0 for s in shifts) >= 4, shifts


def test_cli_with_a_saved_small_checkpoint_and_tiles(tmp_path: Path) -> None:
    model = _small_net()
    checkpoint = save_generator(model, tmp_path / "student.safetensors")
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (150, 211, 3), dtype=np.uint8)).save(tmp_path / "big.png")
    argv = ["translate", "--checkpoint", str(checkpoint), "--input", str(tmp_path / "big.png"), "--output"]
    assert main([*argv, str(tmp_path / "out"), "--tile", "64", "--overlap", "16", "--batch-size", "4"]) == 0
    assert read_size(tmp_path / "out" / "big.png") == (211, 150)


def test_cli_errors(tmp_path: Path, teacher_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Image.new("RGB", (16, 16)).save(tmp_path / "x.png")
    (tmp_path / "empty").mkdir()
    (tmp_path / "garbage.pth").write_bytes(b"not a checkpoint")
    cases = [
        (["--checkpoint", str(teacher_path), "--input", str(tmp_path / "nope")], "input .*nope does not exist"),
        (["--checkpoint", str(teacher_path), "--input", str(tmp_path / "empty")], "holds no images"),
        (
            ["--checkpoint", str(tmp_path / "missing.pth"), "--input", str(tmp_path / "x.png")],
            "missing.pth does not exist",
        ),
        (["--checkpoint", str(tmp_path / "garbage.pth"), "--input", str(tmp_path / "x.png")], "garbage.pth"),
    ]
    for args, message in cases:
        assert main(["translate", *args, "--output", str(tmp_path / "out")]) == 2
        error = capsys.readouterr().err
        assert "Traceback" not in error
        assert re.search(message, error), error
