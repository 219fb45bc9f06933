"""Shared fixtures: where the real data and weights live (``REKO_SHARED``, default ``../shared``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("REKO_SHARED", REPO_ROOT.parent / "shared")).resolve()
if SHARED.is_dir():  # the library looks only where $REKO_SHARED says, never at ../shared by itself
    os.environ.setdefault("REKO_SHARED", str(SHARED))
TEACHER_PATH = SHARED / "weights" / "teachers" / "vintage_resnet9_ngf64_G_A2B.pth"
INCEPTION_PATH = SHARED / "weights" / "inception" / "fid_inception_v3_2015_12_05.pt"

# Two cores: keep torch from oversubscribing them when pytest and torch both use threads.
torch.set_num_threads(min(2, os.cpu_count() or 1))


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is missing: set REKO_SHARED to the folder holding data/ and weights/")
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return _require(SHARED)


@pytest.fixture(scope="session")
def teacher_path() -> Path:
    """The real pretrained CycleGAN generator (ResNet-9, ngf 64, affine InstanceNorm)."""
    return _require(TEACHER_PATH)


@pytest.fixture(scope="session")
def inception_path() -> Path:
    return _require(INCEPTION_PATH)


@pytest.fixture(scope="session")
def horse2zebra_dir() -> Path:
    return _require(SHARED / "data" / "horse2zebra")


@pytest.fixture(scope="session")
def facades_dir() -> Path:
    return _require(SHARED / "data" / "facades")


@pytest.fixture(scope="session")
def edges2shoes_dir() -> Path:
    return _require(SHARED / "data" / "edges2shoes_100")


DEMO_DATA = REPO_ROOT / "src" / "reko" / "demo_data"


@pytest.fixture(scope="session", params=["demo", pytest.param("horse2zebra", marks=pytest.mark.real_data)])
def photos_root(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CycleGAN-layout root (``trainA/ trainB/ testA/ testB/``) of real photos, in both setups.

    ``demo``: the 24 + 8 photos shipped in the package (trainB/testB repeat them): the core tests
    run on a clone without ../shared. ``horse2zebra``: ../shared's dataset (marked ``real_data``).
    """
    if request.param == "horse2zebra":
        return _require(SHARED / "data" / "horse2zebra")
    root = tmp_path_factory.mktemp("demo_photos")
    for split, source in (("train", DEMO_DATA / "train"), ("test", DEMO_DATA / "test")):
        for side in ("A", "B"):
            (root / f"{split}{side}").symlink_to(source, target_is_directory=True)
    return root
