"""`GeneratorSpec`: everything needed to rebuild a generator, saved inside every checkpoint."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Literal

from reko.errors import RekoError

Family = Literal["resnet", "unet"]
Norm = Literal["instance", "instance_affine", "batch", "none"]

FAMILIES: tuple[str, ...] = ("resnet", "unet")
NORMS: tuple[str, ...] = ("instance", "instance_affine", "batch", "none")


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
    """

    family: Family = "resnet"
    ngf: int = 64
    n_blocks: int = 9
    num_downs: int = 8
    norm: Norm = "instance"
    dropout: bool = False
    in_channels: int = 3
    out_channels: int = 3

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise RekoError(f"generator family {self.family!r} is not one of {FAMILIES}")
        if self.norm not in NORMS:
            raise RekoError(f"norm {self.norm!r} is not one of {NORMS}")
        for name in ("ngf", "n_blocks", "in_channels", "out_channels"):
            if int(getattr(self, name)) < 1:
                raise RekoError(f"generator {name} must be >= 1, got {getattr(self, name)}")
        if self.family == "unet" and self.num_downs < 5:
            raise RekoError(f"U-Net num_downs must be >= 5 (7 for 128px, 8 for 256px), got {self.num_downs}")

    @property
    def size_multiple(self) -> int:
        """Input height and width must be multiples of this."""
        return 4 if self.family == "resnet" else 2**self.num_downs

    @property
    def name(self) -> str:
        """The field's short name: ``resnet_9blocks``, ``unet_256``..."""
        if self.family == "resnet":
            return f"resnet_{self.n_blocks}blocks"
        return f"unet_{2**self.num_downs}"

    def with_width(self, ngf: int) -> GeneratorSpec:
        """The same architecture with another base width (a student of this teacher)."""
        return dataclasses.replace(self, ngf=ngf)

    def replace(self, **changes: Any) -> GeneratorSpec:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GeneratorSpec:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise RekoError(f"unknown generator spec keys {unknown}; valid keys are {sorted(known)}")
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> GeneratorSpec:
        return cls.from_dict(json.loads(text))

    def describe(self) -> str:
        extra = ", dropout" if self.dropout else ""
        depth = f"{self.n_blocks} blocks" if self.family == "resnet" else f"{self.num_downs} downs"
        return f"{self.name} ({depth}, ngf={self.ngf}, norm={self.norm}{extra})"
