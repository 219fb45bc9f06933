"""Export a generator to TorchScript: traced, frozen, with its spec and export settings inside.

Tracing is exact for these generators: their forward has no data-dependent control flow (the
U-Net's loops over stages unroll), and the traced graph is shape-generic. ``torch.jit.freeze``
folds the weights into constants (and BatchNorm into convolutions). The file stores the frozen
module only: ``torch.jit.optimize_for_inference`` (oneDNN-prepacked convolutions) produces
graphs that cannot be saved and reloaded, so `reko.export.runtime` applies it after loading.
"""

from __future__ import annotations

import copy
import io
import os
import warnings

import torch
from torch import nn

from reko.atomic import atomic_path
from reko.errors import RekoError
from reko.export.metadata import ExportInfo, library_versions, metadata_entries
from reko.export.onnx import check_export_size
from reko.models import GeneratorSpec

PathLike = str | os.PathLike[str]


def export_torchscript(
    model: nn.Module,
    path: PathLike,
    size: int | None = 256,
    dynamic: bool = False,
    source: str = "",
    rewrites: tuple[str, ...] = (),
) -> ExportInfo:
    """Write ``model`` (a generator with ``.spec``) as a frozen TorchScript archive at ``path``.

    Args:
        model: ``(B, C, H, W) in [-1, 1] -> (B, C_out, H, W)``; traced in eval mode (a copy).
        path: the ``.pt`` file (replaced atomically).
        size: the input side the file is declared for when not ``dynamic``.
        dynamic: declare any multiple of ``spec.size_multiple`` valid (the graph itself is
            shape-generic either way; the declaration is what the runtime enforces).
        source / rewrites: recorded in the file, as for ONNX.

    Returns the `ExportInfo` stored in the file.
    """
    spec = getattr(model, "spec", None)
    if not isinstance(spec, GeneratorSpec):
        raise RekoError(f"cannot export {type(model).__name__}: it has no .spec (load it with load_generator)")
    info = ExportInfo(
        format="torchscript",
        dynamic=dynamic,
        size=None if dynamic else check_export_size(size, spec),
        size_multiple=spec.size_multiple,
        exporter="trace",
        source=source,
        rewrites=tuple(rewrites),
        versions=library_versions(),
    )
    side = 2 * spec.size_multiple if dynamic else int(info.size or 0)
    example = torch.zeros(1, spec.in_channels, side, side)
    model = copy.deepcopy(model).eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        try:
            # check_trace re-runs the model to compare: `reko.export.parity` does that on real images.
            traced = torch.jit.trace(model, example, check_trace=False)
            frozen = torch.jit.freeze(traced)
        except Exception as error:  # noqa: BLE001 - tracing raises many types
            raise RekoError(f"TorchScript tracing failed: {str(error).splitlines()[0]}") from error
    # Saved through a buffer: the archive's inner folder is then "archive", not the temp name.
    buffer = io.BytesIO()
    torch.jit.save(frozen, buffer, _extra_files=metadata_entries(spec, info))
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())
    return info
