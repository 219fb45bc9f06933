"""Typed configuration: frozen dataclasses, YAML files, ``--set a.b=c`` overrides.

A run is configured by one `reko.distill.config.DistillConfig` (``reko distill``) or `TeacherConfig`
(``reko train``). A YAML file overrides the dataclass defaults only where it sets a key; ``--set``
overrides are applied on top, their values parsed as YAML (``16``, ``true``, ``[blocks.2, up1]``,
``null``) and converted to the field's type. An unknown key is an error naming it and the valid keys;
a value of the wrong type is an error naming the key, the value and the expected type.

This module holds the sections every run shares (data, training loop, logging, GAN losses) and
the machinery; it imports nothing of reko but `errors` and `atomic`. A section that reads itself
(the distill section, whose keys depend on the method) defines ``from_mapping(data, where)`` and
``to_mapping()``; `from_dict` and `to_dict` call them. YAML and argv stop at `reko.api`: nothing
below it reads either.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

import yaml

from reko.atomic import write_text_atomic
from reko.config_values import check_values
from reko.errors import RekoError

T = TypeVar("T")


# --------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class DataConfig:
    """Where the images are and how they are prepared.

    ``root`` is a folder of images (one-direction distillation), a pix2pix folder with ``train/``
    (and ideally ``val/``) of side-by-side A|B images, or a CycleGAN folder with ``trainA/ trainB/``.
    """

    root: str = ""
    direction: Literal["AtoB", "BtoA"] = "AtoB"  # paired data: which half is the input
    preprocess: str = "resize_and_crop"  # see reko.data.transforms
    load_size: int = 286
    crop_size: int = 256
    flip: bool = True
    recursive: bool = False  # image folders: include sub-folders
    # Validation split for the "best" checkpoint (never the test split): ``val_root`` if set
    # (a pix2pix root's val/ is used automatically), else ``val_size`` images held out of training.
    val_root: str = ""
    val_size: int = 16
    num_workers: int = 2
    # Decode every image once at the start and skip (with one warning) those that cannot be read,
    # instead of stopping the run when a truncated image is reached, possibly hours in.
    skip_bad: bool = False

    def __post_init__(self) -> None:
        check_values("data", self)


@dataclass(frozen=True)
class StudentConfig:
    """The student: the teacher's architecture with these fields replaced (None keeps the teacher's)."""

    ngf: int = 24
    family: Literal["resnet", "unet"] | None = None
    n_blocks: int | None = None
    num_downs: int | None = None
    norm: Literal["instance", "instance_affine", "batch", "none"] | None = None
    dropout: bool | None = None
    block: Literal["conv", "mobile"] | None = None  # mobile: depthwise-separable (reko.models.resnet)
    widths: tuple[int, ...] | None = None  # per-stage widths (GeneratorSpec.widths); replaces ngf's
    # A budget (e.g. "2.7G", "300k"): the widest uniform scaling of the teacher that fits replaces ngf and
    # widths, trying conv and mobile blocks unless ``block`` is set (reko.models.budget).
    target_macs: str | None = None  # MACs, field convention, at budget_size x budget_size
    target_params: str | None = None
    budget_size: int = 256

    def __post_init__(self) -> None:
        check_values("student", self)


@dataclass(frozen=True)
class GeneratorConfig:
    """A generator trained from scratch (``reko train``): the fields of `reko.models.GeneratorSpec`."""

    family: Literal["resnet", "unet"] = "resnet"
    ngf: int = 64
    n_blocks: int = 9
    num_downs: int = 8
    norm: Literal["instance", "instance_affine", "batch", "none"] = "instance"
    dropout: bool = False


@dataclass(frozen=True)
class DiscriminatorConfig:
    """PatchGAN discriminator (its input channels follow from the mode: 6 for pix2pix, else 3)."""

    kind: Literal["patch", "pixel"] = "patch"
    ndf: int = 64
    n_layers: int = 3
    norm: Literal["instance", "instance_affine", "batch", "none"] = "instance"

    def __post_init__(self) -> None:
        check_values("discriminator", self)


@dataclass(frozen=True)
class LossConfig:
    """Task losses: the GAN term and those of pix2pix / CycleGAN."""

    gan_mode: Literal["lsgan", "vanilla", "hinge"] = "lsgan"
    gan_weight: float = 1.0
    l1_weight: float = 100.0  # pix2pix: L1 to the ground truth (lambda_L1)
    cycle_weight: float = 10.0  # CycleGAN: lambda_A = lambda_B
    identity_weight: float = 0.5  # CycleGAN: identity loss, relative to cycle_weight
    pool_size: int = 50  # CycleGAN: history of generated images shown to the discriminators

    def __post_init__(self) -> None:
        check_values("loss", self)


@dataclass(frozen=True)
class TrainConfig:
    """The optimisation loop (`reko.train.trainer.Trainer`)."""

    steps: int = 1000
    decay_steps: int | None = None  # the last N steps decay linearly to 0; None: the second half
    batch_size: int = 1  # per process
    lr: float = 2e-4
    lr_discriminator: float | None = None  # None: lr
    beta1: float = 0.5
    beta2: float = 0.999
    seed: int = 0
    deterministic: bool = False  # torch.use_deterministic_algorithms + no cudnn autotuning
    device: str = "auto"  # auto (cuda if available) | cpu | cuda | cuda:N
    threads: int = 0  # CPU threads of this process (torch.set_num_threads); 0: PyTorch's default
    amp: Literal["none", "bf16", "fp16"] = "none"  # fp16 needs a GPU
    channels_last: bool = False
    save_every: int = 100  # state.pt and *_latest checkpoints
    eval_every: int = 200  # validation metric and *_best checkpoints; 0: only at the end
    eval_batches: int = 0  # 0: the whole validation split

    def __post_init__(self) -> None:
        check_values("train", self)


@dataclass(frozen=True)
class LogConfig:
    log_every: int = 10  # TensorBoard scalars, scalars.jsonl, progress-bar losses
    image_every: int = 100  # image grid PNG (and TensorBoard image); 0: never
    image_count: int = 4  # rows of the grid (validation images)
    progress: bool = True  # tqdm progress bar

    def __post_init__(self) -> None:
        check_values("log", self)


@dataclass(frozen=True)
class TeacherConfig:
    """``reko train``: train a pix2pix or CycleGAN generator from scratch."""

    model: Literal["pix2pix", "cyclegan"] = "pix2pix"
    out: str = ""
    data: DataConfig = field(default_factory=DataConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    log: LogConfig = field(default_factory=LogConfig)


# --------------------------------------------------------------------------- loading


Override = str | tuple[str, Any]


def load_config(cls: type[T], path: str | os.PathLike[str] | None = None, overrides: Sequence[Override] = ()) -> T:
    """``cls`` defaults <- the YAML file at ``path`` (if any) <- ``overrides``, in order.

    An override is a ``"key=value"`` string, its value parsed as YAML (what ``--set`` gives), or a
    ``(dotted key, value)`` pair whose value is taken as it is: a path such as ``photos #1``,
    ``a: b`` or ``on`` stays that string (YAML would read a comment, a mapping, a boolean).
    """
    raw: dict[str, Any] = {}
    if path is not None:
        raw = read_yaml(path)
    for override in overrides:
        key, value = override if isinstance(override, tuple) else parse_override(override)
        set_nested(raw, key, value)
    return from_dict(cls, raw)


def read_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise RekoError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise RekoError(f"{path}: not valid YAML ({error})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RekoError(f"{path}: a config must be a mapping of sections, got {type(data).__name__}")
    return data


def parse_override(text: str) -> tuple[str, Any]:
    """``"train.steps=200"`` -> ``("train.steps", 200)``; the value is parsed as YAML."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise RekoError(f"override {text!r} is not of the form key=value (e.g. train.steps=200)")
    try:
        parsed = yaml.safe_load(value) if value.strip() else ""
    except yaml.YAMLError:
        parsed = value  # not YAML (e.g. an unbalanced bracket): keep the text, the field type decides
    return key, parsed


