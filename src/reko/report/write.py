"""`write_report(path)`: collect a run or comparison folder, draw its pictures, write the page.

>>> from reko.report import write_report
>>> write_report("runs/reko_h2z")                      # -> runs/reko_h2z/report/index.html
>>> write_report("comparisons/h2z", images="../shared/data/horse2zebra/testA", num_images=6)
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from reko.atomic import atomic_path, write_text_atomic
from reko.errors import RekoError
from reko.report.collect import ReportData, collect
from reko.report.figures import comparison_curves, grid_figure, regions_figure, run_curves
from reko.report.html import Page, Picture, render
from reko.report.inference import DirectionResult, run_models
from reko.results.rundir import RunDir

PAGE_FILE = "index.html"
PathLike = str | os.PathLike[str]


def write_report(
    path: PathLike,
    out_dir: PathLike | None = None,
    images: PathLike | None = None,
    num_images: int = 4,
    size: int | None = None,
) -> Path:
    """Write ``index.html`` and its PNGs for a run folder or a comparison folder; returns the page's path.

    Args:
        path: a run folder (``reko distill --out``) or a comparison folder (``reko compare --out``).
        out_dir: where the page and its images go (default ``PATH/report``).
        images: a folder of held-out input images for the side-by-side grids (default: the images
            the comparison or run was evaluated on, else the run's validation images; see
            `reko.report.images`).
        num_images: how many images the grids show.
        size: square side the images are resized to (default: the run's ``data.crop_size``, or 256).

    The report measures and computes nothing: every number comes from a file a command wrote
    (``reko eval``, ``compare``, ``bench --json``); the networks run only to draw the pictures.
    """
    if num_images < 1:
        raise RekoError(f"num_images must be >= 1, got {num_images}")
    if size is not None and size < 1:
        raise RekoError(f"size must be >= 1, got {size}")
    images_dir = Path(images) if images is not None else None
    if images_dir is not None and not images_dir.is_dir():
        raise RekoError(f"images {images_dir} is not a folder of images")
    data = collect(path)
    out = Path(out_dir) if out_dir is not None else Path(path) / "report"
    out.mkdir(parents=True, exist_ok=True)
    if not any("cost" in table.id for table in data.tables):
        data.note("no cost numbers in the folder's files: reko bench --json FILE (into the folder) writes them")
    directions = run_models(data, images_dir, num_images, size)
    page = Page(data.title, _subtitle(data), tables=data.tables)
    page.pictures += _direction_pictures(directions, out)
    page.pictures += _curve_pictures(data, out)
    page.pictures += _training_grid(data, out)
    page.notes = data.notes + [note for run in data.runs for note in run.notes]  # each names its file
    page.texts = _texts(data)
    page.data = {
        "kind": data.kind,
        "source": str(Path(path)),
        "runs": [{"name": r.name, "method": r.method, "path": r.rel} for r in data.runs],
    }
    target = out / PAGE_FILE
    write_text_atomic(target, render(page))
    return target


def _subtitle(data: ReportData) -> str:
    what = "run folder" if data.kind == "run" else f"comparison of {len(data.runs)} runs"
    stamp = time.strftime("%Y-%m-%d %H:%M")
    return f"reko report of the {what} {Path(data.source).resolve()} — written {stamp}"


def _direction_pictures(directions: list[DirectionResult], out: Path) -> list[Picture]:
    pictures = []
    for direction in directions:
        tag = direction.generator
        suffix = f" ({direction.title})" if direction.title else ""
        grid = grid_figure(direction, "input", out / f"grid_{tag}.png")
        students = [label for label in direction.outputs if label != "teacher"]
        caption = (
            f"Input | teacher ({direction.teacher.name}) | {' | '.join(students)}"
            f"{' | the real photo' if direction.images.targets is not None else ''} on {direction.images.origin}. "
            "Each student is its run's best checkpoint (latest where none was saved)."
        )
        pictures.append(Picture(grid.name, f"Input, teacher and students{suffix}", caption, "images"))
        for label, maps in direction.regions.items():
            safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in label)
            path = regions_figure(
                direction.images.tensors, direction.images.names, maps, out / f"regions_{tag}_{safe}.png"
            )
            if path is None:
                continue
            caption = (
                f"{label}: the method's own scoring of each tapped layer on these images (bright = high score, "
                "normalised per image) and the positions it selects (dots), computed exactly as in training."
            )
            pictures.append(Picture(path.name, f"Regions chosen by {label}{suffix}", caption, "regions"))
    return pictures


def _curve_pictures(data: ReportData, out: Path) -> list[Picture]:
    if data.kind == "run":
        run = data.runs[0]
        path = run_curves(run, out / "curves.png")
        caption = f"From {run.scalars_from}."
    else:
        path = comparison_curves(data.runs, out / "curves.png")
        caption = "Mean over each method's seeds (n) at the steps all of them logged; the band spans min to max."
    if path is None:
        data.note("no logged scalars: no training curves")
        return []
    return [Picture(path.name, "Losses and validation metrics", caption, "curves")]


def _training_grid(data: ReportData, out: Path) -> list[Picture]:
    """The last image grid the trainer saved (run reports only), copied beside the page."""
    if data.kind != "run" or not data.runs[0].grids:
        return []
    source = data.runs[0].grids[-1]
    target = out / f"training_{source.name}"
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)
    caption = f"{source.name}: written by the trainer on its fixed validation images (columns as labelled)."
    return [Picture(target.name, "Last training-time grid", caption, "training")]


def _texts(data: ReportData) -> list[tuple[str, str]]:
    texts = []
    if data.comparison_md:
        texts.append(("comparison.md", data.comparison_md))
    for run in data.runs[:1] if data.kind == "comparison" else data.runs:
        config = RunDir(run.path).config
        if config.is_file():
            label = f"{run.rel}/config.yaml" if run.rel else "config.yaml"
            texts.append((label, config.read_text(encoding="utf-8")))
    return texts
