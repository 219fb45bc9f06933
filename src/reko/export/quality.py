"""How much INT8 changes a generator's outputs as images: PSNR against the float model and
FID/KID of the INT8 outputs against the float outputs, on test images that calibration never saw.

FID needs thousands of images to be unbiased (its covariance is 2048x2048); on the ~100 test
images an export is checked on, KID (unbiased at any size) is the number to read, and FID is a
relative indicator only. Both are 0 for identical outputs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch

from reko.errors import RekoError
from reko.export.parity import psnr

Forward = Callable[[torch.Tensor], torch.Tensor]
PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class Int8Quality:
    """INT8 outputs against float outputs on ``images`` test images."""

    images: int
    source: str
    psnr_db: float
    fid: float | None
    kid_mean: float | None
    kid_std: float | None
    note: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        text = f"INT8 vs float on {self.images} test images ({self.source}): PSNR {self.psnr_db:.2f} dB"
        if self.fid is not None:
            text += f", FID {self.fid:.3f}"
        if self.kid_mean is not None:
            text += f", KID {self.kid_mean:.5f}" + ("" if self.kid_std is None else f" +- {self.kid_std:.5f}")
        return f"{text} ({self.note})" if self.note else text


def int8_quality(
    float_forward: Forward,
    int8_forward: Forward,
    images: torch.Tensor,
    source: str,
    inception: PathLike | None = None,
    fid: bool = True,
    batch_size: int = 4,
    trust_inception: bool = False,
) -> Int8Quality:
    """Compare ``int8_forward`` with ``float_forward`` on ``images`` ``(N, 3, H, W)`` in [-1, 1].

    ``inception``: the FID network file (see `reko.eval.inception.find_inception`); with
    ``fid=False`` only the PSNR is computed.
    """
    if len(images) == 0:
        raise RekoError("no test images to measure INT8 quality on")
    float_out, int8_out = [], []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size]
            float_out.append(float_forward(batch).float().cpu())
            int8_out.append(int8_forward(batch).float().cpu())
    reference, candidate = torch.cat(float_out), torch.cat(int8_out)
    value = psnr(reference, candidate)
    if not fid:
        return Int8Quality(len(images), source, value, None, None, None, "FID/KID not computed")
    distance = _inception_distance(reference, candidate, inception, trust_inception)
    note = "FID is biased on fewer than 2048 images: read KID" if len(images) < 2048 else ""
    return Int8Quality(len(images), source, value, distance.fid, distance.kid_mean, distance.kid_std, note)


def _inception_distance(
    reference: torch.Tensor, candidate: torch.Tensor, inception: PathLike | None, trust: bool = False
) -> Any:
    from reko.eval.features import FeatureExtractor
    from reko.eval.featureset import FeatureSet, compare
    from reko.eval.inception import load_inception

    if reference.shape[1] != 3:
        raise RekoError(f"FID/KID need RGB outputs, this generator has {reference.shape[1]} channels: pass fid=False")
    try:
        network = load_inception(inception, download=False, trust=trust)
    except RekoError as error:
        raise RekoError(f"{error} (or skip FID/KID)") from None
    extractor = FeatureExtractor(network, protocol="clean", batch_size=16, num_workers=0, progress=False)
    sets = [
        FeatureSet(extractor.from_tensors(images), extractor.protocol, network.sha256, name)
        for images, name in ((candidate, "INT8 outputs"), (reference, "float outputs"))
    ]
    # KID over 100 random halves: subsets of the whole set would all be the same set (std 0).
    count = len(reference)
    return compare(sets[0], sets[1], kid=count >= 4, kid_subsets=100, kid_subset_size=max(2, count // 2))
