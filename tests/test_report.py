"""`reko report`: the page, every picture it references, and every number against its JSON file.

The inputs are real: a `reko compare` of two methods x two seeds (a few training steps each, at
64 px, with the real teacher on real horse2zebra photos) gives run folders, per-run ``eval.json``
files and ``comparison.json``; the reports are written from them.
"""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from reko.errors import RekoError
from reko.report import PAGE_FILE, write_report
from reko.report.html import DATA_ELEMENT_ID
from reko.report.tables import Table, build_table, format_value, json_rows, resolve_pointer, with_ratios

# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def comparison_dir(tmp_path_factory: pytest.TempPathFactory, horse2zebra_dir: Path, teacher_path: Path) -> Path:
    """A real, tiny comparison: methods output and reko, seeds 0 and 1, one step each at 64 px."""
    from reko.compare import CompareSettings, compare

    root = tmp_path_factory.mktemp("report_inputs")
    for split, count in (("trainA", 6), ("testA", 4)):
        (root / split).mkdir()
        for path in sorted((horse2zebra_dir / split).glob("*.jpg"))[:count]:
            shutil.copy(path, root / split / path.name)
    settings = CompareSettings(
        teacher=str(teacher_path),
        data=str(root / "trainA"),
        out=str(root / "comparison"),
        methods=("output", "reko"),
        seeds=2,
        steps=1,
        size=64,
        student_ngf=8,
        metrics=("paired",),
        eval_limit=3,
        latency_repeats=1,
        overrides=(
            "data.val_size=2",
            "data.num_workers=0",
            "log.progress=false",
            "log.log_every=1",
            "log.image_every=1",
            "train.eval_every=1",
        ),
    )
    compare(settings, log=lambda message: None)
    return root / "comparison"


