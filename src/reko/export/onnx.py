"""Export a generator to ONNX (float32), with its spec and export settings inside the file.

Two exporters ship with torch.onnx and both give correct graphs for these generators
(ReflectionPad2d becomes ``Pad(mode=reflect)``, InstanceNorm2d ``InstanceNormalization``):

* ``dynamo`` (torch.export-based, torch's default since 2.9): its lowest opset is 18. Asked for
  less, torch converts down *or silently keeps 18* (its converter has no ``Pad`` adapter), so
  reko refuses opsets it cannot honour. Dynamic dims come out named for what they are
  (``4*h_blocks``).
* ``torchscript`` (the legacy exporter, deprecated): opsets 11-20.

``auto`` (the default) takes ``dynamo`` from opset 18 up and ``torchscript`` below. The batch
dimension is always dynamic; height and width are fixed (``size``) or dynamic. Every file is
checked with ``onnx.checker`` and written atomically; `reko.export.parity` then runs it.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from reko.atomic import atomic_path
from reko.errors import RekoError
from reko.export.metadata import ExportInfo, library_versions, metadata_entries
from reko.extras import LazyModule, require
from reko.models import GeneratorSpec

if TYPE_CHECKING:
    import onnx
else:
    onnx = LazyModule("onnx", "ONNX export")  # the `export` extra, imported on first use

PathLike = str | os.PathLike[str]

INPUT_NAME = "image"
OUTPUT_NAME = "output"
EXPORTERS: tuple[str, ...] = ("auto", "dynamo", "torchscript")
DEFAULT_OPSET = 18
# Opsets each exporter can produce in torch 2.x: the dynamo exporter's torchlib starts at 18,
# the TorchScript exporter stops at 20; reflect padding as an input-driven Pad needs 11.
_DYNAMO_MIN_OPSET = 18
_TORCHSCRIPT_OPSETS = (11, 20)


def max_opset() -> int:
    """The newest opset that torch.onnx, onnx and (for the checks) onnxruntime all support."""
    require("onnx", "ONNX export")
    onnxruntime = require("onnxruntime", "ONNX export")
    require("onnxscript", "ONNX export")  # torch.onnx's exporters need it
    from_torch = int(getattr(torch.onnx._constants, "ONNX_MAX_OPSET", 20))
    ort_major_minor = tuple(int(p) for p in onnxruntime.__version__.split(".")[:2])
    from_ort = 23 if ort_major_minor >= (1, 22) else 21  # ORT 1.22 added opset 23 kernels
    return min(from_torch, onnx.defs.onnx_opset_version(), from_ort)


def resolve_exporter(opset: int, exporter: str = "auto") -> str:
    """The exporter to use for ``opset``, or a `RekoError` naming the valid range."""
    if exporter not in EXPORTERS:
        raise RekoError(f"ONNX exporter {exporter!r} is not one of {EXPORTERS}")
    newest = max_opset()
    low, high = _TORCHSCRIPT_OPSETS
    if not low <= opset <= newest:
        raise RekoError(f"ONNX opset {opset} is not supported: choose {low} to {newest} (default {DEFAULT_OPSET})")
    if exporter == "auto":
        return "dynamo" if opset >= _DYNAMO_MIN_OPSET else "torchscript"
    if exporter == "dynamo" and opset < _DYNAMO_MIN_OPSET:
        raise RekoError(
            f"the dynamo exporter produces opset {_DYNAMO_MIN_OPSET} or newer, not {opset}: use opset >= "
            f"{_DYNAMO_MIN_OPSET} or the torchscript exporter"
        )
    if exporter == "torchscript" and opset > high:
        raise RekoError(
            f"the TorchScript exporter produces opsets {low} to {high}, not {opset}: use the dynamo exporter"
        )
    return exporter


def export_onnx(
    model: nn.Module,
    path: PathLike,
    size: int | None = 256,
    dynamic: bool = False,
    opset: int = DEFAULT_OPSET,
    exporter: str = "auto",
    source: str = "",
    rewrites: tuple[str, ...] = (),
) -> ExportInfo:
    """Write ``model`` (a generator with ``.spec``) as a float32 ONNX file at ``path``.

    Args:
        model: ``(B, C, H, W) in [-1, 1] -> (B, C_out, H, W)``; exported in eval mode (a copy).
        path: the ``.onnx`` file (replaced atomically).
        size: the fixed input side when not ``dynamic`` (a multiple of ``spec.size_multiple``).
        dynamic: free height and width (any multiple of ``spec.size_multiple``).
        opset: ONNX opset (see `resolve_exporter` for the range).
        exporter: ``auto``, ``dynamo`` or ``torchscript``.
        source: the checkpoint's name, recorded in the file.
        rewrites: names of the rewrites already applied to ``model``, recorded in the file.

    Returns the `ExportInfo` stored in the file.
    """
    spec = _spec_of(model)
    info = ExportInfo(
        format="onnx",
        dynamic=dynamic,
        size=None if dynamic else check_export_size(size, spec),
        size_multiple=spec.size_multiple,
        opset=opset,
        exporter=resolve_exporter(opset, exporter),
        source=source,
        rewrites=tuple(rewrites),
        versions=library_versions(),
    )
    proto = to_onnx_proto(model, info)
    write_onnx(proto, path, spec, info)
    return info


def check_export_size(size: int | None, spec: GeneratorSpec) -> int:
    """``size`` if it is a positive multiple of ``spec.size_multiple``, else a `RekoError`."""
    multiple = spec.size_multiple
    if size is None or size < multiple or size % multiple:
        hint = f"e.g. {max(multiple, round((size or multiple) / multiple) * multiple)}"
        raise RekoError(
            f"export size {size} does not fit {spec.describe()}: it must be a positive multiple of {multiple} "
            f"({hint}); or export with dynamic sizes"
        )
    return size


def to_onnx_proto(model: nn.Module, info: ExportInfo) -> onnx.ModelProto:
    """Run torch.onnx's chosen exporter and return the (unchecked) model."""
    spec = _spec_of(model)
    model = copy.deepcopy(model).eval()
    multiple = spec.size_multiple
    # Dynamic dims need an example of at least 2 (torch.export specialises sizes 0 and 1).
    side = 2 * multiple if info.dynamic else int(info.size or 0)
    example = torch.zeros(2, spec.in_channels, side, side)
    with _quiet_exporter(), torch.no_grad():
        if info.exporter == "dynamo":
            return _export_dynamo(model, example, info, multiple)
        return _export_torchscript(model, example, info)


