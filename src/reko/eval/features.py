"""Inception features of images: from files (decoded by worker threads) or from tensors.

Reading files overlaps with the network: ``num_workers`` threads decode and resize the next two
batches (`reko.eval.protocols.prepare`) while the calling thread runs the Inception network on
the current one. Threads, not processes: Pillow releases the GIL while decoding and resizing, and
a prepared batch (32 x 3 x 299 x 299 floats, 34 MB) then needs no copy between processes. On the
2-core development machine decoding is ~3% of the work (~4 ms vs ~70-85 ms of network per
image), so overlapping it gains little there; measured: threads >= serial > worker processes
(see docs/evaluation.md).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from reko.data.images import load_image
from reko.eval.inception import FEATURE_DIM, InceptionNetwork
from reko.eval.protocols import check_protocol, prepare, quantize
from reko.progress import progress_bar


def default_workers() -> int:
    """Decoding threads: one per core beyond the one that runs the network, at least one."""
    return max(1, min(4, (os.cpu_count() or 1) - 1))


class FeatureExtractor:
    """The Inception network plus the protocol that prepares its input.

    Args:
        network: the FID network (`reko.eval.inception.load_inception`).
        protocol: ``clean`` or ``legacy`` (`reko.eval.protocols`).
        batch_size: images per network call.
        num_workers: decoding threads for files (0 decodes in the calling thread, serially).
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
        paths = list(paths)
        if not paths:
            return np.zeros((0, FEATURE_DIM), dtype=np.float32)
        chunks = []
        with progress_bar(total=len(paths), desc=desc, unit="img", disable=not self.progress, leave=False) as bar:
            for batch in self._prepared_batches(paths):
                chunks.append(self.from_prepared(batch))
                bar.update(len(batch))
        return np.concatenate(chunks)

    def _prepared_batches(self, paths: list[Path]) -> Iterator[torch.Tensor]:
        """``(B, 3, 299, 299)`` batches in order; with workers, the next two batches are prepared
        in the background (bounded, so memory stays at ~3 batches whatever the number of files)."""
        if self.num_workers == 0:
            for start in range(0, len(paths), self.batch_size):
                yield torch.stack([_prepare_file(p, self.protocol) for p in paths[start : start + self.batch_size]])
            return
        with ThreadPoolExecutor(self.num_workers, thread_name_prefix="reko-decode") as pool:
            pending: deque[Future[torch.Tensor]] = deque()
            submitted = 0

            def top_up() -> None:
                nonlocal submitted
                while submitted < len(paths) and len(pending) < 2 * self.batch_size:
                    pending.append(pool.submit(_prepare_file, paths[submitted], self.protocol))
                    submitted += 1

            top_up()
            while pending:
                batch = []
                while pending and len(batch) < self.batch_size:
                    batch.append(pending.popleft().result())
                    top_up()
                yield torch.stack(batch)


def _prepare_file(path: Path, protocol: str) -> torch.Tensor:
    """One file decoded to RGB and prepared for Inception, ``(3, 299, 299)``."""
    return prepare(np.asarray(load_image(path), dtype=np.uint8), protocol)
