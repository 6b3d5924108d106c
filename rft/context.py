"""What a command writes to and reaches the outside world through."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any


@dataclass(frozen=True)
class Context:
    """What a command writes to and reaches the outside world through (tests inject their own)."""

    out: IO[str]
    err: IO[str]
    #: ``(service_name, region) -> boto3 client``; ``None`` means ``boto3.client``.
    client_factory: Callable[[str, str], Any] | None = None
    sleep: Callable[[float], None] = time.sleep
