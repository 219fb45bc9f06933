"""Fetch a file from a URL into a cache: progress bar, checksum, atomic, never half-written.

Used for the official datasets and pretrained generators (`reko.zoo`) on a connected machine.
Nothing in reko downloads during tests: every consumer also accepts a local path.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from tqdm import tqdm

from reko.atomic import atomic_path
from reko.errors import RekoError

CHUNK = 1 << 20


def cache_dir() -> Path:
    """``$REKO_CACHE``, else ``$XDG_CACHE_HOME/reko``, else ``~/.cache/reko``."""
    if os.environ.get("REKO_CACHE"):
        return Path(os.environ["REKO_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "reko"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(url: str, destination: Path, sha256: str | None = None, timeout: float = 60.0) -> Path:
    """Download ``url`` to ``destination`` (skipped if present with the right checksum)."""
    if destination.exists() and (sha256 is None or sha256_of(destination) == sha256):
        return destination
    try:
        response = urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 - official https/http URLs
    except (urllib.error.URLError, OSError) as error:
        raise RekoError(
            f"could not download {url} ({error}); on a machine without internet, download it elsewhere and "
            f"place it at {destination}, or pass the local file's path"
        ) from None
    total = int(response.headers.get("Content-Length") or 0) or None
    with response, atomic_path(destination) as tmp:
        with tmp.open("wb") as out, tqdm(total=total, unit="B", unit_scale=True, desc=destination.name) as bar:
            for chunk in iter(lambda: response.read(CHUNK), b""):
                out.write(chunk)
                bar.update(len(chunk))
        if sha256 is not None and (actual := sha256_of(tmp)) != sha256:
            raise RekoError(f"{url}: checksum mismatch (expected sha256 {sha256}, got {actual}); nothing was kept")
    return destination


def extract(archive: Path, into: Path) -> Path:
    """Unpack a .zip or .tar(.gz) into ``into``, refusing members that would escape it."""
    into.mkdir(parents=True, exist_ok=True)
    root = into.resolve()
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            _check_members(archive, [m.filename for m in zf.infolist()], root)
            zf.extractall(root)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            _check_members(archive, [m.name for m in tf.getmembers()], root)
            tf.extractall(root, filter="data")
    else:
        raise RekoError(f"{archive}: neither a zip nor a tar archive")
    return into


def _check_members(archive: Path, names: list[str], root: Path) -> None:
    for name in names:
        target = (root / name).resolve()
        if root != target and root not in target.parents:
            raise RekoError(f"{archive}: member {name!r} would be written outside {root}; refusing to extract")


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
