"""Inception features of images: from files (decoded in worker processes) or from tensors.

Reading files overlaps with the network: a ``DataLoader`` with ``num_workers`` processes decodes
and resizes the next batches (`reko.eval.protocols.prepare`) while the main process runs the
Inception network on the current one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from reko.data.images import load_image
from reko.eval.inception import FEATURE_DIM, InceptionNetwork
from reko.eval.protocols import check_protocol, prepare, quantize


def default_workers() -> int:
    """Decoding processes: one per core beyond the one that runs the network, at least one."""
    return max(1, min(4, (os.cpu_count() or 1) - 1))


class FeatureExtractor:
    """The Inception network plus the protocol that prepares its input.

    Args:
        network: the FID network (`reko.eval.inception.load_inception`).
        protocol: ``clean`` or ``legacy`` (`reko.eval.protocols`).
        batch_size: images per network call.
        num_workers: decoding processes for files (0 decodes in this process).
        progress: show a progress bar for files.
    """

    def __init__(
        self,
        network: InceptionNetwork,
        protocol: str = "clean",
        batch_size: int = 32,
        num_workers: int | None = None,
        progress: bool = True,
    ) -> None:
        self.network = network
        self.protocol = check_protocol(protocol)
        self.batch_size = max(1, int(batch_size))
        self.num_workers = default_workers() if num_workers is None else max(0, int(num_workers))
        self.progress = progress

    @property
    def device(self) -> torch.device:
        param = next(self.network.parameters(), None)
        return param.device if param is not None else torch.device("cpu")

    def describe(self) -> dict[str, object]:
        return {"protocol": self.protocol, "network": self.network.describe()}

    @torch.inference_mode()
    def from_prepared(self, batch: torch.Tensor) -> np.ndarray:
        """``(B, 3, 299, 299)`` prepared input -> ``(B, 2048)`` float32 features."""
        return self.network(batch.to(self.device)).cpu().numpy().astype(np.float32, copy=False)

    def from_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """``(B, H, W, 3)`` uint8 images -> ``(B, 2048)`` float32 features."""
        if len(pixels) == 0:
            return np.zeros((0, FEATURE_DIM), dtype=np.float32)
        chunks = []
        for start in range(0, len(pixels), self.batch_size):
            batch = torch.stack([prepare(p, self.protocol) for p in pixels[start : start + self.batch_size]])
            chunks.append(self.from_prepared(batch))
        return np.concatenate(chunks)

    def from_tensors(self, images: torch.Tensor) -> np.ndarray:
        """``(B, 3, H, W)`` in [-1, 1] (e.g. generator outputs) -> ``(B, 2048)`` float32 features.

        The images are quantised to 8 bits first, as saving them would (`quantize`).
        """
        return self.from_pixels(quantize(images))

    def from_files(self, paths: Sequence[Path], desc: str = "inception") -> np.ndarray:
        """Image files (any size, decoded by `reko.data.load_image`) -> ``(N, 2048)`` float32."""
        if not paths:
            return np.zeros((0, FEATURE_DIM), dtype=np.float32)
        loader = DataLoader(
            _PreparedFiles(list(paths), self.protocol),
            batch_size=self.batch_size,
            num_workers=min(self.num_workers, len(paths)),
            shuffle=False,
            persistent_workers=False,
        )
        chunks = []
        with tqdm(total=len(paths), desc=desc, unit="img", disable=not self.progress, leave=False) as bar:
            for batch in loader:
                chunks.append(self.from_prepared(batch))
                bar.update(len(batch))
        return np.concatenate(chunks)


class _PreparedFiles(Dataset):
    """Item ``i``: file ``i`` decoded to RGB and prepared for Inception, ``(3, 299, 299)``."""

    def __init__(self, paths: list[Path], protocol: str) -> None:
        self.paths = paths
        self.protocol = protocol

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        pixels = np.asarray(load_image(self.paths[index]), dtype=np.uint8)
        return prepare(pixels, self.protocol)
