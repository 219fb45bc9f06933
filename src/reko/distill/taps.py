"""`FeatureTap`: read intermediate features of a model by stage name, without editing the model."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from types import TracebackType

import torch
from torch import nn

from reko.errors import RekoError


def unwrap(model: nn.Module) -> nn.Module:
    """The user's module inside DistributedDataParallel / DataParallel / torch.compile wrappers."""
    while True:
        if isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
            model = model.module
        elif hasattr(model, "_orig_mod"):  # torch.compile's OptimizedModule
            model = model._orig_mod  # type: ignore[assignment]
        else:
            return model


class FeatureTap:
    """Context manager that records the outputs of named sub-modules during forward passes.

    >>> with FeatureTap(student, ["blocks.4", "up1"]) as tap:
    ...     out = student(x)
    ...     feats = tap.features  # {"blocks.4": (B, C, H/4, W/4), "up1": ...}

    Names are validated on entry (an unknown name raises `RekoError` suggesting the nearest
    valid ones) and the hooks are always removed on exit. ``features`` holds the latest
    output of each name; ``clear()`` empties it between forward passes.
    """

    def __init__(self, model: nn.Module, names: Iterable[str]) -> None:
        self.model = unwrap(model)
        self.names = list(dict.fromkeys(names))
        self.features: dict[str, torch.Tensor] = {}
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    def __enter__(self) -> FeatureTap:
        modules = dict(self.model.named_modules())
        for name in self.names:
            if name not in modules or name == "":
                valid = [info.name for info in getattr(self.model, "feature_info", [])] or list(modules)
                nearest = difflib.get_close_matches(name, valid, n=3)
                hint = f"; did you mean {nearest}?" if nearest else ""
                raise RekoError(f"no layer {name!r} in {type(self.model).__name__}{hint} Valid stage names: {valid}")
        for name in self.names:
            self._handles.append(modules[name].register_forward_hook(self._recorder(name)))
        return self

    def _recorder(self, name: str):  # type: ignore[no-untyped-def]
        def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            self.features[name] = output

        return hook

    def clear(self) -> None:
        self.features = {}

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
