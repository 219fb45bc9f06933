"""Method registry: a method is found by its ``name``; adding a method is adding one file.

Every module in the ``reko.distill`` package is imported once on first lookup, so a new file
that defines a `DistillMethod` subclass decorated with `@register` is picked up without
editing any list.
"""

from __future__ import annotations

import importlib
import pkgutil

from reko.distill.method import DistillMethod
from reko.errors import RekoError

_METHODS: dict[str, type[DistillMethod]] = {}
_DISCOVERED = False


def register(cls: type[DistillMethod]) -> type[DistillMethod]:
    """Class decorator: make ``cls`` selectable as ``distill.method=<cls.name>``."""
    if not cls.name:
        raise TypeError(f"{cls.__name__} needs a non-empty class attribute 'name'")
    if cls.name in _METHODS and _METHODS[cls.name] is not cls:
        raise TypeError(f"two distillation methods are named {cls.name!r}")
    _METHODS[cls.name] = cls
    return cls


def _discover() -> None:
    global _DISCOVERED
    if _DISCOVERED:
        return
    import reko.distill as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")
    _DISCOVERED = True


def method_names() -> list[str]:
    _discover()
    return sorted(_METHODS)


def get_method(name: str) -> type[DistillMethod]:
    _discover()
    if name not in _METHODS:
        raise RekoError(f"unknown distillation method {name!r}; choose one of {sorted(_METHODS)}")
    return _METHODS[name]
