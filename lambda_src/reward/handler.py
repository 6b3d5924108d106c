"""The reward Lambda: ``lambda_handler(event, context)`` implements docs/contract.md §1.

It only reads the environment (``REWARD_SPEC``), loads and caches the spec, and calls
``reward.grading.grade_event(spec, event)``: parse the event, grade under the batch deadline (without a
Lambda context, ``REWARD_DEFAULT_DEADLINE_S``, default 300 s), compose, answer every element in order. It
never raises for a data problem; a broken *spec* fails at init (cold start), which
the job starter's preflight turns into a failed deployment instead of a silently useless training run.
Logs and metrics: ``reward.telemetry`` (Powertools), which never fails a batch. Runs locally with only
``REWARD_SPEC`` set (JSON logs to stderr; EMF metrics only on Lambda, see ``telemetry.metrics_enabled``).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from reward.grading import grade_event
from reward.spec import Spec, load_spec

__all__ = ["lambda_handler"]


def spec_path() -> Path:
    """The spec file named by ``REWARD_SPEC`` (absolute, or relative to the Lambda task root / cwd)."""
    raw = os.environ.get("REWARD_SPEC")
    if not raw:
        raise RuntimeError("REWARD_SPEC is not set: point it at a reward spec, e.g. reward_specs/gsm8k.toml")
    path = Path(raw)
    if not path.is_absolute():
        root = os.environ.get("LAMBDA_TASK_ROOT")
        if root and (Path(root) / path).exists():
            return Path(root) / path
    return path


def current_spec() -> Spec:
    """The spec at ``spec_path()``, loaded once per value of the variables that name it."""
    # Keyed on the variables, not on the resolved path: resolving it stats the file, and this runs per batch.
    return _load(os.environ.get("REWARD_SPEC"), os.environ.get("LAMBDA_TASK_ROOT"))


@lru_cache(maxsize=8)
def _load(_reward_spec: str | None, _task_root: str | None) -> Spec:
    return load_spec(spec_path())


def lambda_handler(event: Any, context: Any = None) -> list[dict[str, Any]]:
    """Grade a batch (docs/contract.md §1): one reply element per event element, in order.

    Metrics and logs (``reward.telemetry``) are emitted after grading and can never fail the batch.
    """
    return grade_event(current_spec(), event, context=context)


def _init() -> None:
    """Cold start: load the spec (a broken bundled spec fails here, not on the first batch) and, on
    Lambda, get the graders ready so the first batch does not pay for them: start the worker processes of
    heavy graders, then create the judge's Bedrock client (``warm``; after the workers are forked)."""
    spec = current_spec()
    if not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return
    if spec.heavy:
        from reward.workers import get_pool

        get_pool().start(spec)
    for grader in spec.graders:
        grader.warm()


if os.environ.get("REWARD_SPEC"):
    _init()
