"""Images for parity checks, INT8 calibration and INT8 quality: real photographs (a folder given,
else ``$REKO_SHARED``'s horse2zebra testA, else the demo photos shipped with reko), or smooth
synthetic images, always saying which.

Real images are resized to the size under test (shorter side first, then a centre crop, both
bicubic), so any photograph folder works at any export size. Synthetic images are low-frequency
random colour fields: unlike uniform noise, they exercise the network in the range of
activations that photographs produce.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from reko.data import list_images, load_image, to_tensor
from reko.errors import RekoError

PathLike = str | os.PathLike[str]
_BICUBIC = Image.Resampling.BICUBIC
# Where a $REKO_SHARED folder (the development machine's) keeps real test photographs.
DEFAULT_TEST_SUBFOLDER = Path("data") / "horse2zebra" / "testA"
DEMO_TEST_FOLDER = Path(__file__).resolve().parents[1] / "demo_data" / "test"  # 8 photos, in the package


@dataclass(frozen=True)
class ImageSource:
    """A list of image files, or none (then images are synthetic). ``description`` goes into reports."""

    paths: tuple[Path, ...]
    description: str

    @property
    def synthetic(self) -> bool:
        return not self.paths

    def load(self, count: int, height: int, width: int, offset: int = 0, seed: int = 0) -> torch.Tensor:
        """``(N, 3, height, width)`` in [-1, 1]: images ``offset .. offset+count`` of the folder
        (fewer if it has fewer), or ``count`` synthetic ones."""
        if self.synthetic:
            return synthetic_images(count, height, width, seed=seed + offset)
        chosen = self.paths[offset : offset + count]
        if not chosen:
            raise RekoError(f"{self.description}: no images left after the first {offset}")
        return torch.stack([to_tensor(fit(load_image(p), height, width)) for p in chosen])


def folder_source(folder: PathLike, what: str = "image folder") -> ImageSource:
    """The images in ``folder`` (sorted; `RekoError` if none)."""
    paths = tuple(list_images(folder, what=what))
    return ImageSource(paths, f"{len(paths)} real images from {folder}")


def default_test_folder() -> Path | None:
    """``$REKO_SHARED/data/horse2zebra/testA`` when it exists, else the shipped demo photos (None if absent).

    Never a folder guessed from the working directory."""
    shared = os.environ.get("REKO_SHARED")
    if shared and (Path(shared) / DEFAULT_TEST_SUBFOLDER).is_dir():
        return Path(shared) / DEFAULT_TEST_SUBFOLDER
    return DEMO_TEST_FOLDER if DEMO_TEST_FOLDER.is_dir() else None


def test_source(folder: PathLike | None) -> ImageSource:
    """Images for parity checks: ``folder``, else the default test folder, else synthetic."""
    if folder is not None:
        return folder_source(folder, what="test image folder")
    found = default_test_folder()
    if found is not None:
        return folder_source(found, what="test image folder")
    return ImageSource((), "synthetic images (no test folder given, and no $REKO_SHARED or demo photos)")


def fit(image: Image.Image, height: int, width: int) -> Image.Image:
    """Resize ``image`` to cover ``width`` x ``height`` (aspect kept), then centre-crop to it."""
    scale = max(height / image.height, width / image.width)
    resized = (max(width, round(image.width * scale)), max(height, round(image.height * scale)))
    if resized != image.size:
        image = image.resize(resized, _BICUBIC)
    left, top = (image.width - width) // 2, (image.height - height) // 2
    return image.crop((left, top, left + width, top + height))


def synthetic_images(count: int, height: int, width: int, seed: int = 0) -> torch.Tensor:
    """``(count, 3, height, width)`` smooth random colour fields in [-1, 1] (reproducible)."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(count, 3, max(2, height // 16), max(2, width // 16), generator=generator)
    smooth = F.interpolate(coarse, size=(height, width), mode="bicubic", align_corners=False)
    detail = 0.1 * torch.randn(count, 3, height, width, generator=generator)
    return (smooth * 2 - 1 + detail).clamp(-1, 1)
