"""`reko.results.Result`: typed result files round-trip, and a wrong file is named, not guessed at."""

from __future__ import annotations

import dataclasses
import json

import pytest

from reko.results import Result, ResultError


@dataclasses.dataclass(frozen=True)
class Score(Result):
    KIND = "test-score"
    VERSION = 2
    value: float
    shape: tuple[int, ...] = ()


@dataclasses.dataclass(frozen=True)
class Table(Result):
    KIND = "test-table"
    rows: dict[str, Score]
    best: Score | None = None
    names: list[str] = dataclasses.field(default_factory=list)


def test_nested_results_round_trip(tmp_path):
    table = Table({"a": Score(1.5, (2, 3))}, Score(2), ["a"])
    path = table.write(tmp_path / "t.json")
    assert Table.read(path) == Table({"a": Score(1.5, (2, 3))}, Score(2.0), ["a"])
    data = json.loads(path.read_text())
    assert (data["kind"], data["version"], data["rows"]["a"]["kind"]) == ("test-table", 1, "test-score")


def test_non_finite_floats_are_written_as_strict_json_null(tmp_path):
    path = Score(float("nan")).write(tmp_path / "s.json")
    assert json.loads(path.read_text())["value"] is None
    assert Score.read(path).value is None


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"kind": "test-table", "version": 1, "rows": {}}', "expected a 'test-score' result, found kind 'test-table'"),
        ('{"kind": "test-score", "version": 1, "value": 1}', "version 1; this reko reads version 2"),
        ('{"kind": "test-score", "version": 2}', "has no field 'value'"),
        ("[1, 2]", "expected a JSON object"),
        ("{not json", "not a readable JSON result"),
    ],
)
def test_a_wrong_file_names_itself_and_what_was_expected(tmp_path, content, expected):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ResultError, match="bad.json") as error:
        Score.read(path)
    assert expected in str(error.value)


def test_a_nested_field_of_the_wrong_shape_is_named(tmp_path):
    path = tmp_path / "t.json"
    path.write_text('{"kind": "test-table", "version": 1, "rows": [1]}')
    with pytest.raises(ResultError, match="rows: expected a JSON object"):
        Table.read(path)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ResultError, match="no such result file"):
        Score.read(tmp_path / "absent.json")