def set_nested(raw: dict[str, Any], dotted: str, value: Any) -> None:
    """``set_nested(d, "a.b", 1)``: ``d["a"]["b"] = 1``, creating sections on the way."""
    parts = dotted.split(".")
    node = raw
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise RekoError(f"cannot set {dotted!r}: {part!r} is a value, not a section")
        node = child
    node[parts[-1]] = value


def from_dict(cls: type[T], data: Mapping[str, Any], where: str = "") -> T:
    """Build the dataclass ``cls`` from a (partial) mapping, checking keys and converting types."""
    if not isinstance(data, Mapping):
        raise RekoError(f"{where or 'config'} must be a mapping of keys, got {data!r}")
    if hasattr(cls, "from_mapping"):  # a section that reads itself (the distill section: a method + its options)
        return cls.from_mapping(data, where)  # type: ignore[attr-defined, no-any-return]
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    _reject_unknown(data, names, where)
    values = {name: _convert(data[name], hints[name], _join(where, name)) for name in names if name in data}
    try:
        return cls(**values)
    except TypeError as error:
        raise RekoError(f"{where or 'config'}: {error}") from None


def _reject_unknown(data: Mapping[str, Any], valid: Sequence[str], where: str) -> None:
    unknown = [key for key in data if key not in valid]
    if not unknown:
        return
    key = unknown[0]
    nearest = difflib.get_close_matches(str(key), valid, n=1)
    hint = f" (did you mean {_join(where, nearest[0])!r}?)" if nearest else ""
    raise RekoError(f"unknown config key {_join(where, str(key))!r}{hint}; valid keys here: {sorted(valid)}")


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _convert(value: Any, hint: Any, where: str) -> Any:
    """``value`` as type ``hint`` (dataclass, Optional, Literal, tuple, int/float/bool/str)."""
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value if value is not None else {}, where)  # type: ignore[arg-type]
    if origin in (Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        inner = [option for option in options if option is not type(None)]
        errors = []
        for option in inner:
            try:
                return _convert(value, option, where)
            except RekoError as error:
                errors.append(str(error))
        raise RekoError(errors[0] if len(errors) == 1 else f"{where}: {value!r} fits none of {inner}")
    if origin is Literal:
        choices = typing.get_args(hint)
        if value not in choices:
            raise RekoError(f"{where}: {value!r} is not one of {list(choices)}")
        return value
    if origin is tuple:
        item_type = typing.get_args(hint)[0]
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]  # "a,b" on the command line
        if not isinstance(value, (list, tuple)):
            raise RekoError(f"{where}: expected a list, got {value!r}")
        return tuple(_convert(v, item_type, f"{where}[{i}]") for i, v in enumerate(value))
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise RekoError(f"{where}: expected true or false, got {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)  # 1e3 in YAML is a float
        raise RekoError(f"{where}: expected an integer, got {value!r}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)  # PyYAML reads "2e-4" as a string (YAML 1.1 wants "2.0e-4")
            except ValueError:
                pass
        raise RekoError(f"{where}: expected a number, got {value!r}")
    if hint is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise RekoError(f"{where}: expected a string, got {value!r}")
    raise RekoError(f"{where}: unsupported config type {hint!r}")  # a programming error in this file


# --------------------------------------------------------------------------- writing


def to_dict(config: Any) -> dict[str, Any]:
    """A plain, YAML-ready mapping of a config (the distill section flattened)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if hasattr(value, "to_mapping"):  # the distill section: flattened
            out[f.name] = value.to_mapping()
        elif dataclasses.is_dataclass(value):
            out[f.name] = to_dict(value)
        elif isinstance(value, tuple):
            out[f.name] = list(value)
        else:
            out[f.name] = value
    return out


def dump_yaml(config: Any) -> str:
    return yaml.safe_dump(to_dict(config), sort_keys=False, default_flow_style=False)


def save_config(config: Any, path: str | os.PathLike[str]) -> None:
    """Write the resolved config (every key, defaults included) to ``path`` atomically."""
    write_text_atomic(path, dump_yaml(config))


def replace(config: T, **changes: Any) -> T:
    """``dataclasses.replace`` with dotted keys: ``replace(cfg, **{"train.steps": 10})``."""
    raw = to_dict(config)
    for key, value in changes.items():
        set_nested(raw, key, value)
    return from_dict(type(config), raw)
