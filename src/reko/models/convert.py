"""Read pytorch-CycleGAN-and-pix2pix generator checkpoints onto reko's named stages.

The official repository saves generators as flat ``nn.Sequential`` state dicts addressed by
index (ResNet: ``model.1.weight`` ... ``model.26.bias``) or as recursively nested U-Net blocks
(``model.model.1.model.3.model...``), without recording the architecture. This module infers the
``GeneratorSpec`` from the keys and shapes and renames every key once, here, so the rest of reko
only ever sees stage names such as ``down1`` or ``blocks.4``.

Handled: ResNet with any number of blocks and any width, U-Net of any depth and width,
non-affine InstanceNorm (no norm keys), affine InstanceNorm, BatchNorm (running statistics),
residual blocks named ``conv_block`` (official) or ``block``, dropout in residual blocks (which
shifts the second convolution's index), a ``module.`` prefix from DataParallel, and checkpoints
wrapped in ``{"state_dict": ...}``-style dictionaries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch

from reko.errors import RekoError
from reko.models.spec import GeneratorSpec

LAYOUTS = (
    "pix2pix ResNet (model.N..., blocks 'conv_block' or 'block')",
    "pix2pix U-Net (model.model.0 ... nested model.model.1.model...)",
)
_WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "generator", "netG", "G", "params")
_NORM_SUFFIXES = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def unwrap_state_dict(obj: object, source: str) -> dict[str, torch.Tensor]:
    """The tensor dictionary inside a loaded checkpoint, without ``module.`` prefixes."""
    if isinstance(obj, Mapping) and not any(isinstance(v, torch.Tensor) for v in obj.values()):
        for key in _WRAPPER_KEYS:
            if isinstance(obj.get(key), Mapping):
                return unwrap_state_dict(obj[key], source)
    if not isinstance(obj, Mapping) or not obj:
        raise RekoError(f"{source}: expected a state dict (a mapping of names to tensors), got {type(obj).__name__}")
    tensors = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise RekoError(f"{source}: the checkpoint holds no tensors (keys: {list(obj)[:8]})")
    return {k.removeprefix("module."): v for k, v in tensors.items()}


def convert_state_dict(state: dict[str, torch.Tensor], source: str) -> tuple[GeneratorSpec, dict[str, torch.Tensor]]:
    """Infer the architecture of a third-party state dict and rename its keys to reko's stages."""
    if any(k.startswith("model.model.") for k in state):
        return _convert_unet(state, source)
    if "model.1.weight" in state:
        return _convert_resnet(state, source)
    raise RekoError(
        f"{source}: matches no known generator layout. Tried: {'; '.join(LAYOUTS)}. First keys: {sorted(state)[:6]}"
    )


def _norm_kind(state: Mapping[str, torch.Tensor], prefix: str) -> str:
    """Which normalisation the layer at ``prefix`` was (from the keys it left behind)."""
    has_weight = f"{prefix}.weight" in state
    has_stats = f"{prefix}.running_mean" in state
    if has_weight and has_stats:
        return "batch"
    if has_weight:
        return "instance_affine"
    # No keys: non-affine InstanceNorm (old checkpoints may carry unused running stats only).
    return "instance"


def _copy_norm(state: Mapping[str, torch.Tensor], src: str, dst: str, out: dict[str, torch.Tensor], norm: str) -> None:
    if norm == "instance":
        return
    keys = ("weight", "bias") if norm == "instance_affine" else _NORM_SUFFIXES
    for suffix in keys:
        if f"{src}.{suffix}" in state:
            out[f"{dst}.{suffix}"] = state[f"{src}.{suffix}"]
        elif suffix == "num_batches_tracked":  # absent from checkpoints saved before PyTorch 0.4.1
            out[f"{dst}.{suffix}"] = torch.tensor(0, dtype=torch.long)


def _copy_conv(state: Mapping[str, torch.Tensor], src: str, dst: str, out: dict[str, torch.Tensor]) -> None:
    out[f"{dst}.weight"] = state[f"{src}.weight"]
    if f"{src}.bias" in state:
        out[f"{dst}.bias"] = state[f"{src}.bias"]


