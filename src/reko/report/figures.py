"""The report's pictures, drawn with matplotlib's object API (Agg canvas, no pyplot state).

- `grid_figure`: rows of images, columns input | teacher | each student;
- `regions_figure`: a method's score map per tap over each input, its selected positions as dots;
- `run_curves` / `comparison_curves`: losses and validation metrics over training steps.

Every function writes one PNG atomically and returns its path, or None when there is nothing
to draw.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from reko.atomic import atomic_path
from reko.extras import missing_extra
from reko.report.collect import RunInfo
from reko.report.inference import DirectionResult, RegionMaps
from reko.report.scalars import Series

try:
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator
except ModuleNotFoundError as error:  # the `report` extra
    if (error.name or "").split(".")[0] != "matplotlib":
        raise
    raise missing_extra("matplotlib", "reko report's figures") from None

_CELL_INCHES = 1.9  # one image of a grid
_DPI = 100
_SMOOTH_ABOVE = 60  # points: longer curves get a moving average drawn over the raw values


def _save(figure: Figure, path: Path) -> Path:
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=_DPI, bbox_inches="tight")
    return path


def _rgb(image: torch.Tensor) -> np.ndarray:
    """(3, H, W) in [-1, 1] -> (H, W, 3) float in [0, 1] for imshow."""
    return ((image.detach().float().cpu().clamp(-1, 1) + 1) / 2).permute(1, 2, 0).numpy()


# --------------------------------------------------------------------------- images


REAL_COLUMN = "real photo"


def grid_figure(result: DirectionResult, inputs_label: str, path: Path) -> Path:
    """Side by side: input | teacher | each student (| the real photo, for paired images), one row per image."""
    columns = {inputs_label: result.images.tensors, **result.outputs}
    if result.images.targets is not None:
        columns[REAL_COLUMN] = result.images.targets
    rows = len(result.images.names)
    figure = Figure(figsize=(_CELL_INCHES * len(columns), _CELL_INCHES * rows + 0.3))
    axes = np.atleast_2d(figure.subplots(rows, len(columns), squeeze=False))
    for col, (name, images) in enumerate(columns.items()):
        for row in range(rows):
            ax = axes[row, col]
            ax.imshow(_rgb(images[row]))
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(name, fontsize=10)
            if col == 0:
                ax.set_ylabel(result.images.names[row], fontsize=7)
    figure.subplots_adjust(wspace=0.04, hspace=0.06)
    return _save(figure, path)


def regions_figure(images: torch.Tensor, names: Sequence[str], maps: RegionMaps, path: Path) -> Path | None:
    """Each tap's score map (min-max per image, bilinear) over the input, selected positions as dots."""
    taps = [tap for tap in maps.scores if maps.scores[tap].shape[0] == images.shape[0]]
    if not taps:
        return None
    rows = images.shape[0]
    height, width = images.shape[-2:]
    figure = Figure(figsize=(_CELL_INCHES * len(taps), _CELL_INCHES * rows + 0.3))
    axes = np.atleast_2d(figure.subplots(rows, len(taps), squeeze=False))
    for col, tap in enumerate(taps):
        scores = maps.scores[tap]  # (N, h, w)
        h, w = scores.shape[-2:]
        upsampled = F.interpolate(scores[:, None].float(), size=(height, width), mode="bilinear", align_corners=False)
        for row in range(rows):
            ax = axes[row, col]
            ax.imshow(_rgb(images[row]))
            heat = upsampled[row, 0]
            heat = (heat - heat.min()) / (heat.max() - heat.min() + 1e-8)
            ax.imshow(heat.numpy(), cmap="inferno", alpha=0.55, vmin=0, vmax=1)
            if tap in maps.selected:
                index = maps.selected[tap][row].long()
                ys = (torch.div(index, w, rounding_mode="floor").float() + 0.5) * height / h
                xs = ((index % w).float() + 0.5) * width / w
                ax.scatter(xs.numpy(), ys.numpy(), s=7, c="#00e5ff", edgecolors="black", linewidths=0.3)
            ax.set_xlim(0, width)
            ax.set_ylim(height, 0)
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                k = maps.selected[tap].shape[1] if tap in maps.selected else 0
                ax.set_title(f"{tap}\n{h}×{w}, {k} picked", fontsize=9)
            if col == 0:
                ax.set_ylabel(names[row], fontsize=7)
    figure.subplots_adjust(wspace=0.04, hspace=0.06)
    return _save(figure, path)


