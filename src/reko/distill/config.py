"""`DistillConfig`: the configuration of ``reko distill`` (its sections are those of `reko.config`).

The ``distill`` section holds ``method`` plus that method's own options, validated against the
method's ``config_class`` (e.g. `reko.distill.reko.ReKoConfig`)::

    distill:
      method: reko
      num_patches: 64
      scoring: teacher

It lives here, beside the method registry, so that `reko.config` needs nothing of `reko.distill`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from reko.config import (
    DataConfig,
    DiscriminatorConfig,
    LogConfig,
    LossConfig,
    StudentConfig,
    TrainConfig,
    from_dict,
    to_dict,
)
from reko.distill.method import MethodConfig
from reko.errors import RekoError


def _method_config_class(name: str) -> type[MethodConfig]:
    from reko.distill.registry import get_method  # the registry imports every method

    return get_method(name).config_class


@dataclass(frozen=True)
class DistillSection:
    """``distill.method`` and the method's own options (``options``, flattened in YAML)."""

    method: str = "reko"
    options: MethodConfig = field(default_factory=lambda: _method_config_class("reko")())

    def __post_init__(self) -> None:
        expected = _method_config_class(self.method)
        if type(self.options) is not expected:
            raise RekoError(
                f"distill.method {self.method!r} takes a {expected.__name__}, got a {type(self.options).__name__}"
            )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str) -> DistillSection:
        """``{"method": name, **options}`` -> the section; the options checked by the method's dataclass."""
        method_name = data.get("method", cls.method)
        if not isinstance(method_name, str):
            raise RekoError(f"{where + '.' if where else ''}method must be a method name, got {method_name!r}")
        options = {k: v for k, v in data.items() if k != "method"}
        return cls(method=method_name, options=from_dict(_method_config_class(method_name), options, where))

    def to_mapping(self) -> dict[str, Any]:
        return {"method": self.method, **to_dict(self.options)}


@dataclass(frozen=True)
class DistillConfig:
    """``reko distill``: train a student from a frozen teacher.

    ``mode``: ``auto`` picks ``cyclegan`` when ``teacher_ba`` is set, ``paired`` when ``data.root``
    holds ``train/``, else ``unpaired`` (one direction: the teacher's outputs are the targets).
    """

    teacher: str = ""
    teacher_ba: str = ""  # both directions: the B->A teacher (``teacher`` is A->B)
    mode: Literal["auto", "paired", "unpaired", "cyclegan"] = "auto"
    out: str = ""
    data: DataConfig = field(default_factory=DataConfig)
    student: StudentConfig = field(default_factory=StudentConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    distill: DistillSection = field(default_factory=DistillSection)
    train: TrainConfig = field(default_factory=TrainConfig)
    log: LogConfig = field(default_factory=LogConfig)
