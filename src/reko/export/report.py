"""`ExportReport`: what an export produced and how it compares with PyTorch, as text or JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reko.export.metadata import ExportInfo
from reko.export.parity import ParityResult
from reko.export.quality import Int8Quality
from reko.models import GeneratorSpec


@dataclass
class ExportReport:
    """One ``reko export`` run.

    Attributes:
        checkpoint / output: the source checkpoint and the exported file.
        spec / info: the generator and the export settings stored in the file.
        parity_images: where the parity images came from (real folder or synthetic).
        parity: one check per input size (two for dynamic exports).
        int8_quality: INT8 only: PSNR and FID/KID against the float model on test images.
        file_bytes / export_seconds: size of the file and time to produce it.
    """

    checkpoint: Path
    output: Path
    spec: GeneratorSpec
    info: ExportInfo
    parity_images: str
    parity: list[ParityResult] = field(default_factory=list)
    int8_quality: Int8Quality | None = None
    file_bytes: int = 0
    export_seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.parity)

    def to_dict(self) -> dict[str, Any]:
        return {
            "checkpoint": str(self.checkpoint),
            "output": str(self.output),
            "passed": self.passed,
            "spec": self.spec.to_dict(),
            "export": {**_info_dict(self.info), "kind": self.info.kind},
            "parity_images": self.parity_images,
            "parity": [r.to_dict() for r in self.parity],
            "int8_quality": self.int8_quality.to_dict() if self.int8_quality else None,
            "file_bytes": self.file_bytes,
            "export_seconds": self.export_seconds,
        }

    def format(self) -> str:
        info = self.info
        sizes = f"dynamic H, W (multiples of {info.size_multiple})" if info.dynamic else f"{info.size}x{info.size}"
        how = f"opset {info.opset}, {info.exporter} exporter" if info.format == "onnx" else "traced + frozen"
        lines = [
            f"{info.kind} export of {self.spec.describe()} from {self.checkpoint}",
            f"  file        {self.output} ({self.file_bytes / 1e6:.2f} MB, {self.export_seconds:.1f} s)",
            f"  inputs      batch x {self.spec.in_channels} x {sizes}; {how}",
        ]
        if info.int8:
            q = info.int8
            lines.append(
                f"  int8        {q['quant_format'].upper()}, {q['activation_type']} activations, per-channel weights, "
                f"{q['calibration_method']} calibration on {q['calibration_images']} images "
                f"({q['calibration_source']}); {q['equalized_convolutions']} convolutions equalised"
            )
        lines.append(f"  parity on   {self.parity_images}")
        lines += [f"  parity      {r.describe()}" for r in self.parity]
        if self.int8_quality is not None:
            lines.append(f"  quality     {self.int8_quality.describe()}")
        lines.append("  result      " + ("PASSED" if self.passed else "FAILED"))
        return "\n".join(lines)


def _info_dict(info: ExportInfo) -> dict[str, Any]:
    return {name: getattr(info, name) for name in info.__dataclass_fields__}
