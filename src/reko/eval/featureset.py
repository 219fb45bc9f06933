"""`FeatureSet`: the Inception features (or only the statistics) of one set of images, and
`compare`, the FID and KID between two sets, with the protocol and network recorded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reko.errors import RekoError
from reko.eval.frechet import feature_statistics, frechet_distance, kernel_inception_distance


@dataclass
class FeatureSet:
    """Features of one image set, computed under one protocol with one network.

    Attributes:
        features: ``(N, 2048)`` float32, or None when only statistics are known (a pytorch-fid
            ``.npz``); KID then cannot be computed.
        protocol: ``clean`` / ``legacy`` (or ``unknown`` for foreign statistics files).
        network_sha256: checksum of the Inception file that produced them.
        source: what the images were (a folder, "student outputs on ...").
    """

    features: np.ndarray | None
    protocol: str
    network_sha256: str
    source: str
    _mu: np.ndarray | None = field(default=None, repr=False)
    _sigma: np.ndarray | None = field(default=None, repr=False)
    _count: int | None = field(default=None, repr=False)

    @classmethod
    def from_statistics(
        cls, mu: np.ndarray, sigma: np.ndarray, count: int, protocol: str, network_sha256: str, source: str
    ) -> FeatureSet:
        return cls(None, protocol, network_sha256, source, _mu=mu, _sigma=sigma, _count=count)

    @property
    def count(self) -> int:
        if self.features is not None:
            return len(self.features)
        return int(self._count or 0)

    def statistics(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean ``(2048,)`` and covariance ``(2048, 2048)``, float64 (computed once)."""
        if self._mu is None or self._sigma is None:
            if self.features is None:
                raise RekoError(f"{self.source}: no features and no statistics")
            self._mu, self._sigma = feature_statistics(self.features)
        return self._mu, self._sigma


@dataclass(frozen=True)
class Distance:
    """FID and KID between two image sets, and what they were computed with."""

    fid: float
    kid_mean: float | None
    kid_std: float | None
    count: int
    reference_count: int
    protocol: str
    network_sha256: str
    kid_subsets: int
    kid_subset_size: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "fid": self.fid,
            "kid_mean": self.kid_mean,
            "kid_std": self.kid_std,
            "count": self.count,
            "reference_count": self.reference_count,
            "protocol": self.protocol,
            "network_sha256": self.network_sha256,
            "kid_subsets": self.kid_subsets,
            "kid_subset_size": self.kid_subset_size,
        }


def compare(
    generated: FeatureSet,
    reference: FeatureSet,
    kid: bool = True,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    seed: int = 0,
) -> Distance:
    """FID (and KID, when both sets have features) of ``generated`` against ``reference``.

    Refuses sets computed under different protocols or with different networks: such numbers
    cannot be compared (the reason this module exists).
    """
    for attr, what in (("protocol", "protocols"), ("network_sha256", "Inception networks")):
        a, b = getattr(generated, attr), getattr(reference, attr)
        if "unknown" not in (a, b) and a != b:
            raise RekoError(
                f"{generated.source} and {reference.source} were computed with different {what}: {a} vs {b}"
            )
    mu1, sigma1 = generated.statistics()
    mu2, sigma2 = reference.statistics()
    fid = frechet_distance(mu1, sigma1, mu2, sigma2, generated.features, reference.features)
    kid_mean = kid_std = None
    if kid and generated.features is not None and reference.features is not None:
        kid_mean, kid_std = kernel_inception_distance(
            generated.features, reference.features, kid_subsets, kid_subset_size, seed
        )
    size = min(kid_subset_size, generated.count, reference.count)
    return Distance(
        fid=fid,
        kid_mean=kid_mean,
        kid_std=kid_std,
        count=generated.count,
        reference_count=reference.count,
        protocol=generated.protocol if generated.protocol != "unknown" else reference.protocol,
        network_sha256=generated.network_sha256,
        kid_subsets=kid_subsets,
        kid_subset_size=size,
    )
