"""`Result`: the base of every typed result file (a frozen dataclass with a kind and a version).

A result file is strict JSON ``{"kind": ..., "version": N, ...fields}``. Why versioned: a report
built next year must either read this year's files or say plainly that it cannot, rather than
show a number from a field whose meaning changed. A subclass sets ``KIND`` and ``VERSION`` and
bumps ``VERSION`` whenever a field changes meaning or is removed (adding an optional field with
a default does not need a bump: older files still read).

Nested results (a compare result holding eval results) are dataclass fields typed with
another `Result` subclass, a ``list[...]`` or ``dict[str, ...]`` of one; `from_dict` rebuilds
them from their annotations.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import types
import typing
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from reko.atomic import atomic_path
from reko.errors import RekoError

R = TypeVar("R", bound="Result")


class ResultError(RekoError):
    """A result file that is missing, not JSON, of another kind or version, or lacks a field."""


@dataclasses.dataclass(frozen=True)
class Result:
    """Base class; subclasses are ``@dataclasses.dataclass(frozen=True)`` with ``KIND``/``VERSION``."""

    KIND: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1

    # ------------------------------------------------------------------ to JSON

    def to_dict(self) -> dict[str, Any]:
        """``{"kind", "version", fields...}``; nested results carry their own kind and version."""
        body = {f.name: _encode(getattr(self, f.name)) for f in dataclasses.fields(self)}
        return {"kind": self.KIND, "version": self.VERSION, **body}

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write this result as indented strict JSON, atomically (a crash leaves the old file)."""
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
        return Path(path)

    # ------------------------------------------------------------------ from JSON

    @classmethod
    def from_dict(cls: type[R], data: Any, source: str = "result") -> R:
        """Rebuild from `to_dict`'s output; `ResultError` naming ``source`` and the field otherwise."""
        if not isinstance(data, dict):
            raise ResultError(f"{source}: expected a JSON object, found {type(data).__name__}")
        kind, version = data.get("kind"), data.get("version")
        if kind != cls.KIND:
            raise ResultError(f"{source}: expected a {cls.KIND!r} result, found kind {kind!r}")
        if version != cls.VERSION:
            raise ResultError(
                f"{source}: {cls.KIND!r} result version {version!r}; this reko reads version {cls.VERSION}"
                " (re-run the command that wrote it)"
            )
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            if field.name in data:
                values[field.name] = _decode(hints[field.name], data[field.name], f"{source}: {field.name}")
            elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise ResultError(f"{source}: {cls.KIND!r} result has no field {field.name!r}")
        return cls(**values)

    @classmethod
    def read(cls: type[R], path: str | os.PathLike[str]) -> R:
        """Read one result file; `ResultError` naming the file when it cannot be this kind."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ResultError(f"{path}: no such result file") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ResultError(f"{path}: not a readable JSON result ({error})") from None
        return cls.from_dict(data, str(path))


def _encode(value: Any) -> Any:
    """JSON-ready: results nest, tuples become lists, paths strings, inf/nan None (strict JSON)."""
    if isinstance(value, Result):
        return value.to_dict()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def _decode(hint: Any, value: Any, where: str) -> Any:
    """The value for a field typed ``hint``: nested results rebuilt, tuples restored."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):  # X | None
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        return _decode(options[0], value, where) if len(options) == 1 else value
    if isinstance(hint, type) and issubclass(hint, Result):
        return hint.from_dict(value, where)
    if origin is list and args:
        _expect(value, list, where)
        return [_decode(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is tuple and args:
        _expect(value, list, where)
        item = args[0]
        return tuple(_decode(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict and len(args) == 2:
        _expect(value, dict, where)
        return {k: _decode(args[1], v, f"{where}.{k}") for k, v in value.items()}
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _expect(value: Any, kind: type, where: str) -> None:
    if not isinstance(value, kind):
        raise ResultError(f"{where}: expected a JSON {'array' if kind is list else 'object'}, found {value!r}")