def _export_dynamo(model: nn.Module, example: torch.Tensor, info: ExportInfo, multiple: int) -> onnx.ModelProto:
    from torch.export import Dim

    dims: dict[int, object] = {0: Dim("batch", min=1, max=4096)}
    if info.dynamic:
        # "multiple * blocks" makes torch.export prove the graph valid for every multiple and
        # names the ONNX dims "4*h_blocks": the constraint is visible to anyone reading the file.
        limit = max(1, 16384 // multiple)
        dims[2] = multiple * Dim("h_blocks", min=1, max=limit)
        dims[3] = multiple * Dim("w_blocks", min=1, max=limit)
    try:
        program = torch.onnx.export(
            model,
            (example,),
            dynamo=True,
            opset_version=info.opset,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes={"x": dims},
            verbose=False,
        )
    except Exception as error:  # noqa: BLE001 - the exporter raises many types
        raise RekoError(f"the dynamo ONNX exporter failed: {_first_line(error)}") from error
    assert program is not None
    proto = program.model_proto
    produced = _default_opset(proto)
    if produced != info.opset:
        # torch falls back to its own opset when it cannot convert: never ship a silent mismatch.
        raise RekoError(f"asked for ONNX opset {info.opset} but the dynamo exporter produced opset {produced}")
    return proto


def _export_torchscript(model: nn.Module, example: torch.Tensor, info: ExportInfo) -> onnx.ModelProto:
    axes = {0: "batch", 2: "height", 3: "width"} if info.dynamic else {0: "batch"}
    with _temporary_file(".onnx") as tmp:
        try:
            torch.onnx.export(
                model,
                (example,),
                str(tmp),
                dynamo=False,
                opset_version=info.opset,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes={INPUT_NAME: axes, OUTPUT_NAME: axes},
                do_constant_folding=True,
            )
        except Exception as error:  # noqa: BLE001
            raise RekoError(f"the TorchScript ONNX exporter failed: {_first_line(error)}") from error
        return onnx.load(str(tmp))


def write_onnx(proto: onnx.ModelProto, path: PathLike, spec: GeneratorSpec, info: ExportInfo) -> Path:
    """Add reko's metadata to ``proto``, check it with ``onnx.checker`` and write it atomically."""
    kept = [p for p in proto.metadata_props if not p.key.startswith("reko.")]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    for key, value in metadata_entries(spec, info).items():
        proto.metadata_props.add(key=key, value=value)
    proto.producer_name = proto.producer_name or "reko"
    proto.doc_string = f"reko {info.kind} export of {spec.describe()}"
    try:
        onnx.checker.check_model(proto, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as error:
        raise RekoError(f"the exported ONNX graph is invalid: {_first_line(error)}") from None
    with atomic_path(path) as tmp:
        onnx.save_model(proto, str(tmp))
    return Path(path)


def _default_opset(proto: onnx.ModelProto) -> int:
    return next(int(o.version) for o in proto.opset_import if o.domain in ("", "ai.onnx"))


def _spec_of(model: nn.Module) -> GeneratorSpec:
    spec = getattr(model, "spec", None)
    if not isinstance(spec, GeneratorSpec):
        raise RekoError(f"cannot export {type(model).__name__}: it has no .spec (load it with load_generator)")
    return spec


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence the exporters' progress prints and known-harmless warnings (e.g. torchvision ops
    that are not installed, the TorchScript exporter's deprecation notice)."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


@contextlib.contextmanager
def _temporary_file(suffix: str) -> Iterator[Path]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="reko-export-") as folder:
        yield Path(folder) / f"model{suffix}"


def _first_line(error: BaseException) -> str:
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
