"""The report page: one HTML file, inline CSS, no scripts or external resources, relative image paths.

Tables print rounded numbers; each number cell also carries the exact value (``data-value``)
and where it was read (``data-source="FILE#POINTER"``, JSON-lines files as ``FILE:LINE#POINTER``),
and the whole content is embedded as JSON in ``<script type="application/json" id="report-data">``
so that a program (or a test) can check every printed number against its file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html import escape
from typing import Any

from reko.report.tables import Cell, Source, Table

DATA_ELEMENT_ID = "report-data"

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2330;
       margin: 0 auto; max-width: 1200px; padding: 1.2em 2em 3em; background: #fff; }
h1 { font-size: 1.6em; margin: 0.2em 0; }
h2 { font-size: 1.25em; border-bottom: 1px solid #d7dbe3; padding-bottom: 0.2em; margin-top: 2em; }
h3 { font-size: 1.05em; margin: 1.4em 0 0.4em; }
.meta, .caption, caption { color: #566074; font-size: 0.92em; }
nav a { margin-right: 1em; }
table { border-collapse: collapse; margin: 0.6em 0 0.3em; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; font-weight: 600; color: #1d2330; padding-bottom: 0.3em; }
th, td { border: 1px solid #d7dbe3; padding: 0.28em 0.7em; }
thead th { background: #f1f3f7; font-weight: 600; }
td { text-align: right; white-space: nowrap; }
tbody th { text-align: left; font-weight: 500; background: #fafbfc; }
.computed td { color: #3b4a6b; }
figure { margin: 0.8em 0 1.6em; }
figure img { max-width: 100%; border: 1px solid #e3e6ec; }
figcaption { color: #566074; font-size: 0.9em; margin-top: 0.3em; }
.notes { background: #fff8e5; border: 1px solid #f0d98c; padding: 0.6em 1em; border-radius: 4px; }
.notes li { margin: 0.2em 0; }
pre { background: #f6f8fa; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
"""


@dataclass
class Picture:
    """An image of the page: its file name (beside the page), heading and caption."""

    file: str
    title: str
    caption: str = ""
    section: str = "images"  # images | regions | curves | training


@dataclass
class Page:
    """What the page shows, in order."""

    title: str
    subtitle: str
    tables: list[Table] = field(default_factory=list)
    pictures: list[Picture] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    texts: list[tuple[str, str]] = field(default_factory=list)  # (heading, preformatted text)
    data: dict[str, Any] = field(default_factory=dict)  # extra fields for the embedded JSON


_SECTIONS = (
    ("images", "Side by side on fixed images"),
    ("regions", "Where the method looks: score maps and chosen regions"),
    ("curves", "Training curves"),
    ("training", "Training-time image grid"),
)


