"""Nova RFT Kit as an installed package: the ``rft`` command and the libraries it runs on.

The project's libraries keep their own top-level names in the repository and in the Lambda bundles
(``reward``, ``code_runner`` and ``job_starter`` are what the deployed functions import), but an installed
wheel must not claim those generic names in ``site-packages``. So the wheel installs one package,
``nova_rft_kit``, holding the libraries under ``nova_rft_kit/_lib/``; ``use_libraries()`` puts that
folder (or, in a source checkout, the repository's own folders) first on ``sys.path`` before ``rft`` is
imported.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def library_paths() -> list[Path]:
    """Where ``rft``, ``reward``, ``stacks``... are: the wheel's ``_lib``, else the source checkout."""
    bundled = HERE / "_lib"
    if (bundled / "reward").is_dir():
        return [bundled]
    root = HERE.parent  # a source checkout (an editable install): the repository's layout
    return [root, root / "lambda_src"]


def use_libraries() -> None:
    """Put the libraries first on ``sys.path`` (once)."""
    for path in reversed(library_paths()):
        text = str(path)
        if text not in sys.path:
            sys.path.insert(0, text)
