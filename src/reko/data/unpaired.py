"""`UnpairedImageDataset`: the CycleGAN layout ``trainA/ trainB/ testA/ testB/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reko.data.base import SeededDataset
from reko.data.images import PathLike, list_images, load_image, read_size, screen, to_tensor
from reko.data.transforms import TransformConfig, transform_image
from reko.errors import RekoError


class UnpairedImageDataset(SeededDataset):
    """Unaligned A and B images: ``{"A": (3, H, W), "B": (3, H, W), "path_A": str, "path_B": str}``.

    The length is ``max(len(A), len(B))``; item ``i`` takes A image ``i % len(A)`` and a B image
    drawn from the item's seeded generator (``serial=False``, as CycleGAN) or ``i % len(B)``.
    A and B get independent crops and flips. Everything is reproducible from ``seed`` and
    the epoch (see `SeededDataset.set_epoch`).

    Args:
        root: the dataset folder (e.g. ``horse2zebra/``).
        split: ``train`` reads ``trainA/`` and ``trainB/``; ``test`` reads ``testA/``, ``testB/``.
        transform: preprocessing (default: CycleGAN training, resize 286 + crop 256 + flip).
        serial: pair B images in order instead of at random.
        skip_bad: decode every image once now and skip (with one warning) unreadable ones.
        seed: seed of the B choice, crops and flips.
    """

    def __init__(
        self,
        root: PathLike,
        split: str = "train",
        transform: TransformConfig | None = None,
        serial: bool = False,
        skip_bad: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__(seed)
        self.root = Path(root)
        self.split = split
        self.transform = transform if transform is not None else TransformConfig()
        self.serial = serial
        folder_a, folder_b = _find_folders(self.root, split)
        check = load_image if skip_bad else read_size
        self.paths_a: list[Path] = screen(list_images(folder_a, what="unpaired folder"), check, skip_bad)
        self.paths_b: list[Path] = screen(list_images(folder_b, what="unpaired folder"), check, skip_bad)

    def __len__(self) -> int:
        return max(len(self.paths_a), len(self.paths_b))

    def __getitem__(self, index: int) -> dict[str, Any]:
        rng = self.rng(index)
        path_a = self.paths_a[index % len(self.paths_a)]
        # Draw the B index first, always, so serial and random runs share the crop/flip stream.
        random_b = rng.randrange(len(self.paths_b))
        path_b = self.paths_b[index % len(self.paths_b) if self.serial else random_b]
        image_a = transform_image(load_image(path_a), self.transform, rng)
        image_b = transform_image(load_image(path_b), self.transform, rng)
        return {"A": to_tensor(image_a), "B": to_tensor(image_b), "path_A": str(path_a), "path_B": str(path_b)}


def _find_folders(root: Path, split: str) -> tuple[Path, Path]:
    if not root.exists():
        raise RekoError(f"unpaired dataset folder {root} does not exist")
    if not root.is_dir():
        raise RekoError(f"unpaired dataset {root} is not a folder")
    folder_a, folder_b = root / f"{split}A", root / f"{split}B"
    if folder_a.is_dir() and folder_b.is_dir():
        return folder_a, folder_b
    found = sorted(p.name for p in root.iterdir() if p.is_dir())
    found_text = f"sub-folders {', '.join(found)}" if found else "no sub-folders"
    message = (
        f"{root} is not an unpaired dataset for split {split!r}: expected {split}A/ and {split}B/; found {found_text}"
    )
    if split in found or {"A", "B"} <= set(found):
        message += " (that is a paired pix2pix layout: use PairedImageDataset)"
    raise RekoError(message)
