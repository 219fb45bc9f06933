"""`GeneratorSpec`: everything needed to rebuild a generator, saved inside every checkpoint."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

from reko.errors import RekoError

Family = Literal["resnet", "unet"]
Norm = Literal["instance", "instance_affine", "batch", "none"]
Block = Literal["conv", "mobile"]

FAMILIES: tuple[str, ...] = ("resnet", "unet")
NORMS: tuple[str, ...] = ("instance", "instance_affine", "batch", "none")
BLOCKS: tuple[str, ...] = ("conv", "mobile")

# Allowed range of every integer field (and of every item of an integer-tuple field). A spec is
# read from files (checkpoint and export metadata), so it must never ask for a network that
# exhausts memory before its weights are checked: these bounds lie far above any published
# generator (ResNet ngf 64, 9 blocks; U-Net 8 downs). A new integer field adds its line here.
INT_RANGES: dict[str, tuple[int, int]] = {
    "ngf": (1, 1024),
    "n_blocks": (1, 100),
    "num_downs": (1, 10),
    "in_channels": (1, 16),
    "out_channels": (1, 16),
    "widths": (1, 4096),  # per-stage widths: 4 x the largest ngf
}


@dataclass(frozen=True)
class GeneratorSpec:
    """Architecture of a pix2pix/CycleGAN generator.

    Attributes:
        family: ``resnet`` (Johnson et al., 2 down/up-samplings around residual blocks) or
            ``unet`` (pix2pix U-Net with skip connections).
        ngf: base width (filters of the first convolution). A student is the teacher's spec
            with a smaller ``ngf`` so that its named stages line up with the teacher's.
        n_blocks: residual blocks (ResNet only): 6 or 9 in the field, any positive number works.
        num_downs: down-samplings (U-Net only): 7 for 128x128 inputs, 8 for 256x256.
        norm: ``instance`` (non-affine InstanceNorm, the field's default), ``instance_affine``,
            ``batch`` (BatchNorm, convolutions then carry no bias, as in pix2pix) or ``none``.
        dropout: dropout 0.5 in residual blocks / inner U-Net decoder levels (pix2pix default).
        in_channels / out_channels: image channels.
        block: ``conv`` (the field's full convolutions) or ``mobile`` (depthwise-separable
            convolutions: GAN Compression's mobile ResNet blocks; for U-Net our own analogue,
            see `reko.models.unet`). Stage names do not change, so taps line up with a
            ``conv`` teacher's.
        widths: per-stage widths (GAN Compression-style channel configs), or None for the widths
            that ``ngf`` implies. ResNet: ``n_blocks + 5`` values ``(stem, down1, down2,
            hidden of blocks.0 .. blocks.{n-1}, up1, up2)`` (down2 is the residual trunk's
            width; a block's hidden width is that of its inner convolution); U-Net: one value
            per encoder level (``num_downs``; decoder levels mirror them). `stage_widths` gives
            the values in use either way.
    """

    family: Family = "resnet"
    ngf: int = 64
    n_blocks: int = 9
    num_downs: int = 8
    norm: Norm = "instance"
    dropout: bool = False
    in_channels: int = 3
    out_channels: int = 3
    block: Block = "conv"
    widths: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise RekoError(f"generator family {self.family!r} is not one of {FAMILIES}")
        if self.norm not in NORMS:
            raise RekoError(f"norm {self.norm!r} is not one of {NORMS}")
        for name, (low, high) in INT_RANGES.items():
            values = getattr(self, name, None)
            for value in values if isinstance(values, (tuple, list)) else [values]:
                if value is None:
                    continue
                if not isinstance(value, int) or isinstance(value, bool):
                    raise RekoError(f"generator {name} must be an integer, got {value!r}")
                if not low <= value <= high:
                    raise RekoError(f"generator {name} must be in [{low}, {high}], got {value}")
        if self.family == "unet" and self.num_downs < 5:
            raise RekoError(f"U-Net num_downs must be >= 5 (7 for 128px, 8 for 256px), got {self.num_downs}")
        if self.block not in BLOCKS:
            raise RekoError(f"generator block {self.block!r} is not one of {BLOCKS}")
        if self.widths is not None:
            self._check_widths()

    def _check_widths(self) -> None:
        """Items are integers in range (`INT_RANGES`, above); here: a tuple, of the family's length."""
        if not isinstance(self.widths, (list, tuple)):
            raise RekoError(f"generator widths must be a list of integers, got {self.widths!r:.80}")
        object.__setattr__(self, "widths", tuple(self.widths))  # a list given directly; keep it hashable
        widths = self.widths or ()
        expected = self.n_blocks + 5 if self.family == "resnet" else self.num_downs
        if len(widths) != expected:
            layout = (
                f"(stem, down1, down2, {self.n_blocks} block hidden widths, up1, up2)"
                if self.family == "resnet"
                else f"one per encoder level (num_downs={self.num_downs})"
            )
            raise RekoError(f"{self.family} widths need {expected} values {layout}, got {len(widths)}: {list(widths)}")

    @property
    def size_multiple(self) -> int:
        """Input height and width must be multiples of this."""
        return 4 if self.family == "resnet" else 2**self.num_downs

    @property
    def name(self) -> str:
        """The field's short name: ``resnet_9blocks``, ``unet_256``, ``mobile_resnet_9blocks``..."""
        prefix = "mobile_" if self.block == "mobile" else ""
        if self.family == "resnet":
            return f"{prefix}resnet_{self.n_blocks}blocks"
        return f"{prefix}unet_{2**self.num_downs}"

    def stage_widths(self) -> tuple[int, ...]:
        """The per-stage widths in use: ``widths`` if given, else those ``ngf`` implies
        (ResNet ``(ngf, 2ngf, 4ngf, 4ngf x n_blocks, 2ngf, ngf)``; U-Net ``ngf * min(2^i, 8)``)."""
        if self.widths is not None:
            return self.widths
        ngf = self.ngf
        if self.family == "resnet":
            return (ngf, 2 * ngf, 4 * ngf, *([4 * ngf] * self.n_blocks), 2 * ngf, ngf)
        return tuple(ngf * min(2**i, 8) for i in range(self.num_downs))

    def with_width(self, ngf: int) -> GeneratorSpec:
        """The same architecture with another base width (a student of this teacher); per-stage
        ``widths``, if any, scale by ``ngf / self.ngf`` (rounded, at least 1)."""
        if self.widths is None:
            return dataclasses.replace(self, ngf=ngf)
        widths = tuple(max(1, round(w * ngf / self.ngf)) for w in self.widths)
        return dataclasses.replace(self, ngf=ngf, widths=widths)

    def replace(self, **changes: Any) -> GeneratorSpec:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Any) -> GeneratorSpec:
        """A spec from plain data (e.g. a file's metadata): every key known, every value of its
        field's type and in range (`INT_RANGES`), or one `RekoError` naming the key and value."""
        if not isinstance(data, dict):
            raise RekoError(f"a generator spec must be a mapping of its fields, got {data!r:.80}")
        hints = typing.get_type_hints(cls)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(str(k) for k in set(data) - known)
        if unknown:
            raise RekoError(f"unknown generator spec keys {unknown}; valid keys are {sorted(known)}")
        return cls(**{name: _typed(name, value, hints[name]) for name, value in data.items()})

    @classmethod
    def from_json(cls, text: str) -> GeneratorSpec:
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as error:
            raise RekoError(f"the generator spec is not JSON ({error}): {str(text)[:80]!r}") from None
        return cls.from_dict(data)

    def describe(self) -> str:
        extra = ", dropout" if self.dropout else ""
        depth = f"{self.n_blocks} blocks" if self.family == "resnet" else f"{self.num_downs} downs"
        width = f"widths={list(self.widths)}" if self.widths is not None else f"ngf={self.ngf}"
        return f"{self.name} ({depth}, {width}, norm={self.norm}{extra})"


def _typed(name: str, value: Any, hint: Any) -> Any:
    """``value`` checked against the field type ``hint`` (JSON lists become tuples)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in (o for o in options if o is not type(None)):
            try:
                return _typed(name, value, option)
            except RekoError as error:
                errors.append(str(error))
        raise RekoError(errors[0] if len(errors) == 1 else f"generator {name}: {value!r:.80} fits none of {hint}")
    if origin is Literal:
        if value not in typing.get_args(hint) or isinstance(value, bool):
            raise RekoError(f"generator {name} {value!r:.80} is not one of {list(typing.get_args(hint))}")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise RekoError(f"generator {name} must be a list, got {value!r:.80}")
        item = typing.get_args(hint)[0]
        return tuple(_typed(f"{name}[{i}]", v, item) for i, v in enumerate(value))
    if hint is bool:
        if not isinstance(value, bool):
            raise RekoError(f"generator {name} must be true or false, got {value!r:.80}")
        return value
    if hint is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise RekoError(f"generator {name} must be an integer, got {value!r:.80}")
        return value
    if hint is float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise RekoError(f"generator {name} must be a number, got {value!r:.80}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise RekoError(f"generator {name} must be a string, got {value!r:.80}")
        return value
    raise RekoError(f"generator {name}: unsupported field type {hint!r}")  # a new field type: add it here
