"""`ImageFolderDataset`: any folder of images, for one-direction distillation and translation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reko.data.base import SeededDataset
from reko.data.images import PathLike, list_images, load_image, read_size, screen, to_tensor
from reko.data.transforms import TransformConfig, transform_image


class ImageFolderDataset(SeededDataset):
    """Every image in ``root`` (optionally its sub-folders), sorted by relative path.

    Items are ``{"input": (3, H, W) float in [-1, 1], "path": str}``. With ``transform=None``
    images keep their own size (batch them only if they share it); otherwise each image is
    resized/cropped/flipped as the `TransformConfig` says, reproducibly from ``seed``.

    Args:
        root: the folder.
        transform: preprocessing, or None for none.
        recursive: include images in sub-folders.
        skip_bad: decode every image once now and skip (with one warning) those that fail;
            without it, files Pillow cannot identify are one `RekoError` now and truncated files
            a `RekoError` when their item is read.
        seed: seed of the random crops and flips.
    """

    def __init__(
        self,
        root: PathLike,
        transform: TransformConfig | None = None,
        recursive: bool = False,
        skip_bad: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__(seed)
        self.root = Path(root)
        self.transform = transform
        check = load_image if skip_bad else read_size
        self.paths: list[Path] = screen(list_images(self.root, recursive), check, skip_bad)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict[str, Any]:
        path = self.paths[index]
        image = load_image(path)
        if self.transform is not None:
            image = transform_image(image, self.transform, self.rng(index))
        return {"input": to_tensor(image), "path": str(path)}
