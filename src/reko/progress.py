"""Progress bars that suit both a terminal and a log file.

On a terminal a tqdm bar redraws itself in place. Written to a file or a pipe, those redraws
(carriage returns) pile up into one line of many kilobytes (a 309-image ``reko eval`` log was a
single 10 kB line). There, `progress_bar` prints a plain line at most every `LOG_INTERVAL_S`
seconds instead.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import IO, Any

from tqdm import tqdm

LOG_INTERVAL_S = 30.0  # seconds between two progress lines in a log file


class _Lines:
    """A text stream for tqdm that writes each redraw as one line (no carriage returns, no cursor moves)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        line = text.replace("\r", "").replace("\x1b[A", "").strip()
        if line:
            self.stream.write(line + "\n")

    def flush(self) -> None:
        self.stream.flush()


class _LogBar(tqdm):  # type: ignore[type-arg]
    """A bar whose postfix updates wait for the next timed line instead of forcing one."""

    def set_postfix(self, ordered_dict: Any = None, refresh: bool = True, **kwargs: Any) -> None:
        super().set_postfix(ordered_dict, refresh=False, **kwargs)


def is_terminal(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def progress_bar(iterable: Iterable[Any] | None = None, *, file: IO[str] | None = None, **kwargs: Any) -> tqdm:  # type: ignore[type-arg]
    """``tqdm(iterable, **kwargs)`` on a terminal; sparse plain lines (every `LOG_INTERVAL_S`) elsewhere.

    ``file`` defaults to ``sys.stderr``, as tqdm's. ``disable=None`` keeps tqdm's meaning (no bar
    at all unless ``file`` is a terminal).
    """
    stream = file if file is not None else sys.stderr
    disable = kwargs.get("disable", False)
    if disable or disable is None or is_terminal(stream):  # None: tqdm shows nothing off a terminal
        return tqdm(iterable, file=file, **kwargs)
    kwargs.pop("dynamic_ncols", None)
    kwargs.update(mininterval=LOG_INTERVAL_S, maxinterval=LOG_INTERVAL_S)
    return _LogBar(iterable, file=_Lines(stream), **kwargs)
