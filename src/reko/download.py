"""Fetch a file from a URL into a cache: progress bar, checksum, atomic, never half-written.

Used for the official datasets and pretrained generators (`reko.zoo`) on a connected machine.
Nothing in reko downloads during tests: every consumer also accepts a local path.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path

from reko.atomic import atomic_path, remove_stale_temporaries
from reko.errors import RekoError
from reko.progress import progress_bar

CHUNK = 1 << 20
# Written into a dataset folder once every member is unpacked: without it a folder is not complete.
COMPLETE_MARKER = ".reko-download-complete"


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
    remove_stale_temporaries(destination.parent, destination.name)  # what a killed download left
    try:
        response = urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 - official https/http URLs
    except (urllib.error.URLError, OSError) as error:
        raise RekoError(
            f"could not download {url} ({error}); on a machine without internet, download it elsewhere and "
            f"place it at {destination}, or pass the local file's path"
        ) from None
    total = int(response.headers.get("Content-Length") or 0) or None
    with response, atomic_path(destination) as tmp:
        with tmp.open("wb") as out, progress_bar(total=total, unit="B", unit_scale=True, desc=destination.name) as bar:
            for chunk in iter(lambda: response.read(CHUNK), b""):
                out.write(chunk)
                bar.update(len(chunk))
        if sha256 is not None and (actual := sha256_of(tmp)) != sha256:
            raise RekoError(f"{url}: checksum mismatch (expected sha256 {sha256}, got {actual}); nothing was kept")
    return destination


def extract(archive: Path, into: Path) -> Path:
    """Unpack a .zip or .tar(.gz) into the new folder ``into``, all or nothing.

    Members go into a temporary sibling (``.<name>.partial-*``) that is renamed to ``into`` only
    once every member is out, so an interrupted or refused extraction never leaves a partial
    ``into``. Refused members (a path or link leaving the folder, a device or other special file)
    and damaged archives are one `RekoError` naming the archive; nothing is kept then.
    """
    if into.exists() and (not into.is_dir() or any(into.iterdir())):
        raise RekoError(f"cannot unpack {archive} into {into}: it already exists and is not an empty folder")
    into.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{into.name}.partial-", dir=into.parent))
    try:
        _extract_into(archive, staging)
        if into.exists():
            into.rmdir()  # the empty folder checked above
        os.replace(staging, into)
    finally:
        remove_tree(staging)
    return into


def extract_folder(archive: Path, root: Path, name: str) -> Path:
    """The folder ``root/name`` that ``archive`` holds (the field's archives hold one top folder).

    Unpacked into a temporary sibling, marked complete (`COMPLETE_MARKER`) and renamed into place
    in one step. An existing ``root/name`` is returned only if it carries that mark: a folder
    without it (an extraction interrupted by an older reko, or a folder of the user's) is an error,
    never taken for a complete dataset.
    """
    target = root / name
    if target.exists():
        if (target / COMPLETE_MARKER).is_file():
            return target
        raise RekoError(
            f"{target} exists but was not completed by reko download (it has no {COMPLETE_MARKER}): an "
            f"interrupted extraction, or a folder of your own. Move or delete it and run again"
        )
    staging = root / f".{name}.unpacking"
    remove_tree(staging)  # a leftover of an interrupted earlier call
    try:
        extract(archive, staging)
        unpacked = staging / name
        if not unpacked.is_dir():
            found = sorted(p.name for p in staging.iterdir())
            raise RekoError(f"{archive} does not hold a top folder {name}/ (it holds {found[:8]})")
        (unpacked / COMPLETE_MARKER).write_text(f"{archive.name}\n", encoding="utf-8")
        try:
            os.replace(unpacked, target)
        except OSError as error:
            raise RekoError(f"could not move the unpacked {name}/ to {target} ({error})") from None
    finally:
        remove_tree(staging)
    return target


def _extract_into(archive: Path, root: Path) -> None:
    root = root.resolve()
    try:
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
    except tarfile.FilterError as error:
        raise RekoError(f"{archive}: refused to extract a member ({error}); nothing was kept") from None
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error) as error:
        raise RekoError(f"{archive}: damaged or truncated archive ({error}); nothing was kept") from None
    except OSError as error:
        raise RekoError(f"could not unpack {archive} ({error}); nothing was kept") from None


def _check_members(archive: Path, names: list[str], root: Path) -> None:
    for name in names:
        target = (root / name).resolve()
        if root != target and root not in target.parents:
            raise RekoError(f"{archive}: member {name!r} would be written outside {root}; refusing to extract")


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
