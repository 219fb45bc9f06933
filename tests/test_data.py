"""Datasets, transforms and image decoding, on the real facades / edges2shoes / horse2zebra folders
and on small files made in tmp_path for the awkward cases (modes, EXIF, truncation, layouts)."""

from __future__ import annotations

import pickle
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from reko.data import (
    PREPROCESS_MODES,
    ImageFolderDataset,
    PairedImageDataset,
    TransformConfig,
    UnpairedImageDataset,
    load_image,
    output_size,
    read_size,
    to_pil,
    to_tensor,
    transform_image,
)
from reko.errors import RekoError

KEEP = TransformConfig(preprocess="none", flip=False)  # no resize/crop/flip: pixels comparable to the files


def _noise(width: int, height: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), mode="RGB")


# ----------------------------------------------------------------------------- conversion


def test_to_tensor_range_and_round_trip() -> None:
    image = _noise(17, 9)
    tensor = to_tensor(image)
    assert tensor.shape == (3, 9, 17) and tensor.dtype == torch.float32
    assert tensor.min() >= -1 and tensor.max() <= 1
    assert to_tensor(Image.new("RGB", (2, 2), (0, 0, 0))).eq(-1).all()
    assert to_tensor(Image.new("RGB", (2, 2), (255, 255, 255))).eq(1).all()
    assert np.array_equal(np.asarray(to_pil(tensor)), np.asarray(image))
    # out-of-range network outputs are clipped, not wrapped around
    assert np.asarray(to_pil(torch.full((3, 2, 2), 3.0))).min() == 255


# ----------------------------------------------------------------------------- paired, real data


@pytest.mark.parametrize("direction", ["AtoB", "BtoA"])
def test_paired_facades_halves_follow_direction(facades_dir: Path, direction: str) -> None:
    dataset = PairedImageDataset(facades_dir, "train", direction=direction, transform=KEEP)
    assert len(dataset) == 400 and dataset.layout == "aligned"
    item = dataset[3]
    source = load_image(item["path"])
    assert source.size == (512, 256)
    left, right = to_tensor(source.crop((0, 0, 256, 256))), to_tensor(source.crop((256, 0, 512, 256)))
    expected_input, expected_target = (left, right) if direction == "AtoB" else (right, left)
    assert torch.equal(item["input"], expected_input)
    assert torch.equal(item["target"], expected_target)


def test_paired_edges2shoes_edges_are_a(edges2shoes_dir: Path) -> None:
    dataset = PairedImageDataset(edges2shoes_dir, "val", direction="AtoB", transform=KEEP)
    assert len(dataset) == 20
    item = dataset[0]
    # HED edge maps are mostly white background; the shoe photo half is not binary-looking.
    edges, photo = item["input"], item["target"]
    assert (edges > 0.9).float().mean() > 0.5
    assert not torch.equal(edges, photo)


def test_paired_default_transform_crops_256(facades_dir: Path) -> None:
    batch = next(iter(DataLoader(PairedImageDataset(facades_dir, "val", direction="BtoA"), batch_size=2)))
    assert batch["input"].shape == (2, 3, 256, 256) and batch["target"].shape == (2, 3, 256, 256)
    assert len(batch["path"]) == 2


# ----------------------------------------------------------------------------- paired transforms


def _aligned_twin_folder(tmp_path: Path, count: int = 6) -> Path:
    """Aligned images whose A and B halves are identical noise (64x64 each)."""
    folder = tmp_path / "twins" / "train"
    folder.mkdir(parents=True)
    for i in range(count):
        half = _noise(64, 64, seed=i)
        both = Image.new("RGB", (128, 64))
        both.paste(half, (0, 0))
        both.paste(half, (64, 0))
        both.save(folder / f"{i}.png")
    return folder.parent


def test_paired_transform_same_crop_and_flip(tmp_path: Path) -> None:
    root = _aligned_twin_folder(tmp_path)
    config = TransformConfig(preprocess="resize_and_crop", load_size=72, crop_size=40, flip=True)
    dataset = PairedImageDataset(root, "train", transform=config, seed=3)
    flips, crops = set(), set()
    for epoch in range(3):
        dataset.set_epoch(epoch)
        for index in range(len(dataset)):
            item = dataset[index]
            assert item["input"].shape == (3, 40, 40)
            assert torch.equal(item["input"], item["target"])
            params = _params(dataset, index)
            flips.add(params.flip)
            crops.add((params.crop_x, params.crop_y))
    assert flips == {True, False} and len(crops) > 5  # the randomness is real, yet shared by both halves


