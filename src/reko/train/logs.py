"""The run's logs: ``scalars.jsonl`` (one JSON object per logged step) and TensorBoard events.

On resume both are cut back to the step the state was saved at, so that a resumed run's logs
read as those of an uninterrupted run: the lines of later steps are dropped (atomically, and
a last line cut short by a power loss mid-append is dropped too, not a JSON traceback), and
TensorBoard purges events from the step after the saved one.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from reko.atomic import write_text_atomic
from reko.extras import installed, missing_extra
from reko.results.rundir import SCALARS_FILE


def read_scalars(path: Path) -> list[dict[str, Any]]:
    """The readable records of a ``scalars.jsonl``; an unreadable line (a truncated last append) is skipped."""
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def trim_scalars(path: Path, step: int) -> None:
    """Keep the records of steps ``<= step`` (one atomic rewrite; the file is never half-written)."""
    if path.exists():
        kept = [r for r in read_scalars(path) if isinstance(r.get("step", 0), int) and r.get("step", 0) <= step]
        write_text_atomic(path, "".join(json.dumps(r) + "\n" for r in kept))


def open_logs(out_dir: Path, resume_step: int | None) -> Any:
    """A TensorBoard ``SummaryWriter`` for ``out_dir`` (``resume_step``: the step a resumed run saved),
    or None (with a note) when the `tensorboard` extra is not installed.

    A resumed run logged the saved step's own scalars before saving, so events are purged from
    ``resume_step + 1`` on (purging from ``resume_step`` would lose them).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    if resume_step is not None:
        trim_scalars(out_dir / SCALARS_FILE, resume_step)
    if not installed("tensorboard"):  # optional: scalars.jsonl holds every scalar; say so once per run
        note = missing_extra("tensorboard", "TensorBoard event files")
        print(f"reko: {note} (the scalars are in {SCALARS_FILE})", file=sys.stderr, flush=True)
        return None
    from torch.utils.tensorboard import SummaryWriter  # slow import: only on the writing process

    purge = resume_step + 1 if resume_step is not None else None
    return SummaryWriter(str(out_dir / "tensorboard"), purge_step=purge)


def append_scalars(out_dir: Path, step: int, scalars: dict[str, float]) -> None:
    with (out_dir / SCALARS_FILE).open("a", encoding="utf-8") as f:
        f.write(json.dumps({"step": step, **scalars}) + "\n")
