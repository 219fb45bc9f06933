"""`SeededDataset`: the seed and epoch that make every dataset's random choices reproducible."""

from __future__ import annotations

import random

from torch.utils.data import Dataset

from reko.data.transforms import item_rng


class SeededDataset(Dataset):
    """A map-style dataset whose item ``i`` in epoch ``e`` always draws the same random numbers.

    Call `set_epoch` before each epoch (as with ``DistributedSampler``) so crops and flips change
    between epochs yet repeat after a resume. With ``DataLoader(persistent_workers=True)`` the
    workers keep the epoch they were started with; create the loader's iterator after `set_epoch`.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def rng(self, index: int) -> random.Random:
        """The random generator of item ``index`` in the current epoch."""
        return item_rng(self.seed, self.epoch, index)
