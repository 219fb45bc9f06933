"""What an exported file says about itself: the generator's spec and how it was exported.

Both are JSON strings stored inside the file, so that an export needs nothing else to be run
or checked: ONNX keeps them in ``model.metadata_props``, TorchScript in extra files of its
archive. Keys: ``reko.format`` (`FORMAT`), ``reko.spec`` (`GeneratorSpec` JSON) and
``reko.export`` (`ExportInfo` JSON).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

from reko.errors import RekoError
from reko.models import GeneratorSpec

FORMAT = "reko.exported-generator/1"
FORMAT_KEY = "reko.format"
SPEC_KEY = "reko.spec"
EXPORT_KEY = "reko.export"
KEYS = (FORMAT_KEY, SPEC_KEY, EXPORT_KEY)

EXPORT_FORMATS: tuple[str, ...] = ("onnx", "torchscript")


@dataclass(frozen=True)
class ExportInfo:
    """How a generator was exported; the input sizes it accepts follow from it.

    Attributes:
        format: ``onnx`` or ``torchscript``.
        dynamic: height and width are free (any multiple of ``size_multiple``); otherwise the
            file takes exactly ``size`` x ``size``. The batch dimension is always free.
        size: the fixed input side (None when ``dynamic``).
        size_multiple: what height and width must be multiples of (4 for ResNet, 2**num_downs
            for U-Net), from the spec.
        opset: ONNX opset (None for TorchScript).
        exporter: ``dynamo`` / ``torchscript`` (torch.onnx's two exporters) or ``trace``.
        source: the checkpoint the export started from (its file name).
        int8: quantisation settings for an INT8 file, else None.
        rewrites: function-preserving graph rewrites applied before export (see ``rewrites.py``).
        versions: library versions that produced the file.
    """

    format: str
    dynamic: bool
    size: int | None
    size_multiple: int
    opset: int | None = None
    exporter: str | None = None
    source: str = ""
    int8: dict[str, Any] | None = None
    rewrites: tuple[str, ...] = ()
    versions: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.format not in EXPORT_FORMATS:
            raise RekoError(f"export format {self.format!r} is not one of {EXPORT_FORMATS}")
        if not self.dynamic and (self.size is None or self.size % self.size_multiple):
            raise RekoError(f"a fixed-size export needs a size that is a multiple of {self.size_multiple}")

    @property
    def kind(self) -> str:
        """``onnx``, ``onnx-int8`` or ``torchscript``: the name used in tables and reports."""
        return f"{self.format}-int8" if self.int8 else self.format

    def check_size(self, height: int, width: int) -> None:
        """Raise `RekoError` unless a ``height`` x ``width`` input is one this file accepts.

        Runtimes do not always refuse a wrong size themselves: a ResNet exported with dynamic
        axes runs on 10x10 and returns a 12x12 image.
        """
        multiple = self.size_multiple
        if not self.dynamic:
            if (height, width) != (self.size, self.size):
                raise RekoError(
                    f"this {self.kind} file was exported for {self.size}x{self.size} inputs only, got "
                    f"{height}x{width}: resize or tile to {self.size}x{self.size}, or export with dynamic sizes"
                )
            return
        if height < multiple or width < multiple or height % multiple or width % multiple:
            up_h = max(multiple, math.ceil(height / multiple) * multiple)
            up_w = max(multiple, math.ceil(width / multiple) * multiple)
            raise RekoError(
                f"input {height}x{width} does not fit this generator: height and width must be positive "
                f"multiples of {multiple}; pad or resize to e.g. {up_h}x{up_w}"
            )

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data["rewrites"] = list(self.rewrites)
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ExportInfo:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, got {text[:80]!r}")
        known = {f.name for f in dataclasses.fields(cls)}
        data = {k: v for k, v in data.items() if k in known}  # newer files may record more
        data["rewrites"] = tuple(data.get("rewrites", ()))
        return cls(**data)


def metadata_entries(spec: GeneratorSpec, info: ExportInfo) -> dict[str, str]:
    """The key/value strings written into an exported file."""
    return {FORMAT_KEY: FORMAT, SPEC_KEY: spec.to_json(), EXPORT_KEY: info.to_json()}


def parse_metadata(entries: dict[str, str], path: object) -> tuple[GeneratorSpec, ExportInfo]:
    """Spec and export settings from the strings `metadata_entries` wrote; `RekoError` naming
    ``path`` if they are missing (a file reko did not export) or unreadable."""
    if entries.get(FORMAT_KEY) != FORMAT or SPEC_KEY not in entries or EXPORT_KEY not in entries:
        raise RekoError(
            f"{path}: no reko export metadata ({', '.join(KEYS)}); export it with `reko export` so that its "
            f"generator spec and accepted input sizes are known"
        )
    try:
        return GeneratorSpec.from_json(entries[SPEC_KEY]), ExportInfo.from_json(entries[EXPORT_KEY])
    except (ValueError, TypeError, RekoError) as error:
        raise RekoError(f"{path}: unreadable reko export metadata ({error})") from None


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape an exported graph (recorded in every export; onnx and
    onnxruntime when installed: a TorchScript export needs neither)."""
    import importlib

    import torch

    from reko import __version__
    from reko.extras import installed

    versions = {"reko": __version__, "torch": torch.__version__}
    for name in ("onnx", "onnxruntime"):
        if installed(name):
            versions[name] = importlib.import_module(name).__version__
    return versions
