"""Report tables: cells that remember which JSON value they show, and how numbers are printed.

A `Cell` keeps the exact value read from a JSON file together with its `Source` (the file and
an RFC 6901 JSON pointer), so the page can print a rounded number while its embedded data, and
the tests, can check that it is the number in the file. `json_rows` turns the rows of a JSON
document of any reasonable shape (a list of row objects, an object of row objects, nested
``{"mean": m, "std": s}`` statistics) into table rows without knowing its producer's schema.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

# Column names that describe what a model costs rather than how well it translates.
_COST_WORDS = re.compile(r"param|mac|flop|latency|speed|ratio|time|_ms|fps|throughput|memory|bytes|size_mb|compress")
# Keys of a row object that name the row rather than measure it.
LABEL_KEYS: tuple[str, ...] = ("method", "name", "label", "model", "run")
# Numbers that describe how a result was obtained rather than the result itself.
CONTEXT_KEYS: frozenset[str] = frozenset(
    "kid_subset_size reference_images latency_threads threads seconds step seed batch_size size repeats warmup "
    "class_iou".split()  # class_iou: 19 per-class numbers, too wide for a summary table
)


@dataclass(frozen=True)
class Source:
    """Where a number came from: ``file`` (relative to the report's input folder) and a JSON pointer.

    For JSON-lines files (``scalars.jsonl``) ``line`` is the 1-based line the pointer applies to.
    """

    file: str
    pointer: str
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.file, "pointer": self.pointer}
        if self.line is not None:
            out["line"] = self.line
        return out


@dataclass(frozen=True)
class Cell:
    """One table entry: a value (and optional standard deviation) with its provenance.

    ``source`` is None for values the report computed itself (e.g. parameter counts of a
    checkpoint); ``kind`` picks the printed form (see `format_value`).
    """

    value: float | int | str | None
    std: float | None = None
    source: Source | None = None
    std_source: Source | None = None
    kind: str = "number"  # number | count | ratio | text
    derived_from: tuple[Source, Source] | None = None  # a ratio: first value / second value

    @property
    def text(self) -> str:
        """The printed form: ``value`` or ``value ± std``."""
        main = format_value(self.value, self.kind)
        if self.std is None:
            return main
        return f"{main} ± {format_value(self.std, self.kind)}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value, "text": self.text, "kind": self.kind}
        if self.std is not None:
            out["std"] = self.std
        out["source"] = self.source.to_dict() if self.source else None
        if self.std_source is not None:
            out["std_source"] = self.std_source.to_dict()
        if self.derived_from is not None:
            out["derived_from"] = [source.to_dict() for source in self.derived_from]
        return out


@dataclass
class Table:
    """A titled table: ``columns`` headers and ``rows``, each a row label followed by one cell per column."""

    id: str
    title: str
    columns: list[str]
    rows: list[tuple[str, list[Cell]]] = field(default_factory=list)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "columns": list(self.columns),
            "rows": [{"label": label, "cells": [c.to_dict() for c in cells]} for label, cells in self.rows],
            "note": self.note,
        }


# --------------------------------------------------------------------------- printing numbers


def format_value(value: Any, kind: str = "number") -> str:
    """How a value is printed in a table.

    ``count``: SI prefix with 4 significant digits (``11.38 M``, ``56.84 G``); ``ratio``: ``4.52×``;
    ``number``: 4 significant digits without an exponent between 0.001 and 10^6; ``None``: an
    en dash; text as is. Non-finite numbers print as ``nan`` / ``inf``.
    """
    if value is None:
        return "–"
    if isinstance(value, bool) or isinstance(value, str):
        return str(value)
    number = float(value)
    if not math.isfinite(number):
        return str(number)
    if kind == "count":
        return _si(number)
    if kind == "ratio":
        return f"{_sig(number)}×"
    return _sig(number)


def _sig(number: float) -> str:
    """4 significant digits; plain decimals where they stay short, an exponent otherwise."""
    magnitude = abs(number)
    if number == 0:
        return "0"
    if 1e4 <= magnitude < 1e6:
        return f"{number:.0f}"
    if magnitude < 1e-3 or magnitude >= 1e6:
        return f"{number:.3e}"
    return f"{number:.4g}"


def _si(number: float) -> str:
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= factor:
            return f"{number / factor:.4g} {prefix}"
    return f"{number:.4g}"


def column_kind(name: str) -> str:
    """The printed form of a column from its name: counts for parameters and MACs, ratios for speed-ups."""
    lowered = name.lower()
    if re.search(r"ratio|speed_?up|compression", lowered):
        return "ratio"
    if re.search(r"param|mac|flop", lowered) and not re.search(r"ratio|_ms|latency", lowered):
        return "count"
    return "number"


def is_cost(name: str) -> bool:
    """Whether a column measures cost (parameters, MACs, latency, speed-ups) rather than quality."""
    return bool(_COST_WORDS.search(name.lower()))


# --------------------------------------------------------------------------- JSON -> rows


def pointer_join(pointer: str, key: str | int) -> str:
    """Append one reference token to a JSON pointer (RFC 6901 escaping of ``~`` and ``/``)."""
    token = str(key).replace("~", "~0").replace("/", "~1")
    return f"{pointer}/{token}"


def resolve_pointer(document: Any, pointer: str) -> Any:
    """The value at an RFC 6901 JSON pointer (``""`` is the whole document)."""
    if pointer == "":
        return document
    node = document
    for token in pointer.lstrip("/").split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class Leaf:
    """One number of a row: its column name (nested keys joined by ``/``), value, std and pointers."""

    column: str
    value: float | int | None
    pointer: str
    std: float | None = None
    std_pointer: str | None = None


def row_leaves(row: Mapping[str, Any], pointer: str, prefix: str = "") -> Iterator[Leaf]:
    """The numbers of a row object, depth first, in key order.

    ``{"mean": m, "std": s, "n": n}`` (or ``"value"``) becomes one leaf with a standard deviation
    (m may be null: an empty cell), as do sibling keys ``X_mean`` / ``X_std``. Lists (e.g.
    per-seed values), text and bookkeeping keys (`CONTEXT_KEYS`) are skipped: the tables show
    statistics, not samples or settings.
    """
    for key, value in row.items():
        column = f"{prefix}/{key}" if prefix else str(key)
        here = pointer_join(pointer, key)
        if key in CONTEXT_KEYS or (isinstance(key, str) and key.endswith("_std") and f"{key[:-4]}_mean" in row):
            continue
        if isinstance(key, str) and key.endswith("_mean") and _is_number(value):
            std_key = f"{key[:-5]}_std"
            std = row.get(std_key)
            has_std = _is_number(std)
            yield Leaf(
                column[: -len("_mean")],
                value,
                here,
                float(std) if has_std else None,
                pointer_join(pointer, std_key) if has_std else None,
            )
        elif _is_number(value):
            yield Leaf(column, value, here)
        elif isinstance(value, Mapping):
            centre = next((k for k in ("mean", "value") if k in value), None)
            if centre is not None and (value[centre] is None or _is_number(value[centre])):
                std = value.get("std")
                has_std = _is_number(std)
                yield Leaf(
                    column,
                    value[centre],
                    pointer_join(here, centre),
                    float(std) if has_std else None,
                    pointer_join(here, "std") if has_std else None,
                )
            else:
                yield from row_leaves(value, here, column)


@dataclass(frozen=True)
class JsonRow:
    """A row object found in a JSON document, with its label and pointer."""

    label: str
    data: Mapping[str, Any]
    pointer: str


def json_rows(document: Any) -> list[JsonRow]:
    """The row objects of a results document, whatever its nesting.

    Accepts a list of objects; an object with a ``rows`` / ``methods`` / ``results`` / ``runs``
    list (or object of objects); or an object of objects keyed by name. A ``teacher`` object
    beside them becomes the first row. An object with numbers at its top level is one row.
    """
    rows: list[JsonRow] = []
    if isinstance(document, list):
        items = enumerate(document)
        return [JsonRow(_label(item, str(i)), item, f"/{i}") for i, item in items if isinstance(item, dict)]
    if not isinstance(document, dict):
        return rows
    if isinstance(document.get("teacher"), dict):
        rows.append(JsonRow("teacher", document["teacher"], "/teacher"))
    for key in ("rows", "methods", "results", "runs", "students"):
        container = document.get(key)
        if isinstance(container, list):
            rows += [
                JsonRow(_label(item, str(i)), item, f"/{key}/{i}")
                for i, item in enumerate(container)
                if isinstance(item, dict)
            ]
            return _without_duplicate_teacher(rows)
        if isinstance(container, dict) and container and all(isinstance(v, dict) for v in container.values()):
            named = container.items()
            rows += [JsonRow(_label(item, str(name)), item, pointer_join(f"/{key}", name)) for name, item in named]
            return _without_duplicate_teacher(rows)
    if any(_is_number(v) or _is_stat(v) for v in document.values()):
        return [*rows, JsonRow(_label(document, ""), document, "")]
    rows += [
        JsonRow(_label(v, str(k)), v, pointer_join("", k))
        for k, v in document.items()
        if isinstance(v, dict) and k != "teacher" and any(True for _ in row_leaves(v, ""))
    ]
    return rows


def _is_stat(value: Any) -> bool:
    return isinstance(value, Mapping) and (_is_number(value.get("mean")) or _is_number(value.get("value")))


def _label(item: Mapping[str, Any], default: str) -> str:
    """``method`` (or name, model...), ``model vs against`` for evaluation rows, ``(n seeds)`` for aggregates."""
    label = next((item[k] for k in LABEL_KEYS if isinstance(item.get(k), str) and item[k]), default)
    if isinstance(item.get("against"), str):
        label = f"{label} vs {item['against']}"
    seeds = item.get("seeds")
    if isinstance(seeds, list) and len(seeds) > 1:
        label = f"{label} ({len(seeds)} seeds)"
    return label


def _without_duplicate_teacher(rows: list[JsonRow]) -> list[JsonRow]:
    """A document may hold the teacher both as ``teacher`` and as a row named teacher: keep one."""
    labels = [row.label for row in rows]
    if labels.count("teacher") > 1 and rows[0].pointer == "/teacher":
        return rows[1:]
    return rows


def build_table(
    table_id: str,
    title: str,
    file: str,
    rows: Iterable[JsonRow],
    keep: Any = None,
    note: str = "",
) -> Table | None:
    """A `Table` of the numeric leaves of ``rows`` (read from ``file``) whose column passes ``keep``.

    Columns appear in first-seen order; a row without a column gets an empty cell. Returns None
    when no column is left.
    """
    leaves_per_row = [
        (row, [leaf for leaf in row_leaves(row.data, row.pointer) if keep is None or keep(leaf.column)]) for row in rows
    ]
    columns: list[str] = []
    for _, leaves in leaves_per_row:
        for leaf in leaves:
            if leaf.column not in columns:
                columns.append(leaf.column)
    if not columns:
        return None
    table = Table(table_id, title, columns, note=note)
    for row, leaves in leaves_per_row:
        by_column = {leaf.column: leaf for leaf in leaves}
        cells = []
        for column in columns:
            leaf = by_column.get(column)
            if leaf is None:
                cells.append(Cell(None, kind=column_kind(column)))
                continue
            cells.append(
                Cell(
                    leaf.value,
                    leaf.std,
                    Source(file, leaf.pointer),
                    Source(file, leaf.std_pointer) if leaf.std_pointer else None,
                    column_kind(column),
                )
            )
        if any(cell.value is not None for cell in cells):  # e.g. a teacher without metrics of its own
            table.rows.append((row.label, cells))
    return table if table.rows else None


# Cost columns a teacher / student ratio makes sense for, and the name of that ratio.
_RATIO_COLUMNS = (
    (re.compile(r"param"), "compression"),
    (re.compile(r"mac|flop"), "compression"),
    (re.compile(r"latency(?!.*(iqr|thread))"), "speed-up"),
)


def with_ratios(table: Table, teacher_label: str = "teacher") -> Table:
    """``table`` plus, for parameters, MACs and latency, a column of teacher value / row value.

    Added only when a row is the teacher's. Each ratio cell records the two cells it divides
    (``derived_from``), so it can be checked against the files as exactly as the numbers it uses.
    """
    teacher = next((cells for label, cells in table.rows if label == teacher_label), None)
    if teacher is None:
        return table
    picked = []
    for index, column in enumerate(table.columns):
        for pattern, word in _RATIO_COLUMNS:
            if pattern.search(column.lower()) and column_kind(column) != "ratio":
                picked.append((index, f"{word} of {column}"))
                break
    out = Table(table.id, table.title, table.columns + [name for _, name in picked], note=table.note)
    for label, cells in table.rows:
        ratios = []
        for index, _ in picked:
            top, bottom = teacher[index], cells[index]
            usable = _is_number(top.value) and _is_number(bottom.value) and bottom.value != 0
            value = top.value / bottom.value if usable else None  # type: ignore[operator]
            sources = (top.source, bottom.source) if usable and top.source and bottom.source else None
            ratios.append(Cell(value, kind="ratio", derived_from=sources))  # type: ignore[arg-type]
        out.rows.append((label, cells + ratios))
    out.note = (out.note + " Compression and speed-up: the teacher's value divided by the row's.").strip()
    return out
