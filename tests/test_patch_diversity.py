"""benchmarks/patch_diversity.py: its statistics of selected patches mean what its page says."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import torch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "patch_diversity.py"


def _load():
    spec = importlib.util.spec_from_file_location("patch_diversity", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_identical_features_are_all_near_duplicates_and_orthogonal_ones_none() -> None:
    diversity = _load()
    index = torch.tensor([[0, 1, 4, 5]])  # a 2x2 block of a 4x4 map
    same = torch.ones(1, 8, 4, 4)
    stats = diversity.pair_stats(same, index, width=4)
    assert abs(stats["feature_cos"].item() - 1.0) < 1e-6 and stats["near_duplicates"].item() == 1.0
    assert stats["masked"].item() == 1.0 and stats["orphans"].item() == 1.0  # every negative is a twin
    orthogonal = torch.zeros(1, 16, 4, 4)
    for position in range(16):  # a one-hot channel per position
        orthogonal[0, position, position // 4, position % 4] = 1.0
    stats = diversity.pair_stats(orthogonal, index, width=4)
    assert stats["feature_cos"].item() == 0.0 and stats["near_duplicates"].item() == 0.0
    assert stats["masked"].item() == 0.0 and stats["orphans"].item() == 0.0


def test_distance_is_the_mean_over_pairs_of_grid_distance() -> None:
    diversity = _load()
    index = torch.tensor([[0, 3]])  # (0, 0) and (0, 3) on a 4-wide map: 3 cells apart
    stats = diversity.pair_stats(torch.randn(1, 4, 4, 4), index, width=4)
    assert stats["distance"].item() == 3.0
    index = torch.tensor([[0, 5, 10]])  # the diagonal: distances sqrt(2), sqrt(2), sqrt(8)
    expected = (2 * 2**0.5 + 8**0.5) / 3
    assert abs(diversity.pair_stats(torch.randn(1, 4, 4, 4), index, width=4)["distance"].item() - expected) < 1e-6
