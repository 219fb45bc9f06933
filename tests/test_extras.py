"""Optional dependencies (`reko.extras`): each missing extra fails with one error naming it, and
``import reko`` / ``reko --help`` / training / TorchScript export work without any of them.

A package is made "not installed" by ``sys.modules[name] = None`` (the import system then raises
ModuleNotFoundError for it) or, in a subprocess, by a meta-path finder that refuses it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from reko.errors import RekoError
from reko.extras import EXTRA_OF, LazyModule, installed, missing_extra, require
from reko.models import GeneratorSpec, create_generator

SRC = Path(__file__).resolve().parents[1] / "src"
OPTIONAL = sorted(EXTRA_OF)  # onnx, onnxruntime, onnxscript, matplotlib, tensorboard


def _block(monkeypatch: pytest.MonkeyPatch, *packages: str) -> None:
    """Make ``packages`` (and every imported submodule of them) unimportable for one test."""
    for name in list(sys.modules):
        if name.split(".")[0] in packages:
            monkeypatch.setitem(sys.modules, name, None)
    for package in packages:
        monkeypatch.setitem(sys.modules, package, None)


def _tiny() -> torch.nn.Module:
    return create_generator(GeneratorSpec(family="resnet", ngf=4, n_blocks=1))


def test_require_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    _block(monkeypatch, "onnxruntime")
    with pytest.raises(
        RekoError, match=r'^timing needs onnxruntime, which is not installed: pip install "reko\[export\]"$'
    ):
        require("onnxruntime.quantization", "timing")
    assert not installed("onnxruntime")
    with pytest.raises(RekoError, match=r"reko\[export\]"):
        LazyModule("onnxruntime", "ONNX Runtime").InferenceSession  # noqa: B018 - the access imports


def test_every_optional_module_has_an_extra_in_pyproject() -> None:
    pyproject = (SRC.parent / "pyproject.toml").read_text(encoding="utf-8")
    for module, extra in EXTRA_OF.items():
        assert f"{extra} = [" in pyproject, extra
        assert str(missing_extra(module, "x")).endswith(f'pip install "reko[{extra}]"')


@pytest.mark.parametrize("missing", ["onnx", "onnxruntime", "onnxscript"])
def test_onnx_export_without_the_export_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, missing: str) -> None:
    from reko.export.onnx import export_onnx

    _block(monkeypatch, missing)
    with pytest.raises(RekoError, match=rf'ONNX export needs {missing}, .*pip install "reko\[export\]"'):
        export_onnx(_tiny(), tmp_path / "g.onnx", size=32)
    assert not (tmp_path / "g.onnx").exists()


def test_running_or_quantising_onnx_without_the_export_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from reko.export.quantize import quantize_int8
    from reko.export.runtime import onnx_session

    _block(monkeypatch, "onnx", "onnxruntime")
    with pytest.raises(RekoError, match=r'pip install "reko\[export\]"'):
        onnx_session(tmp_path / "g.onnx")
    with pytest.raises(RekoError, match=r'INT8 quantisation needs onnxruntime, .*"reko\[export\]"'):
        quantize_int8(_tiny(), tmp_path / "g.onnx", [torch.zeros(1, 3, 32, 32)], size=32)


def test_torchscript_export_needs_no_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from reko.export.torchscript import export_torchscript

    _block(monkeypatch, *OPTIONAL)
    info = export_torchscript(_tiny(), tmp_path / "g.pt", size=32)
    assert (tmp_path / "g.pt").is_file()
    assert "onnx" not in info.versions and info.versions["torch"] == torch.__version__


def test_report_figures_without_the_report_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    _block(monkeypatch, "matplotlib")
    monkeypatch.delitem(sys.modules, "reko.report.figures", raising=False)
    with pytest.raises(RekoError, match=r'^reko report\'s figures needs matplotlib, .*"reko\[report\]"$'):
        importlib.import_module("reko.report.figures")
    monkeypatch.delitem(sys.modules, "reko.report.figures", raising=False)  # not left half-imported


def test_training_logs_without_tensorboard(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from reko.train.logs import append_scalars, open_logs

    _block(monkeypatch, "tensorboard")
    assert open_logs(tmp_path, None) is None  # the trainer then writes scalars.jsonl only
    assert 'TensorBoard event files needs tensorboard, which is not installed: pip install "reko[tensorboard]"' in (
        capsys.readouterr().err
    )
    append_scalars(tmp_path, 1, {"G/total": 1.0})
    assert (tmp_path / "scalars.jsonl").read_text(encoding="utf-8").startswith('{"step": 1')


def test_reading_tensorboard_events_without_tensorboard(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from reko.report.scalars import read_scalars

    (tmp_path / "tensorboard").mkdir()
    (tmp_path / "tensorboard" / "events.out.tfevents.1.host").write_bytes(b"")
    _block(monkeypatch, "tensorboard")
    with pytest.raises(RekoError, match=r'reading TensorBoard events needs tensorboard, .*"reko\[tensorboard\]"'):
        read_scalars(tmp_path, "run", [])


# Refuses the packages in BLOCKED as if they were not installed: their imports, and their
# distribution metadata (which torchmetrics reads to decide whether to import matplotlib).
_BLOCKER = """
import importlib.metadata as metadata
import sys
BLOCKED = {blocked!r}
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, Blocker())
def refuse(lookup):
    def refused(name):
        if name.replace("-", "_") in BLOCKED:
            raise metadata.PackageNotFoundError(name)
        return lookup(name)
    return refused
metadata.version, metadata.distribution = refuse(metadata.version), refuse(metadata.distribution)
"""


def test_import_reko_and_help_without_any_extra() -> None:
    """A fresh interpreter with every optional package refused: ``import reko``, every ``--help``."""
    code = _BLOCKER.format(blocked=set(OPTIONAL) | {"stlpips_pytorch"}) + (
        "import contextlib, io, reko, reko.api\n"
        "from reko.cli import COMMANDS, main\n"
        "for command in [None, *COMMANDS]:\n"
        "    out = io.StringIO()\n"
        "    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):\n"
        "        main(['--help'] if command is None else [command, '--help'])\n"
        "    assert 'usage: reko' in out.getvalue(), command\n"
        "print('ok')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
