"""The ``rft`` console script of an installed wheel: the libraries on the path, then ``rft.cli.main``."""

from __future__ import annotations

import sys

from nova_rft_kit import use_libraries


def main() -> None:
    use_libraries()
    from rft.cli import main as rft_main

    sys.exit(rft_main())
