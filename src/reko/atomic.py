"""Atomic file writes: a crash mid-write never leaves a half-written file behind."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from reko.errors import RekoError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one step.

    The temporary file lives in the same directory so that ``os.replace`` is a rename on one
    file system (atomic on POSIX and Windows).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp creates 0600 files; give the result the mode a plain open() would have.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except OSError as error:
        if error.errno in _DISK_FULL:
            raise disk_full(target, error) from None
        raise
    finally:
        if tmp.exists():
            tmp.unlink()


# ENOSPC (no space left on the device) and EDQUOT (disk quota exceeded).
_DISK_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


def disk_full(target: Path, error: BaseException) -> RekoError:
    """The one error for a write that ran out of space; the previous ``target`` is untouched."""
    free = shutil.disk_usage(target.parent).free if target.parent.exists() else 0
    kept = "its previous version is kept" if target.exists() else "nothing was written"
    return RekoError(
        f"disk full: could not write {target} ({free / 2**20:.1f} MiB free; {error}); {kept}. "
        "Free some space and run the command again"
    )


def is_disk_full(error: BaseException, folder: Path, needed: int = 1 << 20) -> bool:
    """True for an OSError saying so, or any write error while ``folder`` has under ``needed`` bytes free
    (PyTorch's zip writer turns ENOSPC into a RuntimeError that does not say why)."""
    if isinstance(error, OSError) and error.errno in _DISK_FULL:
        return True
    return folder.exists() and shutil.disk_usage(folder).free < needed


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


# The name prefix of the file `ensure_writable_dir` creates and removes at once (other processes
# of a multi-process run may see it in passing).
WRITE_PROBE = ".reko-write-check."


def ensure_writable_dir(folder: str | os.PathLike[str], what: str = "output folder") -> Path:
    """Create ``folder`` (and its parents) and check that a file can be written in it, or raise
    one `RekoError` naming it: commands call this before any work, so that a read-only or
    misspelt destination fails in a second, not after the work it was meant to keep."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise RekoError(f"{what} {folder} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=WRITE_PROBE, dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        raise RekoError(f"cannot write into {what} {folder} ({error.strerror or error})") from None
    return folder


def remove_stale_temporaries(folder: str | os.PathLike[str], name: str = "*") -> list[Path]:
    """Delete the temporary files that `atomic_path` leaves when a process is killed mid-write
    (``.<name>.<random>.tmp`` beside the target, up to a full-size partial copy); ``name``
    restricts it to those of one target file."""
    folder = Path(folder)
    removed = []
    for path in folder.glob(f".{name}.*.tmp") if folder.is_dir() else []:
        if path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
