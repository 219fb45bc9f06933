"""The one exception type that reko raises for bad input.

Every message names the offending file or value and what was expected; the CLI prints it
without a traceback and exits with status 2.
"""


class RekoError(Exception):
    """Bad user input: a file, a value or a layout that reko cannot use."""