def _convert_resnet(state: dict[str, torch.Tensor], source: str) -> tuple[GeneratorSpec, dict[str, torch.Tensor]]:
    block_re = re.compile(r"^model\.(\d+)\.(conv_block|block)\.(\d+)\.")
    block_ids = sorted({int(m.group(1)) for k in state if (m := block_re.match(k))})
    if not block_ids:
        raise RekoError(f"{source}: looks like a pix2pix ResNet (model.1.weight) but has no residual blocks")
    if block_ids[0] != 10 or block_ids != list(range(10, 10 + len(block_ids))):
        raise RekoError(f"{source}: residual blocks at model indices {block_ids}, expected 10, 11, ... contiguous")
    n_blocks = len(block_ids)
    block_name = block_re.match(next(k for k in state if block_re.match(k))).group(2)  # type: ignore[union-attr]
    # Dropout(0.5) inside a block shifts its second convolution from index 5 to 6.
    dropout = f"model.10.{block_name}.6.weight" in state and state[f"model.10.{block_name}.6.weight"].dim() == 4
    second_conv = 6 if dropout else 5
    norm = _norm_kind(state, "model.2")
    stem = state["model.1.weight"]
    spec = GeneratorSpec(
        family="resnet",
        ngf=stem.shape[0],
        n_blocks=n_blocks,
        norm=norm,  # type: ignore[arg-type]
        dropout=dropout,
        in_channels=stem.shape[1],
        out_channels=state[f"model.{17 + n_blocks}.weight"].shape[0] if f"model.{17 + n_blocks}.weight" in state else 3,
    )
    out: dict[str, torch.Tensor] = {}
    try:
        _copy_conv(state, "model.1", "stem.1", out)
        _copy_norm(state, "model.2", "stem.2", out, norm)
        for src, dst in ((4, "down1"), (7, "down2"), (10 + n_blocks, "up1"), (13 + n_blocks, "up2")):
            _copy_conv(state, f"model.{src}", f"{dst}.0", out)
            _copy_norm(state, f"model.{src + 1}", f"{dst}.1", out, norm)
        for i, idx in enumerate(block_ids):
            for conv, nrm in ((1, 2), (second_conv, second_conv + 1)):
                _copy_conv(state, f"model.{idx}.{block_name}.{conv}", f"blocks.{i}.block.{conv}", out)
                _copy_norm(state, f"model.{idx}.{block_name}.{nrm}", f"blocks.{i}.block.{nrm}", out, norm)
        _copy_conv(state, f"model.{17 + n_blocks}", "head.1", out)
    except KeyError as missing:
        raise RekoError(
            f"{source}: a pix2pix ResNet with {n_blocks} blocks should have key {missing.args[0]!r}; "
            f"first keys: {sorted(state)[:6]}"
        ) from None
    return spec, out


def _convert_unet(state: dict[str, torch.Tensor], source: str) -> tuple[GeneratorSpec, dict[str, torch.Tensor]]:
    # Level L's block lives under prefix P_L: P_0 = "model.model.", P_1 = P_0 + "1.model.",
    # P_L = P_{L-1} + "3.model." for deeper levels (index 3 is the sub-block of a middle level).
    prefixes = ["model.model."]
    while any(k.startswith(prefixes[-1] + ("1" if len(prefixes) == 1 else "3") + ".model.") for k in state):
        prefixes.append(prefixes[-1] + ("1" if len(prefixes) == 1 else "3") + ".model.")
    n = len(prefixes)
    if n < 5:
        raise RekoError(f"{source}: a pix2pix U-Net with only {n} levels (at least 5 expected)")
    norm = _norm_kind(state, prefixes[1] + "2")
    first = state.get("model.model.0.weight")
    if first is None:
        raise RekoError(f"{source}: U-Net layout without its first convolution 'model.model.0.weight'")
    spec = GeneratorSpec(
        family="unet",
        ngf=first.shape[0],
        num_downs=n,
        norm=norm,  # type: ignore[arg-type]
        dropout=True,  # pix2pix's default; it has no weights, so the keys cannot tell
        in_channels=first.shape[1],
        out_channels=state["model.model.3.weight"].shape[1],
    )
    out: dict[str, torch.Tensor] = {}
    try:
        _copy_conv(state, "model.model.0", "encoder.0.0", out)
        _copy_conv(state, "model.model.3", f"decoder.{n - 1}.1", out)
        for level in range(1, n):
            p, j = prefixes[level], n - 1 - level
            _copy_conv(state, p + "1", f"encoder.{level}.0", out)
            if level < n - 1:
                _copy_norm(state, p + "2", f"encoder.{level}.1", out, norm)
                _copy_conv(state, p + "5", f"decoder.{j}.1", out)
                _copy_norm(state, p + "6", f"decoder.{j}.2", out, norm)
            else:  # innermost: [downrelu, downconv, uprelu, upconv, upnorm]
                _copy_conv(state, p + "3", f"decoder.{j}.1", out)
                _copy_norm(state, p + "4", f"decoder.{j}.2", out, norm)
    except KeyError as missing:
        raise RekoError(
            f"{source}: a pix2pix U-Net with {n} levels should have key {missing.args[0]!r}; "
            f"first keys: {sorted(state)[:6]}"
        ) from None
    return spec, out