def render(page: Page) -> str:
    """The complete HTML document."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(page.title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{escape(page.title)}</h1>",
        f'<p class="meta">{escape(page.subtitle)}</p>',
        _nav(page),
    ]
    if page.notes:
        items = "".join(f"<li>{escape(note)}</li>" for note in page.notes)
        parts.append(f'<section id="notes"><h2>Notes</h2><ul class="notes">{items}</ul></section>')
    metric_tables = [t for t in page.tables if "cost" not in t.id]
    cost_tables = [t for t in page.tables if "cost" in t.id]
    for section_id, heading, tables in (("metrics", "Metrics", metric_tables), ("cost", "Cost", cost_tables)):
        if tables:
            parts.append(f'<section id="{section_id}"><h2>{heading}</h2>')
            parts += [render_table(table) for table in tables]
            parts.append("</section>")
    for section_id, heading in _SECTIONS:
        pictures = [p for p in page.pictures if p.section == section_id]
        if pictures:
            parts.append(f'<section id="{section_id}"><h2>{escape(heading)}</h2>')
            parts += [_figure(picture) for picture in pictures]
            parts.append("</section>")
    if page.texts:
        parts.append('<section id="files"><h2>Files</h2>')
        for heading, text in page.texts:
            parts.append(f"<details><summary>{escape(heading)}</summary><pre>{escape(text)}</pre></details>")
        parts.append("</section>")
    parts.append(_data_block(page))
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _nav(page: Page) -> str:
    links = []
    if page.notes:
        links.append(("notes", "Notes"))
    if any("cost" not in t.id for t in page.tables):
        links.append(("metrics", "Metrics"))
    if any("cost" in t.id for t in page.tables):
        links.append(("cost", "Cost"))
    links += [
        (sid, heading.split(":")[0]) for sid, heading in _SECTIONS if any(p.section == sid for p in page.pictures)
    ]
    if page.texts:
        links.append(("files", "Files"))
    return "<nav>" + "".join(f'<a href="#{sid}">{escape(text)}</a>' for sid, text in links) + "</nav>"


def _source_text(source: Source | None) -> str:
    if source is None:
        return "computed by reko report"
    line = f":{source.line}" if source.line is not None else ""
    return f"{source.file}{line}#{source.pointer}"


def _cell(cell: Cell) -> str:
    if cell.value is None or isinstance(cell.value, str):
        return f"<td>{escape(cell.text)}</td>"
    attributes = [
        f'data-value="{escape(json.dumps(cell.value))}"',
        f'data-source="{escape(_source_text(cell.source))}"',
    ]
    title = f"{cell.value!r} ({_source_text(cell.source)})"
    if cell.std is not None:
        attributes.append(f'data-std="{escape(json.dumps(cell.std))}"')
        title += f"; std {cell.std!r}"
    attributes.append(f'title="{escape(title)}"')
    return f"<td {' '.join(attributes)}>{escape(cell.text)}</td>"


def render_table(table: Table) -> str:
    """``<table id="table-ID">``: a header row, then one row per label, number cells annotated."""
    computed = all(cell.source is None for _, cells in table.rows for cell in cells if cell.value is not None)
    css = ' class="computed"' if computed else ""
    head = "".join(f'<th scope="col">{escape(header(c))}</th>' for c in table.columns)
    rows = "".join(
        f'<tr><th scope="row">{escape(label)}</th>{"".join(_cell(cell) for cell in cells)}</tr>'
        for label, cells in table.rows
    )
    note = f'<p class="caption">{escape(table.note)}</p>' if table.note else ""
    return (
        f'<table id="table-{escape(table.id)}"{css}><caption>{escape(table.title)}</caption>'
        f'<thead><tr><th scope="col"></th>{head}</tr></thead><tbody>{rows}</tbody></table>{note}'
    )


_GROUPS = ("metrics/", "results/", "cost/")  # containers whose name adds nothing to a column heading


# How the field writes the words of a JSON key in a heading.
_WORDS = {
    "psnr": "PSNR", "ssim": "SSIM", "fid": "FID", "kid": "KID", "l1": "L1", "lpips": "LPIPS", "miou": "mIoU",
    "macs": "MACs", "field": "(papers' convention)", "true": "(true)", "ms": "(ms)", "vs": "vs",
}  # fmt: skip


def header(column: str) -> str:
    """A column's heading from its JSON path: ``metrics/psnr_vs_teacher`` -> ``PSNR vs teacher``,
    ``macs_field`` -> ``MACs (papers' convention)``, ``latency_ms`` -> ``latency (ms)``."""
    for group in _GROUPS:
        column = column.removeprefix(group)
    words = re.split(r"[/_ ]+", column)
    return " ".join(_WORDS.get(word.lower(), word) for word in words if word)


def _figure(picture: Picture) -> str:
    caption = f"<figcaption>{escape(picture.caption)}</figcaption>" if picture.caption else ""
    return (
        f"<figure><h3>{escape(picture.title)}</h3>"
        f'<img src="{escape(picture.file)}" alt="{escape(picture.title)}">{caption}</figure>'
    )


def _data_block(page: Page) -> str:
    data = {
        "title": page.title,
        "tables": [table.to_dict() for table in page.tables],
        "images": [{"file": p.file, "title": p.title, "section": p.section} for p in page.pictures],
        "notes": list(page.notes),
        **page.data,
    }
    # "</" inside a script element would end it early; "<\/" is the same JSON string.
    text = json.dumps(data, indent=1, ensure_ascii=False, allow_nan=True).replace("</", "<\\/")
    return f'<script type="application/json" id="{DATA_ELEMENT_ID}">\n{text}\n</script>'
