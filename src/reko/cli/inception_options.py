"""``--inception FILE`` and ``--trust-inception``: how every command that computes FID names its network.

Kept apart from `reko.cli.fid` so that commands can add them without importing torch at parse time.
"""

from __future__ import annotations

import argparse

TRUST_HELP = (
    "load a TorchScript Inception file whose sha256 is not that of an official distribution. TorchScript runs "
    "the code it carries when loaded: use this only for a file from a source you trust"
)


def add_inception_file_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument("--inception", metavar="FILE", help="FID Inception network file (any of its 3 distributions)")
    parser.add_argument("--trust-inception", action="store_true", help=TRUST_HELP)
