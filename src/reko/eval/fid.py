"""FID and KID between image sets: two folders, or generated tensors against a reference.

`fid_between_folders` is ``reko fid``. `InceptionDistance` accumulates generated images during
training or evaluation (``update / compute / reset``) and keeps its reference features between
evaluations, as torchmetrics' FID does.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from reko.errors import RekoError
from reko.eval.features import FeatureExtractor
from reko.eval.featureset import Distance, FeatureSet, compare
from reko.eval.reference import folder_features, load_statistics_file

PathLike = str | os.PathLike[str]


def reference_features(
    reference: PathLike, extractor: FeatureExtractor, cache: bool = True, recursive: bool = False
) -> FeatureSet:
    """Features of a reference: a folder of images (cached) or a statistics ``.npz``."""
    path = Path(reference)
    if path.is_file() and path.suffix == ".npz":
        return load_statistics_file(path)
    return folder_features(path, extractor, cache=cache, recursive=recursive)


def fid_between_folders(
    generated: PathLike,
    reference: PathLike,
    extractor: FeatureExtractor,
    kid: bool = True,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    seed: int = 0,
    cache_reference: bool = True,
    recursive: bool = False,
) -> Distance:
    """FID and KID of the images in ``generated`` against ``reference`` (a folder or ``.npz``).

    Only the reference's features are cached: the generated folder usually changes every run.
    """
    generated_set = folder_features(generated, extractor, cache=False, recursive=recursive)
    reference_set = reference_features(reference, extractor, cache=cache_reference, recursive=recursive)
    return compare(generated_set, reference_set, kid, kid_subsets, kid_subset_size, seed)


class InceptionDistance:
    """FID/KID of generated images against fixed reference features, accumulated batch by batch.

    Args:
        extractor: network and protocol (must match those of ``reference``).
        reference: the real images' `FeatureSet` (e.g. from `reference_features`).
        kid: also compute KID at `compute`.
    """

    def __init__(
        self,
        extractor: FeatureExtractor,
        reference: FeatureSet,
        kid: bool = True,
        kid_subsets: int = 100,
        kid_subset_size: int = 1000,
        seed: int = 0,
    ) -> None:
        self.extractor = extractor
        self.reference = reference
        self.kid = kid
        self.kid_subsets = kid_subsets
        self.kid_subset_size = kid_subset_size
        self.seed = seed
        self._chunks: list[np.ndarray] = []

    def update(self, images: torch.Tensor) -> None:
        """Add ``(B, 3, H, W)`` generated images in [-1, 1]."""
        self._chunks.append(self.extractor.from_tensors(images))

    def update_features(self, features: np.ndarray) -> None:
        """Add ``(B, 2048)`` features computed elsewhere with the same extractor."""
        self._chunks.append(np.asarray(features, dtype=np.float32))

    def features(self, source: str = "generated images") -> FeatureSet:
        if not self._chunks:
            raise RekoError("no generated images were added (call update first)")
        network = self.extractor.network.sha256
        return FeatureSet(np.concatenate(self._chunks), self.extractor.protocol, network, source)

    def compute(self) -> Distance:
        return compare(self.features(), self.reference, self.kid, self.kid_subsets, self.kid_subset_size, self.seed)

    def reset(self) -> None:
        """Forget the generated images; the reference is kept."""
        self._chunks = []