def _params(dataset: PairedImageDataset, index: int):
    from reko.data import sample_params

    return sample_params((64, 48), dataset.transform, dataset.rng(index))


def test_paired_randomness_is_reproducible(tmp_path: Path) -> None:
    root = _aligned_twin_folder(tmp_path)
    config = TransformConfig(preprocess="resize_and_crop", load_size=72, crop_size=40)

    def items(seed: int, epoch: int) -> list[torch.Tensor]:
        dataset = PairedImageDataset(root, "train", transform=config, seed=seed)
        dataset.set_epoch(epoch)
        return [dataset[i]["input"] for i in range(len(dataset))]

    first = items(seed=1, epoch=0)
    assert all(torch.equal(a, b) for a, b in zip(first, items(seed=1, epoch=0), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(first, items(seed=2, epoch=0), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(first, items(seed=1, epoch=1), strict=True))


def test_dataset_pickles_and_workers_match(tmp_path: Path) -> None:
    root = _aligned_twin_folder(tmp_path, count=4)
    config = TransformConfig(preprocess="resize_and_crop", load_size=72, crop_size=40)
    dataset = PairedImageDataset(root, "train", transform=config, seed=5)
    clone = pickle.loads(pickle.dumps(dataset))
    assert torch.equal(clone[2]["input"], dataset[2]["input"])
    in_process = torch.cat([b["input"] for b in DataLoader(dataset, batch_size=2)])
    workers = torch.cat([b["input"] for b in DataLoader(dataset, batch_size=2, num_workers=2)])
    assert torch.equal(in_process, workers)


# ----------------------------------------------------------------------------- A/ B/ folders


def _ab_folders(base: Path, names: list[str]) -> None:
    (base / "A").mkdir(parents=True)
    (base / "B").mkdir(parents=True)
    for i, name in enumerate(names):
        _noise(32, 24, seed=i).save(base / "A" / f"{name}.png")
        Image.new("RGB", (32, 24), (10 * i, 100, 200)).save(base / "B" / f"{name}.jpg", quality=95)


def test_paired_a_b_folders_with_split(tmp_path: Path) -> None:
    _ab_folders(tmp_path / "train", ["x", "y two", "z"])
    for direction in ("AtoB", "BtoA"):
        dataset = PairedImageDataset(tmp_path, "train", direction=direction, transform=KEEP)
        assert dataset.layout == "folders" and len(dataset) == 3
        item = dataset[1]  # "y two": spaces in names work
        a = to_tensor(_noise(32, 24, seed=1).resize((32, 24)))
        source, target = (item["input"], item["target"]) if direction == "AtoB" else (item["target"], item["input"])
        assert source.shape == (3, 24, 32)  # "none" keeps 32x24 (multiples of 4)
        assert torch.equal(source, a)
        assert target[2].mean() > 0.5  # the bluish B image
        assert Path(item["path"]).parent.name == ("A" if direction == "AtoB" else "B")


def test_paired_a_b_folders_without_split(tmp_path: Path) -> None:
    _ab_folders(tmp_path, ["p", "q"])
    assert len(PairedImageDataset(tmp_path, split=None, transform=KEEP)) == 2
    with pytest.raises(RekoError, match="split=None"):
        PairedImageDataset(tmp_path, split="train")


def test_paired_unmatched_names(tmp_path: Path) -> None:
    _ab_folders(tmp_path, ["p", "q"])
    _noise(32, 24).save(tmp_path / "A" / "lonely.png")
    with pytest.raises(RekoError, match="lonely"):
        PairedImageDataset(tmp_path, split=None)
    with pytest.warns(UserWarning, match="skipped 1 bad"):
        assert len(PairedImageDataset(tmp_path, split=None, skip_bad=True)) == 2


def test_paired_different_sizes_in_pair(tmp_path: Path) -> None:
    _ab_folders(tmp_path, ["p"])
    _noise(40, 24).save(tmp_path / "B" / "p.jpg")
    with pytest.raises(RekoError, match="same size"):
        PairedImageDataset(tmp_path, split=None)


# ----------------------------------------------------------------------------- unpaired


def test_unpaired_horse2zebra(horse2zebra_dir: Path) -> None:
    config = TransformConfig(preprocess="resize", load_size=64, flip=False)
    dataset = UnpairedImageDataset(horse2zebra_dir, "test", transform=config, seed=7)
    assert (len(dataset.paths_a), len(dataset.paths_b)) == (120, 140)
    assert len(dataset) == 140  # max of the two
    item = dataset[125]
    assert item["A"].shape == item["B"].shape == (3, 64, 64)
    assert Path(item["path_A"]).parent.name == "testA" and Path(item["path_B"]).parent.name == "testB"
    assert item["path_A"] == str(dataset.paths_a[125 % 120])
    # the random B choice repeats for the same seed and differs for another
    same = UnpairedImageDataset(horse2zebra_dir, "test", transform=config, seed=7)
    other = UnpairedImageDataset(horse2zebra_dir, "test", transform=config, seed=8)
    picks = [dataset[i]["path_B"] for i in range(8)]
    assert picks == [same[i]["path_B"] for i in range(8)]
    assert picks != [other[i]["path_B"] for i in range(8)]
    serial = UnpairedImageDataset(horse2zebra_dir, "test", transform=config, serial=True)
    assert [serial[i]["path_B"] for i in range(3)] == [str(p) for p in serial.paths_b[:3]]


# ----------------------------------------------------------------------------- layouts and errors


def test_wrong_layouts_say_what_was_found(horse2zebra_dir: Path, facades_dir: Path) -> None:
    with pytest.raises(RekoError, match="trainA.*trainB.*UnpairedImageDataset"):
        PairedImageDataset(horse2zebra_dir, "train")
    with pytest.raises(RekoError, match="trainA/ and trainB/.*test, train, val.*PairedImageDataset"):
        UnpairedImageDataset(facades_dir, "train")
    with pytest.raises(RekoError, match="does not exist"):
        PairedImageDataset(facades_dir / "missing")


def test_empty_and_missing_folders(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not an image")
    with pytest.raises(RekoError, match="holds no images"):
        ImageFolderDataset(tmp_path / "empty")
    with pytest.raises(RekoError, match="does not exist"):
        ImageFolderDataset(tmp_path / "nowhere")
    (tmp_path / "nested" / "inner").mkdir(parents=True)
    _noise(8, 8).save(tmp_path / "nested" / "inner" / "x.png")
    with pytest.raises(RekoError, match="recursive"):
        ImageFolderDataset(tmp_path / "nested")
    assert len(ImageFolderDataset(tmp_path / "nested", recursive=True)) == 1


@pytest.mark.parametrize(
    ("size", "found"),
    [((65, 32), r"65x32 \(2\.03:1\)"), ((64, 64), r"64x64 \(a square image\)"), ((96, 64), r"96x64 \(1\.5:1\)")],
    ids=["odd-width", "square-photo", "3:2"],
)
def test_an_aligned_image_must_be_twice_as_wide_as_high(tmp_path: Path, size: tuple[int, int], found: str) -> None:
    """A folder of ordinary photos must not train as pairs (each split into a left input and right target)."""
    (tmp_path / "train").mkdir()
    _noise(64, 32).save(tmp_path / "train" / "good.png")
    _noise(*size).save(tmp_path / "train" / "bad.png")
    with pytest.raises(RekoError, match=rf"bad\.png.*twice as wide as high.*{found}"):
        PairedImageDataset(tmp_path, "train")
    with pytest.warns(UserWarning, match=r"skipped 1 bad paired images: bad\.png"):
        assert len(PairedImageDataset(tmp_path, "train", skip_bad=True)) == 1


def test_a_folder_of_square_photos_is_refused_in_paired_mode(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    for i in range(3):
        _noise(48, 48, seed=i).save(tmp_path / "train" / f"photo{i}.jpg")
    with pytest.raises(RekoError, match=r"all 3 paired images are bad.*square image"):
        PairedImageDataset(tmp_path, "train")


def test_truncated_and_unreadable_images(tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        _noise(64, 64, seed=i).save(folder / f"good{i}.jpg")
    data = (folder / "good0.jpg").read_bytes()
    (folder / "cut.jpg").write_bytes(data[: len(data) // 2])
    (folder / "text.png").write_bytes(b"this is not a png")
    # not identifiable: one error at construction that names it and suggests skip_bad
    with pytest.raises(RekoError, match=r"text\.png.*not a readable image"):
        ImageFolderDataset(folder)
    with pytest.raises(RekoError, match=r"cut\.jpg.*truncated"):
        load_image(folder / "cut.jpg")
    with pytest.warns(UserWarning, match=r"skipped 2 bad images: cut\.jpg, text\.png"):
        dataset = ImageFolderDataset(folder, skip_bad=True)
    assert [p.name for p in dataset.paths] == ["good0.jpg", "good1.jpg", "good2.jpg"]


# ----------------------------------------------------------------------------- image modes


def test_image_modes_become_rgb(tmp_path: Path) -> None:
    Image.new("L", (8, 6), 100).save(tmp_path / "gray.png")
    Image.new("RGB", (8, 6), (0, 0, 255)).convert("P").save(tmp_path / "palette.png")
    Image.new("CMYK", (8, 6), (0, 0, 0, 0)).save(tmp_path / "cmyk.jpg")
    Image.fromarray(np.full((6, 8), 65535, dtype=np.uint16)).save(tmp_path / "deep.png")
    rgba = Image.new("RGBA", (8, 6), (255, 0, 0, 255))
    rgba.putpixel((0, 0), (0, 0, 0, 0))  # fully transparent black -> white background
    rgba.save(tmp_path / "alpha.png")
    for name in ("gray.png", "palette.png", "cmyk.jpg", "deep.png", "alpha.png"):
        image = load_image(tmp_path / name)
        assert image.mode == "RGB" and image.size == (8, 6), name
    assert load_image(tmp_path / "gray.png").getpixel((3, 3)) == (100, 100, 100)
    assert load_image(tmp_path / "palette.png").getpixel((3, 3)) == (0, 0, 255)
    assert load_image(tmp_path / "deep.png").getpixel((3, 3)) == (255, 255, 255)  # scaled, not clipped
    alpha = load_image(tmp_path / "alpha.png")
    assert alpha.getpixel((0, 0)) == (255, 255, 255) and alpha.getpixel((4, 4)) == (255, 0, 0)
    assert sum(load_image(tmp_path / "cmyk.jpg").getpixel((3, 3))) > 3 * 240  # no ink = white


def test_exif_orientation_and_odd_names(tmp_path: Path) -> None:
    image = Image.new("RGB", (40, 20), (255, 0, 0))
    image.paste((0, 0, 255), (0, 0, 20, 20))  # left half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: display rotated 90 degrees clockwise
    image.save(tmp_path / "rotated photo.JPG", exif=exif, quality=95)
    upright = load_image(tmp_path / "rotated photo.JPG")
    assert upright.size == (20, 40) == read_size(tmp_path / "rotated photo.JPG")
    top = upright.getpixel((10, 5))
    assert top[2] > 200 and top[0] < 60  # the blue half is now on top
    dataset = ImageFolderDataset(tmp_path)
    assert len(dataset) == 1 and dataset[0]["input"].shape == (3, 40, 20)


# ----------------------------------------------------------------------------- transform sizes


@pytest.mark.parametrize(
    ("mode", "size", "expected"),
    [
        ("resize_and_crop", (300, 200), (64, 64)),
        ("crop", (300, 200), (64, 64)),
        ("scale_width", (300, 200), (96, 64)),
        ("scale_width", (300, 90), (96, 64)),  # height never below crop_size
        ("scale_width_and_crop", (300, 200), (64, 64)),
        ("resize", (300, 200), (96, 96)),
        ("none", (301, 199), (300, 200)),  # nearest multiple of 4
    ],
)
def test_preprocess_output_sizes(mode: str, size: tuple[int, int], expected: tuple[int, int]) -> None:
    assert mode in PREPROCESS_MODES
    config = TransformConfig(preprocess=mode, load_size=96, crop_size=64)
    out = transform_image(_noise(*size), config, random.Random(0))
    assert out.size == expected == output_size(size, config)


def test_every_mode_is_covered() -> None:
    covered = {"resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "resize", "none"}
    assert covered == set(PREPROCESS_MODES)


def test_transform_config_errors() -> None:
    with pytest.raises(RekoError, match="not one of"):
        TransformConfig(preprocess="zoom")
    with pytest.raises(RekoError, match="load_size >= crop_size"):
        TransformConfig(load_size=128, crop_size=256)
    with pytest.raises(RekoError, match="smaller than crop_size"):
        transform_image(_noise(50, 50), TransformConfig(preprocess="crop", crop_size=64), random.Random(0))