@pytest.fixture(scope="session")
def run_report(comparison_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of one ReKo run folder, on images given with ``images=``."""
    images = comparison_dir.parent / "testA"
    out = tmp_path_factory.mktemp("run_report")
    return write_report(comparison_dir / "runs" / "reko" / "seed0", out, images=images, num_images=2)


@pytest.fixture(scope="session")
def comparison_report(comparison_dir: Path) -> Path:
    """The report of the whole comparison, in its default place (OUT/report/)."""
    return write_report(comparison_dir, num_images=2)


# --------------------------------------------------------------------------- reading a page


class _PageParser(HTMLParser):
    """Collects ``<img src>``, external references, visible tables and the embedded data block."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.external: list[str] = []
        self.tables: dict[str, list[tuple[str, list[tuple[str, dict[str, str]]]]]] = {}
        self.data_text = ""
        self._table: str | None = None
        self._row: list[tuple[str, dict[str, str]]] | None = None
        self._label: str | None = None
        self._cell: tuple[list[str], dict[str, str], str] | None = None
        self._in_data = False
        self._in_thead = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "img":
            self.images.append(a["src"])
        for key in ("src", "href"):
            if re.match(r"^(https?:)?//", a.get(key, "")):
                self.external.append(a[key])
        if tag == "link":
            self.external.append(str(a))
        if tag == "script":
            self._in_data = a.get("id") == DATA_ELEMENT_ID
        if tag == "table":
            self._table = a["id"].removeprefix("table-")
            self.tables[self._table] = []
        if tag == "thead":
            self._in_thead = True
        if tag == "tr" and self._table is not None and not self._in_thead:
            self._row, self._label = [], None
        if tag in ("td", "th") and self._row is not None:
            self._cell = ([], a, tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_data = False
        if tag == "thead":
            self._in_thead = False
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            parts, attrs, kind = self._cell
            text = "".join(parts)
            if kind == "th":
                self._label = text
            else:
                self._row.append((text, attrs))
            self._cell = None
        if tag == "tr" and self._row is not None and self._table is not None:
            self.tables[self._table].append((self._label or "", self._row))
            self._row = None
        if tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._in_data:
            self.data_text += data
        if self._cell is not None:
            self._cell[0].append(data)


def _parse(page: Path) -> tuple[_PageParser, dict[str, Any]]:
    parser = _PageParser()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser, json.loads(parser.data_text)


def _read_source(root: Path, source: dict[str, Any]) -> Any:
    """The value a cell's source points at: a JSON file, or one line of a JSON-lines file."""
    text = (root / source["file"]).read_text(encoding="utf-8")
    document = json.loads(text.splitlines()[source["line"] - 1]) if source.get("line") else json.loads(text)
    return resolve_pointer(document, source["pointer"])


_SI = {"k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}


def _visible_number(text: str) -> float:
    """The number a cell prints (``11.39 M`` -> 11.39e6, ``4.5×`` -> 4.5, ``10.31 ± 1.02`` -> 10.31)."""
    main = text.split("±")[0].strip().rstrip("×").strip()
    number, _, unit = main.partition(" ")
    return float(number) * _SI.get(unit, 1.0)


def _check_numbers(page: Path, root: Path) -> int:
    """Every number of every table: the embedded value is the file's, the visible text prints it.

    Returns how many cells came from files (so a test can insist that some did).
    """
    parser, data = _parse(page)
    from_files = 0
    assert {t["id"] for t in data["tables"]} == set(parser.tables)
    for table in data["tables"]:
        visible = parser.tables[table["id"]]
        assert [label for label, _ in visible] == [row["label"] for row in table["rows"]], table["id"]
        for (_, shown), row in zip(visible, table["rows"], strict=True):
            assert len(shown) == len(row["cells"]) == len(table["columns"])
            for (text, attrs), cell in zip(shown, row["cells"], strict=True):
                assert text == cell["text"] == _format(cell)
                if cell["value"] is None:
                    continue
                assert json.loads(attrs["data-value"]) == cell["value"]
                assert _visible_number(text) == pytest.approx(cell["value"], rel=6e-4, abs=1e-12)
                if cell["source"] is not None:
                    assert _read_source(root, cell["source"]) == cell["value"], cell["source"]
                    from_files += 1
                if "std" in cell:
                    assert _read_source(root, cell["std_source"]) == cell["std"]
                if "derived_from" in cell:
                    top, bottom = (_read_source(root, s) for s in cell["derived_from"])
                    assert cell["value"] == top / bottom
    return from_files


def _format(cell: dict[str, Any]) -> str:
    text = format_value(cell["value"], cell["kind"])
    return f"{text} ± {format_value(cell['std'], cell['kind'])}" if "std" in cell else text


def _cell(table: dict[str, Any], row: int, column: str) -> dict[str, Any]:
    return table["rows"][row]["cells"][table["columns"].index(column)]


def _check_pictures(page: Path) -> list[str]:
    parser, data = _parse(page)
    assert parser.images, "the page shows no pictures"
    assert not parser.external, f"external resources: {parser.external}"
    assert sorted(parser.images) == sorted(p["file"] for p in data["images"])
    for src in parser.images:
        assert not src.startswith("/") and ".." not in src, src
        path = page.parent / src
        assert path.is_file(), src
        with Image.open(path) as image:
            assert image.format == "PNG" and min(image.size) > 50
    return parser.images


# --------------------------------------------------------------------------- tests


def test_run_report_page_pictures_and_numbers(run_report: Path, comparison_dir: Path) -> None:
    run_dir = comparison_dir / "runs" / "reko" / "seed0"
    assert run_report.name == PAGE_FILE
    pictures = _check_pictures(run_report)
    assert {"grid_student.png", "curves.png", "regions_student_reko.png"} <= set(pictures)
    assert any(p.startswith("training_step_") for p in pictures)
    assert _check_numbers(run_report, run_dir) > 0
    _, data = _parse(run_report)
    tables = {t["id"]: t for t in data["tables"]}
    # the run's eval.json, verbatim
    evaluation = json.loads((run_dir / "eval.json").read_text(encoding="utf-8"))
    assert _cell(tables["metrics"], 0, "metrics/psnr_vs_teacher")["value"] == evaluation["metrics"]["psnr_vs_teacher"]
    assert all("computed" not in table_id for table_id in tables)  # the report measures nothing
    # the validation metrics of the last evaluation, verbatim from scalars.jsonl
    lines = (run_dir / "scalars.jsonl").read_text(encoding="utf-8").splitlines()
    last = [json.loads(line) for line in lines if "val/psnr" in line][-1]
    assert _cell(tables["validation"], 0, "psnr")["value"] == last["val/psnr"]
    assert "the images folder" in run_report.read_text(encoding="utf-8")  # the grids used the images given


def test_comparison_report_page_pictures_and_numbers(comparison_report: Path, comparison_dir: Path) -> None:
    assert comparison_report == comparison_dir / "report" / PAGE_FILE
    pictures = _check_pictures(comparison_report)
    assert "grid_student.png" in pictures and "curves.png" in pictures
    # ReKo draws where it looks; the output-only baseline has nothing to show
    assert "regions_student_reko.png" in pictures and "regions_student_output.png" not in pictures
    assert _check_numbers(comparison_report, comparison_dir) > 0
    _, data = _parse(comparison_report)
    tables = {t["id"]: t for t in data["tables"]}
    document = json.loads((comparison_dir / "comparison.json").read_text(encoding="utf-8"))
    metrics = tables["metrics"]
    labels = [row["label"] for row in metrics["rows"]]
    assert labels == ["output (2 seeds)", "reko (2 seeds)"]  # the teacher has no metrics without real data
    reko = _cell(metrics, 1, "psnr_vs_teacher")
    assert reko["value"] == document["rows"][1]["psnr_vs_teacher"]["mean"]
    assert reko["std"] == document["rows"][1]["psnr_vs_teacher"]["std"]
    cost = tables["cost"]
    assert [row["label"] for row in cost["rows"]][0] == "teacher"
    assert any(c.startswith("speed-up") for c in cost["columns"]) and any("compression" in c for c in cost["columns"])
    every_run = tables["runs-metrics"]
    assert [row["label"] for row in every_run["rows"]] == ["output/seed0", "output/seed1", "reko/seed0", "reko/seed1"]
    page = comparison_report.read_text(encoding="utf-8")
    assert str(comparison_dir.parent / "testA") in page  # grids on the images the comparison evaluated on


def test_report_of_a_partial_run_falls_back_and_notes(comparison_dir: Path, tmp_path: Path) -> None:
    """No eval.json, no scalars.jsonl (TensorBoard only), no training grids: sections drop, nothing breaks."""
    from reko.cli import main

    run = tmp_path / "run"
    shutil.copytree(comparison_dir / "runs" / "reko" / "seed1", run)
    for name in ("eval.json", "scalars.jsonl", "finished.json"):
        (run / name).unlink()
    shutil.rmtree(run / "images")
    out = tmp_path / "site"
    assert main(["report", str(run), "--out", str(out), "--num-images", "1"]) == 0
    page = out / PAGE_FILE
    pictures = _check_pictures(page)
    assert "curves.png" in pictures  # from the TensorBoard event files
    assert not any(p.startswith("training_") for p in pictures)
    _, data = _parse(page)
    assert data["tables"] == []  # no result files: no numbers (the report computes none itself)
    assert any("no cost numbers" in note for note in data["notes"])
    assert "validation images" in page.read_text(encoding="utf-8")  # the run's own validation split

    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(run / "student_latest.safetensors", bare)
    page = write_report(bare, num_images=1)
    _, data = _parse(page)
    assert any("config.yaml" in note for note in data["notes"])
    assert any("no side-by-side images" in note for note in data["notes"])


def test_report_refuses_a_folder_that_is_no_run(tmp_path: Path) -> None:
    with pytest.raises(RekoError, match="neither a run folder"):
        write_report(tmp_path)
    with pytest.raises(RekoError, match="num_images"):
        write_report(tmp_path, num_images=0)


# --------------------------------------------------------------------------- tables, without networks


def test_json_rows_of_documents_of_any_shape() -> None:
    rows = json_rows({"teacher": {"fid": 1.0}, "rows": [{"method": "a", "fid": {"mean": 2.0, "std": 0.5, "n": 2}}]})
    assert [(r.label, r.pointer) for r in rows] == [("teacher", "/teacher"), ("a", "/rows/0")]
    rows = json_rows({"results": [{"model": "student", "against": "teacher", "kid_mean": 0.1, "kid_std": 0.01}]})
    table = build_table("metrics", "m", "eval.json", rows)
    assert table is not None and table.columns == ["kid"]
    cell = table.rows[0][1][0]
    assert table.rows[0][0] == "student vs teacher"
    assert (cell.value, cell.std, cell.source.pointer) == (0.1, 0.01, "/results/0/kid_mean")  # type: ignore[union-attr]
    rows = json_rows({"a/b": {"x~y": 3}})
    assert [r.pointer for r in rows] == ["/a~1b"]
    assert build_table("t", "t", "f", rows).rows[0][1][0].source.pointer == "/a~1b/x~0y"  # type: ignore[union-attr]
    assert resolve_pointer({"a/b": {"x~y": 3}}, "/a~1b/x~0y") == 3


def test_format_value_and_ratios() -> None:
    assert format_value(11388675, "count") == "11.39 M"
    assert format_value(3551985664, "count") == "3.552 G"
    assert format_value(10.409131, "number") == "10.41"
    assert format_value(0.000123, "number") == "1.230e-04"
    assert format_value(12345.6, "number") == "12346"
    assert format_value(4.5, "ratio") == "4.5×"
    assert format_value(None) == "–"
    rows = json_rows({"teacher": {"parameters": 100, "latency_ms": 8.0}, "rows": [{"method": "s", "parameters": 25}]})
    table = with_ratios(build_table("cost", "c", "comparison.json", rows))  # type: ignore[arg-type]
    assert isinstance(table, Table)
    assert table.columns == ["parameters", "latency_ms", "compression of parameters", "speed-up of latency_ms"]
    student = table.rows[1][1]
    assert student[2].value == 4.0 and student[2].text == "4×" and student[3].value is None


# --------------------------------------------------------------------------- in a browser


def _chromium() -> str | None:
    return next(
        (found for name in ("chromium", "chromium-browser", "google-chrome") if (found := shutil.which(name))), None
    )


@pytest.mark.slow
def test_comparison_report_renders_in_headless_chromium(comparison_report: Path, tmp_path: Path) -> None:
    import subprocess

    browser = _chromium()
    if browser is None:
        pytest.skip("no chromium, chromium-browser or google-chrome on PATH")
    screenshot = tmp_path / "report.png"
    command = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,2400",
        f"--screenshot={screenshot}", comparison_report.resolve().as_uri(),
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    with Image.open(screenshot) as image:
        assert image.size == (1280, 2400)
        colours = image.convert("L").getextrema()
        assert colours[0] < 60 and colours[1] > 200  # text and pictures on a white page, not a blank one


def test_notes_written_beside_numbers_reach_the_page(comparison_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(comparison_dir / "runs" / "reko" / "seed1", run)
    saved = json.loads((run / "eval.json").read_text(encoding="utf-8"))
    saved["notes"] = ["FID on 8 images is noise"]
    (run / "eval.json").write_text(json.dumps(saved), encoding="utf-8")
    page = write_report(run, tmp_path / "site", num_images=1)
    _, data = _parse(page)
    assert "eval.json: FID on 8 images is noise" in data["notes"]


def test_the_report_measures_no_latency_and_counts_nothing(comparison_dir: Path, tmp_path: Path, monkeypatch) -> None:
    """Every number comes from a result file: timing or counting a network would raise here."""
    import reko.eval.latency
    import reko.eval.macs

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("reko report measured a network")

    for module, name in ((reko.eval.latency, "measure_latency"), (reko.eval.macs, "count_macs")):
        monkeypatch.setattr(module, name, refuse)
    monkeypatch.setattr(reko.eval.macs, "count_parameters", refuse)
    page = write_report(comparison_dir, tmp_path / "site", num_images=1)
    assert _check_numbers(page, comparison_dir) > 0
    _, data = _parse(page)
    assert "cost" in {t["id"] for t in data["tables"]}  # from comparison.json
