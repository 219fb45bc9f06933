"""A distillation method's trained heads as their own artefact, beside the student checkpoint.

``student_best.heads.safetensors`` (`reko.results.rundir.RunDir.heads_file`) holds the method's
weights (projection heads, learned scorers; possibly none) and, in the safetensors metadata, a
`HeadsSpec`: which method, its options, its taps and the shape of every tensor. Why a file of its
own: a reader (``reko report`` drawing where a method looks) needs these weights without the
optimiser state in ``state.pt`` and without knowing the distiller's module paths.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import torch

from reko.atomic import atomic_path
from reko.results.base import Result, ResultError

_METADATA_KEY = "reko.heads"


@dataclasses.dataclass(frozen=True)
class HeadsSpec(Result):
    """What the heads file is: the method (by registry name), its options, taps and tensor shapes."""

    KIND = "heads"
    VERSION = 1
    method: str
    options: dict[str, Any]  # the method's config dataclass as a dict (rebuilt with reko.config.from_dict)
    taps: list[str]
    shapes: dict[str, list[int]]  # state-dict key -> shape
    step: int = 0


@dataclasses.dataclass(frozen=True)
class Heads:
    """A method's weights (its ``state_dict``) and their `HeadsSpec`."""

    spec: HeadsSpec
    tensors: dict[str, torch.Tensor]

    @classmethod
    def of(cls, method: torch.nn.Module, step: int = 0) -> Heads:
        """The heads of a `reko.distill.method.DistillMethod` (its name, config, taps and weights)."""
        # clone: safetensors refuses tensors that share memory, and the file must not alias training weights
        tensors = {k: v.detach().cpu().clone().contiguous() for k, v in method.state_dict().items()}
        options = dataclasses.asdict(method.config)  # type: ignore[arg-type]
        shapes = {k: list(v.shape) for k, v in tensors.items()}
        return cls(HeadsSpec(method.name, options, list(method.taps), shapes, step), tensors)  # type: ignore[arg-type]

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write atomically (a crash leaves the previous file)."""
        from safetensors.torch import save_file

        metadata = {_METADATA_KEY: json.dumps(self.spec.to_dict(), allow_nan=False)}
        with atomic_path(path) as tmp:
            save_file(self.tensors, str(tmp), metadata=metadata)
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Heads:
        """Read a heads file; `ResultError` naming the file when it is missing or not one."""
        from safetensors import safe_open

        path = Path(path)
        if not path.is_file():
            raise ResultError(f"{path}: no such heads file")
        try:
            with safe_open(str(path), framework="pt") as f:
                metadata = f.metadata() or {}
                tensors = {key: f.get_tensor(key) for key in f.keys()}  # noqa: SIM118 - safe_open has no iterator
        except Exception as error:  # noqa: BLE001 - safetensors raises its own types for a bad file
            raise ResultError(f"{path}: not a readable safetensors file ({error})") from None
        if _METADATA_KEY not in metadata:
            raise ResultError(f"{path}: a safetensors file without a heads spec (no {_METADATA_KEY!r} metadata)")
        spec = HeadsSpec.from_dict(json.loads(metadata[_METADATA_KEY]), str(path))
        shapes = {k: list(v.shape) for k, v in tensors.items()}
        if shapes != spec.shapes:
            raise ResultError(f"{path}: tensors {shapes} do not match the spec's shapes {spec.shapes}")
        return cls(spec, tensors)
