"""Reference features cached as ``.npz``, keyed by the images' content, the network and the protocol.

A cache file holds ``mu`` and ``sigma`` (pytorch-fid's keys, so other tools can read it), the
``features`` (needed for KID) and ``meta`` (JSON: protocol, network checksum, source, count,
key). Its name ends in a key that hashes every image file's bytes and relative path, the
Inception file's sha256, the protocol and how the images were prepared (e.g. resized to 256): a
changed image, network or protocol can never reuse stale statistics.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reko.atomic import atomic_path
from reko.data.images import list_images
from reko.download import cache_dir
from reko.errors import RekoError
from reko.eval.features import FeatureExtractor
from reko.eval.featureset import FeatureSet

PathLike = str | os.PathLike[str]
FORMAT = "reko.fid_reference/1"


def reference_cache_dir() -> Path:
    """``<reko cache>/fid_reference`` (``$REKO_CACHE`` or ``~/.cache/reko``)."""
    return cache_dir() / "fid_reference"


def files_fingerprint(paths: Sequence[Path], root: Path) -> str:
    """sha256 over every file's path relative to ``root`` and the sha256 of its bytes."""
    digest = hashlib.sha256()
    for path in sorted(paths, key=lambda p: p.relative_to(root).as_posix()):
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def cache_key(fingerprint: str, extractor: FeatureExtractor, preparation: str) -> str:
    text = json.dumps(
        {
            "images": fingerprint,
            "network": extractor.network.sha256,
            "protocol": extractor.protocol,
            "prep": preparation,
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_path(
    name: str, fingerprint: str, extractor: FeatureExtractor, preparation: str, cache_root: Path | None = None
) -> tuple[Path, str]:
    """Where the features of these images under this network and protocol are cached, and the key."""
    key = cache_key(fingerprint, extractor, preparation)
    safe_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:60] or "images"
    return (cache_root or reference_cache_dir()) / f"{safe_name}-{extractor.protocol}-{key[:16]}.npz", key


def read_cached(path: Path, key: str) -> FeatureSet | None:
    """The cached `FeatureSet` at ``path`` if it exists and carries ``key``; else None."""
    return _read(path, expected_key=key) if path.is_file() else None


def write_cached(path: Path, key: str, features: FeatureSet, preparation: str) -> Path:
    meta = {"format": FORMAT, "key": key, "source": features.source, "preparation": preparation}
    meta.update({"count": features.count, "protocol": features.protocol, "network_sha256": features.network_sha256})
    return save_reference(path, features, meta)


def cached_features(
    name: str,
    fingerprint: str,
    extractor: FeatureExtractor,
    compute: Callable[[], np.ndarray],
    source: str,
    preparation: str = "as stored",
    cache: bool = True,
    cache_root: Path | None = None,
) -> FeatureSet:
    """The `FeatureSet` of some images: read from the cache, or ``compute()``-d and cached.

    Args:
        name: readable part of the cache file name (e.g. the folder's name).
        fingerprint: `files_fingerprint` of the images (what makes the key content-based).
        extractor: the network and protocol.
        compute: returns the ``(N, 2048)`` features when they are not cached.
        source: description recorded with the features.
        preparation: how the images were prepared before the protocol (part of the key).
        cache: read and write the cache at all.
        cache_root: cache folder (default `reference_cache_dir`).
    """
    path, key = cache_path(name, fingerprint, extractor, preparation, cache_root)
    cached = read_cached(path, key) if cache else None
    if cached is not None:
        return cached
    result = FeatureSet(compute(), extractor.protocol, extractor.network.sha256, source)
    if cache:
        write_cached(path, key, result, preparation)
    return result


def folder_features(
    folder: PathLike,
    extractor: FeatureExtractor,
    cache: bool = True,
    recursive: bool = False,
    cache_root: Path | None = None,
) -> FeatureSet:
    """Features of every image in ``folder`` as stored on disk (only the protocol resizes them)."""
    root = Path(folder)
    paths = list_images(root, recursive=recursive)
    return cached_features(
        name=root.resolve().name,
        fingerprint=files_fingerprint(paths, root),
        extractor=extractor,
        compute=lambda: extractor.from_files(paths, desc=f"inception {root.name}"),
        source=str(root),
        cache=cache,
        cache_root=cache_root,
    )


def save_reference(path: Path, features: FeatureSet, meta: dict[str, Any]) -> Path:
    """Write ``mu``, ``sigma``, ``features`` and ``meta`` to ``path`` atomically."""
    mu, sigma = features.statistics()
    arrays: dict[str, np.ndarray] = {"mu": mu, "sigma": sigma, "meta": np.array(json.dumps(meta, sort_keys=True))}
    if features.features is not None:
        arrays["features"] = features.features.astype(np.float32)
    with atomic_path(path) as tmp:
        with tmp.open("wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]
    return path


def load_statistics_file(path: PathLike) -> FeatureSet:
    """A reference ``.npz``: one of ours, or pytorch-fid's / GAN Compression's (``mu``, ``sigma``).

    Foreign files carry no protocol or network; they are marked ``unknown`` and give FID only.
    """
    path = Path(path)
    result = _read(path, expected_key=None)
    if result is None:
        raise RekoError(f"{path}: not a statistics file (expected arrays 'mu' and 'sigma')")
    return result


def _read(path: Path, expected_key: str | None) -> FeatureSet | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as error:
        if expected_key is not None:
            return None  # a damaged cache entry is recomputed
        raise RekoError(f"{path}: not a readable .npz file ({error})") from None
    if "mu" not in arrays or "sigma" not in arrays:
        return None
    meta = json.loads(str(arrays["meta"])) if "meta" in arrays else {}
    if expected_key is not None and meta.get("key") != expected_key:
        return None
    features = arrays.get("features")
    protocol = meta.get("protocol", "unknown")
    network = meta.get("network_sha256", "unknown")
    source = meta.get("source", str(path))
    if features is not None:
        result = FeatureSet(features.astype(np.float32), protocol, network, source)
        result._mu, result._sigma = arrays["mu"].astype(np.float64), arrays["sigma"].astype(np.float64)
        return result
    count = int(meta.get("count", 0))
    return FeatureSet.from_statistics(
        arrays["mu"].astype(np.float64), arrays["sigma"].astype(np.float64), count, protocol, network, source
    )
