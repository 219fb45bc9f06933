"""``reko report``: a self-contained HTML page (with its PNGs beside it) for a run or a comparison.

The page shows the metrics and cost tables exactly as the run's JSON files hold them, side-by-side
grids of input | teacher | each student on fixed held-out images, the regions ReKo scores and
selects on those images, and the loss and metric curves.

Modules: `collect` (reads the folders), `tables` (cells with provenance, number printing),
`inference` (runs the networks on the images), `figures` (matplotlib), `html` (the page),
`write` (`write_report`, tying them together).
"""

from reko.report.collect import ReportData, collect
from reko.report.write import PAGE_FILE, write_report

__all__ = ["PAGE_FILE", "ReportData", "collect", "write_report"]
