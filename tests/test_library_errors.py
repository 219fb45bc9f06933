"""Library errors speak the library's language: below `reko.api`, no message names a command-line flag.

A message such as "pass --teacher CKPT" is wrong for a Python caller; the CLI (`reko.cli`) names
its flags itself. Checked over the string constants of every file in the layers up to `reko.api`
(see tests/test_layers.py), docstrings and comments excluded.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.test_layers import LAYERS, RANK, SRC, unit

FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")
TOP = RANK["api"]
# Messages that still name a flag, pinned by the CLI bad-input tests of issue 16 (tests/test_bad_inputs.py,
# test_fid.py, test_run_safety.py). Still to do: the CLI adds its flag names itself, then this list empties.
KNOWN: set[tuple[str, str]] = {
    ("reko/eval/inception.py", "--trust-inception"),
    ("reko/train/resuming.py", "--resume"),
    ("reko/train/resuming.py", "--out"),
    ("reko/train/trainer.py", "--resume"),
    ("reko/translate.py", "--output"),
}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def test_no_library_message_names_a_cli_flag() -> None:
    assert LAYERS  # the layer table this test relies on
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if RANK.get(unit(path), TOP + 1) > TOP:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                for flag in FLAG.findall(node.value):
                    if (str(path.relative_to(SRC.parent)), flag) in KNOWN:
                        continue
                    offenders.append(f"{path.relative_to(SRC.parent)}:{node.lineno}: {flag} in {node.value[:60]!r}")
    assert not offenders, "\n".join(offenders)


def test_the_check_finds_a_flag() -> None:
    assert FLAG.findall("no teacher: pass --teacher CKPT") == ["--teacher"]
    assert FLAG.findall("a-b --  x, e--mail, 1e-3") == []
    assert Path(__file__).is_file()
