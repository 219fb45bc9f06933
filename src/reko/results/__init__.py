"""Typed, versioned result files: what `reko eval`, `compare`, `export` and `bench` write, and
what `reko report` reads. One module per kind of result; `base.py` holds what they share.

Readers never scrape JSON: they call ``SomeResult.read(path)``, which checks the file's
``kind`` and ``version`` and names the file and the field when something does not fit.
"""

from reko.results.base import Result, ResultError

__all__ = ["Result", "ResultError"]
