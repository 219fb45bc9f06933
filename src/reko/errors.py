"""The one exception type that reko raises for bad input.

Every message names the offending file or value and what was expected; the CLI prints it
without a traceback and exits with status 2.
"""


class RekoError(Exception):
    """Bad user input: a file, a value or a layout that reko cannot use."""


def one_line(error: BaseException) -> str:
    """The message of ``error`` without the worker traceback that a DataLoader worker adds.

    An error raised in a DataLoader worker process reaches the main process as the same type, but
    its message is "Caught RekoError in DataLoader worker process 0. Original Traceback ...":
    this returns the original message (the traceback's last line) instead.
    """
    text = str(error)
    if "Original Traceback" not in text:
        return text
    last = [line for line in text.splitlines() if line.strip()][-1]
    return last.split(": ", 1)[1] if last.startswith(("reko.errors.RekoError:", "RekoError:")) else last


def describe_os_error(error: OSError) -> str:
    """One line for a file-system refusal that reached the command line (permissions, a full disk)."""
    import errno

    where = f" {error.filename}" if error.filename else ""
    if error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return f"disk full while writing{where}: free some space and run the command again"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write{where}: {error.strerror} (choose a folder you can write to)"
    return f"{error.strerror or error}{':' + where if where else ''}"
