"""`PairedImageDataset`: pix2pix training pairs, in either of the two layouts the field uses.

* **aligned** (pix2pix ``--dataset_mode aligned``): ``root/train/*.jpg``, each image is A (left
  half) and B (right half) side by side, e.g. facades 512x256 = photo | label map;
* **folders**: ``root/train/A/x.png`` + ``root/train/B/x.jpg``, matched by file stem; with
  ``split=None``, ``root/A`` + ``root/B`` (or ``root`` itself holding aligned images).

``direction`` decides which side the generator receives: ``AtoB`` gives input=A, target=B;
``BtoA`` input=B, target=A (facades labels -> photo is BtoA, as in pix2pix).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from reko.data.base import SeededDataset
from reko.data.images import (
    PathLike,
    check_aligned_size,
    list_images,
    load_image,
    read_size,
    report_bad,
    screen,
    split_aligned,
    to_tensor,
)
from reko.data.transforms import TransformConfig, transform_pair
from reko.errors import RekoError

DIRECTIONS: tuple[str, ...] = ("AtoB", "BtoA")

# One pair: (aligned image, None) or (A image, B image).
Pair = tuple[Path, Path | None]


def check_direction(direction: str) -> str:
    if direction not in DIRECTIONS:
        raise RekoError(f"direction {direction!r} is not one of {DIRECTIONS}")
    return direction


class PairedImageDataset(SeededDataset):
    """Paired images: ``{"input": (3, H, W), "target": (3, H, W), "path": str}``, both in [-1, 1].

    "input" is what the generator receives once ``direction`` is applied; input and target get
    the SAME crop and flip. "path" is the aligned image, or the input-side image of a folder pair.

    Args:
        root: the dataset folder (e.g. ``facades/``).
        split: ``train``/``val``/``test`` sub-folder, or None when ``root`` has no splits.
        direction: ``AtoB`` or ``BtoA``.
        transform: preprocessing (default: pix2pix training, resize 286 + crop 256 + flip).
        skip_bad: decode every image once now and skip (with one warning) unreadable ones,
            odd-width aligned images, unmatched or differently sized folder pairs.
        seed: seed of the random crops and flips (see `SeededDataset.set_epoch`).
    """

    def __init__(
        self,
        root: PathLike,
        split: str | None = "train",
        direction: str = "AtoB",
        transform: TransformConfig | None = None,
        skip_bad: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__(seed)
        self.root = Path(root)
        self.split = split
        self.direction = check_direction(direction)
        self.transform = transform if transform is not None else TransformConfig()
        self.layout, folder = _find_layout(self.root, split)
        if self.layout == "aligned":
            check = _check_aligned_decoded if skip_bad else _check_aligned_header
            self.pairs: list[Pair] = screen(
                [(p, None) for p in list_images(folder, what="paired folder")],
                check,
                skip_bad,
                what="paired images",
                name=lambda pair: str(pair[0]),
            )
        else:
            matched = _match_stems(folder / "A", folder / "B", skip_bad)
            check = _check_pair_decoded if skip_bad else _check_pair_header
            self.pairs = screen(matched, check, skip_bad, what="image pairs", name=lambda pair: str(pair[0]))

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict[str, Any]:
        path_a, path_b = self.pairs[index]
        if path_b is None:
            image_a, image_b = split_aligned(load_image(path_a), path_a)
        else:
            image_a, image_b = load_image(path_a), load_image(path_b)
        if self.direction == "AtoB":
            source, target, path = image_a, image_b, path_a
        else:
            source, target, path = image_b, image_a, path_b or path_a
        try:
            source, target = transform_pair(source, target, self.transform, self.rng(index))
        except RekoError as error:
            raise RekoError(f"{path}: {error}") from None
        return {"input": to_tensor(source), "target": to_tensor(target), "path": str(path)}


def _find_layout(root: Path, split: str | None) -> tuple[str, Path]:
    """``("aligned" | "folders", folder)``, or one `RekoError` saying what was found and expected."""
    if not root.exists():
        raise RekoError(f"paired dataset folder {root} does not exist")
    if not root.is_dir():
        raise RekoError(f"paired dataset {root} is not a folder")
    base = root / split if split else root
    if base.is_dir():
        if (base / "A").is_dir() and (base / "B").is_dir():
            return "folders", base
        if any(p.is_file() for p in base.iterdir()):
            return "aligned", base
    raise RekoError(_layout_message(root, split))


def _layout_message(root: Path, split: str | None) -> str:
    found = sorted(p.name for p in root.iterdir() if p.is_dir())
    prefix = f"{split}/" if split else ""
    expected = (
        f"'{prefix or './'}' holding side-by-side A|B images, or '{prefix}A/' + '{prefix}B/' matched by file name"
    )
    found_text = f"sub-folders {', '.join(found)}" if found else "no sub-folders"
    message = f"{root} is not a paired dataset for split {split!r}: expected {expected}; found {found_text}"
    if split and {"A", "B"} <= set(found):
        message += " (A/ and B/ sit directly in the folder: pass split=None)"
    elif any(name.endswith(("A", "B")) and name[:-1] in ("train", "test", "val") for name in found):
        message += " (that is the unpaired CycleGAN layout: use UnpairedImageDataset)"
    elif split and found:
        message += f" (is the split one of {', '.join(found)}?)"
    return message


def _match_stems(folder_a: Path, folder_b: Path, skip_bad: bool) -> list[Pair]:
    """Pairs ``A/x.*`` with ``B/x.*``; duplicate or unmatched stems are errors (or skipped)."""
    by_stem_a = _by_stem(list_images(folder_a, what="paired folder"))
    by_stem_b = _by_stem(list_images(folder_b, what="paired folder"))
    unmatched = sorted(set(by_stem_a) ^ set(by_stem_b))
    pairs = [(by_stem_a[s], by_stem_b[s]) for s in sorted(by_stem_a) if s in by_stem_b]
    bad = []
    for stem in unmatched:
        side, other = (folder_a, folder_b) if stem in by_stem_a else (folder_b, folder_a)
        bad.append((str(side / stem), f"{side / stem}.* has no image with the same name in {other}"))
    report_bad(bad, skip_bad, what="unmatched pair names")
    if not pairs:
        raise RekoError(f"no file name appears in both {folder_a} and {folder_b}: pairs are matched by file stem")
    return pairs


def _by_stem(paths: list[Path]) -> dict[str, Path]:
    result: dict[str, Path] = {}
    for path in paths:
        if path.stem in result:
            raise RekoError(f"{result[path.stem]} and {path} have the same name: pairs are matched by file stem")
        result[path.stem] = path
    return result


def _check_aligned_header(pair: Pair) -> None:
    check_aligned_size(read_size(pair[0]), pair[0])


def _check_aligned_decoded(pair: Pair) -> None:
    check_aligned_size(load_image(pair[0]).size, pair[0])


def _check_pair_header(pair: Pair) -> None:
    _check_same_size(pair, read_size(pair[0]), read_size(_second(pair)))


def _check_pair_decoded(pair: Pair) -> None:
    image_a: Image.Image = load_image(pair[0])
    image_b: Image.Image = load_image(_second(pair))
    _check_same_size(pair, image_a.size, image_b.size)


def _check_same_size(pair: Pair, size_a: tuple[int, int], size_b: tuple[int, int]) -> None:
    if size_a != size_b:
        raise RekoError(
            f"{pair[0]} is {size_a[0]}x{size_a[1]} but {pair[1]} is {size_b[0]}x{size_b[1]}: "
            f"the two images of a pair must have the same size"
        )


def _second(pair: Pair) -> Path:
    assert pair[1] is not None  # folder pairs always have both sides
    return pair[1]
