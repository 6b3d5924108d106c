"""Point ``REWARD_SPEC`` at a spec for a block (hypothesis tests cannot use function-scoped monkeypatch)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def spec_env(path: Path) -> Iterator[None]:
    old = os.environ.get("REWARD_SPEC")
    os.environ["REWARD_SPEC"] = str(path)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("REWARD_SPEC", None)
        else:
            os.environ["REWARD_SPEC"] = old
