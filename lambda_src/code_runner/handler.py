"""The code-runner Lambda's entry point: ``run_batch`` under the invocation's own deadline."""

from __future__ import annotations

import time
from typing import Any

from code_runner.runner import run_batch

#: Answer this long before Lambda's own timeout, so a reply (with ``deadline`` results) always arrives.
DEADLINE_MARGIN_S = 1.5


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """Run the batch in ``event`` (a run_batch request) and return the reply."""
    deadline = None
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        deadline = time.monotonic() + max(0.0, remaining() / 1000.0 - DEADLINE_MARGIN_S)
    return run_batch(event if isinstance(event, dict) else {}, deadline=deadline)
