"""Generator checkpoints: safetensors weights plus the `GeneratorSpec`, written atomically.

A reko checkpoint is a ``.safetensors`` file whose header metadata holds ``reko.format``,
``reko.spec`` (JSON) and any string metadata the caller adds (e.g. the teacher it was distilled
from, the training step). `load_generator` also reads third-party ``.pth`` files through
`reko.models.convert`, always with ``torch.load(weights_only=True)``: a checkpoint is untrusted
input and must never execute code.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file
from torch import nn

from reko.atomic import atomic_path
from reko.errors import RekoError
from reko.models.convert import convert_state_dict, unwrap_state_dict
from reko.models.factory import create_generator
from reko.models.spec import GeneratorSpec

FORMAT = "reko.generator/1"
PathLike = str | os.PathLike[str]


def save_generator(model: nn.Module, path: PathLike, metadata: dict[str, str] | None = None) -> Path:
    """Write ``model`` (which must carry ``.spec``) to ``path`` as safetensors, atomically."""
    spec: GeneratorSpec | None = getattr(model, "spec", None)
    if spec is None:
        raise RekoError(f"cannot save {type(model).__name__}: it has no .spec (build it with create_generator)")
    header = {str(k): str(v) for k, v in (metadata or {}).items()}
    header.update({"reko.format": FORMAT, "reko.spec": spec.to_json()})
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=header)
    return Path(path)


def read_metadata(path: PathLike) -> dict[str, str]:
    """The string metadata of a reko checkpoint (empty for third-party files)."""
    path = _existing(path)
    if not _is_safetensors(path):
        return {}
    try:
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except (SafetensorError, OSError, ValueError) as error:
        raise RekoError(f"{path}: not a readable safetensors checkpoint ({error})") from None


def load_generator(path: PathLike, map_location: str | torch.device = "cpu") -> nn.Module:
    """Rebuild a generator from a reko checkpoint or a pytorch-CycleGAN-and-pix2pix ``.pth``.

    Returns the model in eval mode with its ``.spec`` (and ``.checkpoint_metadata``).
    """
    path = _existing(path)
    if _is_safetensors(path):
        metadata = read_metadata(path)
        spec = spec_from_metadata(metadata, path)
        # Check the spec against the file's tensor names and shapes (read from its header) before
        # allocating anything: a spec asking for a network the file does not hold is refused here,
        # and once they agree the network takes exactly the memory of the file's tensors.
        _check_shapes(expected_shapes(spec), _file_shapes(path), path, spec)
        try:
            state = load_file(str(path), device=str(map_location))
        except (SafetensorError, OSError, ValueError) as error:
            raise RekoError(f"{path}: not a readable safetensors checkpoint ({error})") from None
    else:
        spec, state = convert_state_dict(unwrap_state_dict(load_torch_file(path), str(path)), str(path))
        metadata = {"reko.source": str(path)}
        _check_shapes(expected_shapes(spec), {k: tuple(v.shape) for k, v in state.items()}, path, spec)
    model = create_generator(spec, init=False)
    model.load_state_dict(state, strict=True)
    model.checkpoint_metadata = metadata  # type: ignore[assignment]
    return model.to(map_location).eval()


def expected_shapes(spec: GeneratorSpec) -> dict[str, tuple[int, ...]]:
    """The state-dict names and shapes of ``spec``'s network, computed on the meta device (no memory)."""
    with torch.device("meta"):
        model = create_generator(spec, init=False)
    return {name: tuple(tensor.shape) for name, tensor in model.state_dict().items()}


def _file_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    try:
        with safe_open(str(path), framework="pt") as f:
            return {name: tuple(f.get_slice(name).get_shape()) for name in f.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError) as error:
        raise RekoError(f"{path}: not a readable safetensors checkpoint ({error})") from None


def load_torch_file(path: PathLike) -> object:
    """``torch.load`` restricted to tensors and plain containers, with readable errors."""
    try:
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "Weights only load failed" in str(error):
            raise RekoError(
                f"{path}: refused to load: it holds objects other than tensors and plain containers, "
                f"which could run code when unpickled ({_unsupported_global(error)})"
            ) from None
        raise RekoError(f"{path}: not a PyTorch checkpoint ({_first_line(error, 'unpickling failed')})") from None
    except Exception as error:  # noqa: BLE001 - torch raises anything on garbage input
        message = _first_line(error, type(error).__name__)
        raise RekoError(f"{path}: not a readable PyTorch checkpoint, or truncated ({message})") from None


def _unsupported_global(error: BaseException) -> str:
    """The offending global named in torch's weights-only error, without its advice to disable it."""
    for line in str(error).splitlines():
        if "Unsupported global" in line or "GLOBAL" in line:
            return line.strip()
    return "not a plain tensor checkpoint"


def _first_line(error: BaseException, default: str) -> str:
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else default


def _check_shapes(
    expected: dict[str, tuple[int, ...]], actual: dict[str, tuple[int, ...]], path: Path, spec: GeneratorSpec
) -> None:
    missing = [k for k in expected if k not in actual]
    unexpected = [k for k in actual if k not in expected]
    mismatched = [k for k in expected if k in actual and actual[k] != expected[k]]
    if missing or unexpected or mismatched:
        details = []
        if missing:
            details.append(f"missing {missing[:4]}")
        if unexpected:
            details.append(f"unexpected {unexpected[:4]}")
        if mismatched:
            k = mismatched[0]
            details.append(f"shape of {k}: file {actual[k]} vs {expected[k]}")
        raise RekoError(f"{path}: weights do not fit {spec.describe()}: {'; '.join(details)}")


def _existing(path: PathLike) -> Path:
    path = Path(path)
    if not path.is_file():
        raise RekoError(
            f"checkpoint {path} does not exist" if not path.exists() else f"checkpoint {path} is not a file"
        )
    return path


def _is_safetensors(path: Path) -> bool:
    """safetensors files start with an 8-byte header length followed by a JSON object."""
    with path.open("rb") as f:
        head = f.read(9)
    if len(head) < 9:
        return path.suffix == ".safetensors"
    return head[8:9] == b"{"


def spec_from_metadata(metadata: dict[str, str], path: PathLike = "checkpoint") -> GeneratorSpec:
    """The `GeneratorSpec` in a checkpoint's ``reko.spec`` metadata, validated for types and ranges."""
    if "reko.spec" not in metadata:
        raise RekoError(f"{path}: a safetensors file without a reko generator spec (metadata keys: {sorted(metadata)})")
    try:
        return GeneratorSpec.from_json(metadata["reko.spec"])
    except RekoError as error:
        raise RekoError(f"{path}: unusable reko.spec metadata: {error}") from None
