"""Reproducible data order that can start at any step, shared out across processes.

The training stream is the concatenation of per-epoch permutations of the dataset (epoch ``e``
is ``permutation(seed, e)``). Step ``s`` consumes global positions ``[s * G, (s + 1) * G)`` of
that stream, with global batch ``G = batch_size * world_size``; process ``r`` takes the slice
``[s * G + r * batch_size, s * G + (r + 1) * batch_size)``. So a run resumed at step ``s`` sees
exactly the batches it would have seen, and two processes with batch ``b`` together see the same
images per step as one process with batch ``2b``.

Items are requested as ``(epoch, index)`` pairs through `EpochIndexed`, which sets the dataset's
epoch before reading, so crops and flips (seeded per (seed, epoch, index), see
`reko.data.SeededDataset`) also repeat after a resume and in any DataLoader worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from torch.utils.data import Dataset, Sampler


def epoch_permutation(size: int, seed: int, epoch: int) -> np.ndarray:
    """The order of the dataset's ``size`` items in ``epoch``."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, int(epoch)]).permutation(size)


class StepBatchSampler(Sampler[list[tuple[int, int]]]):
    """Yields, for each step in ``[start_step, end_step)``, this process's list of ``(epoch, index)``.

    Args:
        size: number of items in the dataset.
        batch_size: items per process per step.
        seed: seed of the epoch permutations.
        start_step / end_step: the steps to produce (resume = start later).
        rank / world_size: this process and the number of processes.
        shuffle: False keeps the dataset's order (epoch after epoch).
    """

    def __init__(
        self,
        size: int,
        batch_size: int,
        seed: int,
        start_step: int,
        end_step: int,
        rank: int = 0,
        world_size: int = 1,
        shuffle: bool = True,
    ) -> None:
        if size < 1:
            raise ValueError("cannot sample from an empty dataset")
        self.size, self.batch_size, self.seed = size, batch_size, seed
        self.start_step, self.end_step = start_step, end_step
        self.rank, self.world_size, self.shuffle = rank, world_size, shuffle
        self._orders: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return max(0, self.end_step - self.start_step)

    def _order(self, epoch: int) -> np.ndarray:
        if epoch not in self._orders:
            self._orders = {epoch: self._permutation(epoch)}  # keep one epoch: the stream only moves on
        return self._orders[epoch]

    def _permutation(self, epoch: int) -> np.ndarray:
        return epoch_permutation(self.size, self.seed, epoch) if self.shuffle else np.arange(self.size)

    def batch(self, step: int) -> list[tuple[int, int]]:
        global_batch = self.batch_size * self.world_size
        first = step * global_batch + self.rank * self.batch_size
        items = []
        for position in range(first, first + self.batch_size):
            epoch, offset = divmod(position, self.size)
            items.append((epoch, int(self._order(epoch)[offset])))
        return items

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for step in range(self.start_step, self.end_step):
            yield self.batch(step)


class EpochIndexed(Dataset):
    """Wraps a `reko.data.SeededDataset` so that ``wrapped[(epoch, i)]`` is item ``i`` of ``epoch``."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]) -> Any:
        epoch, index = key
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)  # a worker's own copy: no other reader to disturb
        return self.dataset[index]
