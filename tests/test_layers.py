"""The package's import graph reads bottom-up, with no cycle between its subpackages.

Every ``import reko.x`` / ``from reko.x import ...`` in ``src/reko`` (function-level imports
included, parsed with `ast`, nothing imported) is an edge from the importing file's subpackage
to ``x``. Each subpackage (or top-level module) has a layer in `LAYERS`; an edge may only point
to its own layer or below. A new top-level module or package must be given a layer here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "reko"

# Bottom first. Same-layer imports are allowed (the cycle test covers them).
LAYERS: list[set[str]] = [
    {"__init__", "errors", "extras"},  # extras: optional dependencies, named by their extra
    {"atomic", "progress", "results"},  # results: typed result files
    {"config", "config_values", "data", "models", "download", "perceptual"},  # perceptual: ST-LPIPS networks
    {"zoo", "translate", "gan"},  # gan: the Trainable contract, GAN losses, pix2pix / CycleGAN
    {"distill"},
    {"train"},
    {"eval", "export"},
    {"api"},  # the composition root
    {"compare", "demo", "report"},  # workflows built on api
    {"cli"},
    {"__main__"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def unit(path: Path) -> str:
    """The subpackage (or top-level module) a file of src/reko belongs to: ``distill/reko.py`` -> ``distill``."""
    parts = path.relative_to(SRC).parts
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")


def imported_units(tree: ast.AST, path: Path) -> Iterator[tuple[str, int]]:
    """(target unit, line) of every import of reko in ``tree``, at any depth."""
    package = ("reko", *path.relative_to(SRC).parent.parts)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "reko":
                    yield _target(alias.name.split(".")), node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                base = list(package[: len(package) - node.level + 1])
                module = [*base, *(node.module.split(".") if node.module else [])]
            else:
                module = node.module.split(".") if node.module else []
            if not module or module[0] != "reko":
                continue
            if len(module) == 1:  # from reko import api, __version__
                for alias in node.names:
                    yield (
                        (
                            alias.name
                            if (SRC / alias.name).is_dir() or (SRC / f"{alias.name}.py").is_file()
                            else "__init__"
                        ),
                        node.lineno,
                    )
            else:
                yield _target(module), node.lineno


def _target(module: list[str]) -> str:
    return module[1] if len(module) > 1 else "__init__"


def import_graph() -> dict[str, dict[str, list[str]]]:
    """``{unit: {imported unit: ["file:line", ...]}}`` over src/reko, self-imports left out."""
    graph: dict[str, dict[str, list[str]]] = {}
    for path in sorted(SRC.rglob("*.py")):
        source = unit(path)
        graph.setdefault(source, {})
        for target, line in imported_units(ast.parse(path.read_text(encoding="utf-8")), path):
            if target != source:
                graph[source].setdefault(target, []).append(f"{path.relative_to(SRC.parent)}:{line}")
    return graph


def find_cycle(graph: dict[str, dict[str, list[str]]]) -> list[str] | None:
    """One cycle of ``graph`` as ``[a, b, ..., a]``, or None (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, {}):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle_through_function_level_imports(tmp_path: Path) -> None:
    tree = ast.parse("def f():\n    from reko.train.trainer import Trainer\n")
    assert [t for t, _ in imported_units(tree, SRC / "distill" / "x.py")] == ["train"]
    assert find_cycle({"a": {"b": []}, "b": {"c": []}, "c": {"a": []}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": []}, "b": {}, "c": {"a": []}}) is None


def test_no_import_cycle_between_subpackages() -> None:
    graph = import_graph()
    cycle = find_cycle(graph)
    if cycle:
        where = [f"{a} -> {b} ({graph[a][b][0]})" for a, b in zip(cycle, cycle[1:], strict=False)]
        pytest.fail("import cycle: " + "; ".join(where))


def test_every_subpackage_has_a_layer() -> None:
    missing = sorted(set(import_graph()) - set(RANK))
    assert not missing, f"give these a layer in tests/test_layers.py LAYERS: {missing}"


def test_imports_only_point_down_the_layers() -> None:
    upward = [
        f"{source} (layer {RANK[source]}) imports {target} (layer {RANK[target]}) at {where[0]}"
        for source, targets in import_graph().items()
        for target, where in targets.items()
        if source in RANK and target in RANK and RANK[target] > RANK[source]
    ]
    assert not upward, "\n".join(upward)


@pytest.mark.parametrize(
    ("lower", "upper"),
    [
        ("config", "distill"),
        ("distill", "train"),
        ("eval", "train"),
        ("eval", "distill"),
        ("export", "train"),
        ("train", "distill"),
    ],
)
def test_named_boundaries(lower: str, upper: str) -> None:
    """The boundaries the design notes name: config, the loop and the measurements know no method."""
    assert upper not in import_graph().get(lower, {}), import_graph()[lower][upper]
