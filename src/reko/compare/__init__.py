"""``reko compare``: every method trained the same way, evaluated the same way, in one table.

- `settings`: `CompareSettings` and the config of each (method, seed) run.
- `evaluation`: held-out images, the metrics of a student against the teacher and real data, costs.
- `table`: mean and standard deviation over seeds, ``comparison.json`` and ``comparison.md``.
- `runner`: `compare`, which trains, resumes, evaluates and writes.
"""

from reko.compare.runner import ComparisonResult, compare, run_dir
from reko.compare.settings import CompareSettings, default_eval_data

__all__ = ["CompareSettings", "ComparisonResult", "compare", "default_eval_data", "run_dir"]
