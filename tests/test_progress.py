"""`reko.progress.progress_bar`: a redrawn bar on a terminal, sparse plain lines in a log file."""

from __future__ import annotations

import io

import pytest

from reko import progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_file_gets_few_plain_lines_not_one_long_one() -> None:
    log = io.StringIO()
    with progress.progress_bar(total=2000, desc="eval", file=log) as bar:
        for step in range(2000):
            bar.update(1)
            bar.set_postfix({"G": f"{step:.3g}"})  # the trainer does this every log_every steps
    text = log.getvalue()
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    assert len(lines) <= 3 and all(len(line) < 200 for line in lines)  # the first draw, maybe the last


def test_a_log_file_gets_a_line_per_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "LOG_INTERVAL_S", 0.0)
    log = io.StringIO()
    with progress.progress_bar(total=5, desc="eval", file=log, leave=True) as bar:
        for _ in range(5):
            bar.update(1)
    lines = log.getvalue().splitlines()
    assert len(lines) >= 5 and lines[-1].startswith("eval: 100%")


def test_a_terminal_gets_the_redrawn_bar() -> None:
    screen = _Terminal()
    with progress.progress_bar(total=3, desc="eval", file=screen, mininterval=0) as bar:
        for _ in range(3):
            bar.update(1)
    assert "\r" in screen.getvalue()


def test_disable_none_keeps_tqdm_meaning_off_a_terminal() -> None:
    log = io.StringIO()
    with progress.progress_bar(total=3, file=log, disable=None) as bar:
        bar.update(3)
    assert log.getvalue() == ""
