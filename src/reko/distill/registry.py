"""Method registry: a method is found by its ``name``.

A method's file decorates its `DistillMethod` subclass with `@register`; `reko.distill.methods`
lists the files (one import line per method), imported once on the first lookup.
"""

from __future__ import annotations

from reko.distill.method import DistillMethod
from reko.errors import RekoError

_METHODS: dict[str, type[DistillMethod]] = {}


def register(cls: type[DistillMethod]) -> type[DistillMethod]:
    """Class decorator: make ``cls`` selectable as ``distill.method=<cls.name>``."""
    if not cls.name:
        raise TypeError(f"{cls.__name__} needs a non-empty class attribute 'name'")
    if cls.name in _METHODS and _METHODS[cls.name] is not cls:
        raise TypeError(f"two distillation methods are named {cls.name!r}")
    _METHODS[cls.name] = cls
    return cls


def _discover() -> None:
    import reko.distill.methods  # noqa: F401 - registers every listed method (cached after the first import)


def method_names() -> list[str]:
    _discover()
    return sorted(_METHODS)


def get_method(name: str) -> type[DistillMethod]:
    _discover()
    if name not in _METHODS:
        raise RekoError(f"unknown distillation method {name!r}; choose one of {sorted(_METHODS)}")
    return _METHODS[name]
