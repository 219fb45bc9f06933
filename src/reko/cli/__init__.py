"""The ``reko`` command line: one module per subcommand in this package.

Each subcommand module defines ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int``. It parses and validates its arguments, then calls one library function;
no training, evaluation or export logic lives here.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from reko.errors import RekoError, describe_os_error, one_line

# Subcommand name -> module in reko.cli. Add a command by adding a module and one line here.
COMMANDS: dict[str, str] = {
    "demo": "reko.cli.demo",
    "info": "reko.cli.info",
    "translate": "reko.cli.translate",
    "download": "reko.cli.download",
    "distill": "reko.cli.distill",
    "train": "reko.cli.train",
    "compare": "reko.cli.compare",
    "report": "reko.cli.report",
    "eval": "reko.cli.eval",
    "fid": "reko.cli.fid",
    "bench": "reko.cli.bench",
    "export": "reko.cli.export",
}


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows defaults in --help and keeps the description's line breaks."""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser; with ``only``, subcommand modules other than ``only`` are not imported
    (their help line is then omitted), which keeps ``reko CMD`` from importing every feature."""
    parser = argparse.ArgumentParser(
        prog="reko",
        description="Compress image-to-image translation GANs by region-aware knowledge distillation.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"reko {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in COMMANDS.items():
        if only is not None and name != only:
            subparsers.add_parser(name)
            continue
        module = importlib.import_module(module_name)
        sub = subparsers.add_parser(name, help=module.HELP, description=module.__doc__, formatter_class=_Formatter)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def _version() -> str:
    from reko import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except RekoError as error:
        print(f"reko {args.command}: error: {one_line(error)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        sys.stderr.close()
        return 0
    except OSError as error:  # the file system refused (permissions, a full disk): one line, no traceback
        print(f"reko {args.command}: error: {describe_os_error(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"reko {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
