"""The training state file and the random generators' states.

``state.pt`` holds everything a resumed run needs and nothing that could run code when loaded:
tensors, numbers, strings, lists and dicts only, so `torch.load(weights_only=True)` reads it.
numpy's generator state (which holds an ndarray) is stored as plain lists for that reason.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from reko.atomic import atomic_path, disk_full, is_disk_full
from reko.errors import RekoError


def capture_rng() -> dict[str, Any]:
    """The states of Python's, numpy's and torch's global generators (CPU and every CUDA device)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    state: dict[str, Any] = {
        "python": [version, list(internal), gauss],
        "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def save_state(state: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """``torch.save`` to a temporary file, then rename: a kill mid-write keeps the previous state."""
    target = Path(path)
    with atomic_path(target) as tmp:
        try:
            torch.save(state, tmp)
        except (OSError, RuntimeError) as error:  # torch reports a full disk as "file write failed"
            if is_disk_full(error, target.parent):
                raise disk_full(target, error) from None
            raise


def load_state(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise RekoError(f"no training state at {path}: the run never saved (or this is not a run folder)")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # any unreadable file is the same user error
        raise RekoError(f"{path}: unreadable training state ({str(error).splitlines()[0]})") from None


def set_deterministic(enabled: bool) -> None:
    """Deterministic kernels (``train.deterministic``) or the fastest ones (cudnn autotuning).

    ``warn_only``: a few GPU kernels (e.g. ReflectionPad2d's backward) have no deterministic
    implementation; they warn instead of stopping the run.
    """
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(enabled, warn_only=True)
    torch.backends.cudnn.deterministic = enabled
    torch.backends.cudnn.benchmark = not enabled