# --------------------------------------------------------------------------- curves


def _plot(ax, series: Series, label: str, colour: str | None = None) -> None:  # type: ignore[no-untyped-def]
    steps, values = np.asarray(series.steps), np.asarray(series.values, dtype=float)
    if len(values) > _SMOOTH_ABOVE:
        window = max(2, len(values) // 30)
        smooth = np.convolve(values, np.ones(window) / window, mode="valid")
        line = ax.plot(steps, values, alpha=0.25, linewidth=0.8, color=colour)[0]
        ax.plot(steps[window - 1 :], smooth, label=label, linewidth=1.4, color=line.get_color())
    else:
        ax.plot(steps, values, label=label, marker="o" if len(values) < 12 else None, markersize=3, color=colour)


def _groups(scalars: dict[str, Series]) -> dict[str, list[str]]:
    """Panels of a run's curves: generator losses, the method's parts, discriminator losses, each metric."""
    groups: dict[str, list[str]] = {}
    for name in scalars:
        head, _, rest = name.partition("/")
        if head == "val":
            groups.setdefault(f"validation {rest}", []).append(name)
        elif head == "G":
            groups.setdefault("generator losses" if "/" not in rest else "method parts", []).append(name)
        elif head == "D":
            groups.setdefault("discriminator losses", []).append(name)
    return groups


def _panels(titles: list[str], columns: int = 3) -> tuple[Figure, list]:  # type: ignore[type-arg]
    columns = min(columns, len(titles))
    rows = -(-len(titles) // columns)
    figure = Figure(figsize=(4.6 * columns, 3.2 * rows))
    axes = np.atleast_1d(figure.subplots(rows, columns, squeeze=False)).ravel()
    for ax in axes[len(titles) :]:
        ax.set_visible(False)
    for ax, title in zip(axes, titles, strict=False):
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step", fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    return figure, list(axes)


def run_curves(run: RunInfo, path: Path) -> Path | None:
    """One panel per group of a run's scalars (see `_groups`)."""
    groups = _groups(run.scalars)
    if not groups:
        return None
    figure, axes = _panels(list(groups))
    for ax, names in zip(axes, groups.values(), strict=False):
        for name in names:
            _plot(ax, run.scalars[name], name)
        ax.legend(fontsize=7)
    figure.tight_layout()
    return _save(figure, path)


def _mean_over_seeds(runs: Sequence[RunInfo], name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Steps logged by every seed, and the mean, min and max there (seeds of a method share a schedule)."""
    series = [run.scalars[name] for run in runs if name in run.scalars]
    if not series:
        return None
    common = sorted(set(series[0].steps).intersection(*(s.steps for s in series[1:])))
    if not common:
        return None
    table = np.array([[dict(zip(s.steps, s.values, strict=True))[step] for step in common] for s in series])
    return np.asarray(common), table.mean(axis=0), np.stack([table.min(axis=0), table.max(axis=0)])


def comparison_curves(runs: Sequence[RunInfo], path: Path) -> Path | None:
    """Validation metrics and generator losses per method: mean over seeds, min-max band."""
    by_method: dict[str, list[RunInfo]] = {}
    for run in runs:
        by_method.setdefault(run.method or run.name, []).append(run)
    names = list(dict.fromkeys(n for run in runs for n in run.scalars if n.startswith("val/")))
    names += [n for n in ("G/total", "G/method") if any(n in run.scalars for run in runs)]
    if not names:
        return None
    figure, axes = _panels([n.replace("val/", "validation ") for n in names])
    colours = [f"C{i % 10}" for i in range(len(by_method))]
    for ax, name in zip(axes, names, strict=False):
        for colour, (method, method_runs) in zip(colours, by_method.items(), strict=True):
            stats = _mean_over_seeds(method_runs, name)
            if stats is None:
                continue
            steps, mean, band = stats
            _plot(ax, Series(steps.tolist(), mean.tolist()), f"{method} (n={len(method_runs)})", colour)
            if len(method_runs) > 1:
                ax.fill_between(steps, band[0], band[1], color=colour, alpha=0.15, linewidth=0)
        ax.legend(fontsize=7)
    figure.tight_layout()
    return _save(figure, path)
