"""benchmarks/metric_checks.py: the degradations are what their names say, and the cast is calibrated."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "metric_checks.py"


def _load():
    spec = importlib.util.spec_from_file_location("metric_checks", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _images() -> np.ndarray:
    rng = np.random.default_rng(0)
    smooth = np.linspace(40, 200, 32)[None, :, None] * np.ones((4, 32, 32, 3))
    return np.clip(smooth + rng.normal(0, 20, size=smooth.shape), 0, 255).astype(np.uint8)


def test_cast_worth_one_and_two_db_for_a_student_at_18_4_db() -> None:
    checks = _load()
    assert checks.cast_psnr_for_loss(1.0) == pytest.approx(24.27, abs=0.01)
    assert checks.cast_psnr_for_loss(2.0) == pytest.approx(20.73, abs=0.01)
    images = _images()
    delta = checks.calibrate_cast(images, 24.27)
    assert checks.psnr(checks.colour_cast(delta)(images), images) == pytest.approx(24.27, abs=0.1)
    shifted = checks.colour_cast(10.0)(images).astype(int) - images.astype(int)
    assert shifted[..., 0].mean() > 9 and abs(shifted[..., 1]).max() == 0 and shifted[..., 2].mean() < -9


def test_stronger_degradations_cost_more_psnr() -> None:
    checks = _load()
    images = _images()
    for make, levels in ((checks.blur, (0.5, 1.0, 2.0)), (checks.noise, (0.02, 0.05)), (checks.jpeg, (75, 50, 25))):
        values = [checks.psnr(make(level)(images), images) for level in levels]
        assert values == sorted(values, reverse=True), (make.__name__, values)
        assert all(np.isfinite(values))
