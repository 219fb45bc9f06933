"""`RunDir`: the one place that knows what a run folder (``reko distill`` / ``reko train --out``) holds.

Layout (unchanged since the first reko release, so old run folders still resume)::

    config.yaml                         the resolved config the run started with
    state.pt                            everything needed to resume (written atomically)
    <generator>_latest.safetensors      generator checkpoints (student, student_AB, generator, G_AB ...)
    <generator>_best.safetensors
    <generator>_<tag>.heads.safetensors a distillation method's trained heads, beside its student
    scalars.jsonl                       one JSON object per logged step / evaluation
    resumes.jsonl                       what each --resume changed
    tensorboard/                        TensorBoard event files
    images/step_000100.png              training-time image grids
    eval.json, finished.json            written by reko eval / reko compare into a run folder

Only paths: nothing here reads or writes a file's contents (the writers own their formats).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

CONFIG_FILE = "config.yaml"
STATE_FILE = "state.pt"
SCALARS_FILE = "scalars.jsonl"
RESUMES_FILE = "resumes.jsonl"
EVAL_FILE = "eval.json"
FINISHED_FILE = "finished.json"
TAGS: tuple[str, ...] = ("best", "latest")
# <name>_best.safetensors / <name>_latest.safetensors (heads files end in .heads.safetensors: no match).
_CHECKPOINT = re.compile(r"^(?P<name>.+)_(?P<tag>best|latest)\.safetensors$")


class RunDir:
    """The files of one run folder, by what they are (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __fspath__(self) -> str:
        return os.fspath(self.path)

    # ------------------------------------------------------------------ fixed files

    @property
    def config(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def state(self) -> Path:
        return self.path / STATE_FILE

    @property
    def scalars(self) -> Path:
        return self.path / SCALARS_FILE

    @property
    def resumes(self) -> Path:
        return self.path / RESUMES_FILE

    @property
    def tensorboard(self) -> Path:
        return self.path / "tensorboard"

    @property
    def images(self) -> Path:
        return self.path / "images"

    @property
    def eval_file(self) -> Path:
        return self.path / EVAL_FILE

    @property
    def finished_file(self) -> Path:
        return self.path / FINISHED_FILE

    def grid(self, step: int) -> Path:
        """The training-time image grid of ``step``."""
        return self.images / f"step_{step:06d}.png"

    def grids(self) -> list[Path]:
        """The training-time image grids, oldest first."""
        return sorted(self.images.glob("step_*.png"))

    # ------------------------------------------------------------------ checkpoints

    def checkpoint(self, generator: str, tag: str = "latest") -> Path:
        """``<generator>_<tag>.safetensors`` (tag ``latest`` or ``best``)."""
        return self.path / f"{generator}_{tag}.safetensors"

    def heads_file(self, generator: str, tag: str = "latest") -> Path:
        """The trained heads of the method that distilled ``generator``, saved with its ``tag`` checkpoint."""
        return self.path / f"{generator}_{tag}.heads.safetensors"

    def checkpoints(self) -> dict[str, dict[str, Path]]:
        """``{generator: {tag: file}}`` of the checkpoints present, generators sorted by name."""
        found: dict[str, dict[str, Path]] = {}
        for file in sorted(self.path.glob("*.safetensors")):
            match = _CHECKPOINT.match(file.name)
            if match:
                found.setdefault(match["name"], {})[match["tag"]] = file
        return found

    def preferred(self, generator: str) -> tuple[Path, str] | None:
        """The ``best`` checkpoint of ``generator``, else its ``latest``, with its tag; None if neither exists."""
        for tag in TAGS:
            if self.checkpoint(generator, tag).is_file():
                return self.checkpoint(generator, tag), tag
        return None

    # ------------------------------------------------------------------ what it is

    def is_run(self) -> bool:
        """A folder a run wrote into: a config, logged scalars, a state or a latest checkpoint."""
        if not self.path.is_dir():
            return False
        return any(p.is_file() for p in (self.config, self.scalars, self.state)) or any(
            self.path.glob("*_latest.safetensors")
        )

    def has_state(self) -> bool:
        """Whether the run saved a state (it can be resumed)."""
        return self.state.is_file()
