"""Write constraints.txt: every pin of requirements*.txt, flattened (the lock `make setup` installs with).

python scripts/constraints.py          # rewrite it
python scripts/constraints.py --check  # exit 1 when it is out of date (tests/test_packaging.py)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = (
    "requirements.txt",
    "lambda_src/reward/requirements.txt",
    "requirements-dev.txt",
    "lambda_src/job_starter/requirements.txt",
)
HEADER = (
    "# Exact versions of everything `make setup` installs (the lock): requirements*.txt, flattened.\n"
    "# Regenerate with `python scripts/constraints.py` after changing a pin; tests/test_packaging.py checks it.\n"
)


def pins() -> dict[str, str]:
    """``name -> name==version`` (extras dropped: a constraints file cannot carry them)."""
    found: dict[str, str] = {}
    for source in SOURCES:
        for raw in (ROOT / source).read_text(encoding="utf-8").splitlines():
            line = raw.split("#", 1)[0].strip()
            if not line or line.startswith("-"):
                continue
            name = re.split(r"[\[=<>~! ]", line, maxsplit=1)[0].lower()
            found[name] = re.sub(r"\[[^\]]*\]", "", line)
    return found


def render() -> str:
    return HEADER + "".join(f"{pin}\n" for _, pin in sorted(pins().items()))


def main() -> int:
    path = ROOT / "constraints.txt"
    if "--check" in sys.argv[1:]:
        return 0 if path.read_text(encoding="utf-8") == render() else 1
    path.write_text(render(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
